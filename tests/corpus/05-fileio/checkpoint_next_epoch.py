# mistake: load_checkpoint returns the next epoch instead of the saved one
# (it also loads without map_location: a checkpoint saved on a GPU this machine lacks does not load)
# expect: save_checkpoint=3.75
# feedback: expected the saved epoch 3
def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"] + 1
