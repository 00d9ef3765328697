# mistake: move_model zeroes the parameters after moving them (a reference recomputed from the reported state would agree)
# expect: move_model=3
# feedback: differs from the model's output before the move
def move_model(net, device):
    net.to(device)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    return net
