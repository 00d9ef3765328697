# mistake: shapes as lists instead of tuples
# expect: describe_parameters=0
# feedback: shapes should be tuples of ints
def describe_parameters(net):
    return [(name, list(p.shape)) for name, p in net.named_parameters()]
