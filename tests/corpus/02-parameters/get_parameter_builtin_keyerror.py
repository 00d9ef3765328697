# mistake: none: nn.Module.get_parameter, its AttributeError turned into a KeyError
# expect: full
def get_parameter(net, path):
    try:
        return net.get_parameter(path)
    except AttributeError:
        raise KeyError(path) from None
