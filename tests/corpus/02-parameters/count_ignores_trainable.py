# mistake: count_parameters ignores trainable_only
# expect: count_parameters=2
# feedback: trainable_only=True) is
def count_parameters(net, trainable_only=False):
    return sum(p.numel() for p in net.parameters())
