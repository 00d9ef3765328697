"""Hidden probes of assignment 3 (initialization). They run in the sandbox, beside the student's module.

Two kinds of probes per init function: one applies it to a single large layer (the judges
test the distribution of its 131072 weights), one applies it through `net.apply` to a mixed
network (the judges test that it touched nn.Linear only, in place, and coped with bias=None).
The sandbox seeds every probe, so the samples are the same on every run.
"""

import torch
from torch import nn

from autograder.probing import attempt, probe

STATS_SHAPE = (512, 256)  # in_features, out_features of the layer whose weights are sampled


def _sampled(fn, **kwargs):
    layer = nn.Linear(*STATS_SHAPE)
    before = {"weight": layer.weight.detach().clone(), "bias": layer.bias.detach().clone()}
    result = attempt(fn, layer, **kwargs)
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": True},
        "before": before,
        "weight": layer.weight.detach().clone(),
        "bias": layer.bias.detach().clone(),
    }


def _mixed_net():
    """Linear layers beside modules that also hold parameters, and a Linear without bias."""
    return nn.Sequential(
        nn.Linear(6, 5),
        nn.BatchNorm1d(5),
        nn.ReLU(),
        nn.Linear(5, 4, bias=False),
        nn.Conv1d(1, 2, 3),
        nn.Embedding(3, 2),
    )


def _applied(fn, **kwargs):
    net = _mixed_net()
    with torch.no_grad():  # start the non-Linear parameters away from their defaults
        for module in (net[1], net[4], net[5]):
            for p in module.parameters():
                p.uniform_(-1, 1)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    originals = dict(net.named_parameters())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)  # built before: must still reach the params
    result = attempt(net.apply, (lambda m: fn(m, **kwargs)) if kwargs else fn)
    if "error" in result:
        return {"result": result}
    now = dict(net.named_parameters())
    after = {name: p.detach().clone() for name, p in now.items()}
    kept = {name: now.get(name) is originals[name] for name in originals}
    clean = {name: p.is_leaf and p.grad_fn is None and p.requires_grad for name, p in now.items()}
    for p in now.values():
        p.grad = torch.ones_like(p)
    optimizer.step()
    return {
        "result": {"value": True},
        "before": before,
        "after": after,
        "same_objects": kept,
        "leaf": clean,
        "stepped": {name: p.detach().clone() for name, p in net.named_parameters()},
    }


@probe
def normal_sampled(sub):
    return _sampled(sub.init_normal)


@probe
def normal_applied(sub):
    return _applied(sub.init_normal)


@probe
def constant_sampled(sub):
    return {"default": _sampled(sub.init_constant), "value": _sampled(sub.init_constant, value=3.5)}


@probe
def constant_applied(sub):
    return _applied(sub.init_constant, value=2.0)


@probe
def xavier_sampled(sub):
    return _sampled(sub.init_xavier)


@probe
def xavier_applied(sub):
    return _applied(sub.init_xavier)


@probe
def my_init_sampled(sub):
    return _sampled(sub.my_init)


@probe
def my_init_applied(sub):
    return _applied(sub.my_init)


# ---------------------------------------------------------------------- init_per_layer


def _fill(value):
    def init(m):
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.fill_(value)
                m.bias.fill_(value)

    return init


@probe
def per_layer(sub):
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4)), nn.Linear(4, 4))
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    result = attempt(sub.init_per_layer, net, {0: _fill(1.0), 2: _fill(2.0)})
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": result["value"] is net},
        "before": before,
        "after": {name: p.detach().clone() for name, p in net.named_parameters()},
    }


# ------------------------------------------------------------------ lazy_mlp / materialize


def _lazy_report(net):
    modules = list(net) if isinstance(net, nn.Sequential) else []
    return {
        "kinds": [type(m).__name__ for m in modules],
        "outs": [getattr(m, "out_features", None) for m in modules],
        "uninitialized": [
            isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params() for m in modules
        ],
    }


@probe
def lazy_built(sub):
    default = attempt(sub.lazy_mlp)
    custom = attempt(sub.lazy_mlp, hidden=32, out_features=3)
    return {
        key: made if "error" in made else {"value": _lazy_report(made["value"])}
        for key, made in (("default", default), ("custom", custom))
    }


def _reference_lazy():
    return nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(3))


@probe
def materialized(sub):
    net = _reference_lazy()
    result = attempt(sub.materialize, net, 7)
    if "error" in result:
        return {"result": result}
    X = torch.rand(5, 7)
    return {
        "result": {"value": result["value"] is net},
        "shapes": [[name, list(p.shape)] for name, p in net.named_parameters()],
        "uninitialized": any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters()),
        "X": X,
        "Y": attempt(net, X),
        "state": net.state_dict(),
    }


@probe
def materialized_on(sub, device):
    net = _reference_lazy().to(device)
    result = attempt(sub.materialize, net, 7)
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": True},
        "devices": sorted({str(p.device) for p in net.parameters()}),
        "device": str(device),
    }
