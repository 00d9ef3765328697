# mistake: none: torch.Size is a tuple of ints
# expect: full
def describe_parameters(net):
    described = []
    for name, param in net.named_parameters():
        described.append((name, param.size()))
    return described
