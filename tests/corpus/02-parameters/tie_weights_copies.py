# mistake: tie_weights copies the values instead of sharing the Parameters
# (it also fails on layers without bias: `None.data`)
# expect: tie_weights=0.5
# feedback: the values are copies
# cause: copies-values
# feedback: Sharing is not copying
def tie_weights(net, src, dst):
    if net[src].weight.shape != net[dst].weight.shape:
        raise ValueError("shapes differ")
    net[dst].weight.data = net[src].weight.data.clone()
    net[dst].bias.data = net[src].bias.data.clone()
    return net
