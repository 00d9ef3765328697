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


def _tied_distinct():
    """Two distinct layers that share one weight (as tie_weights makes them), not their biases."""
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    net[2].weight = net[0].weight
    return net


def _batchnorm_net():
    """Parameters beside buffers (running statistics) and a module with none (Dropout)."""
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.1), nn.Linear(4, 2))


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

DESCRIBED = ("nested", "tied", "tied_distinct", "empty", "frozen", "bare", "batchnorm")


@probe(task="describe_parameters", returns=Record({key: Attempt(Anything()) for key in DESCRIBED}))
def described(sub):
    nets = {
        "nested": _reference_rgnet,
        "tied": _reference_tied,
        "tied_distinct": _tied_distinct,
        "empty": lambda: nn.Sequential(nn.ReLU()),
        "frozen": lambda: _reference_rgnet().requires_grad_(False),
        "bare": lambda: nn.Linear(3, 2),
        "batchnorm": _batchnorm_net,
    }
    return {key: attempt(sub.describe_parameters, nets[key]()) for key in DESCRIBED}


# ---------------------------------------------------------------- block1 / block2 / rgnet


def _built(sub, name, *args):
    """What sub.<name>(*args) built; for block2, also how often it called block1()."""
    calls = []
    block1 = sub.block1
    if name == "block2" and callable(block1):

        def counted():
            calls.append(1)
            return block1()

        sub.block1 = counted  # block2 finds block1 among the module's globals
    try:
        made = attempt(getattr(sub, name), *args)
    finally:
        sub.block1 = block1
    if "error" in made:
        return made

    def report(net):
        params = list(net.parameters()) if isinstance(net, nn.Module) else []
        children = list(net._modules.values()) if isinstance(net, nn.Module) else []
        return {
            "structure": _structure(net),
            "distinct_parameters": len({id(p) for p in params}),
            "parameters": len(params),
            "distinct_children": len({id(c) for c in children}),
            "block1_calls": len(calls),
        }

    return attempt(report, made["value"])


BUILT = Attempt(
    Record(
        structure=STRUCTURE,
        distinct_parameters=Int(min=0),
        parameters=Int(min=0),
        distinct_children=Int(min=0),
        block1_calls=Int(min=0),
    )
)


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
        "block1": _built(sub, "block1"),
        "block2": {str(n): _built(sub, "block2", n) for n in (4, 2, 1)},
        "block2_default": _built(sub, "block2"),
        "rgnet": {str(n): _built(sub, "rgnet", n) for n in (4, 3)},
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
    moved = attempt(net.to, device)
    X = given["X"].to(device)
    return {"made": {"value": True}, "wrong": wrong, "X": X, "Y": moved if "error" in moved else attempt(net, X)}


# ----------------------------------------------------------------------- get_parameter


# "network:path": a path looked up in a network the probe builds afresh
FOUND = ("nested:0.block 1.0.bias", "nested:0.block 0.2.weight", "nested:1.weight", "batchnorm:1.weight")
TIED = ("tied:4.weight", "tied_distinct:2.weight")  # a tied Parameter under its second name
UNKNOWN = ("nested:0.block 7.0.bias", "nested:1.weights", "nested:0.block 1", "batchnorm:1.running_mean")


def _lookup_nets():
    return {
        "nested": _reference_rgnet(),
        "tied": _reference_tied(),
        "tied_distinct": _tied_distinct(),
        "batchnorm": _batchnorm_net(),
    }


def _found(sub, net, path):
    """Returns "same" if get_parameter returned the network's own Parameter at `path`, "copy" if a
    tensor equal to it, else the type of what it returned."""
    owned = net.get_parameter(path)
    got = attempt(sub.get_parameter, net, path)
    if "error" in got:
        return got
    value = got["value"]
    if value is owned:
        return {"value": "same"}
    equal = attempt(lambda: isinstance(value, torch.Tensor) and torch.equal(value.detach(), owned.detach()))
    return {"value": "copy" if equal.get("value") is True else type(value).__name__[:200]}


@probe(
    task="get_parameter",
    returns=Record(
        found=Record({key: Attempt(Str()) for key in FOUND}),
        tied=Record({key: Attempt(Str()) for key in TIED}),
        unknown=Record({key: Attempt(Str()) for key in UNKNOWN}),
    ),
)
def looked_up(sub):
    nets = _lookup_nets()
    out = {}
    for group, keys in (("found", FOUND), ("tied", TIED)):
        out[group] = {key: _found(sub, nets[key.split(":")[0]], key.split(":", 1)[1]) for key in keys}
    out["unknown"] = {}
    for key in UNKNOWN:
        got = attempt(sub.get_parameter, nets[key.split(":")[0]], key.split(":", 1)[1])
        out["unknown"][key] = got if "error" in got else {"value": type(got["value"]).__name__[:200]}
    return out


# -------------------------------------------------------------------- count_parameters

COUNTED = ("nested", "tied", "tied_distinct", "trainable", "all_of_frozen", "batchnorm", "empty")


@probe(task="count_parameters", returns=Record({key: Attempt(Anything()) for key in COUNTED}))
def counted(sub):
    partly_frozen = _reference_rgnet()
    partly_frozen[0].requires_grad_(False)
    return {
        "nested": attempt(sub.count_parameters, _reference_rgnet()),
        "tied": attempt(sub.count_parameters, _reference_tied()),
        "tied_distinct": attempt(sub.count_parameters, _tied_distinct()),
        "trainable": attempt(sub.count_parameters, partly_frozen, trainable_only=True),
        "all_of_frozen": attempt(sub.count_parameters, partly_frozen),
        "batchnorm": attempt(sub.count_parameters, _batchnorm_net()),
        "empty": attempt(sub.count_parameters, nn.Sequential(nn.ReLU())),
    }


