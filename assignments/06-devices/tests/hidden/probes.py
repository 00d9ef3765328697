"""Hidden probes of assignment 6 (devices). They run in the sandbox, beside the student's module.

A probe that takes `device` runs on the CPU and on `cuda:0`: the runner's GPU, or on a runner
without one the sandbox's stand-in for it, which keeps each tensor's device and refuses to mix
devices as a GPU does (README: "Devices"). The `meta` device (tensors with a shape and no
data) checks on every runner that moves reach every tensor; GPU counts are also checked with
torch.cuda pretending to have 0 and 2 GPUs. What a probe hands to student code (nested
containers, models, inputs, matrices) comes from its `given` builder, which the grader
rebuilds: judges compare with those, never with values the probe reports.
"""

import contextlib
import os
from pathlib import Path

import structure
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autograder.contract import (
    Attempt,
    Bool,
    DictOf,
    ListOf,
    Optional,
    Record,
    Str,
    Tensor,
    Tree,
    TupleOf,
)
from autograder.probing import attempt, probe

# Read when the host loads the probes (the sandbox needs no access to this folder).
GPU_PARAMS = (Path(__file__).resolve().parents[1] / "visible" / "data" / "gpu_params.pt").read_bytes()
META = torch.device("meta")


ANSWER = Attempt(Tree(max_len=64, max_depth=2))  # what num_gpus, try_gpu... returned
ERROR = Optional(Record(type=Str(max_len=200), message=Str(max_len=5000), traceback=Str(max_len=5000)))
DEVICE = Str(max_len=40)


# ----------------------------------------------------------- num_gpus / try_gpu / try_all_gpus


@contextlib.contextmanager
def _pretend_gpus(count):
    """torch.cuda (and torch.accelerator, where it exists) report `count` GPUs."""
    patches = [(torch.cuda, "device_count", lambda: count), (torch.cuda, "is_available", lambda: count > 0)]
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None:
        patches += [(accelerator, "device_count", lambda: count), (accelerator, "is_available", lambda: count > 0)]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches if hasattr(owner, name)]
    for owner, name, value in patches:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def _asked(sub):
    return {
        "num_gpus": attempt(sub.num_gpus),
        "try_gpu": attempt(sub.try_gpu),
        "try_gpu_1": attempt(sub.try_gpu, 1),
        "try_gpu_2": attempt(sub.try_gpu, 2),
        "try_all_gpus": attempt(sub.try_all_gpus),
    }


ASKED = Record(num_gpus=ANSWER, try_gpu=ANSWER, try_gpu_1=ANSWER, try_gpu_2=ANSWER, try_all_gpus=ANSWER)


@probe(task="num_gpus", returns=Record({"here": ASKED, "0": ASKED, "1": ASKED, "2": ASKED}))
def gpus(sub):
    out = {"here": _asked(sub)}
    for count in (0, 1, 2):
        with _pretend_gpus(count):
            out[str(count)] = _asked(sub)
    return out


# ------------------------------------------------------------------------------- to_device


def nested_given():
    return {"nested": structure.nested()}


LAYOUT = Tree(max_len=64, max_depth=32)  # a `structure.layout`
MOVED = Attempt(Tree(max_len=64, max_depth=8))  # what to_device returned


def _moved(sub, obj, device):
    result = attempt(sub.to_device, obj, device)
    return {
        "result": result,
        "layout": structure.layout(result["value"]) if "value" in result else None,
    }


@probe(task="to_device", given=nested_given, returns=Record(result=MOVED, layout=Optional(LAYOUT)))
def moved_to_meta(sub, given):
    return _moved(sub, given["nested"], META)


def moved_to_given():
    """One nested container per call (named as the result it gives)."""
    return {"result": structure.nested(), "as_string": structure.nested()}


MOVED_TO = Record(result=MOVED, layout=Optional(LAYOUT))


@probe(
    task="to_device",
    given=moved_to_given,
    returns=Record(result=MOVED_TO, as_string=MOVED_TO, device=DEVICE),
)
def moved_to(sub, device, given):
    return {
        "result": _moved(sub, given["result"], device),
        "as_string": _moved(sub, given["as_string"], str(device)),
        "device": str(device),
    }


# ------------------------------------------------------------------------------ move_model


