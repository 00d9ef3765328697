# mistake: materialize forgets to return net
# expect: lazy_mlp=5
# feedback: materialize should return net itself
def materialize(net, in_features):
    training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, in_features, device=next(net.parameters()).device))
    net.train(training)
