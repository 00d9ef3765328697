# mistake: materialize switches to eval() for the dummy pass, then always back to train()
# expect: lazy_mlp=5
# feedback: in eval mode, 7) the network is in training mode instead
def materialize(net, in_features):
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, in_features, device=next(net.parameters()).device))
    net.train()
    return net
