# mistake: describe_parameters skips a module seen before, not a parameter seen before, so two
# distinct layers sharing one weight (as tie_weights makes them) list it twice
# expect: describe_parameters=2
# feedback: describe_parameters(a net whose layers 0 and 2 share their weight) lists a shared parameter
# cause: tied-twice
def describe_parameters(net):
    out = []
    for prefix, module in net.named_modules():
        for name, param in module.named_parameters(recurse=False):
            out.append((f"{prefix}.{name}" if prefix else name, tuple(param.shape)))
    return out
