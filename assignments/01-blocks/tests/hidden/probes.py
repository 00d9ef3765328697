"""Hidden probes of assignment 1 (blocks). They run in the sandbox, beside the student's module.

Every probe declares the task whose judges use it and what it returns (autograder.contract).
The inputs fed to student code come from `given` builders, which the grader rebuilds
identically: judges compute every reference from those, never from what a probe reports.
Where student code creates its own weights (MLP's `hidden`, FixedHiddenMLP's `rand_weight`),
the probe overwrites them with given values before calling forward.
"""

import contextlib

import torch
from torch import nn

from autograder.contract import Anything, Attempt, Bool, Int, ListOf, OneOf, Optional, Record, Str, Tensor, TupleOf
from autograder.probing import attempt, probe

# What `_layer` reports: a Linear's sizes, or the kind of whatever else is there.
LAYER = OneOf(Record({"kind": Str(max_len=200), "in": Int(), "out": Int()}), Record(kind=Str(max_len=200)))
# What `_load` reports per path: the layer found there and whether it took the given weights.
LOADED = Record(layer=LAYER, loaded=Bool())
SMALL = 10_000  # a bound on the outputs of these small networks


def _layer(m):
    if isinstance(m, nn.Linear):
        return {"kind": "Linear", "in": int(m.in_features), "out": int(m.out_features)}
    return {"kind": "missing" if m is None else type(m).__name__[:200]}


def _state(n_in, n_out):
    """Weights of a fresh nn.Linear(n_in, n_out), for a `given` builder."""
    layer = nn.Linear(n_in, n_out)
    return {"weight": layer.weight.detach().clone(), "bias": layer.bias.detach().clone()}


def _resolve(net, path):
    module = net
    for part in path.split("."):
        module = getattr(module, part, None)
    return module


def _load(net, states):
    """Give the nn.Linear at each dotted path of `net` the given weights (in place, so whatever
    holds the layer sees them). Reports, per path, the layer found there and whether it took them.
    Call it through `attempt`: it touches the student's objects."""
    report = {}
    for path, state in states.items():
        m = _resolve(net, path)
        ok = (
            isinstance(m, nn.Linear)
            and isinstance(m.weight, torch.Tensor)
            and isinstance(m.bias, torch.Tensor)
            and tuple(m.weight.shape) == tuple(state["weight"].shape)
            and tuple(m.bias.shape) == tuple(state["bias"].shape)
        )
        if ok:
            with torch.no_grad():
                m.weight.copy_(state["weight"])
                m.bias.copy_(state["bias"])
        report[path] = {"layer": _layer(m), "loaded": bool(ok)}
    return report


def _loaded_spec(*paths):
    return Attempt(Record({path: LOADED for path in paths}))


# --------------------------------------------------------------------------------- MLP


@probe(
    task="MLP",
    returns=Record(
        default=Attempt(Record(hidden=LAYER, out=LAYER)),
        custom=Attempt(Record(hidden=LAYER, out=LAYER)),
    ),
)
def mlp_shapes(sub):
    out = {}
    for key, kwargs in (("default", {}), ("custom", {"in_features": 5, "hidden": 7, "out_features": 3})):
        made = attempt(sub.MLP, **kwargs)
        if "error" in made:
            out[key] = made
            continue
        out[key] = attempt(_mlp_layers, made["value"])
    return out


def _mlp_layers(net):
    return {"hidden": _layer(getattr(net, "hidden", None)), "out": _layer(getattr(net, "out", None))}


def mlp_forward_given():
    return {"X": torch.rand(4, 20), "hidden": _state(20, 256), "out": _state(256, 10)}


@probe(
    task="MLP",
    given=mlp_forward_given,
    returns=OneOf(
        Record(made=Attempt(Bool())),
        Record(
            made=Attempt(Bool()),
            loaded=_loaded_spec("hidden", "out"),
            X=Tensor(max_numel=SMALL),
            Y=Attempt(Tensor(max_numel=SMALL)),
        ),
    ),
)
def mlp_forward(sub, device, given):
    made = attempt(sub.MLP)
    if "error" in made:
        return {"made": made}
    net = made["value"]
    loaded = attempt(_load, net, {"hidden": given["hidden"], "out": given["out"]})
    net.to(device)
    X = given["X"].to(device)
    return {"made": {"value": True}, "loaded": loaded, "X": X, "Y": attempt(net, X)}


# ------------------------------------------------------------------------ MySequential


@probe(
    task="MySequential",
    returns=Record(
        children=ListOf(Str()),
        state_keys=ListOf(Str()),
        parameters=Int(min=0),
        applied=ListOf(Str()),
    ),
)
def seq_registration(sub):
    layers = [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)]
    net = sub.MySequential(*layers)
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__[:200]))
    return {
        "children": [str(name)[:200] for name, _ in net.named_children()],
        "state_keys": [str(key)[:200] for key in net.state_dict().keys()],
        "parameters": len(list(net.parameters())),
        "applied": visited,
    }


