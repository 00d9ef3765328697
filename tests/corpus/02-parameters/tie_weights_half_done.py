# mistake: tie_weights changes net before finding the mismatch
# expect: tie_weights=3
# feedback: changed net's parameters first
def tie_weights(net, src, dst):
    net[dst].bias = net[src].bias
    if net[src].weight.shape != net[dst].weight.shape:
        raise ValueError("shapes differ")
    net[dst].weight = net[src].weight
    return net
