# mistake: move_model moves the parameters but not the buffers
# expect: move_model=2
# feedback: `net.to(device)` moves parameters and buffers together
def move_model(net, device):
    for param in net.parameters():
        param.data = param.data.to(device)
    return net
