# mistake: none: map_location as a torch.device
# expect: full
def load_to(path, device):
    return torch.load(path, map_location=torch.device(device), weights_only=True)
