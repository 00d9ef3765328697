# mistake: tie_weights copies with copy_ under no_grad
# expect: tie_weights=1
# feedback: the values are copies
def tie_weights(net, src, dst):
    if net[src].weight.shape != net[dst].weight.shape:
        raise ValueError("shapes differ")
    with torch.no_grad():
        net[dst].weight.copy_(net[src].weight)
        net[dst].bias.copy_(net[src].bias)
    return net
