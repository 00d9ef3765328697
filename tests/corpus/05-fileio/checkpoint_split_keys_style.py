# mistake: none: the epoch as a tensor, the optimizer's state under its own keys, map_location from the model
# expect: full
def save_checkpoint(path, model, optimizer, epoch):
    state = {"epoch": torch.tensor(epoch), "model_state": model.state_dict()}
    state.update({f"optimizer_{k}": v for k, v in optimizer.state_dict().items()})
    torch.save(state, path)


def load_checkpoint(path, model, optimizer):
    where = next(iter(model.state_dict().values())).device
    state = torch.load(path, map_location=where, weights_only=True)
    model.load_state_dict(state["model_state"])
    optimizer.load_state_dict({"state": state["optimizer_state"], "param_groups": state["optimizer_param_groups"]})
    return state["epoch"].item()
