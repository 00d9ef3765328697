# mistake: init_per_layer forgets to return net
# expect: init_per_layer=2
# feedback: should return net itself
def init_per_layer(net, inits):
    for index, init in inits.items():
        net[index].apply(init)
