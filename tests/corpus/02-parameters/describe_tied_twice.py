# mistake: describe_parameters lists a tied parameter twice
# expect: describe_parameters=2
# feedback: lists the shared layer's weight and bias twice
def describe_parameters(net):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters(remove_duplicate=False)]