def seq_forward_given():
    return {"layers": [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)], "X": torch.rand(2, 20)}


@probe(
    task="MySequential",
    given=seq_forward_given,
    returns=Record(X=Tensor(shape=(2, 20)), Y=Attempt(Tensor(max_numel=100_000))),
)
def seq_forward(sub, device, given):
    net = sub.MySequential(*given["layers"])
    net.to(device)
    X = given["X"].to(device)
    return {"X": X, "Y": attempt(net, X)}


def seq_shared_given():
    return {"shared": nn.Linear(4, 4), "X": torch.rand(3, 4)}


@probe(
    task="MySequential",
    given=seq_shared_given,
    returns=Record(X=Tensor(max_numel=SMALL), Y=Attempt(Tensor(max_numel=SMALL))),
)
def seq_shared(sub, given):
    shared = given["shared"]
    net = sub.MySequential(shared, nn.ReLU(), shared)
    X = given["X"]
    return {"X": X, "Y": attempt(net, X)}


@probe(
    task="MySequential",
    returns=Record(
        len=Attempt(Anything()),
        items=Record({i: Attempt(Bool()) for i in (0, 1, 2, -1, -3)}),
        past_end=Attempt(Str()),
    ),
)
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
        "past_end": past_end if "error" in past_end else {"value": type(past_end["value"]).__name__[:200]},
    }


# ---------------------------------------------------------------------- FixedHiddenMLP

_FIXED = Record(
    params=ListOf(TupleOf(Str(), ListOf(Int(), max_len=8))),
    buffers=ListOf(Str()),
    state_keys=ListOf(Str()),
    rand_weight=Optional(Tensor(max_numel=SMALL)),
    rand_weight_kind=Str(max_len=200),
    rand_weight_requires_grad=Optional(Bool()),
)


@probe(task="FixedHiddenMLP", returns=Record(default=_FIXED, custom=_FIXED))
def fixed_structure(sub):
    out = {}
    for key, kwargs in (("default", {}), ("custom", {"in_features": 8})):
        net = sub.FixedHiddenMLP(**kwargs)
        rw = getattr(net, "rand_weight", None)
        is_tensor = isinstance(rw, torch.Tensor)
        if isinstance(rw, nn.Parameter):
            kind = "Parameter"
        else:
            kind = "Tensor" if is_tensor else ("missing" if rw is None else type(rw).__name__[:200])
        out[key] = {
            "params": [[str(name)[:200], [int(s) for s in p.shape]] for name, p in net.named_parameters()],
            "buffers": [str(name)[:200] for name, _ in net.named_buffers()],
            "state_keys": [str(k)[:200] for k in net.state_dict().keys()],
            "rand_weight": rw if is_tensor else None,
            "rand_weight_kind": kind,
            "rand_weight_requires_grad": bool(rw.requires_grad) if is_tensor else None,
        }
    return out


def fixed_forward_given():
    return {"X": torch.rand(2, 20), "rand_weight": torch.rand(20, 20), "linear": _state(20, 20)}


def _set_rand_weight(net, value):
    """Overwrite the student's rand_weight with the given one, in place; False if there is none."""
    rw = getattr(net, "rand_weight", None)
    if not isinstance(rw, torch.Tensor) or tuple(rw.shape) != tuple(value.shape):
        return False
    with torch.no_grad():
        rw.copy_(value)
    return True


@probe(
    task="FixedHiddenMLP",
    given=fixed_forward_given,
    returns=Record(
        X=Tensor(max_numel=SMALL),
        Y=Attempt(Tensor(max_numel=SMALL)),
        loaded=_loaded_spec("linear"),
        rand_weight_loaded=Attempt(Bool()),
        rand_weight_device=Optional(Str(max_len=40)),
        device=Str(max_len=40),
    ),
)
def fixed_forward(sub, device, given):
    net = sub.FixedHiddenMLP()
    loaded = attempt(_load, net, {"linear": given["linear"]})
    rand_weight_loaded = attempt(_set_rand_weight, net, given["rand_weight"])
    net.to(device)
    rw = getattr(net, "rand_weight", None)
    X = given["X"].to(device)
    return {
        "X": X,
        "Y": attempt(net, X),
        "loaded": loaded,
        "rand_weight_loaded": rand_weight_loaded,
        "rand_weight_device": str(rw.device)[:40] if isinstance(rw, torch.Tensor) else None,
        "device": str(device),
    }


# ----------------------------------------------------------------------------- NestMLP


@probe(task="NestMLP", returns=Record(net=OneOf(ListOf(LAYER), LAYER), linear=LAYER))
def nest_structure(sub):
    net = sub.NestMLP()
    inner = getattr(net, "net", None)
    return {
        "net": [_layer(m) for m in inner] if isinstance(inner, nn.Sequential) else _layer(inner),
        "linear": _layer(getattr(net, "linear", None)),
    }


NEST_LAYERS = {"net.0": (20, 64), "net.2": (64, 32), "linear": (32, 16)}