# ---------------------------------------------------------------------------- tied_mlp


@probe(
    task="tied_mlp",
    returns=Attempt(
        Record(
            structure=STRUCTURE,
            shared_module=Bool(),
            shared_weight=Bool(),
            shared_bias=Bool(),
            distinct_parameters=Int(min=0),
        )
    ),
)
def tied_structure(sub):
    made = attempt(sub.tied_mlp)
    if "error" in made:
        return made

    def report(net):
        modules = list(net) if isinstance(net, nn.Sequential) else []
        seven = len(modules) == 7
        return {
            "structure": _structure(net),
            "shared_module": bool(seven and modules[2] is modules[4]),
            "shared_weight": bool(seven and getattr(modules[2], "weight", 0) is getattr(modules[4], "weight", 1)),
            "shared_bias": bool(seven and getattr(modules[2], "bias", 0) is getattr(modules[4], "bias", 1)),
            "distinct_parameters": len({id(p) for p in net.parameters()}),
        }

    return attempt(report, made["value"])


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
            grads=Attempt(Record(weight=Optional(Tensor(max_numel=SMALL)), bias=Optional(Tensor(max_numel=SMALL)))),
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
    moved = attempt(net.to, device)
    X = given["X"].to(device)
    loss = moved if "error" in moved else attempt(lambda: net(X).sum())
    if "value" in loss and isinstance(loss["value"], torch.Tensor):
        backward = attempt(loss["value"].backward)
        loss = backward if "error" in backward else {"value": loss["value"].detach()}

    def grads():
        layer = net[2]
        weight, bias = layer.weight.grad, layer.bias.grad
        return {
            "weight": weight.detach().clone() if isinstance(weight, torch.Tensor) else None,
            "bias": bias.detach().clone() if isinstance(bias, torch.Tensor) else None,
        }

    return {"made": {"value": True}, "wrong": wrong, "X": X, "loss": loss, "grads": attempt(grads)}


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
            X=Tensor(max_numel=SMALL),
            observed=Attempt(
                Record(
                    same_weight=Bool(),
                    same_bias=Bool(),
                    reversed=Bool(),
                    equal_weight=Bool(),
                    leaf=Bool(),
                    grad_weight=Optional(Tensor(max_numel=SMALL)),
                    after_step=Record({"0": Tensor(max_numel=SMALL), "2": Tensor(max_numel=SMALL)}),
                )
            ),
        ),
    ),
)
def tied_by_student(sub, device, given):
    net = given["net"].to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)  # built before tying: it must still work
    weight, bias, other_weight = net[0].weight, net[0].bias, net[2].weight
    result = attempt(sub.tie_weights, net, 0, 2)
    if "error" in result:
        return {"result": result}
    X = given["X"].to(device)

    def observe():
        first, second = net[0].weight, net[2].weight
        equal = second.shape == weight.shape and torch.equal(second.detach(), weight.detach())
        report = {
            "same_weight": second is weight,
            "same_bias": net[2].bias is bias,
            "reversed": first is other_weight,
            "equal_weight": bool(equal),
            "leaf": bool(second.is_leaf and second.grad_fn is None and second.requires_grad),
        }
        net(X).sum().backward()
        report["grad_weight"] = first.grad.detach().clone() if first.grad is not None else None
        optimizer.step()
        report["after_step"] = {"0": net[0].weight.detach().clone(), "2": net[2].weight.detach().clone()}
        return report

    return {"result": {"value": result["value"] is net}, "X": X, "observed": attempt(observe)}


@probe(
    task="tie_weights",
    returns=Record(result=Attempt(Bool()), same_weight=Bool(), bias_none=Bool()),
)
def tied_without_bias(sub):
    net = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU(), nn.Linear(4, 4, bias=False))
    weight = net[0].weight
    result = attempt(sub.tie_weights, net, 0, 2)
    return {
        "result": result if "error" in result else {"value": result["value"] is net},
        "same_weight": net[2].weight is weight,
        "bias_none": net[0].bias is None and net[2].bias is None,
    }


# net[0] and net[2] of each network: what tie_weights(net, 0, 2) must refuse
MISMATCHED = {
    "out_features": lambda: (nn.Linear(4, 4), nn.Linear(4, 3)),
    "in_features": lambda: (nn.Linear(4, 4), nn.Linear(3, 4)),  # the same bias shape, (4,)
    "bias_src_only": lambda: (nn.Linear(4, 4), nn.Linear(4, 4, bias=False)),
    "bias_dst_only": lambda: (nn.Linear(4, 4, bias=False), nn.Linear(4, 4)),
}


def _registered(net):
    """Each module's own parameters, by name: what they are and what they hold."""
    return [
        (prefix, name, id(p), None if p is None else p.detach().clone())
        for prefix, module in net.named_modules()
        for name, p in module._parameters.items()
    ]


def _same(before, after):
    return len(before) == len(after) and all(
        a[:3] == b[:3] and (a[3] is None) == (b[3] is None) and (a[3] is None or torch.equal(a[3], b[3]))
        for a, b in zip(before, after)
    )


@probe(
    task="tie_weights",
    returns=Record({key: Record(error=Optional(ERROR), unchanged=Bool()) for key in MISMATCHED}),
)
def tie_mismatch(sub):
    out = {}
    for key, layers in MISMATCHED.items():
        src, dst = layers()
        net = nn.Sequential(src, nn.ReLU(), dst)
        before = _registered(net)
        result = attempt(sub.tie_weights, net, 0, 2)
        out[key] = {"error": result.get("error"), "unchanged": _same(before, _registered(net))}
    return out
