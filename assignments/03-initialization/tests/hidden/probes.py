"""Hidden probes of assignment 3 (initialization). They run in the sandbox, beside the student's module.

Two kinds of probes per init function: one applies it to a single large layer (the judges
test the distribution of its 131072 weights), one applies it through `net.apply` to a mixed
network (the judges test that it touched nn.Linear only, in place, and coped with bias=None).
The layers and networks come from `given` builders, which the grader rebuilds: judges take
"before" values from there, never from what a probe reports. The sandbox seeds every probe,
so the samples are the same on every run.
"""

import torch
from torch import nn

from autograder.contract import Attempt, Bool, DictOf, Int, ListOf, OneOf, Optional, Record, Str, Tensor, TupleOf
from autograder.probing import attempt, probe

STATS_SHAPE = (512, 256)  # in_features, out_features of the layer whose weights are sampled
SMALL = 10_000  # a bound on the parameters of the small networks
LARGE = 4 * 512 * 256  # a bound on the sampled layer's weight (a student's code may reshape it)


def _tensor_or_none(t):
    return t.detach().clone() if isinstance(t, torch.Tensor) else None


SAMPLED = OneOf(
    Record(result=Attempt(Bool())),
    Record(
        result=Attempt(Bool()),
        weight=Optional(Tensor(max_numel=LARGE)),
        bias=Optional(Tensor(max_numel=LARGE)),
    ),
)


def sampled_given():
    return {"layer": nn.Linear(*STATS_SHAPE)}


def _sampled(fn, layer, **kwargs):
    result = attempt(fn, layer, **kwargs)
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": True},
        "weight": _tensor_or_none(getattr(layer, "weight", None)),
        "bias": _tensor_or_none(getattr(layer, "bias", None)),
    }


def mixed_net():
    """Linear layers beside modules that also hold parameters, and a Linear without bias,
    whose non-Linear parameters start away from their defaults."""
    net = nn.Sequential(
        nn.Linear(6, 5),
        nn.BatchNorm1d(5),
        nn.ReLU(),
        nn.Linear(5, 4, bias=False),
        nn.Conv1d(1, 2, 3),
        nn.Embedding(3, 2),
    )
    with torch.no_grad():
        for module in (net[1], net[4], net[5]):
            for p in module.parameters():
                p.uniform_(-1, 1)
        net[1].running_mean.uniform_(-1, 1)  # buffers too: an init function leaves them alone
        net[1].running_var.uniform_(0.5, 2)
    return net


def applied_given():
    return {"net": mixed_net()}


APPLIED = OneOf(
    Record(result=Attempt(Bool())),
    Record(
        result=Attempt(Bool()),
        after=DictOf(Str(), Tensor(max_numel=SMALL)),
        same_objects=DictOf(Str(), Bool()),
        leaf=DictOf(Str(), Bool()),
        stepped=DictOf(Str(), Tensor(max_numel=SMALL)),
        buffers=DictOf(Str(), Tensor(max_numel=SMALL)),
    ),
)


def _applied(fn, net, **kwargs):
    originals = dict(net.named_parameters())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)  # built before: must still reach the params
    result = attempt(net.apply, (lambda m: fn(m, **kwargs)) if kwargs else fn)
    if "error" in result:
        return {"result": result}
    now = dict(net.named_parameters())
    after = {name: p.detach().clone() for name, p in now.items()}
    buffers = {name: b.detach().clone() for name, b in net.named_buffers()}
    kept = {name: now.get(name) is originals[name] for name in originals}
    clean = {name: bool(p.is_leaf and p.grad_fn is None and p.requires_grad) for name, p in now.items()}
    for p in now.values():
        p.grad = torch.ones_like(p)
    optimizer.step()
    return {
        "result": {"value": True},
        "after": after,
        "same_objects": kept,
        "leaf": clean,
        "stepped": {name: p.detach().clone() for name, p in net.named_parameters()},
        "buffers": buffers,
    }


@probe(task="init_normal", given=sampled_given, returns=SAMPLED)
def normal_sampled(sub, given):
    return _sampled(sub.init_normal, given["layer"])


