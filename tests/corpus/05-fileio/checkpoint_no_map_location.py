# mistake: load_checkpoint loads onto the devices the file was saved from
# expect: save_checkpoint=4.25
# feedback: load it with `map_location`
def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
