"""Hidden probes of assignment 6 (devices). They run in the sandbox, beside the student's module.

The `meta` device (tensors with a shape and no data) lets every runner check that moves reach
every tensor; GPU counts are also checked with torch.cuda pretending to have 0 and 2 GPUs.
What a probe hands to student code (nested containers, models, inputs, matrices) comes from
its `given` builder, which the grader rebuilds: judges compare with those, never with values
the probe reports.
"""

import contextlib
import os
from pathlib import Path

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autograder.contract import (
    Attempt,
    Bool,
    DictOf,
    Int,
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


@probe(task="num_gpus", returns=Record({"here": ASKED, "0": ASKED, "2": ASKED}))
def gpus(sub):
    out = {"here": _asked(sub)}
    for count in (0, 2):
        with _pretend_gpus(count):
            out[str(count)] = _asked(sub)
    return out


# ------------------------------------------------------------------------------- to_device


def nested_given():
    return {
        "nested": {
            "a": torch.ones(2, 3),
            "b": [torch.zeros(1), (torch.arange(3), "label", 7, None)],
            "c": {"d": torch.eye(2, dtype=torch.float64), "e": 2.5},
            "f": "text",
        }
    }


MOVED = Attempt(Tree(max_len=64, max_depth=6))  # what to_device returned


@probe(task="to_device", given=nested_given, returns=Record(result=MOVED))
def moved_to_meta(sub, given):
    return {"result": attempt(sub.to_device, given["nested"], META)}


def moved_to_given():
    """One nested container per call (named as the result it gives)."""
    return {"result": nested_given()["nested"], "as_string": nested_given()["nested"]}


@probe(task="to_device", given=moved_to_given, returns=Record(result=MOVED, as_string=MOVED))
def moved_to(sub, device, given):
    return {
        "result": attempt(sub.to_device, given["result"], device),
        "as_string": attempt(sub.to_device, given["as_string"], str(device)),
    }


# ------------------------------------------------------------------------------ move_model


class _WithBuffers(nn.Module):
    """A shared layer used twice, a BatchNorm's buffers, and a buffer of its own."""

    def __init__(self):
        super().__init__()
        shared = nn.Linear(4, 4)
        self.body = nn.Sequential(shared, nn.BatchNorm1d(4), nn.ReLU(), shared)
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, X):
        return self.body(X) * self.scale


def _with_buffers():
    """The model to move, its BatchNorm statistics moved away from their defaults."""
    net = _WithBuffers()
    with torch.no_grad():
        net.train()(torch.rand(8, 4))
    return net.eval()


def _devices(net):
    return {
        "parameters": {name: str(p.device) for name, p in net.named_parameters()},
        "buffers": {name: str(b.device) for name, b in net.named_buffers()},
    }


DEVICES = Record(
    parameters=DictOf(Str(max_len=200), Str(max_len=40), max_len=100),
    buffers=DictOf(Str(max_len=200), Str(max_len=40), max_len=100),
)


def model_to_meta_given():
    return {"net": _with_buffers()}


@probe(
    task="move_model",
    given=model_to_meta_given,
    returns=Record(result=Attempt(Bool()), devices=Optional(DEVICES), tied=Optional(Bool())),
)
def model_to_meta(sub, given):
    net = given["net"]
    result = attempt(sub.move_model, net, META)
    if "error" in result:
        return {"result": result, "devices": None, "tied": None}
    return {
        "result": {"value": result["value"] is net},
        "devices": _devices(net),
        "tied": net.body[0] is net.body[3] and net.body[0].weight is net.body[3].weight,
    }


def model_forward_given():
    return {"net": _with_buffers(), "X": torch.rand(3, 4)}


