# mistake: none: the dummy batch follows the first parameter's device and dtype
# expect: full
def materialize(net, in_features):
    first = next(iter(net.parameters()))
    net(torch.rand(1, in_features, device=first.device, dtype=first.dtype))
    return net
