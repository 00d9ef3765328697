# mistake: count_parameters counts a tied parameter twice
# expect: count_parameters=2
# feedback: counts the shared parameters once per use
# cause: counted-twice
def count_parameters(net, trainable_only=False):
    params = net.named_parameters(remove_duplicate=False)
    return sum(p.numel() for _, p in params if p.requires_grad or not trainable_only)
