# mistake: none: torch's pytree utilities
# expect: full
from torch.utils import _pytree


def to_device(obj, device):
    return _pytree.tree_map(lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, obj)
