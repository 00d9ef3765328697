# mistake: none: walking named_modules and their own parameters, skipping ones already seen
# expect: full
def describe_parameters(net):
    seen, out = set(), []
    for prefix, module in net.named_modules():
        for name, param in module.named_parameters(recurse=False):
            if id(param) not in seen:
                seen.add(id(param))
                out.append((f"{prefix}.{name}" if prefix else name, tuple(param.size())))
    return out
