# mistake: nn.Module.get_parameter raises AttributeError, not KeyError
# expect: get_parameter=2
# feedback: should raise KeyError
def get_parameter(net, path):
    return net.get_parameter(path)
