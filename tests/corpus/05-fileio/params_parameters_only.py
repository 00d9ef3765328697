# mistake: save_params saves the parameters but not the buffers
# expect: save_params=1.5
# feedback: holds the parameters only: the buffers
# cause: missing-buffers
def save_params(net, path):
    torch.save({name: p.detach() for name, p in net.named_parameters()}, path)


def load_params(net, path):
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=False)
    return net.eval()
