# mistake: get_parameter returns the parameter's data, a different object
# expect: get_parameter=1
# feedback: is not the network's own Parameter object
def get_parameter(net, path):
    params = dict(net.named_parameters())
    if path not in params:
        raise KeyError(path)
    return params[path].data
