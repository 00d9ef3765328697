# mistake: to_device rebuilds every dict as a plain dict, OrderedDicts too
# expect: to_device=2
# feedback: became a dict of 3 items, expected an OrderedDict of 3 items
# cause: container-type
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj
