# mistake: to_device rebuilds dicts with their keys sorted (by their text)
# expect: to_device=2
# feedback: keep the keys' order
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((k, to_device(obj[k], device)) for k in sorted(obj, key=str))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj
