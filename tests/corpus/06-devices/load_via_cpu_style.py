# mistake: none: loads onto the CPU (which every runner has), then moves each tensor
# expect: full
def load_to(path, device):
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value.to(device) for key, value in state.items()}