class _Model(nn.Module):
    """A layer used twice, two distinct layers sharing one weight (as tie_weights makes them), a
    frozen parameter, a BatchNorm's buffers, a buffer of its own and one that is not saved."""

    def __init__(self):
        super().__init__()
        shared = nn.Linear(4, 4)
        self.body = nn.Sequential(shared, nn.BatchNorm1d(4), nn.ReLU(), shared)
        self.head = nn.Linear(4, 4)
        self.tail = nn.Linear(4, 4)
        self.tail.weight = self.head.weight
        self.frozen = nn.Parameter(torch.linspace(0.5, 2.0, 4), requires_grad=False)
        self.register_buffer("scale", torch.tensor(2.0))
        self.register_buffer("offset", torch.linspace(-1.0, 1.0, 4), persistent=False)

    def forward(self, X):
        X = self.body(X) * self.scale + self.offset
        return self.tail(self.head(X)) * self.frozen


def _model():
    """The model to move, its BatchNorm statistics moved away from their defaults."""
    net = _Model()
    with torch.no_grad():
        net.train()(torch.rand(8, 4))
    return net.eval()


def _observed(net, result):
    """What move_model did to `net`: whether it returned it, where its tensors are, ties, flags."""
    value = result["value"]
    return {
        "returned": "net" if value is net else "None" if value is None else type(value).__name__[:200],
        "parameters": {name: str(p.device) for name, p in net.named_parameters()},
        "buffers": {name: str(b.device) for name, b in net.named_buffers()},
        "shared_layer": net.body[0] is net.body[3],
        "tied": net.head.weight is net.tail.weight,
        "frozen": [name for name, p in net.named_parameters() if not p.requires_grad],
        "training": net.training,
    }


OBSERVED = Record(
    returned=Str(max_len=200),
    parameters=DictOf(Str(max_len=200), DEVICE, max_len=100),
    buffers=DictOf(Str(max_len=200), DEVICE, max_len=100),
    shared_layer=Bool(),
    tied=Bool(),
    frozen=ListOf(Str(max_len=200), max_len=100),
    training=Bool(),
)


def model_given():
    return {"net": _model(), "X": torch.rand(3, 4)}


@probe(
    task="move_model",
    given=model_given,
    returns=Record(
        result=Attempt(),
        observed=Optional(OBSERVED),
        Y=Optional(Attempt(Tensor(max_numel=10_000))),
        device=DEVICE,
    ),
)
def model_forward(sub, device, given):
    net = given["net"]
    result = attempt(sub.move_model, net, device)
    if "error" in result:
        return {"result": result, "observed": None, "Y": None, "device": str(device)}
    X = given["X"].to(device)
    return {
        "result": {"value": None},
        "observed": _observed(net, result),
        "Y": attempt(net, X),  # the given model's own forward: what moved, and how, decides the output
        "device": str(device),
    }


# --------------------------------------------------------------------------------- load_to


def _state_devices(loaded):
    if "error" in loaded:
        return loaded
    value = loaded["value"]
    if not isinstance(value, dict):
        return {"value": {"kind": type(value).__name__[:200], "devices": []}}
    return {
        "value": {
            "kind": "dict",
            "devices": sorted({str(t.device) for t in value.values() if isinstance(t, torch.Tensor)}),
        }
    }


PLACED = Attempt(Record(kind=Str(max_len=200), devices=ListOf(DEVICE, max_len=100)))


@probe(task="load_to", returns=Record(cpu=Attempt(Tree(max_len=100, max_depth=3)), meta=PLACED))
def loaded_from_gpu(sub):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)  # saved "on cuda:0"
    with _pretend_gpus(0):  # as on a runner without a GPU, whichever runs this
        return {
            "cpu": attempt(sub.load_to, "gpu_params.pt", torch.device("cpu")),
            "meta": _state_devices(attempt(sub.load_to, "gpu_params.pt", META)),
        }


def saved_given():
    """The state_dict saved in the file this probe writes (on the CPU)."""
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    net.train()(torch.rand(4, 3))
    return {"state": net.state_dict()}


LOADED = Attempt(Tree(max_len=100, max_depth=3))


@probe(
    task="load_to",
    given=saved_given,
    returns=Record(from_cpu=LOADED, from_gpu=LOADED, as_string=LOADED, placed=ListOf(PLACED), device=DEVICE),
)
def loaded_onto(sub, device, given):
    """Files saved on the CPU and on cuda:0, loaded onto `device` (given as a device and as a name)."""
    torch.save(given["state"], "cpu_params.pt")
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)
    calls = [("from_cpu", "cpu_params.pt", device), ("from_gpu", "gpu_params.pt", device)]
    calls.append(("as_string", "cpu_params.pt", str(device)))
    # On the CPU, as on a runner without a GPU whichever runs this (so every runner grades alike).
    with _pretend_gpus(0) if device.type == "cpu" else contextlib.nullcontext():
        out = {key: attempt(sub.load_to, path, where) for key, path, where in calls}
    out["placed"] = [_state_devices(out[key]) for key, _, _ in calls]
    out["device"] = str(device)
    return out


