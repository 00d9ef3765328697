"""Hidden probes of assignment 1 (blocks). They run in the sandbox, beside the student's module.

Probes build their own layers and report them alongside what the student's module did, so
that judges can recompute every result from plain data and tell one mistake from another.
"""

import contextlib

import torch
from torch import nn

from autograder.probing import attempt, probe


def _layer(m):
    if isinstance(m, nn.Linear):
        return {"kind": "Linear", "in": m.in_features, "out": m.out_features}
    return {"kind": "missing" if m is None else type(m).__name__}


def _linears(net):
    """Every nn.Linear inside `net` with its weights: judges pick them by shape."""
    return [
        {"name": name, "in": m.in_features, "out": m.out_features, "weight": m.weight, "bias": m.bias}
        for name, m in net.named_modules()
        if isinstance(m, nn.Linear)
    ]


# --------------------------------------------------------------------------------- MLP


@probe
def mlp_shapes(sub):
    out = {}
    for key, kwargs in (("default", {}), ("custom", {"in_features": 5, "hidden": 7, "out_features": 3})):
        made = attempt(sub.MLP, **kwargs)
        if "error" in made:
            out[key] = made
            continue
        net = made["value"]
        out[key] = {"value": {"hidden": _layer(getattr(net, "hidden", None)), "out": _layer(getattr(net, "out", None))}}
    return out


@probe
def mlp_forward(sub, device):
    net = sub.MLP()
    net.to(device)
    X = torch.rand(4, 20, device=device)
    return {"X": X, "Y": attempt(net, X), "linears": _linears(net)}


# ------------------------------------------------------------------------ MySequential


@probe
def seq_registration(sub):
    layers = [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)]
    net = sub.MySequential(*layers)
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    return {
        "children": [name for name, _ in net.named_children()],
        "state_keys": list(net.state_dict().keys()),
        "parameters": len(list(net.parameters())),
        "applied": visited,
    }


@probe
def seq_forward(sub, device):
    layers = [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)]
    net = sub.MySequential(*layers)
    net.to(device)
    X = torch.rand(2, 20, device=device)
    # the layers' own weights, whatever the registration did: forward is judged on its own
    return {"X": X, "Y": attempt(net, X), "layers": [layer.state_dict() for layer in layers]}


@probe
def seq_shared(sub):
    shared = nn.Linear(4, 4)
    net = sub.MySequential(shared, nn.ReLU(), shared)
    X = torch.rand(3, 4)
    return {"X": X, "Y": attempt(net, X), "shared": shared.state_dict()}


@probe
def seq_indexing(sub):
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    net = sub.MySequential(*layers)

    def item_is(i):
        got = attempt(lambda: net[i])
        return got if "error" in got else {"value": got["value"] is layers[i]}

    past_end = attempt(lambda: net[3])
    return {
        "len": attempt(len, net),
        "items": {i: item_is(i) for i in (0, 1, 2, -1, -3)},
        "past_end": past_end if "error" in past_end else {"value": type(past_end["value"]).__name__},
    }


# ---------------------------------------------------------------------- FixedHiddenMLP


@probe
def fixed_structure(sub):
    out = {}
    for key, kwargs in (("default", {}), ("custom", {"in_features": 8})):
        net = sub.FixedHiddenMLP(**kwargs)
        rw = getattr(net, "rand_weight", None)
        is_tensor = isinstance(rw, torch.Tensor)
        if isinstance(rw, nn.Parameter):
            kind = "Parameter"
        else:
            kind = "Tensor" if is_tensor else ("missing" if rw is None else type(rw).__name__)
        out[key] = {
            "params": [[name, list(p.shape)] for name, p in net.named_parameters()],
            "buffers": [name for name, _ in net.named_buffers()],
            "state_keys": list(net.state_dict().keys()),
            "rand_weight": rw if is_tensor else None,
            "rand_weight_kind": kind,
            "rand_weight_requires_grad": bool(rw.requires_grad) if is_tensor else None,
        }
    return out


