# mistake: init_per_layer calls the init on net[i] alone, missing its submodules
# expect: init_per_layer=2
# feedback: call net[i].apply(init) to reach
# cause: top-level-only
def init_per_layer(net, inits):
    for index, init in inits.items():
        init(net[index])
    return net
