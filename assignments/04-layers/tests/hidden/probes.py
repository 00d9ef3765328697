"""Hidden probes of assignment 4 (layers). They run in the sandbox, beside the student's module."""

import torch
from torch import nn

from autograder.probing import attempt, probe


def _backward(Y):
    """Backpropagate sum(Y) if Y is a tensor in a graph; report what happened."""
    if isinstance(Y, torch.Tensor) and Y.requires_grad:
        return attempt(lambda: Y.sum().real.backward())
    return {"value": "no graph"}


# ----------------------------------------------------------------------- CenteredLayer


@probe
def centered_all(sub, device):
    layer = sub.CenteredLayer()
    X = torch.rand(4, 6, device=device) * 10
    return {"X": X, "Y": attempt(layer, X), "parameters": len(list(layer.parameters()))}


@probe
def centered_dims(sub):
    X = torch.rand(2, 3, 5) * 10
    return {"X": X, "Y": {str(d): attempt(sub.CenteredLayer(dim=d), X) for d in (0, 1, 2, -1)}}


@probe
def centered_in_net(sub):
    net = nn.Sequential(nn.Linear(8, 32), sub.CenteredLayer())
    X = torch.rand(4, 8)
    return {
        "X": X,
        "Y": attempt(net, X),
        "linear": net[0].state_dict(),
        "parameters": [n for n, _ in net.named_parameters()],
    }


# ---------------------------------------------------------------------------- MyLinear


@probe
def mylinear_parameters(sub):
    layer = sub.MyLinear(64, 128)
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    return {
        "parameters": sorted([name, list(p.shape)] for name, p in layer.named_parameters()),
        "weight": weight if isinstance(weight, torch.Tensor) else None,
        "bias": bias if isinstance(bias, torch.Tensor) else None,
    }


@probe
def mylinear_forward(sub, device):
    layer = sub.MyLinear(5, 3)
    layer.to(device)
    X = torch.randn(6, 5, device=device)
    Y = attempt(layer, X)
    backward = _backward(Y.get("value"))
    registered = dict(layer.named_parameters())  # what an optimizer built from parameters() would train
    return {
        "X": X,
        "Y": Y,
        "weight": layer.weight,
        "bias": layer.bias,
        "backward": backward,
        "grad_weight": getattr(registered.get("weight"), "grad", None),
        "grad_bias": getattr(registered.get("bias"), "grad", None),
    }


# --------------------------------------------------------------------- TensorReduction


@probe
def reduction_parameters(sub):
    layer = sub.TensorReduction(4, 3)
    return {"parameters": [[name, list(p.shape)] for name, p in layer.named_parameters()]}


@probe
def reduction_forward(sub, device):
    layer = sub.TensorReduction(5, 3)
    layer.to(device)
    X = torch.randn(7, 5, device=device)
    Y = attempt(layer, X)
    backward = _backward(Y.get("value"))
    weight = getattr(layer, "weight", None)
    return {"X": X, "Y": Y, "weight": weight, "backward": backward, "grad": getattr(weight, "grad", None)}


@probe
def reduction_rows(sub):
    layer = sub.TensorReduction(4, 2)
    X = torch.randn(6, 4)
    return {
        "weight": getattr(layer, "weight", None),
        "X": X,
        "full": attempt(layer, X),
        "single": attempt(layer, X[2:3]),
        "flipped": attempt(layer, X.flip(0)),
    }


# ------------------------------------------------------------------------- FourierHalf


@probe
def fourier(sub, device):
    layer = sub.FourierHalf()
    out = {"parameters": len(list(layer.parameters()))}
    for n in (8, 7, 2, 1):
        X = torch.randn(3, n, device=device)
        out[str(n)] = {"X": X, "Y": attempt(layer, X)}
    X = torch.randn(2, 3, 6, device=device, dtype=torch.float64)
    out["batched"] = {"X": X, "Y": attempt(layer, X)}
    return out
