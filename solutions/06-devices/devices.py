"""Assignment 6, devices: GPUs, moving data and models, and transfers (Builders' Guide §6.7).

Everything must work on a machine with no GPU as well as on one with several. Replace each
`raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


def num_gpus():
    """How many CUDA devices this machine has (0 without a GPU)."""
    ### BEGIN SOLUTION
    return torch.cuda.device_count() if torch.cuda.is_available() else 0
    ### END SOLUTION


def try_gpu(i=0):
    """`cuda:i` if that GPU exists, else the CPU (a `torch.device`)."""
    ### BEGIN SOLUTION
    if num_gpus() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")
    ### END SOLUTION


def try_all_gpus():
    """Every GPU as a `torch.device`, or `[torch.device("cpu")]` if there is none."""
    ### BEGIN SOLUTION
    devices = [torch.device(f"cuda:{i}") for i in range(num_gpus())]
    return devices if devices else [torch.device("cpu")]
    ### END SOLUTION


def to_device(obj, device):
    """Move every tensor inside nested lists, tuples and dicts to `device`.

    Container types and non-tensor values stay as they are.
    """
    ### BEGIN SOLUTION
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((key, to_device(value, device)) for key, value in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*(to_device(value, device) for value in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(value, device) for value in obj)
    return obj
    ### END SOLUTION


def move_model(net, device):
    """Move `net`'s parameters and buffers to `device`, keeping tied parameters tied; return `net`."""
    ### BEGIN SOLUTION
    return net.to(device)
    ### END SOLUTION


def load_to(path, device):
    """Load a state_dict saved from any device straight onto `device`, safely (weights_only)."""
    ### BEGIN SOLUTION
    return torch.load(path, map_location=device, weights_only=True)
    ### END SOLUTION


def norms_on_device(mats, device):
    """For each square matrix `A` in `mats`: the Frobenius norm of `A @ A`, computed on `device`
    and kept there; copied to the host once, at the end. Returns a 1-D CPU tensor."""
    ### BEGIN SOLUTION
    norms = []
    for A in mats:
        A = A.to(device)
        norms.append(torch.linalg.matrix_norm(A @ A))
    return torch.stack(norms).cpu()
    ### END SOLUTION