_UNPICKLED = []


def _record_unpickling(tag):
    _UNPICKLED.append(tag)
    return tag


class _Payload:
    def __reduce__(self):
        return (_record_unpickling, ("payload",))


@probe(task="load_to", returns=Record(error=ERROR, unpickled=Bool()))
def load_to_refuses(sub):
    torch.save({"weight": torch.ones(2), "payload": _Payload()}, "evil.pt")
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"  # relying on torch's default must not pass by accident
    try:
        result = attempt(sub.load_to, "evil.pt", torch.device("cpu"))
    finally:
        del os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"]
    return {"error": result.get("error"), "unpickled": bool(_UNPICKLED)}


# ------------------------------------------------------------------------- norms_on_device

# Calls that hand a result's values to Python: each is a copy to the host, on any device.
_TO_PYTHON = {"item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__"}
_PRODUCTS = {
    "matmul", "mm", "__matmul__", "__rmatmul__", "bmm", "mv", "einsum", "matrix_power", "multi_dot",
    "chain_matmul", "tensordot", "addmm", "baddbmm",
}  # fmt: skip


class _Recorder(TorchFunctionMode):
    """Notes the copies of results to the host and the devices matrix products run on.

    `.item()`, `.tolist()` and the like always count; `.cpu()`, `.to(cpu)` and assigning into a
    CPU tensor (`out[i] = norm`) count when they move a tensor that is not on the CPU (on the CPU
    they copy nothing). Calls on the input matrices themselves do not count: moving an input is no
    copy of a result.
    """

    def __init__(self, inputs):
        super().__init__()
        self.inputs = {id(t) for t in inputs}
        self.host_copies = []
        self.product_devices = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "").removeprefix("linalg_")  # linalg_matrix_power: matrix_power
        subject = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if subject is not None and id(subject) not in self.inputs:
            if name in _TO_PYTHON:
                self.host_copies.append(name.strip("_"))
            elif name in ("cpu", "to") and subject.device.type != "cpu":
                targets = [a for a in (*args[1:], *kwargs.values()) if isinstance(a, (str, torch.device))]
                if name == "cpu" or any(torch.device(t).type == "cpu" for t in targets):
                    self.host_copies.append(name)
            elif name == "__setitem__" and subject.device.type == "cpu" and len(args) > 2:
                value = args[2]  # out[i] = norm, out on the CPU: a copy of the norm to the host
                if isinstance(value, torch.Tensor) and value.device.type != "cpu":
                    self.host_copies.append("setitem")
        if name in _PRODUCTS:
            self.product_devices |= {str(a.device) for a in args if isinstance(a, torch.Tensor)}
        return func(*args, **kwargs)


SIZES = (3, 5, 2, 4)


def norms_given():
    return {"mats": [torch.randn(n, n) for n in SIZES], "single": [torch.randn(1, 1, dtype=torch.float64)]}


def _norms(sub, mats, device):
    recorder = _Recorder(mats)
    with recorder:
        result = attempt(sub.norms_on_device, list(mats), device)
    value = result.get("value")
    return {
        "result": result if "error" in result else {"value": value},
        "result_device": str(value.device) if isinstance(value, torch.Tensor) else None,
        "host_copies": recorder.host_copies,
        "product_devices": sorted(recorder.product_devices),
    }


NORMS = Record(
    result=Attempt(Tree(max_len=64, max_depth=2)),
    result_device=Optional(DEVICE),
    host_copies=ListOf(Str(max_len=40), max_len=10_000),
    product_devices=ListOf(DEVICE, max_len=100),
)


@probe(
    task="norms_on_device",
    given=norms_given,
    returns=Record(
        mats=TupleOf(*(Tensor(shape=(n, n), dtype=torch.float32, finite=True, nonempty=True) for n in SIZES)),
        single=TupleOf(Tensor(shape=(1, 1), dtype=torch.float64, finite=True, nonempty=True)),
        four=NORMS,
        one=NORMS,
        device=DEVICE,
    ),
)
def norms(sub, device, given):
    # The matrices themselves are reported after the calls: judges check them unchanged.
    return {
        "four": _norms(sub, given["mats"], device),
        "one": _norms(sub, given["single"], device),
        "mats": given["mats"],
        "single": given["single"],
        "device": str(device),
    }
