"""Visible probes of assignment 1 (blocks): what `blockgrade check` runs in the sandbox.

Each probe names the task it serves and declares what it returns. The inputs and weights it
feeds to your code come from its `given` builder, which the grader rebuilds on its side to
compute the expected results.
"""

import torch
from torch import nn

from autograder.contract import Anything, Attempt, Bool, Int, ListOf, OneOf, Record, Str, Tensor
from autograder.probing import attempt, probe

SMALL = 10_000  # a bound on the outputs of these small networks


def _state(n_in, n_out):
    layer = nn.Linear(n_in, n_out)
    return {"weight": layer.weight.detach().clone(), "bias": layer.bias.detach().clone()}


def _set_weights(net, states):
    """Give net.hidden and net.out the given weights, in place; the names of those that are not
    an nn.Linear of the right size (call it through `attempt`: it touches your objects)."""
    wrong = []
    for name, state in states.items():
        layer = getattr(net, name, None)
        if not (
            isinstance(layer, nn.Linear)
            and isinstance(layer.bias, torch.Tensor)
            and tuple(layer.weight.shape) == tuple(state["weight"].shape)
        ):
            wrong.append(name)
            continue
        with torch.no_grad():
            layer.weight.copy_(state["weight"])
            layer.bias.copy_(state["bias"])
    return wrong


def mlp_output_given():
    return {"X": torch.rand(2, 20), "hidden": _state(20, 256), "out": _state(256, 10)}


@probe(
    task="MLP",
    given=mlp_output_given,
    returns=OneOf(
        Record(made=Attempt(Bool())),
        Record(
            made=Attempt(Bool()),
            wrong_layers=Attempt(ListOf(Str(), max_len=2)),
            X=Tensor(max_numel=SMALL),
            Y=Attempt(Tensor(max_numel=SMALL)),
        ),
    ),
)
def mlp_output(sub, device, given):
    made = attempt(sub.MLP)
    if "error" in made:
        return {"made": made}
    net = made["value"]
    wrong = attempt(_set_weights, net, {"hidden": given["hidden"], "out": given["out"]})
    net.to(device)
    X = given["X"].to(device)
    return {"made": {"value": True}, "wrong_layers": wrong, "X": X, "Y": attempt(net, X)}


def sequential_given():
    return {"layers": [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)], "X": torch.rand(2, 20)}


@probe(
    task="MySequential",
    given=sequential_given,
    returns=Record(
        X=Tensor(max_numel=SMALL),
        Y=Attempt(Tensor(max_numel=SMALL)),
        state_keys=ListOf(Str()),
        len=Attempt(Int(min=0)),
        last_is_last=Attempt(Bool()),
    ),
)
def sequential(sub, given):
    layers = given["layers"]
    net = sub.MySequential(*layers)
    X = given["X"]
    return {
        "X": X,
        "Y": attempt(net, X),
        "state_keys": [str(k)[:200] for k in net.state_dict().keys()],
        "len": attempt(len, net),
        "last_is_last": attempt(lambda: net[-1] is layers[-1]),
    }


@probe(
    task="FixedHiddenMLP",
    returns=Record(params=ListOf(Str()), buffers=ListOf(Str()), Y=Attempt(Tensor(max_numel=SMALL))),
)
def fixed_hidden(sub):
    net = sub.FixedHiddenMLP()
    X = torch.rand(2, 20)
    return {
        "params": [str(name)[:200] for name, _ in net.named_parameters()],
        "buffers": [str(name)[:200] for name, _ in net.named_buffers()],
        "Y": attempt(net, X),
    }


@probe(task="NestMLP", returns=Record(Y=Attempt(Tensor(max_numel=SMALL)), children=ListOf(Str())))
def nested(sub):
    net = sub.NestMLP()
    return {"Y": attempt(net, torch.rand(2, 20)), "children": [str(name)[:200] for name, _ in net.named_children()]}


@probe(task="Parallel", returns=Record(Y=Attempt(Tensor(max_numel=SMALL)), children=ListOf(Str())))
def parallel(sub):
    net = sub.Parallel(nn.Linear(4, 3), nn.Linear(4, 5))
    return {"Y": attempt(net, torch.rand(2, 4)), "children": [str(name)[:200] for name, _ in net.named_children()]}


@probe(
    task="replicate",
    returns=OneOf(
        Record(net=Attempt(Bool())),
        Record(net=Attempt(Bool()), children=Int(min=0), rejects_zero=Attempt(Anything())),
    ),
)
def replicated(sub):
    # replicate is checked on its own: a stand-in nn.Sequential takes MySequential's place meanwhile
    had, original = "MySequential" in vars(sub), vars(sub).get("MySequential")
    sub.MySequential = nn.Sequential
    try:
        net = attempt(sub.replicate, lambda: nn.Linear(3, 3), 4)
        if "error" in net:
            return {"net": net}
        net = net["value"]
        return {
            "net": {"value": True},
            "children": len(list(net.children())) if isinstance(net, nn.Module) else 0,
            "rejects_zero": attempt(sub.replicate, lambda: nn.Linear(3, 3), 0),
        }
    finally:
        if had:
            sub.MySequential = original
        else:
            del sub.MySequential
