# mistake: describe_parameters walks state_dict(): buffers listed, a tied parameter under both names
# expect: describe_parameters=0
# feedback: lists its buffers too
# feedback: lists a shared parameter under each of its names
# cause: lists-buffers, tied-twice
def describe_parameters(net):
    return [(name, tuple(t.shape)) for name, t in net.state_dict().items()]
