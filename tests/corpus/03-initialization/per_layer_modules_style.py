# mistake: none: every module under net[i] (itself included) given to the init
# expect: full
def init_per_layer(net, inits):
    for index in inits:
        for module in net[index].modules():
            inits[index](module)
    return net
