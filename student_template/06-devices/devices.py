"""Assignment 6, devices: GPUs, moving data and models, and transfers (Builders' Guide §6.7).

Everything must work on a machine with no GPU as well as on one with several. Replace each
`raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


def num_gpus():
    """How many CUDA devices this machine has (0 without a GPU)."""
    # YOUR CODE HERE
    raise NotImplementedError("num_gpus is not implemented yet")


def try_gpu(i=0):
    """`cuda:i` if that GPU exists, else the CPU (a `torch.device`)."""
    # YOUR CODE HERE
    raise NotImplementedError("try_gpu is not implemented yet")


def try_all_gpus():
    """Every GPU as a `torch.device`, or `[torch.device("cpu")]` if there is none."""
    # YOUR CODE HERE
    raise NotImplementedError("try_all_gpus is not implemented yet")


def to_device(obj, device):
    """Move every tensor inside nested lists, tuples and dicts to `device`.

    Container types and non-tensor values stay as they are.
    """
    # YOUR CODE HERE
    raise NotImplementedError("to_device is not implemented yet")


def move_model(net, device):
    """Move `net`'s parameters and buffers to `device`, keeping tied parameters tied; return `net`."""
    # YOUR CODE HERE
    raise NotImplementedError("move_model is not implemented yet")


def load_to(path, device):
    """Load a state_dict saved from any device straight onto `device`, safely (weights_only)."""
    # YOUR CODE HERE
    raise NotImplementedError("load_to is not implemented yet")


def norms_on_device(mats, device):
    """For each square matrix `A` in `mats`: the Frobenius norm of `A @ A`, computed on `device`
    and kept there; copied to the host once, at the end. Returns a 1-D CPU tensor."""
    # YOUR CODE HERE
    raise NotImplementedError("norms_on_device is not implemented yet")
