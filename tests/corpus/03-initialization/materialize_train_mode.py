# mistake: materialize runs the dummy batch of one in training mode (the book's way), which a
# BatchNorm refuses
# expect: lazy_mlp=5
# feedback: failed in training mode and worked in eval mode
# cause: train-mode-dummy
def materialize(net, in_features):
    device = next(net.parameters()).device
    with torch.no_grad():
        net(torch.zeros(1, in_features, device=device))
    return net
