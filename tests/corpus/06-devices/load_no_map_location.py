# mistake: load_to loads onto the saving device, then moves
# expect: load_to=0
# feedback: give `torch.load` a `map_location`
def load_to(path, device):
    state = torch.load(path, weights_only=True)
    return {k: v.to(device) for k, v in state.items()}
