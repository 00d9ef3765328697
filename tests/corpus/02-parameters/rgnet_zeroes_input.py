# mistake: rgnet's network zeroes its input in place (a forward pre-hook) before computing
# expect: block1=3
# feedback: The input X was changed in place by your code
def rgnet(n=4):
    net = nn.Sequential(block2(n), nn.Linear(4, 1))
    net.register_forward_pre_hook(lambda module, args: (args[0].zero_(),))
    return net
