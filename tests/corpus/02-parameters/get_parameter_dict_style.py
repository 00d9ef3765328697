# mistake: none: a lookup in named_parameters(remove_duplicate=False), every name of every parameter
# expect: full
def get_parameter(net, path):
    try:
        return dict(net.named_parameters(remove_duplicate=False))[path]
    except KeyError:
        raise KeyError(f"{path} is not a parameter of the network") from None
