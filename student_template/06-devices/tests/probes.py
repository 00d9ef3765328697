"""Visible probes of assignment 6 (devices): what `blockgrade check` runs in the sandbox."""

from pathlib import Path

import torch
from torch import nn

from autograder.probing import attempt, probe

GPU_PARAMS = (Path(__file__).resolve().parent / "data" / "gpu_params.pt").read_bytes()


@probe
def devices(sub):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    moved = attempt(sub.move_model, net, torch.device("meta"))
    loaded = attempt(sub.load_to, "gpu_params.pt", torch.device("cpu"))
    return {
        "num_gpus": attempt(sub.num_gpus),
        "count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "try_gpu": attempt(sub.try_gpu),
        "try_all_gpus": attempt(sub.try_all_gpus),
        "to_device": attempt(
            sub.to_device, {"x": torch.ones(2), "pair": (torch.zeros(1), "keep")}, torch.device("meta")
        ),
        "move_model": moved
        if "error" in moved
        else {"value": sorted({str(t.device) for t in net.state_dict().values()})},
        "load_to": loaded if "error" in loaded else {"value": sorted(loaded["value"])},
        "norms": attempt(sub.norms_on_device, [torch.eye(2), 2 * torch.eye(3)], torch.device("cpu")),
    }
