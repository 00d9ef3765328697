# mistake: none: one archive of several state_dicts, keyed differently
# expect: full
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"epoch": torch.tensor(epoch), "net": model.state_dict(), "opt": optimizer.state_dict()}, path)


def load_checkpoint(path, model, optimizer):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["net"])
    optimizer.load_state_dict(state["opt"])
    return int(state["epoch"])
