# mistake: load_params loads onto the device the file was saved from
# expect: save_params=3
# feedback: load it with `map_location`
def load_params(net, path):
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()
