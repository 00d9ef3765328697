# mistake: describe_parameters recurses by hand and prefixes even the top module's names with a dot;
# its walk over named_children() lists a weight shared by two distinct layers twice
# expect: describe_parameters=0
# feedback: describe_parameters(nn.Linear(3, 2) itself) returned [('.weight', (2, 3))
# cause: tied-twice
def describe_parameters(net):
    out = []

    def walk(module, prefix):
        for name, param in module.named_parameters(recurse=False):
            out.append((f"{prefix}.{name}", tuple(param.shape)))
        for name, child in module.named_children():
            walk(child, f"{prefix}.{name}" if prefix else name)

    walk(net, "")
    return out
