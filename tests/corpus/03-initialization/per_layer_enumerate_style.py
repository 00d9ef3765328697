# mistake: none: walking the children with their indices, each reached with apply
# expect: full
def init_per_layer(net, inits):
    for i, layer in enumerate(net):
        if i in inits:
            layer.apply(inits[i])
    return net
