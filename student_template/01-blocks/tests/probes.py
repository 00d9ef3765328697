"""Visible probes of assignment 1 (blocks): what `blockgrade check` runs in the sandbox."""

import torch
from torch import nn

from autograder.probing import attempt, probe


@probe
def mlp_output(sub, device):
    net = sub.MLP()
    net.to(device)
    X = torch.rand(2, 20, device=device)
    hidden, out = getattr(net, "hidden", None), getattr(net, "out", None)
    layers = {
        name: layer.state_dict() if isinstance(layer, nn.Linear) else None
        for name, layer in (("hidden", hidden), ("out", out))
    }
    return {"X": X, "Y": attempt(net, X), "layers": layers}


@probe
def sequential(sub):
    layers = [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)]
    net = sub.MySequential(*layers)
    X = torch.rand(2, 20)
    return {
        "X": X,
        "Y": attempt(net, X),
        "state_keys": list(net.state_dict().keys()),
        "layers": [layer.state_dict() for layer in layers],
        "len": attempt(len, net),
        "last_is_last": attempt(lambda: net[-1] is layers[-1]),
    }


@probe
def fixed_hidden(sub):
    net = sub.FixedHiddenMLP()
    X = torch.rand(2, 20)
    return {
        "params": [name for name, _ in net.named_parameters()],
        "buffers": [name for name, _ in net.named_buffers()],
        "Y": attempt(net, X),
    }


@probe
def nested(sub):
    net = sub.NestMLP()
    return {"Y": attempt(net, torch.rand(2, 20)), "children": [name for name, _ in net.named_children()]}


@probe
def parallel(sub):
    net = sub.Parallel(nn.Linear(4, 3), nn.Linear(4, 5))
    return {"Y": attempt(net, torch.rand(2, 4)), "children": [name for name, _ in net.named_children()]}


@probe
def replicated(sub):
    net = attempt(sub.replicate, lambda: nn.Linear(3, 3), 4)
    if "error" in net:
        return {"net": net}
    net = net["value"]
    return {
        "net": {"value": True},
        "children": len(list(net.children())) if isinstance(net, nn.Module) else 0,
        "rejects_zero": attempt(sub.replicate, lambda: nn.Linear(3, 3), 0),
    }
