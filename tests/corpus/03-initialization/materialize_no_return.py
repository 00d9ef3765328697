# mistake: materialize forgets to return net
# expect: lazy_mlp=4
# feedback: materialize should return net itself
def materialize(net, in_features):
    net(torch.zeros(1, in_features))
