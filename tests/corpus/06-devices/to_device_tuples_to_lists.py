# mistake: to_device turns tuples into lists
# expect: to_device=2
# feedback: became a list, expected a tuple
# cause: tuple-to-list
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_device(v, device) for v in obj]
    return obj
