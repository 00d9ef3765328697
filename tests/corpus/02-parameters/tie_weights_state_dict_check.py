# mistake: none: the shapes compared through state_dict() (a missing bias is a missing key), then assigned
# expect: full
def tie_weights(net, src, dst):
    shapes = [{k: v.shape for k, v in net[i].state_dict().items()} for i in (src, dst)]
    if shapes[0] != shapes[1]:
        raise ValueError(f"net[{src}] and net[{dst}] hold parameters of different shapes")
    net[dst].weight = net[src].weight
    net[dst].bias = net[src].bias
    return net