@probe(task="init_normal", given=applied_given, returns=APPLIED)
def normal_applied(sub, given):
    return _applied(sub.init_normal, given["net"])


def constant_sampled_given():
    return {"default": nn.Linear(*STATS_SHAPE), "value": nn.Linear(*STATS_SHAPE)}


@probe(task="init_constant", given=constant_sampled_given, returns=Record(default=SAMPLED, value=SAMPLED))
def constant_sampled(sub, given):
    return {
        "default": _sampled(sub.init_constant, given["default"]),
        "value": _sampled(sub.init_constant, given["value"], value=3.5),
    }


@probe(task="init_constant", given=applied_given, returns=APPLIED)
def constant_applied(sub, given):
    return _applied(sub.init_constant, given["net"], value=2.0)


@probe(task="init_xavier", given=sampled_given, returns=SAMPLED)
def xavier_sampled(sub, given):
    return _sampled(sub.init_xavier, given["layer"])


@probe(task="init_xavier", given=applied_given, returns=APPLIED)
def xavier_applied(sub, given):
    return _applied(sub.init_xavier, given["net"])


@probe(task="my_init", given=sampled_given, returns=SAMPLED)
def my_init_sampled(sub, given):
    return _sampled(sub.my_init, given["layer"])


@probe(task="my_init", given=applied_given, returns=APPLIED)
def my_init_applied(sub, given):
    return _applied(sub.my_init, given["net"])


# ---------------------------------------------------------------------- init_per_layer


def _fill(value):
    def init(m):
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.fill_(value)
                m.bias.fill_(value)

    return init


def per_layer_given():
    return {
        "net": nn.Sequential(
            nn.Linear(4, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4)), nn.Linear(4, 4)
        )
    }


@probe(
    task="init_per_layer",
    given=per_layer_given,
    returns=OneOf(
        Record(result=Attempt(Bool())),
        Record(result=Attempt(Bool()), after=DictOf(Str(), Tensor(max_numel=SMALL))),
    ),
)
def per_layer(sub, given):
    net = given["net"]
    result = attempt(sub.init_per_layer, net, {0: _fill(1.0), 2: _fill(2.0)})
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": result["value"] is net},
        "after": {name: p.detach().clone() for name, p in net.named_parameters()},
    }


# ------------------------------------------------------------------ lazy_mlp / materialize


def _int_or_none(value):
    return value if type(value) is int else None


def _lazy_report(net):
    modules = list(net) if isinstance(net, nn.Sequential) else []
    return {
        "kinds": [type(m).__name__[:200] for m in modules],
        "outs": [_int_or_none(getattr(m, "out_features", None)) for m in modules],
        "uninitialized": [
            bool(isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params()) for m in modules
        ],
    }


LAZY_REPORT = Attempt(Record(kinds=ListOf(Str()), outs=ListOf(Optional(Int())), uninitialized=ListOf(Bool())))


@probe(task="lazy_mlp", returns=Record(default=LAZY_REPORT, custom=LAZY_REPORT))
def lazy_built(sub):
    default = attempt(sub.lazy_mlp)
    custom = attempt(sub.lazy_mlp, hidden=32, out_features=3)
    return {
        key: made if "error" in made else attempt(_lazy_report, made["value"])
        for key, made in (("default", default), ("custom", custom))
    }


def _reference_lazy():
    return nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(3))


def _state(n_in, n_out, index):
    layer = nn.Linear(n_in, n_out)
    return {f"{index}.weight": layer.weight.detach().clone(), f"{index}.bias": layer.bias.detach().clone()}


def materialized_given():
    return {"X": torch.rand(5, 7), "state": {**_state(7, 32, 0), **_state(32, 3, 2)}}


def _load(net, states):
    """Give the parameters of `net` these values, in place; the names that could not be set."""
    params = dict(net.named_parameters())
    wrong = []
    for name, value in states.items():
        param = params.get(name)
        if (
            not isinstance(param, torch.Tensor)
            or isinstance(param, nn.parameter.UninitializedParameter)
            or tuple(param.shape) != tuple(value.shape)
        ):
            wrong.append(name)
            continue
        with torch.no_grad():
            param.copy_(value)
    return wrong


