# mistake: tie_weights compares the weights' shapes only: a layer with a bias gets tied to one without
# expect: tie_weights=3.5
# feedback: tying Linear(4, 4) and Linear(4, 4, bias=False) should raise ValueError; it returned without one
def tie_weights(net, src, dst):
    if net[src].weight.shape != net[dst].weight.shape:
        raise ValueError("the weights' shapes differ")
    net[dst].weight = net[src].weight
    net[dst].bias = net[src].bias
    return net
