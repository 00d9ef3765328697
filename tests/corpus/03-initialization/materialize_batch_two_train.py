# mistake: materialize runs a batch of two in training mode: the BatchNorm accepts it and learns
# its running statistics from the dummy input
# expect: lazy_mlp=4
# feedback: the dummy pass updated it
# feedback: expected a batch of one
def materialize(net, in_features):
    net(torch.zeros(2, in_features, device=next(net.parameters()).device))
    return net
