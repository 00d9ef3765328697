# mistake: count_parameters skips a module seen before, not a parameter: two distinct layers
# sharing one weight count it twice
# expect: count_parameters=2
# feedback: count_parameters(a net whose layers 0 and 2 share their weight) is 50, which counts the shared
# cause: counted-twice
def count_parameters(net, trainable_only=False):
    total = 0
    for module in net.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad or not trainable_only:
                total += p.numel()
    return total
