# mistake: none: children registered by setattr (nn.Module.__setattr__ registers a module)
# expect: full
def block2(n=4):
    net = nn.Sequential()
    for i in range(n):
        setattr(net, f"block {i}", block1())
    return net
