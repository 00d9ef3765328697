"""Visible probes of assignment 2 (parameters): what `blockgrade check` runs in the sandbox."""

import torch
from torch import nn

from autograder.probing import attempt, probe


@probe
def basics(sub):
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    found = attempt(sub.get_parameter, net, "2.bias")
    return {
        "described": attempt(sub.describe_parameters, net),
        "found_is_bias": found if "error" in found else {"value": found["value"] is net[2].bias},
        "count": attempt(sub.count_parameters, net),
    }


@probe
def nested(sub):
    net = attempt(sub.rgnet, 2)
    if "error" in net:
        return {"net": net}
    net = net["value"]
    return {"net": {"value": True}, "keys": list(net.state_dict().keys())[:4], "Y": attempt(net, torch.rand(3, 4))}


@probe
def tying(sub):
    tied = sub.tied_mlp()
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    result = attempt(sub.tie_weights, net, 0, 2)
    return {
        "tied_mlp_shares": tied[2] is tied[4],
        "tie_weights": result if "error" in result else {"value": net[2].weight is net[0].weight},
    }
