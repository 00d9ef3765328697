# mistake: none: register_parameter on the destination, returning the same net
# expect: full
def tie_weights(net, src, dst):
    source, target = net[src], net[dst]
    for name in ("weight", "bias"):
        a, b = getattr(source, name), getattr(target, name)
        if (a is None) != (b is None) or (a is not None and a.shape != b.shape):
            raise ValueError(f"{name} shapes differ")
    for name in ("weight", "bias"):
        target.register_parameter(name, getattr(source, name))
    return net
