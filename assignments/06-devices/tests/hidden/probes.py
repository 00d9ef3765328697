"""Hidden probes of assignment 6 (devices). They run in the sandbox, beside the student's module.

The `meta` device (tensors with a shape and no data) lets every runner check that moves reach
every tensor; GPU counts are also checked with torch.cuda pretending to have 0 and 2 GPUs.
"""

import contextlib
import os
from pathlib import Path

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autograder.probing import attempt, probe

# Read when the host loads the probes (the sandbox needs no access to this folder).
GPU_PARAMS = (Path(__file__).resolve().parents[1] / "visible" / "data" / "gpu_params.pt").read_bytes()
META = torch.device("meta")


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


@probe
def gpus(sub):
    out = {"here": _asked(sub)}
    for count in (0, 2):
        with _pretend_gpus(count):
            out[str(count)] = _asked(sub)
    return out


# ------------------------------------------------------------------------------- to_device


def _nested():
    return {
        "a": torch.ones(2, 3),
        "b": [torch.zeros(1), (torch.arange(3), "label", 7, None)],
        "c": {"d": torch.eye(2, dtype=torch.float64), "e": 2.5},
        "f": "text",
    }


@probe
def moved_to_meta(sub):
    return {"result": attempt(sub.to_device, _nested(), META)}


@probe
def moved_to(sub, device):
    return {
        "result": attempt(sub.to_device, _nested(), device),
        "as_string": attempt(sub.to_device, _nested(), str(device)),
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


def _devices(net):
    return {
        "parameters": {name: str(p.device) for name, p in net.named_parameters()},
        "buffers": {name: str(b.device) for name, b in net.named_buffers()},
    }


@probe
def model_to_meta(sub):
    net = _WithBuffers()
    result = attempt(sub.move_model, net, META)
    if "error" in result:
        return {"result": result}
    return {
        "result": {"value": result["value"] is net},
        "devices": _devices(net),
        "tied": net.body[0] is net.body[3] and net.body[0].weight is net.body[3].weight,
    }


@probe
def model_forward(sub, device):
    net = _WithBuffers().eval()
    result = attempt(sub.move_model, net, device)
    if "error" in result:
        return {"result": result}
    X = torch.rand(3, 4, device=device)
    return {
        "result": {"value": result["value"] is net},
        "tied": net.body[0] is net.body[3] and net.body[0].weight is net.body[3].weight,
        "X": X,
        "Y": attempt(net, X),
        "state": net.state_dict(),
        "device": str(device),
    }


# --------------------------------------------------------------------------------- load_to


def _state_devices(loaded):
    if "error" in loaded:
        return loaded
    value = loaded["value"]
    if not isinstance(value, dict):
        return {"value": {"kind": type(value).__name__}}
    return {
        "value": {
            "kind": "dict",
            "devices": sorted({str(t.device) for t in value.values() if isinstance(t, torch.Tensor)}),
        }
    }


@probe
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


@probe
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


@probe
def norms(sub, device):
    g = torch.Generator().manual_seed(7)
    mats = [torch.randn(n, n, generator=g) for n in (3, 5, 2, 4)]
    given = [A.clone() for A in mats]
    recorder = _Recorder(given)
    with recorder:
        result = attempt(sub.norms_on_device, given, device)
    value = result.get("value")
    return {
        "mats": mats,
        "result": result if "error" in result else {"value": value},
        "result_device": str(value.device) if isinstance(value, torch.Tensor) else None,
        "host_copies": recorder.host_copies,
        "product_devices": sorted(recorder.product_devices),
        "device": str(device),
    }
