# mistake: load_params relies on torch.load's default instead of asking for weights_only=True
# expect: save_params=3
# feedback: load_params unpickled an object from the file
# cause: ran-pickled-code
def load_params(net, path):
    device = next(net.parameters()).device
    net.load_state_dict(torch.load(path, map_location=device))
    return net.eval()
