# mistake: load_to relies on torch.load's default instead of weights_only=True
# expect: load_to=3
# feedback: pass weights_only=True to torch.load
# cause: unsafe-load
def load_to(path, device):
    return torch.load(path, map_location=device)
