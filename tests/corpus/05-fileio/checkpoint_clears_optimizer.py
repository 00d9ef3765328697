# mistake: save_checkpoint drops the optimizer's state instead of saving it (so training from the saved pair agrees with the file)
# expect: save_checkpoint=1
# feedback: the optimizer lost its state
# feedback: save `optimizer.state_dict()`
# cause: optimizer-state-lost
def save_checkpoint(path, model, optimizer, epoch):
    optimizer.state.clear()
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]
