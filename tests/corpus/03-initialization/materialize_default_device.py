# mistake: materialize makes its dummy batch on the default device, not the network's
# (caught on a CPU-only runner too, on the sandbox's stand-in GPU)
# expect: lazy_mlp=5.5
# feedback: materialize(net on cuda:0, 7) raised RuntimeError
def materialize(net, in_features):
    training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, in_features))
    net.train(training)
    return net
