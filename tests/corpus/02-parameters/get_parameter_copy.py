# mistake: get_parameter returns the parameter's data, a different object
# expect: get_parameter=1
# feedback: but not the Parameter object itself
def get_parameter(net, path):
    params = dict(net.named_parameters(remove_duplicate=False))
    if path not in params:
        raise KeyError(path)
    return params[path].data
