# mistake: load_params sets net.training = False instead of calling net.eval(), so batch norm and dropout still train
# expect: save_params=3.5
# feedback: still train: net.eval() sets the mode of every module
# cause: submodules-still-training
def load_params(net, path):
    device = next(net.parameters()).device
    net.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    net.training = False
    return net
