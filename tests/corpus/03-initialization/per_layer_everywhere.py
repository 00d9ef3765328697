# mistake: init_per_layer applies every init to the whole network
# expect: init_per_layer=1
# feedback: which has no init
def init_per_layer(net, inits):
    for index, init in inits.items():
        net.apply(init)
    return net
