"""Visible probes of assignment 3 (initialization): what `blockgrade check` runs in the sandbox.

Each probe serves one task and declares what it returns; the layers and networks it hands
to your code come from its `given` builder, which the grader rebuilds to know the values
they started with.
"""

import torch
from torch import nn

from autograder.contract import Anything, Attempt, Bool, ListOf, OneOf, Optional, Record, Str, Tensor
from autograder.probing import attempt, probe

LARGE = 4 * 200 * 100  # a bound on the layer's weight (your code may reshape it)

INITIALIZED = OneOf(
    Record(result=Attempt(Bool())),
    Record(
        result=Attempt(Bool()),
        weight=Optional(Tensor(max_numel=LARGE)),
        bias=Optional(Tensor(max_numel=LARGE)),
        same=Bool(),
    ),
)


def layer_given():
    return {"layer": nn.Linear(200, 100)}


def _initialized(fn, layer, **kwargs):
    weight = layer.weight
    result = attempt(fn, layer, **kwargs)
    if "error" in result:
        return {"result": result}
    now_weight, now_bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    return {
        "result": {"value": True},
        "weight": now_weight.detach().clone() if isinstance(now_weight, torch.Tensor) else None,
        "bias": now_bias.detach().clone() if isinstance(now_bias, torch.Tensor) else None,
        "same": now_weight is weight,
    }


@probe(
    task="init_normal",
    given=layer_given,
    returns=Record(normal=INITIALIZED, relu_untouched=Attempt(Anything())),
)
def normal(sub, given):
    return {
        "normal": _initialized(sub.init_normal, given["layer"]),
        "relu_untouched": attempt(sub.init_normal, nn.ReLU()),
    }


@probe(task="init_constant", given=layer_given, returns=INITIALIZED)
def constant(sub, given):
    return _initialized(sub.init_constant, given["layer"], value=0.5)


@probe(task="init_xavier", given=layer_given, returns=INITIALIZED)
def xavier(sub, given):
    return _initialized(sub.init_xavier, given["layer"])


@probe(task="my_init", given=layer_given, returns=INITIALIZED)
def my_init(sub, given):
    return _initialized(sub.my_init, given["layer"])


def per_layer_given():
    return {"net": nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))}


@probe(
    task="init_per_layer",
    given=per_layer_given,
    returns=Record(per_layer=Attempt(Bool()), first=Tensor(max_numel=100), second=Tensor(max_numel=100)),
)
def per_layer(sub, given):
    net = given["net"]

    def ones(m):
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.fill_(1.0)

    returned = attempt(sub.init_per_layer, net, {0: ones})
    return {
        "per_layer": returned if "error" in returned else {"value": returned["value"] is net},
        "first": net[0].weight.detach().clone(),
        "second": net[2].weight.detach().clone(),
    }


@probe(
    task="lazy_mlp",
    returns=Record(
        lazy=Attempt(Str()),
        shapes=Optional(Attempt(ListOf(ListOf(Anything(), max_len=8), max_len=20))),
        batchnorm=Attempt(Bool()),
    ),
)
def lazy(sub):
    # materialize on a network of the probe's own, in training mode, with a BatchNorm
    norm = nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d())
    done = attempt(sub.materialize, norm, 5)
    batchnorm = done if "error" in done else {"value": bool(norm.training and norm[1].training)}
    made = attempt(sub.lazy_mlp, hidden=16, out_features=2)
    if "error" in made:
        return {"lazy": made, "shapes": None, "batchnorm": batchnorm}
    net = made["value"]
    kind = attempt(lambda: type(net[0]).__name__[:200])  # before it materializes
    done = attempt(sub.materialize, net, 5)
    shapes = done if "error" in done else attempt(lambda: [[int(s) for s in p.shape] for p in net.parameters()])
    return {"lazy": kind, "shapes": shapes, "batchnorm": batchnorm}
