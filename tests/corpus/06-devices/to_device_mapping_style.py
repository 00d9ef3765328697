# mistake: none: collections.abc, named tuples rebuilt with _make, lists and tuples by type
# expect: full
from collections.abc import Mapping


def to_device(obj, device):
    if torch.is_tensor(obj):
        return obj.to(device)
    if isinstance(obj, Mapping):
        return obj.__class__([(key, to_device(value, device)) for key, value in obj.items()])
    if isinstance(obj, tuple) and hasattr(obj, "_make"):
        return obj._make(to_device(value, device) for value in obj)
    if isinstance(obj, (list, tuple)):
        return obj.__class__(map(lambda value: to_device(value, device), obj))
    return obj
