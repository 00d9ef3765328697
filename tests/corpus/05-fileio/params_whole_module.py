# mistake: save_params pickles the whole module
# expect: save_params=2
# feedback: torch.save(net) pickles its code
def save_params(net, path):
    torch.save(net, path)


def load_params(net, path):
    loaded = torch.load(path, weights_only=False)
    net.load_state_dict(loaded.state_dict())
    return net.eval()
