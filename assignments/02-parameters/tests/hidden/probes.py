"""Hidden probes of assignment 2 (parameters). They run in the sandbox, beside the student's module.

Probes that test one task on a network build that network here, so that no task depends on
the student's answer to another; the judges build the same networks to know what to expect.
Every probe declares its task and what it returns (autograder.contract); the inputs and
weights it feeds to student code come from `given` builders, which the grader rebuilds to
compute the references. Where student code builds its own weights (rgnet, tied_mlp), the
probe overwrites them with given ones before the forward pass.
"""

import torch
from torch import nn

from autograder.contract import (
    ERROR,
    Anything,
    Attempt,
    Bool,
    Int,
    ListOf,
    OneOf,
    Optional,
    Record,
    Str,
    Tensor,
    TupleOf,
)
from autograder.probing import attempt, probe

SMALL = 10_000  # a bound on the outputs and gradients of these small networks
# What `_structure` reports: a module's kind, a Linear's sizes, or its children (recursively).
STRUCTURE = OneOf(
    Record({"kind": Str(max_len=200), "in": Int(), "out": Int()}),
    Record(kind=Str(max_len=200), children=ListOf(TupleOf(Str(), Anything()))),
    Record(kind=Str(max_len=200)),
)


def _block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def _reference_rgnet(n=2):
    inner = nn.Sequential()
    for i in range(n):
        inner.add_module(f"block {i}", _block1())
    return nn.Sequential(inner, nn.Linear(4, 1))


def _reference_tied():
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def _structure(module):
    """A module's kind, sizes and children, recursively."""
    if isinstance(module, nn.Linear):
        return {"kind": "Linear", "in": int(module.in_features), "out": int(module.out_features)}
    if not isinstance(module, nn.Module):
        return {"kind": type(module).__name__[:200]}
    # _modules, not named_children(): a module registered twice must show up twice
    return {
        "kind": type(module).__name__[:200],
        "children": [[str(n)[:200], _structure(c)] for n, c in module._modules.items()],
    }


def _load(net, states):
    """Give the parameters of `net` at these dotted names (e.g. "0.block 1.2.weight") the given
    values, in place; the names that could not be set (missing, or of another shape).
    Call it through `attempt`: it touches the student's objects."""
    params = dict(net.named_parameters(remove_duplicate=False))
    wrong = []
    for name, value in states.items():
        param = params.get(name)
        if not isinstance(param, torch.Tensor) or tuple(param.shape) != tuple(value.shape):
            wrong.append(name)
            continue
        with torch.no_grad():
            param.copy_(value)
    return wrong


# ------------------------------------------------------------------ describe_parameters


@probe(
    task="describe_parameters",
    returns=Record(
        nested=Attempt(Anything()), tied=Attempt(Anything()), empty=Attempt(Anything()), frozen=Attempt(Anything())
    ),
)
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


BUILT = Attempt(Record(structure=STRUCTURE, distinct_parameters=Int(min=0), parameters=Int(min=0)))


@probe(
    task="block1",
    returns=Record(
        block1=BUILT,
        block2=Record({str(n): BUILT for n in (4, 2, 1)}),
        block2_default=BUILT,
        rgnet=Record({str(n): BUILT for n in (4, 3)}),
    ),
)
def blocks(sub):
    return {
        "block1": _built(sub.block1),
        "block2": {str(n): _built(sub.block2, n) for n in (4, 2, 1)},
        "block2_default": _built(sub.block2),
        "rgnet": {str(n): _built(sub.rgnet, n) for n in (4, 3)},
    }


def rgnet_forward_given():
    # rgnet()'s weights, every block with the same values: block2's sharing of one block is
    # block2's own check, and rgnet's output is then the same whether its blocks share or not
    block = {k: 2 * v for k, v in _block1().state_dict().items()}  # larger: the blocks do not contract
    state = {f"0.block {i}.{k}": v.detach().clone() for i in range(4) for k, v in block.items()}
    head = nn.Linear(4, 1)
    state.update({"1.weight": head.weight.detach().clone(), "1.bias": head.bias.detach().clone()})
    return {"X": torch.rand(5, 4), "state": state}


@probe(
    task="block1",
    given=rgnet_forward_given,
    returns=OneOf(
        Record(made=Attempt(Bool())),
        Record(
            made=Attempt(Bool()),
            wrong=Attempt(ListOf(Str())),
            X=Tensor(max_numel=SMALL),
            Y=Attempt(Tensor(max_numel=SMALL)),
        ),
    ),
)
def rgnet_forward(sub, device, given):
    made = attempt(sub.rgnet)
    if "error" in made:
        return {"made": made}
    net = made["value"]
    wrong = attempt(_load, net, given["state"])
    net.to(device)
    X = given["X"].to(device)
    return {"made": {"value": True}, "wrong": wrong, "X": X, "Y": attempt(net, X)}


# ----------------------------------------------------------------------- get_parameter


PATHS = ("0.block 1.0.bias", "0.block 0.2.weight", "1.weight")
UNKNOWN = ("0.block 7.0.bias", "1.weights", "0.block 1")


