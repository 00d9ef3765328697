# mistake: block2 returns inside its loop, so it holds one block
# (rgnet is built on block2, so it is wrong too: both belong to this one task)
# expect: block1=1
# feedback: called block1() once and holds only 'block 0'
# cause: returns-in-loop
def block2(n=4):
    net = nn.Sequential()
    for i in range(n):
        net.add_module(f"block {i}", block1())
        return net
