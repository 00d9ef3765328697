# mistake: move_model copies moved values into the model's own tensors, which stay where they were
# (a CPU-only runner catches it on the stand-in GPU)
# expect: move_model=2.5
# feedback: are not on cuda:0
def move_model(net, device):
    net.load_state_dict({k: v.to(device) for k, v in net.state_dict().items()})
    return net
