"""Visible probes of assignment 2 (parameters): what `blockgrade check` runs in the sandbox.

Each probe serves one task and declares what it returns, so that a task's check never
depends on another task's code.
"""

import torch
from torch import nn

from autograder.contract import Anything, Attempt, Bool, ListOf, OneOf, Record, Str, Tensor
from autograder.probing import attempt, probe


def _net():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


@probe(task="describe_parameters", returns=Record(described=Attempt(Anything())))
def described(sub):
    return {"described": attempt(sub.describe_parameters, _net())}


@probe(task="get_parameter", returns=Record(found_is_bias=Attempt(Bool())))
def found(sub):
    net = _net()
    got = attempt(sub.get_parameter, net, "2.bias")
    return {"found_is_bias": got if "error" in got else {"value": got["value"] is net[2].bias}}


@probe(task="count_parameters", returns=Record(count=Attempt(Anything())))
def counted(sub):
    return {"count": attempt(sub.count_parameters, _net())}


@probe(
    task="block1",
    returns=OneOf(
        Record(net=Attempt(Bool())),
        Record(net=Attempt(Bool()), keys=ListOf(Str(), max_len=4), Y=Attempt(Tensor(max_numel=10_000))),
    ),
)
def nested(sub):
    net = attempt(sub.rgnet, 2)
    if "error" in net:
        return {"net": net}
    net = net["value"]
    keys = [str(k)[:200] for k in list(net.state_dict().keys())[:4]]
    return {"net": {"value": True}, "keys": keys, "Y": attempt(net, torch.rand(3, 4))}


@probe(task="tied_mlp", returns=Record(shares=Attempt(Bool())))
def tied(sub):
    made = attempt(sub.tied_mlp)
    if "error" in made:
        return {"shares": made}
    net = made["value"]
    return {"shares": attempt(lambda: net[2] is net[4])}


@probe(task="tie_weights", returns=Record(tie_weights=Attempt(Bool())))
def tying(sub):
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    result = attempt(sub.tie_weights, net, 0, 2)
    return {"tie_weights": result if "error" in result else {"value": net[2].weight is net[0].weight}}
