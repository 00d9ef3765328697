# mistake: move_model wraps each moved parameter in a new nn.Parameter: ties break, frozen ones need grad again
# expect: move_model=3
# feedback: the two layers that shared one weight have a weight each
def move_model(net, device):
    for module in net.modules():
        for name, p in list(module._parameters.items()):
            module._parameters[name] = nn.Parameter(p.to(device))
        for name, b in list(module._buffers.items()):
            module._buffers[name] = b.to(device)
    return net
