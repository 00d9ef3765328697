# mistake: tie_weights does not check shapes
# expect: tie_weights=3
# feedback: should raise ValueError
def tie_weights(net, src, dst):
    net[dst].weight = net[src].weight
    net[dst].bias = net[src].bias
    return net