@probe
def fixed_forward(sub, device):
    net = sub.FixedHiddenMLP()
    net.to(device)
    rw = getattr(net, "rand_weight", None)
    X = torch.rand(2, 20, device=device)
    return {
        "X": X,
        "Y": attempt(net, X),
        "linears": _linears(net),
        "rand_weight": rw if isinstance(rw, torch.Tensor) else None,
        "rand_weight_device": str(rw.device) if isinstance(rw, torch.Tensor) else None,
        "device": str(device),
    }


# ----------------------------------------------------------------------------- NestMLP


@probe
def nest_structure(sub):
    net = sub.NestMLP()
    inner = getattr(net, "net", None)
    return {
        "net": [_layer(m) for m in inner] if isinstance(inner, nn.Sequential) else _layer(inner),
        "linear": _layer(getattr(net, "linear", None)),
    }


@probe
def nest_forward(sub, device):
    net = sub.NestMLP()
    net.to(device)
    X = torch.rand(3, 20, device=device)
    return {"X": X, "Y": attempt(net, X), "linears": _linears(net)}


# ---------------------------------------------------------------------------- Parallel


@probe
def parallel_registration(sub):
    net1, net2 = nn.Linear(4, 3), nn.Linear(4, 5)
    net = sub.Parallel(net1, net2)
    return {
        "children": [name for name, _ in net.named_children()],
        "same_objects": [getattr(net, "net1", None) is net1, getattr(net, "net2", None) is net2],
        "state_keys": list(net.state_dict().keys()),
    }


@probe
def parallel_forward(sub, device):
    net1, net2 = nn.Linear(4, 3), nn.Linear(4, 5)
    net = sub.Parallel(net1, net2)
    net.to(device)
    X = torch.rand(2, 6, 4, device=device)  # three dimensions: the default dim is the last, not 1
    return {"X": X, "Y": attempt(net, X), "net1": net1.state_dict(), "net2": net2.state_dict()}


@probe
def parallel_dim(sub):
    net1, net2 = nn.Linear(4, 3), nn.Linear(4, 3)
    net = sub.Parallel(net1, net2, dim=0)
    X = torch.rand(2, 4)
    return {"X": X, "Y": attempt(net, X), "net1": net1.state_dict(), "net2": net2.state_dict()}


# --------------------------------------------------------------------------- replicate


class _ReferenceSequential(nn.Sequential):
    """Stands in for the student's MySequential while replicate is probed, so that a broken
    MySequential does not cost replicate its points (the tasks are graded independently)."""


@contextlib.contextmanager
def _reference_sequential(sub):
    had = "MySequential" in vars(sub)
    original = vars(sub).get("MySequential")
    sub.MySequential = _ReferenceSequential
    try:
        yield
    finally:
        if had:
            sub.MySequential = original
        else:
            del sub.MySequential


@probe
def replicate_result(sub):
    made = []

    def factory():
        layer = nn.Linear(4, 4)
        made.append(layer)
        return layer

    with _reference_sequential(sub):
        result = attempt(sub.replicate, factory, 3)
    if "error" in result:
        return {"result": result}
    net = result["value"]
    children = list(net._modules.values()) if isinstance(net, nn.Module) else []
    params = [p for child in children if isinstance(child, nn.Module) for p in child.parameters()]
    X = torch.rand(2, 4)
    return {
        "result": {"value": True},
        "type": "MySequential" if isinstance(net, _ReferenceSequential) else type(net).__name__,
        "calls": len(made),
        "n_children": len(children),
        "from_factory": [any(child is m for m in made) for child in children],
        "distinct_children": len({id(child) for child in children}),
        "parameters": len(params),
        "distinct_parameters": len({id(p) for p in params}),
        "states": [child.state_dict() for child in children if isinstance(child, nn.Linear)],
        "X": X,
        "Y": attempt(net, X) if isinstance(net, nn.Module) else {"value": None},
    }


@probe
def replicate_invalid(sub):
    with _reference_sequential(sub):
        return {n: attempt(sub.replicate, lambda: nn.Linear(2, 2), n) for n in (0, -2)}
