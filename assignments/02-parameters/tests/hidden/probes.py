"""Hidden probes of assignment 2 (parameters). They run in the sandbox, beside the student's module.

Probes that test one task on a network build that network here, so that no task depends on
the student's answer to another; the judges build the same networks to know what to expect.
"""

import torch
from torch import nn

from autograder.probing import attempt, probe


def _block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def _reference_rgnet():
    inner = nn.Sequential()
    inner.add_module("block 0", _block1())
    inner.add_module("block 1", _block1())
    return nn.Sequential(inner, nn.Linear(4, 1))


def _reference_tied():
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def _structure(module):
    """A module's kind, sizes and children, recursively."""
    if isinstance(module, nn.Linear):
        return {"kind": "Linear", "in": module.in_features, "out": module.out_features}
    if not isinstance(module, nn.Module):
        return {"kind": type(module).__name__}
    # _modules, not named_children(): a module registered twice must show up twice
    return {"kind": type(module).__name__, "children": [[n, _structure(c)] for n, c in module._modules.items()]}


# ------------------------------------------------------------------ describe_parameters


@probe
def described(sub):
    frozen = _reference_rgnet()
    return {
        "nested": attempt(sub.describe_parameters, _reference_rgnet()),
        "tied": attempt(sub.describe_parameters, _reference_tied()),
        "empty": attempt(sub.describe_parameters, nn.Sequential(nn.ReLU())),
        "frozen": attempt(sub.describe_parameters, frozen.requires_grad_(False)),
    }


# ---------------------------------------------------------------- block1 / block2 / rgnet


def _built(factory, *args):
    made = attempt(factory, *args)
    if "error" in made:
        return made
    net = made["value"]
    params = list(net.parameters()) if isinstance(net, nn.Module) else []
    return {
        "value": {
            "structure": _structure(net),
            "distinct_parameters": len({id(p) for p in params}),
            "parameters": len(params),
        }
    }


@probe
def blocks(sub):
    return {
        "block1": _built(sub.block1),
        "block2": {str(n): _built(sub.block2, n) for n in (4, 2, 1)},
        "block2_default": _built(sub.block2),
        "rgnet": {str(n): _built(sub.rgnet, n) for n in (4, 3)},
    }


@probe
def rgnet_forward(sub, device):
    net = sub.rgnet()
    net.to(device)
    X = torch.rand(5, 4, device=device)
    return {"X": X, "Y": attempt(net, X), "state": net.state_dict()}


# ----------------------------------------------------------------------- get_parameter


@probe
def looked_up(sub):
    net = _reference_rgnet()
    owned = dict(net.named_parameters())
    found = {}
    for path in ("0.block 1.0.bias", "0.block 0.2.weight", "1.weight"):
        got = attempt(sub.get_parameter, net, path)
        found[path] = got if "error" in got else {"value": got["value"] is owned[path]}
    unknown = {path: attempt(sub.get_parameter, net, path) for path in ("0.block 7.0.bias", "1.weights", "0.block 1")}
    for got in unknown.values():
        if "value" in got:
            got["value"] = type(got["value"]).__name__
    return {"found": found, "unknown": unknown}


# -------------------------------------------------------------------- count_parameters


@probe
def counted(sub):
    partly_frozen = _reference_rgnet()
    partly_frozen[0].requires_grad_(False)
    return {
        "nested": attempt(sub.count_parameters, _reference_rgnet()),
        "tied": attempt(sub.count_parameters, _reference_tied()),
        "trainable": attempt(sub.count_parameters, partly_frozen, trainable_only=True),
        "all_of_frozen": attempt(sub.count_parameters, partly_frozen),
    }


# ---------------------------------------------------------------------------- tied_mlp


@probe
def tied_structure(sub):
    net = sub.tied_mlp()
    modules = list(net) if isinstance(net, nn.Sequential) else []
    shared = len(modules) == 7 and modules[2] is modules[4]
    return {
        "structure": _structure(net),
        "shared_module": shared,
        "shared_weight": len(modules) == 7 and getattr(modules[2], "weight", 0) is getattr(modules[4], "weight", 1),
        "distinct_parameters": len({id(p) for p in net.parameters()}),
    }


@probe
def tied_gradient(sub, device):
    net = sub.tied_mlp()
    net.to(device)
    X = torch.rand(3, 4, device=device)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    loss = attempt(lambda: net(X).sum())
    if "value" in loss:
        loss["value"].backward()
        loss["value"] = loss["value"].detach()
    layer = net[2]
    return {
        "X": X,
        "state": state,
        "loss": loss,
        "grad_weight": layer.weight.grad,
        "grad_bias": layer.bias.grad,
    }


# ------------------------------------------------------------------------- tie_weights


@probe
def tied_by_student(sub, device):
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)  # built before tying: it must still work
    weight, bias = net[0].weight, net[0].bias
    result = attempt(sub.tie_weights, net, 0, 2)
    if "error" in result:
        return {"result": result}
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    X = torch.rand(3, 4, device=device)
    net(X).sum().backward()
    grad = net[0].weight.grad.detach().clone() if net[0].weight.grad is not None else None
    grad_bias = net[0].bias.grad.detach().clone() if net[0].bias.grad is not None else None
    optimizer.step()
    return {
        "result": {"value": result["value"] is net},
        "same_weight": net[2].weight is weight,
        "same_bias": net[2].bias is bias,
        "leaf": net[2].weight.is_leaf and net[2].weight.grad_fn is None and net[2].weight.requires_grad,
        "state": state,
        "X": X,
        "grad_weight": grad,
        "grad_bias": grad_bias,
        "after_step": {"0": net[0].weight.detach().clone(), "2": net[2].weight.detach().clone()},
    }


@probe
def tie_mismatch(sub):
    out = {}
    cases = {
        "shape": nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)),
    }
    for key, net in cases.items():
        ids = [id(p) for p in net.parameters()]
        values = [p.detach().clone() for p in net.parameters()]
        result = attempt(sub.tie_weights, net, 0, 2)
        unchanged = ids == [id(p) for p in net.parameters()] and all(
            torch.equal(a, b.detach()) for a, b in zip(values, net.parameters())
        )
        out[key] = {"error": result.get("error"), "unchanged": unchanged}
    return out
