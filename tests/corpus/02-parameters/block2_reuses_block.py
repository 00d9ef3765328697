# mistake: block2 adds the same block1 instance n times
# expect: block1=2
# feedback: called block1() once and added that one block 4 times
# cause: reused-block
def block2(n=4):
    block = block1()
    net = nn.Sequential()
    for i in range(n):
        net.add_module(f"block {i}", block)
    return net
