# mistake: to_device drops the values that are not tensors
# expect: to_device=3
# feedback: keep every value
def to_device(obj, device):
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items() if isinstance(v, (torch.Tensor, list, tuple, dict))}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj if isinstance(v, (torch.Tensor, list, tuple, dict)))
    return obj.to(device)
