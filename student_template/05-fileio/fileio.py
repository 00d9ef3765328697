"""Assignment 5, fileio: saving and loading tensors, parameters and checkpoints (§6.6).

Use only `torch`, `torch.nn` and the `safetensors` package the course ships. Replace each
`raise NotImplementedError(...)` with your code.
"""

import torch
from safetensors.torch import load_model, save_model
from torch import nn


def save_tensors(obj, path):
    """Save a tensor, a list or tuple of tensors, or a dict of str to tensor, to `path`."""
    # YOUR CODE HERE
    raise NotImplementedError("save_tensors is not implemented yet")


def load_tensors(path):
    """What `save_tensors` saved, exactly (values, dtype, shape, container type).

    Use the safe loader (`weights_only=True`): a file holding arbitrary pickled objects is refused.
    """
    # YOUR CODE HERE
    raise NotImplementedError("load_tensors is not implemented yet")


def save_params(net, path):
    """Save `net`'s state_dict (its parameters and buffers), not the pickled module."""
    # YOUR CODE HERE
    raise NotImplementedError("save_params is not implemented yet")


def load_params(net, path):
    """Load a saved state_dict into the fresh instance `net`, on `net`'s current device;
    return `net` in eval() mode."""
    # YOUR CODE HERE
    raise NotImplementedError("load_params is not implemented yet")


def save_safetensors(net, path):
    """Save `net`'s tensors in the safetensors format, also when parameters are tied."""
    # YOUR CODE HERE
    raise NotImplementedError("save_safetensors is not implemented yet")


def load_safetensors(net, path, device="cpu"):
    """Load a safetensors file into `net` on `device` (tied parameters stay tied); return `net`."""
    # YOUR CODE HERE
    raise NotImplementedError("load_safetensors is not implemented yet")


def transplant(src, dst, n):
    """Copy the parameters and buffers of the first `n` children of `src` into the first `n`
    children of `dst`; leave the rest of `dst` untouched; return `dst`.

    If any of those shapes differ, raise ValueError and leave `dst` unchanged.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transplant is not implemented yet")


def save_checkpoint(path, model, optimizer, epoch):
    """Save what it takes to resume training exactly: model state, optimizer state, epoch."""
    # YOUR CODE HERE
    raise NotImplementedError("save_checkpoint is not implemented yet")


def load_checkpoint(path, model, optimizer):
    """Restore `model` and `optimizer` from a checkpoint so that training resumes bit for bit;
    return the saved epoch."""
    # YOUR CODE HERE
    raise NotImplementedError("load_checkpoint is not implemented yet")
