# mistake: count_parameters sums state_dict(): buffers counted, a tied parameter under both names
# expect: count_parameters=1
# feedback: plus the 9 of its buffers
# feedback: which counts the shared parameters once per use
# cause: counts-buffers, counted-twice
def count_parameters(net, trainable_only=False):
    state = net.state_dict(keep_vars=True)
    return sum(t.numel() for t in state.values() if t.requires_grad or not trainable_only)
