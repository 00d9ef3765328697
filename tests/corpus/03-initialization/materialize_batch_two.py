# mistake: materialize runs a dummy batch of two, not one
# expect: lazy_mlp=5
# feedback: ran net[0] on an input of shape [2, 7], expected a batch of one, [1, 7]
def materialize(net, in_features):
    training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(2, in_features, device=next(net.parameters()).device))
    net.train(training)
    return net
