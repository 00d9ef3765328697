# mistake: load_params forgets eval()
# expect: save_params=3.5
# feedback: are in training mode: return net.eval()
def load_params(net, path):
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net
