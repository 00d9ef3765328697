# mistake: none: the dummy batch made on the CPU and moved with .to(); the mode restored with train()
# expect: full
def materialize(net, in_features):
    was_training = net.training
    net.train(False)
    device = next(net.parameters()).device
    with torch.no_grad():
        net(torch.randn(1, in_features).to(device))
    if was_training:
        net.train()
    return net
