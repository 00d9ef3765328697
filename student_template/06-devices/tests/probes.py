"""Visible probes of assignment 6 (devices): what `blockgrade check` runs in the sandbox.

One probe per task: a task you have not done yet fails only its own check. What is handed to
your functions comes from `given` builders, which the grader rebuilds to know the answers.
A probe that takes `device` runs on the CPU and on `cuda:0`: your GPU, or, on a machine without
one, a stand-in for it that keeps each tensor's device and refuses to mix devices as a GPU does.
"""

from pathlib import Path

import torch
from torch import nn

from autograder.contract import Attempt, ListOf, Record, Str, Tree
from autograder.probing import attempt, probe

GPU_PARAMS = (Path(__file__).resolve().parent / "data" / "gpu_params.pt").read_bytes()
META = torch.device("meta")


@probe(task="num_gpus", returns=Record(num_gpus=Attempt(Tree()), try_gpu=Attempt(Tree()), try_all_gpus=Attempt(Tree())))
def gpus(sub):
    return {
        "num_gpus": attempt(sub.num_gpus),
        "try_gpu": attempt(sub.try_gpu),
        "try_all_gpus": attempt(sub.try_all_gpus),
    }


def to_device_given():
    return {"obj": {"x": torch.ones(2), "pair": (torch.zeros(1), "keep")}}


@probe(task="to_device", given=to_device_given, returns=Attempt(Tree()))
def to_device(sub, given):
    return attempt(sub.to_device, given["obj"], META)


def move_model_given():
    return {"net": nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))}


@probe(
    task="move_model",
    given=move_model_given,
    returns=Record(devices=Attempt(ListOf(Str(max_len=40), max_len=100)), device=Str(max_len=40)),
)
def move_model(sub, device, given):
    net = given["net"]
    moved = attempt(sub.move_model, net, device)
    if "error" not in moved:
        moved = {"value": sorted({str(t.device) for t in [*net.parameters(), *net.buffers()]})}
    return {"devices": moved, "device": str(device)}


@probe(task="load_to", returns=Attempt(Tree()))
def load_to(sub):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)
    loaded = attempt(sub.load_to, "gpu_params.pt", torch.device("cpu"))
    if "error" in loaded or not isinstance(loaded["value"], dict):
        return loaded
    return {"value": sorted(str(k) for k in loaded["value"])}


def norms_given():
    return {"mats": [torch.tensor([[1.0, 2.0], [0.0, 1.0]]), 2 * torch.eye(3)]}


@probe(task="norms_on_device", given=norms_given, returns=Record(result=Attempt(Tree()), device=Str(max_len=40)))
def norms(sub, device, given):
    result = attempt(sub.norms_on_device, given["mats"], device)
    if "value" in result and isinstance(result["value"], torch.Tensor):
        result["value"] = {"norms": result["value"], "device": str(result["value"].device)}
    return {"result": result, "device": str(device)}