def nest_forward_given():
    return {"X": torch.rand(3, 20), **{path: _state(*sizes) for path, sizes in NEST_LAYERS.items()}}


@probe(
    task="NestMLP",
    given=nest_forward_given,
    returns=Record(X=Tensor(max_numel=SMALL), Y=Attempt(Tensor(max_numel=SMALL)), loaded=_loaded_spec(*NEST_LAYERS)),
)
def nest_forward(sub, device, given):
    net = sub.NestMLP()
    loaded = attempt(_load, net, {path: given[path] for path in NEST_LAYERS})
    net.to(device)
    X = given["X"].to(device)
    return {"X": X, "Y": attempt(net, X), "loaded": loaded}


# ---------------------------------------------------------------------------- Parallel


@probe(
    task="Parallel",
    returns=Record(children=ListOf(Str()), same_objects=ListOf(Bool(), max_len=2), state_keys=ListOf(Str())),
)
def parallel_registration(sub):
    net1, net2 = nn.Linear(4, 3), nn.Linear(4, 5)
    net = sub.Parallel(net1, net2)
    return {
        "children": [str(name)[:200] for name, _ in net.named_children()],
        "same_objects": [getattr(net, "net1", None) is net1, getattr(net, "net2", None) is net2],
        "state_keys": [str(k)[:200] for k in net.state_dict().keys()],
    }


def parallel_forward_given():
    # three dimensions: the default dim is the last, not 1
    return {"net1": nn.Linear(4, 3), "net2": nn.Linear(4, 5), "X": torch.rand(2, 6, 4)}


@probe(
    task="Parallel",
    given=parallel_forward_given,
    returns=Record(X=Tensor(max_numel=SMALL), Y=Attempt(Tensor(max_numel=SMALL))),
)
def parallel_forward(sub, device, given):
    net = sub.Parallel(given["net1"], given["net2"])
    net.to(device)
    X = given["X"].to(device)
    return {"X": X, "Y": attempt(net, X)}


def parallel_dim_given():
    return {"net1": nn.Linear(4, 3), "net2": nn.Linear(4, 3), "X": torch.rand(2, 4)}


@probe(
    task="Parallel",
    given=parallel_dim_given,
    returns=Record(X=Tensor(max_numel=SMALL), Y=Attempt(Tensor(max_numel=SMALL))),
)
def parallel_dim(sub, given):
    net = sub.Parallel(given["net1"], given["net2"], dim=0)
    X = given["X"]
    return {"X": X, "Y": attempt(net, X)}


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


REPLICATED = 3  # replicate(factory, 3)


def replicate_result_given():
    # what factory() hands out, in order (a call beyond these gets a fresh layer)
    return {"layers": [nn.Linear(4, 4) for _ in range(REPLICATED)], "X": torch.rand(2, 4)}


@probe(
    task="replicate",
    given=replicate_result_given,
    returns=OneOf(
        Record(result=Attempt(Bool())),
        Record(
            result=Attempt(Bool()),
            type=Str(max_len=200),
            calls=Int(min=0),
            n_children=Int(min=0),
            order=ListOf(Int(min=-1)),
            distinct_children=Int(min=0),
            parameters=Int(min=0),
            distinct_parameters=Int(min=0),
            X=Tensor(max_numel=SMALL),
            Y=Attempt(Optional(Tensor(max_numel=SMALL))),
        ),
    ),
)
def replicate_result(sub, given):
    made = []

    def factory():
        layer = given["layers"][len(made)] if len(made) < len(given["layers"]) else nn.Linear(4, 4)
        made.append(layer)
        return layer

    with _reference_sequential(sub):
        result = attempt(sub.replicate, factory, REPLICATED)
    if "error" in result:
        return {"result": result}
    net = result["value"]
    children = list(net._modules.values()) if isinstance(net, nn.Module) else []
    params = [p for child in children if isinstance(child, nn.Module) for p in child.parameters()]
    X = given["X"]

    def made_at(child):
        return next((i for i, m in enumerate(made) if child is m), -1)

    return {
        "result": {"value": True},
        "type": "MySequential" if isinstance(net, _ReferenceSequential) else type(net).__name__[:200],
        "calls": len(made),
        "n_children": len(children),
        "order": [made_at(child) for child in children],  # which call of factory() made each child
        "distinct_children": len({id(child) for child in children}),
        "parameters": len(params),
        "distinct_parameters": len({id(p) for p in params}),
        "X": X,
        "Y": attempt(net, X) if isinstance(net, nn.Module) else {"value": None},
    }


@probe(task="replicate", returns=Record({0: Attempt(Anything()), -2: Attempt(Anything()), 1: Attempt(Anything())}))
def replicate_invalid(sub):
    with _reference_sequential(sub):
        # n = 1 is the boundary: valid, one module
        return {n: attempt(sub.replicate, lambda: nn.Linear(2, 2), n) for n in (0, -2, 1)}
