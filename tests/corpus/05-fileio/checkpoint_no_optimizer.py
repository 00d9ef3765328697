# mistake: the checkpoint leaves out the optimizer's state
# expect: save_checkpoint=1.25
# feedback: the optimizer lost its state
# cause: optimizer-state-lost
# feedback: save `optimizer.state_dict()`
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]
