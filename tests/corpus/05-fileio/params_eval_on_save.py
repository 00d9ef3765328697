# mistake: save_params switches the network it saves to eval mode (mid-training, batch norm then stops learning its statistics)
# expect: save_params=3.5
# feedback: save_params changed the mode of the net it saved
def save_params(net, path):
    net.eval()
    torch.save(net.state_dict(), path)
