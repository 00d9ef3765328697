# mistake: none: p.data = p.data.to(device) for every parameter, buffers replaced by moved copies
# expect: full
def move_model(net, device):
    for module in net.modules():
        for p in module._parameters.values():
            if p is not None:
                p.data = p.data.to(device)
        for name, b in list(module._buffers.items()):
            if b is not None:
                module._buffers[name] = b.to(device)
    return net
