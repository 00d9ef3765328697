# mistake: none: Module.to with a torch.device, then a redundant no-op move
# expect: full
def move_model(net, device):
    return net.to(torch.device(device)).to(device)
