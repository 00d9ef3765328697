# mistake: save_params pickles the whole module
# expect: save_params=1.5
# feedback: holds a pickled module (torch.nn.modules.
# feedback: load_params unpickled an object from the file
# cause: pickled-module, ran-pickled-code
def save_params(net, path):
    torch.save(net, path)


def load_params(net, path):
    loaded = torch.load(path, weights_only=False)
    net.load_state_dict(loaded.state_dict())
    return net.eval()
