# mistake: none: a lookup in named_parameters(), whose names are the dotted paths
# expect: full
def get_parameter(net, path):
    try:
        return dict(net.named_parameters())[path]
    except KeyError:
        raise KeyError(f"{path} is not a parameter of the network") from None
