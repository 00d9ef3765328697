# mistake: save_params zeroes the network's weights before saving them (so the net it was given agrees with the file)
# expect: save_params=1.5
# feedback: save_params changed the net it saved
# feedback: after load_params: 0.weight
def save_params(net, path):
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    torch.save(net.state_dict(), path)
