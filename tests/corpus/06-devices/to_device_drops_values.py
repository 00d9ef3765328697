# mistake: to_device drops the dict values that are not tensors
# expect: to_device=2
# feedback: keep every value
# cause: dropped-values
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        kept = (torch.Tensor, list, tuple, dict)
        return type(obj)((k, to_device(v, device)) for k, v in obj.items() if isinstance(v, kept))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj
