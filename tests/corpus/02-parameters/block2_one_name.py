# mistake: block2 adds every block under one name, so each replaces the one before
# (rgnet is built on block2: it is wrong too)
# expect: block1=1
# feedback: block2(4)'s children are named ['block'], expected ['block 0', 'block 1', 'block 2', 'block 3']
def block2(n=4):
    net = nn.Sequential()
    for _ in range(n):
        net.add_module("block", block1())
    return net
