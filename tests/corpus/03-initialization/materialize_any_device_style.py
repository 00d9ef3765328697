# mistake: none: the dummy batch follows the first parameter's device and dtype; each module's
# mode saved and restored one by one
# expect: full
def materialize(net, in_features):
    first = next(iter(net.parameters()))
    modes = {m: m.training for m in net.modules()}
    net.eval()
    net(torch.rand(1, in_features, device=first.device, dtype=first.dtype))
    for module, training in modes.items():
        module.training = training
    return net
