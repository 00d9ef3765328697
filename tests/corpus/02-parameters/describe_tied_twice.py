# mistake: describe_parameters lists a tied parameter twice
# expect: describe_parameters=2
# feedback: lists a shared parameter under each of its names
# cause: tied-twice
def describe_parameters(net):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters(remove_duplicate=False)]
