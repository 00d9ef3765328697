"""Visible probes of assignment 3 (initialization): what `blockgrade check` runs in the sandbox."""

import torch
from torch import nn

from autograder.probing import attempt, probe


def _initialized(fn, **kwargs):
    layer = nn.Linear(200, 100)
    bias = layer.bias.detach().clone()
    weight = layer.weight
    result = attempt(fn, layer, **kwargs)
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": True},
        "weight": layer.weight.detach().clone(),
        "bias": layer.bias.detach().clone(),
        "bias_before": bias,
        "same": layer.weight is weight,
    }


@probe
def inits(sub):
    return {
        "normal": _initialized(sub.init_normal),
        "constant": _initialized(sub.init_constant, value=0.5),
        "xavier": _initialized(sub.init_xavier),
        "my_init": _initialized(sub.my_init),
        "relu_untouched": attempt(sub.init_normal, nn.ReLU()),
    }


@probe
def per_layer_and_lazy(sub):
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    second = net[2].weight.detach().clone()

    def ones(m):
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.fill_(1.0)

    returned = attempt(sub.init_per_layer, net, {0: ones})
    lazy = attempt(sub.lazy_mlp, hidden=16, out_features=2)
    kind = lazy if "error" in lazy else {"value": type(lazy["value"][0]).__name__}  # before it materializes
    shapes = None
    if "value" in lazy:
        done = attempt(sub.materialize, lazy["value"], 5)
        shapes = done if "error" in done else {"value": [list(p.shape) for p in lazy["value"].parameters()]}
    return {
        "per_layer": returned if "error" in returned else {"value": returned["value"] is net},
        "first": net[0].weight.detach().clone(),
        "second_kept": torch.equal(net[2].weight.detach(), second),
        "lazy": kind,
        "shapes": shapes,
    }
