# mistake: to_device moves only the top level
# expect: to_device=1.5
# feedback: walk into every list, tuple and dict
# cause: shallow-walk
def to_device(obj, device):
    if isinstance(obj, dict):
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(v.to(device) if isinstance(v, torch.Tensor) else v for v in obj)
    return obj.to(device) if isinstance(obj, torch.Tensor) else obj
