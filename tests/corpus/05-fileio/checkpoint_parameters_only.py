# mistake: the checkpoint keeps the model's parameters but not its buffers (training losses resume the same: batch norm uses batch statistics while training)
# expect: save_checkpoint=3.75
# feedback: its buffers ['1.running_mean', '1.running_var', '1.num_batches_tracked'] keep their initial values
# cause: missing-buffers
def save_checkpoint(path, model, optimizer, epoch):
    parameters = {name: p.detach() for name, p in model.named_parameters()}
    torch.save({"model": parameters, "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    device = next(model.parameters()).device
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"], strict=False)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
