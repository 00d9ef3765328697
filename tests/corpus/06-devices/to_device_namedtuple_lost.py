# mistake: to_device rebuilds every tuple as a plain tuple, named tuples too
# expect: to_device=2
# feedback: became a plain tuple, expected the named tuple Pair
# cause: namedtuple-lost
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((k, to_device(v, device)) for k, v in obj.items())
    if isinstance(obj, tuple):
        return tuple(to_device(v, device) for v in obj)
    if isinstance(obj, list):
        return [to_device(v, device) for v in obj]
    return obj
