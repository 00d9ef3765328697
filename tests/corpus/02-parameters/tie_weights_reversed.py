# mistake: tie_weights ties the wrong way: net[src] takes net[dst]'s Parameters
# expect: tie_weights=1
# feedback: the tie goes the wrong way
# cause: wrong-direction
def tie_weights(net, src, dst):
    source, target = net[src], net[dst]
    if source.weight.shape != target.weight.shape or (source.bias is None) != (target.bias is None):
        raise ValueError("shapes differ")
    source.weight = target.weight
    source.bias = target.bias
    return net
