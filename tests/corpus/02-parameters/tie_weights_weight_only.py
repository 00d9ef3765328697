# mistake: tie_weights ties the weight and forgets the bias
# expect: tie_weights=1.5
# feedback: net[2].bias is not net[0].bias: tie the bias too
def tie_weights(net, src, dst):
    source, target = net[src], net[dst]
    if source.weight.shape != target.weight.shape or (source.bias is None) != (target.bias is None):
        raise ValueError("shapes differ")
    target.weight = source.weight
    return net
