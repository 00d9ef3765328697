# mistake: none: every name of every parameter, deduplicated by identity
# expect: full
def count_parameters(net, trainable_only=False):
    unique = {id(p): p for _, p in net.named_parameters(remove_duplicate=False)}
    return sum(p.numel() for p in unique.values() if p.requires_grad or not trainable_only)
