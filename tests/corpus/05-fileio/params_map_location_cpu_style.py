# mistake: none: loads onto the CPU, and load_state_dict copies into the net wherever it is
# expect: full
def save_params(net, path):
    torch.save({k: v for k, v in net.state_dict().items()}, path)


def load_params(net, path):
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.eval()
    return net
