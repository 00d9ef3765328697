"""Assignment 5, fileio: saving and loading tensors, parameters and checkpoints (§6.6).

Use only `torch`, `torch.nn` and the `safetensors` package the course ships. Replace each
`raise NotImplementedError(...)` with your code.
"""

import torch
from safetensors.torch import load_model, save_model
from torch import nn


def save_tensors(obj, path):
    """Save a tensor, a list or tuple of tensors, or a dict of str to tensor, to `path`."""
    ### BEGIN SOLUTION
    torch.save(obj, path)
    ### END SOLUTION


def load_tensors(path):
    """What `save_tensors` saved, exactly (values, dtype, shape, container type).

    Use the safe loader (`weights_only=True`): a file holding arbitrary pickled objects is refused.
    """
    ### BEGIN SOLUTION
    return torch.load(path, weights_only=True)
    ### END SOLUTION


def save_params(net, path):
    """Save `net`'s state_dict (its parameters and buffers), not the pickled module."""
    ### BEGIN SOLUTION
    torch.save(net.state_dict(), path)
    ### END SOLUTION


def load_params(net, path):
    """Load a saved state_dict into the fresh instance `net`, on `net`'s current device;
    return `net` in eval() mode."""
    ### BEGIN SOLUTION
    device = next(net.parameters()).device
    net.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return net.eval()
    ### END SOLUTION


def save_safetensors(net, path):
    """Save `net`'s tensors in the safetensors format, also when parameters are tied."""
    ### BEGIN SOLUTION
    save_model(net, str(path))
    ### END SOLUTION


def load_safetensors(net, path, device="cpu"):
    """Load a safetensors file into `net` on `device` (tied parameters stay tied); return `net`."""
    ### BEGIN SOLUTION
    net.to(device)
    load_model(net, str(path), device=str(device))
    return net
    ### END SOLUTION


def transplant(src, dst, n):
    """Copy the parameters and buffers of the first `n` children of `src` into the first `n`
    children of `dst`; leave the rest of `dst` untouched; return `dst`.

    If any of those shapes differ, raise ValueError and leave `dst` unchanged.
    """
    ### BEGIN SOLUTION
    pairs = list(zip(list(src.children())[:n], list(dst.children())[:n]))
    if len(pairs) < n:
        raise ValueError(f"src and dst need at least {n} children")
    states = []
    for source, target in pairs:
        state, wanted = source.state_dict(), target.state_dict()
        if state.keys() != wanted.keys() or any(state[k].shape != wanted[k].shape for k in state):
            raise ValueError("the children to transplant have different parameters or shapes")
        states.append(state)
    for (_, target), state in zip(pairs, states):
        target.load_state_dict(state)
    return dst
    ### END SOLUTION


def save_checkpoint(path, model, optimizer, epoch):
    """Save what it takes to resume training exactly: model state, optimizer state, epoch."""
    ### BEGIN SOLUTION
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)
    ### END SOLUTION


def load_checkpoint(path, model, optimizer):
    """Restore `model` and `optimizer` from a checkpoint so that training resumes bit for bit;
    return the saved epoch."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
    ### END SOLUTION