@probe(
    task="get_parameter",
    returns=Record(
        found=Record({path: Attempt(Bool()) for path in PATHS}),
        unknown=Record({path: Attempt(Str()) for path in UNKNOWN}),
    ),
)
def looked_up(sub):
    net = _reference_rgnet()
    owned = dict(net.named_parameters())
    found = {}
    for path in PATHS:
        got = attempt(sub.get_parameter, net, path)
        found[path] = got if "error" in got else {"value": got["value"] is owned[path]}
    unknown = {path: attempt(sub.get_parameter, net, path) for path in UNKNOWN}
    for got in unknown.values():
        if "value" in got:
            got["value"] = type(got["value"]).__name__[:200]
    return {"found": found, "unknown": unknown}


# -------------------------------------------------------------------- count_parameters


@probe(
    task="count_parameters",
    returns=Record(
        nested=Attempt(Anything()),
        tied=Attempt(Anything()),
        trainable=Attempt(Anything()),
        all_of_frozen=Attempt(Anything()),
    ),
)
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


@probe(
    task="tied_mlp",
    returns=Record(structure=STRUCTURE, shared_module=Bool(), shared_weight=Bool(), distinct_parameters=Int(min=0)),
)
def tied_structure(sub):
    net = sub.tied_mlp()
    modules = list(net) if isinstance(net, nn.Sequential) else []
    shared = len(modules) == 7 and modules[2] is modules[4]
    return {
        "structure": _structure(net),
        "shared_module": bool(shared),
        "shared_weight": len(modules) == 7 and getattr(modules[2], "weight", 0) is getattr(modules[4], "weight", 1),
        "distinct_parameters": len({id(p) for p in net.parameters()}),
    }


def tied_gradient_given():
    net = _reference_tied()
    return {"X": torch.rand(3, 4), "state": {k: v.detach().clone() for k, v in net.state_dict().items()}}


@probe(
    task="tied_mlp",
    given=tied_gradient_given,
    returns=OneOf(
        Record(made=Attempt(Bool())),
        Record(
            made=Attempt(Bool()),
            wrong=Attempt(ListOf(Str())),
            X=Tensor(max_numel=SMALL),
            loss=Attempt(Tensor(max_numel=SMALL)),
            grad_weight=Optional(Tensor(max_numel=SMALL)),
            grad_bias=Optional(Tensor(max_numel=SMALL)),
        ),
    ),
)
def tied_gradient(sub, device, given):
    made = attempt(sub.tied_mlp)
    if "error" in made:
        return {"made": made}
    net = made["value"]
    # the given weights, the shared layer's at index 4 too: two separate layers then hold the same values
    state = dict(given["state"])
    state.update({"4." + k[2:]: v for k, v in given["state"].items() if k.startswith("2.")})
    wrong = attempt(_load, net, state)
    net.to(device)
    X = given["X"].to(device)
    loss = attempt(lambda: net(X).sum())
    if "value" in loss and isinstance(loss["value"], torch.Tensor):
        backward = attempt(loss["value"].backward)
        loss = backward if "error" in backward else {"value": loss["value"].detach()}
    layer = net[2]
    return {
        "made": {"value": True},
        "wrong": wrong,
        "X": X,
        "loss": loss,
        "grad_weight": layer.weight.grad,
        "grad_bias": layer.bias.grad,
    }


# ------------------------------------------------------------------------- tie_weights


def tied_by_student_given():
    return {
        "net": nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)),
        "X": torch.rand(3, 4),
    }


@probe(
    task="tie_weights",
    given=tied_by_student_given,
    returns=OneOf(
        Record(result=Attempt(Bool())),
        Record(
            result=Attempt(Bool()),
            same_weight=Bool(),
            same_bias=Bool(),
            leaf=Bool(),
            X=Tensor(max_numel=SMALL),
            grad_weight=Optional(Tensor(max_numel=SMALL)),
            grad_bias=Optional(Tensor(max_numel=SMALL)),
            after_step=Record({"0": Tensor(max_numel=SMALL), "2": Tensor(max_numel=SMALL)}),
        ),
    ),
)
def tied_by_student(sub, device, given):
    net = given["net"].to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)  # built before tying: it must still work
    weight, bias = net[0].weight, net[0].bias
    result = attempt(sub.tie_weights, net, 0, 2)
    if "error" in result:
        return {"result": result}
    X = given["X"].to(device)
    net(X).sum().backward()
    grad = net[0].weight.grad.detach().clone() if net[0].weight.grad is not None else None
    grad_bias = net[0].bias.grad.detach().clone() if net[0].bias.grad is not None else None
    optimizer.step()
    return {
        "result": {"value": result["value"] is net},
        "same_weight": net[2].weight is weight,
        "same_bias": net[2].bias is bias,
        "leaf": bool(net[2].weight.is_leaf and net[2].weight.grad_fn is None and net[2].weight.requires_grad),
        "X": X,
        "grad_weight": grad,
        "grad_bias": grad_bias,
        "after_step": {"0": net[0].weight.detach().clone(), "2": net[2].weight.detach().clone()},
    }


@probe(task="tie_weights", returns=Record(shape=Record(error=Optional(ERROR), unchanged=Bool())))
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
        out[key] = {"error": result.get("error"), "unchanged": bool(unchanged)}
    return out
