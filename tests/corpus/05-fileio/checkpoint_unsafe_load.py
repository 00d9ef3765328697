# mistake: load_checkpoint relies on torch.load's default instead of asking for weights_only=True
# expect: save_checkpoint=4.5
# feedback: load_checkpoint unpickled an object from the file
# cause: ran-pickled-code
def load_checkpoint(path, model, optimizer):
    device = next(model.parameters()).device
    checkpoint = torch.load(path, map_location=device)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