@probe(
    task="move_model",
    given=model_forward_given,
    returns=Record(
        result=Attempt(Bool()),
        tied=Optional(Bool()),
        Y=Optional(Attempt(Tensor(max_numel=10_000))),
        device=Str(max_len=40),
    ),
)
def model_forward(sub, device, given):
    net = given["net"]
    result = attempt(sub.move_model, net, device)
    if "error" in result:
        return {"result": result, "tied": None, "Y": None, "device": str(device)}
    X = given["X"].to(device)
    return {
        "result": {"value": result["value"] is net},
        "tied": net.body[0] is net.body[3] and net.body[0].weight is net.body[3].weight,
        "Y": attempt(net, X),  # the given model's own forward: what moved, and how, decides the output
        "device": str(device),
    }


# --------------------------------------------------------------------------------- load_to


def _state_devices(loaded):
    if "error" in loaded:
        return loaded
    value = loaded["value"]
    if not isinstance(value, dict):
        return {"value": {"kind": type(value).__name__, "devices": []}}
    return {
        "value": {
            "kind": "dict",
            "devices": sorted({str(t.device) for t in value.values() if isinstance(t, torch.Tensor)}),
        }
    }


@probe(
    task="load_to",
    returns=Record(
        cpu=Attempt(Tree(max_len=100, max_depth=3)),
        meta=Attempt(Record(kind=Str(max_len=200), devices=ListOf(Str(max_len=40), max_len=100))),
    ),
)
def loaded_from_gpu(sub):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)  # saved "on cuda:0"
    return {
        "cpu": attempt(sub.load_to, "gpu_params.pt", torch.device("cpu")),
        "meta": _state_devices(attempt(sub.load_to, "gpu_params.pt", META)),
    }


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

_HOST_COPIES = {"item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__"}
_PRODUCTS = {"matmul", "mm", "__matmul__", "__rmatmul__", "bmm", "mv", "einsum", "matrix_power"}


class _Recorder(TorchFunctionMode):
    """Counts copies of results to the host and notes the devices matrix products run on.

    `.item()`, `.tolist()` and the like always count; `.cpu()` and `.to(cpu)` count unless
    applied to one of the input matrices (moving an input to a CPU "device" is no copy back).
    """

    def __init__(self, inputs):
        super().__init__()
        self.inputs = {id(t) for t in inputs}
        self.host_copies = 0
        self.product_devices = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        subject = args[0] if args and isinstance(args[0], torch.Tensor) else None
        from_input = subject is not None and id(subject) in self.inputs
        if name in _HOST_COPIES and not (name == "cpu" and from_input):
            self.host_copies += 1
        elif name == "to" and not from_input:
            targets = [a for a in (*args[1:], *kwargs.values()) if isinstance(a, (str, torch.device))]
            if any(torch.device(t).type == "cpu" for t in targets):
                self.host_copies += 1
        if name in _PRODUCTS:
            self.product_devices |= {str(a.device) for a in args if isinstance(a, torch.Tensor)}
        return func(*args, **kwargs)


SIZES = (3, 5, 2, 4)


def norms_given():
    return {"mats": [torch.randn(n, n) for n in SIZES]}


@probe(
    task="norms_on_device",
    given=norms_given,
    returns=Record(
        mats=TupleOf(*(Tensor(shape=(n, n), dtype=torch.float32, finite=True, nonempty=True) for n in SIZES)),
        result=Attempt(Tree(max_len=64, max_depth=2)),
        result_device=Optional(Str(max_len=40)),
        host_copies=Int(min=0),
        product_devices=ListOf(Str(max_len=40), max_len=100),
        device=Str(max_len=40),
    ),
)
def norms(sub, device, given):
    mats = list(given["mats"])  # the tensors themselves are reported after the call: judges check them unchanged
    recorder = _Recorder(mats)
    with recorder:
        result = attempt(sub.norms_on_device, list(mats), device)
    value = result.get("value")
    return {
        "mats": mats,
        "result": result if "error" in result else {"value": value},
        "result_device": str(value.device) if isinstance(value, torch.Tensor) else None,
        "host_copies": recorder.host_copies,
        "product_devices": sorted(recorder.product_devices),
        "device": str(device),
    }
