"""Writes gpu_params.pt: a state_dict whose storages are tagged cuda:0, crafted on the CPU.

Loading it without map_location fails on a machine without CUDA, as a file saved on a GPU
would. The values follow `gpu_state()`, which the judges recompute. Run from this folder:
    python make_gpu_fixture.py
"""

import torch
import torch.serialization
from torch import nn


def gpu_state():
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    state = {}
    for key, value in net.state_dict().items():
        if value.dim() == 0:
            state[key] = torch.tensor(5)
        else:
            state[key] = torch.arange(value.numel(), dtype=value.dtype).reshape(value.shape) * 0.01
    return state


def save_tagged(obj, path, location="cuda:0"):
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: location
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = original


if __name__ == "__main__":
    save_tagged(gpu_state(), "gpu_params.pt")
