# mistake: move_model moves the parameters but not the buffers
# expect: move_model=2.5
# feedback: buffers must move with the parameters
# cause: buffers-left
def move_model(net, device):
    for param in net.parameters():
        param.data = param.data.to(device)
    return net