def _watch_inputs(module):
    """Record the shape of every input `module` runs on; returns (shapes, the hook's handle)."""
    shapes = []

    def hook(_, args):
        if args and isinstance(args[0], torch.Tensor):
            shapes.append([int(s) for s in args[0].shape])

    return shapes, module.register_forward_pre_hook(hook)


@probe(
    task="lazy_mlp",
    given=materialized_given,
    returns=OneOf(
        Record(result=Attempt(Bool())),
        Record(
            result=Attempt(Bool()),
            dummy=ListOf(ListOf(Int(), max_len=8), max_len=20),
            shapes=ListOf(TupleOf(Str(), ListOf(Int(), max_len=8))),
            uninitialized=Bool(),
            wrong=Attempt(ListOf(Str())),
            X=Tensor(max_numel=SMALL),
            Y=Attempt(Tensor(max_numel=SMALL)),
        ),
    ),
)
def materialized(sub, given):
    net = _reference_lazy()
    dummy, handle = _watch_inputs(net[0])
    result = attempt(sub.materialize, net, 7)
    handle.remove()
    if "error" in result:
        return {"result": result}
    uninitialized = any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters())
    shapes = [
        [name, [] if isinstance(p, nn.parameter.UninitializedParameter) else [int(s) for s in p.shape]]
        for name, p in net.named_parameters()
    ]
    X = given["X"]
    wrong = attempt(_load, net, given["state"])  # then the output is checked against the given weights
    return {
        "result": {"value": result["value"] is net},
        "dummy": dummy[:20],
        "shapes": shapes,
        "uninitialized": bool(uninitialized),
        "wrong": wrong,
        "X": X,
        "Y": attempt(net, X),
    }


@probe(
    task="lazy_mlp",
    returns=Record(result=Attempt(Bool()), device=Str(max_len=40), devices=Optional(ListOf(Str(max_len=40)))),
)
def materialized_on(sub, device):
    net = _reference_lazy().to(device)
    result = attempt(sub.materialize, net, 7)
    devices = None if "error" in result else sorted({str(p.device)[:40] for p in net.parameters()})
    return {"result": result if "error" in result else {"value": True}, "device": str(device), "devices": devices}


def _lazy_with_batchnorm():
    return nn.Sequential(nn.LazyLinear(16), nn.LazyBatchNorm1d(), nn.ReLU(), nn.Dropout(0.5), nn.LazyLinear(3))


MODES = OneOf(
    Record(result=Attempt(Bool())),
    Record(
        result=Attempt(Bool()),
        training=ListOf(Bool(), max_len=20),
        uninitialized=Bool(),
        statistics=Optional(
            Record(
                running_mean=Tensor(max_numel=SMALL),
                running_var=Tensor(max_numel=SMALL),
                num_batches_tracked=Tensor(max_numel=1),
            )
        ),
    ),
)


def _materialized_mode(sub, training):
    net = _lazy_with_batchnorm().train(training)
    result = attempt(sub.materialize, net, 7)
    if "error" in result:
        return {"result": result}
    norm = net[1]
    ready = all(isinstance(getattr(norm, name, None), torch.Tensor) for name in ("running_mean", "running_var"))
    ready = ready and not isinstance(norm.running_mean, nn.parameter.UninitializedBuffer)
    return {
        "result": {"value": True},
        "training": [bool(m.training) for m in net.modules()],
        "uninitialized": any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters()),
        "statistics": {
            "running_mean": norm.running_mean.detach().clone(),
            "running_var": norm.running_var.detach().clone(),
            "num_batches_tracked": norm.num_batches_tracked.detach().clone(),
        }
        if ready
        else None,
    }


@probe(task="lazy_mlp", returns=Record(train=MODES, eval=MODES))
def materialized_modes(sub):
    return {"train": _materialized_mode(sub, True), "eval": _materialized_mode(sub, False)}
