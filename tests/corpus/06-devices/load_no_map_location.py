# mistake: load_to loads onto the saving device, then moves
# (on cuda:0, a GPU's or the stand-in's, the file saved there loads: that half stays)
# expect: load_to=0.5
# feedback: give `torch.load` a `map_location`
def load_to(path, device):
    state = torch.load(path, weights_only=True)
    return {k: v.to(device) for k, v in state.items()}
