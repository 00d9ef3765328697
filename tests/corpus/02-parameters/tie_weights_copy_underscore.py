# mistake: tie_weights copies with copy_ under no_grad
# (it also fails on layers without bias: `None.copy_`)
# expect: tie_weights=0.5
# feedback: the values are copies
# cause: copies-values
def tie_weights(net, src, dst):
    if net[src].weight.shape != net[dst].weight.shape:
        raise ValueError("shapes differ")
    with torch.no_grad():
        net[dst].weight.copy_(net[src].weight)
        net[dst].bias.copy_(net[src].bias)
    return net
