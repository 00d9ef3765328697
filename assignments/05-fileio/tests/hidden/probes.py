"""Hidden probes of assignment 5 (fileio). They run in the sandbox, beside the student's module.

Every file the student's code writes is written and read here, in the sandbox's private
directory; only tensors and plain facts about the files go back to the grader, which never
opens a file a student's code made.
"""

import os
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn
from torch.nn import functional as F

from autograder.probing import attempt, probe

# Read when the host loads the probes, so the sandbox needs no access to this folder.
GPU_PARAMS = (Path(__file__).parent / "data" / "gpu_params.pt").read_bytes()


def _model():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _trained_model():
    """A model whose buffers have moved away from their defaults."""
    net = _model()
    net.train()
    net(torch.rand(16, 4))
    return net


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


# ---------------------------------------------------------------- save_tensors / load_tensors


def _samples():
    """Deterministic values: the judges build the same ones to compare with."""
    grid = torch.arange(12.0).reshape(3, 4) / 7
    return {
        "tensor": grid,
        "integers": torch.arange(5, dtype=torch.int64) - 2,
        "list": [grid[0], torch.arange(3, dtype=torch.int32)],
        "tuple": (grid.T.contiguous(), torch.tensor([True, False, True])),
        "dict": {"weight": grid * 3, "step": torch.tensor(7), "half": torch.ones(2, dtype=torch.bfloat16)},
    }


def _readable_safely(path):
    """Whether a safe loader reads the file: torch's weights_only unpickler or safetensors."""
    if "value" in attempt(torch.load, path, weights_only=True):
        return True
    return "value" in attempt(_safetensors_keys, path)


@probe
def tensor_roundtrips(sub):
    out = {}
    for name, obj in _samples().items():
        path = f"{name}.pt"
        saved = attempt(sub.save_tensors, obj, path)
        if "error" in saved:
            out[name] = {"saved": saved}
            continue
        out[name] = {
            "saved": {"value": True},
            "loaded": attempt(sub.load_tensors, path),
            "plain_file": _readable_safely(path),
        }
    return out


_UNPICKLED = []


def _record_unpickling(tag):
    _UNPICKLED.append(tag)
    return tag


class _Payload:
    """An object whose unpickling runs code: loading it must be refused."""

    def __reduce__(self):
        return (_record_unpickling, ("payload",))


@probe
def refuses_pickles(sub):
    torch.save({"x": torch.arange(3.0)}, "clean.pt")  # the same loader must still load a clean file
    clean = attempt(sub.load_tensors, "clean.pt")
    torch.save({"x": torch.ones(2), "payload": _Payload()}, "evil.pt")
    # torch's default became weights_only=True in 2.6; a load that relies on the default
    # rather than asking for the safe loader must not pass by accident
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        result = attempt(sub.load_tensors, "evil.pt")
    finally:
        del os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"]
    return {"clean": clean, "error": result.get("error"), "unpickled": bool(_UNPICKLED)}


# -------------------------------------------------------------------- save_params / load_params


@probe
def params_roundtrip(sub):
    net = _trained_model()
    saved = attempt(sub.save_params, net, "params.pt")
    if "error" in saved:
        return {"saved": saved}
    plain = attempt(torch.load, "params.pt", weights_only=True)
    file_keys = list(plain["value"].keys()) if "value" in plain and isinstance(plain["value"], dict) else None
    fresh = _model()
    fresh.train()
    loaded = attempt(sub.load_params, fresh, "params.pt")
    return {
        "saved": {"value": True},
        "file_keys": file_keys,
        "file_error": plain.get("error"),
        "loaded": loaded if "error" in loaded else {"value": loaded["value"] is fresh},
        "training": fresh.training,
        "original": _state(net),
        "restored": _state(fresh),
    }


@probe
def params_from_a_gpu(sub):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)  # saved "on cuda:0": needs map_location here
    fresh = _model()
    loaded = attempt(sub.load_params, fresh, "gpu_params.pt")
    return {"loaded": loaded if "error" in loaded else {"value": True}, "restored": _state(fresh)}


# ------------------------------------------------------------ save_safetensors / load_safetensors


def _tied():
    shared = nn.Linear(4, 4)
    return nn.Sequential(shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(4, 2))


def _safetensors_keys(path):
    with safe_open(path, framework="pt") as f:
        return sorted(f.keys())


@probe
def safetensors_plain(sub):
    net = _trained_model()
    saved = attempt(sub.save_safetensors, net, "model.safetensors")
    if "error" in saved:
        return {"saved": saved}
    fresh = _model()
    loaded = attempt(sub.load_safetensors, fresh, "model.safetensors")
    return {
        "saved": {"value": True},
        "keys": attempt(_safetensors_keys, "model.safetensors"),
        "loaded": loaded if "error" in loaded else {"value": loaded["value"] is fresh},
        "original": _state(net),
        "restored": _state(fresh),
    }


@probe
def safetensors_tied(sub):
    net = _tied()
    saved = attempt(sub.save_safetensors, net, "tied.safetensors")
    if "error" in saved:
        return {"saved": saved}
    fresh = _tied()
    loaded = attempt(sub.load_safetensors, fresh, "tied.safetensors")
    return {
        "saved": {"value": True},
        "loaded": loaded if "error" in loaded else {"value": True},
        "still_tied": fresh[0].weight is fresh[2].weight and fresh[0].bias is fresh[2].bias,
        "original": _state(net),
        "restored": _state(fresh),
    }


@probe
def safetensors_device(sub, device):
    net = _trained_model()
    saved = attempt(sub.save_safetensors, net, "device.safetensors")
    if "error" in saved:
        return {"saved": saved}
    fresh = _model()
    loaded = attempt(sub.load_safetensors, fresh, "device.safetensors", device=str(device))
    returned = loaded.get("value")
    return {
        "saved": {"value": True},
        "loaded": loaded if "error" in loaded else {"value": returned is fresh},
        "devices": sorted({str(t.device) for t in fresh.state_dict().values()}),
        "device": str(device),
        "original": _state(net),
        "restored": _state(fresh),
    }


# ---------------------------------------------------------------------------------- transplant


def _pair():
    """src and dst match in their first two children and differ in the third."""
    src = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    dst = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    src.train()
    src(torch.rand(16, 4))  # src's buffers move away from dst's
    return src, dst


@probe
def transplanted(sub):
    src, dst = _pair()
    before = _state(dst)
    result = attempt(sub.transplant, src, dst, 2)
    if "error" in result:
        return {"result": result}
    src_ids = {id(p) for p in src.parameters()}
    return {
        "result": {"value": result["value"] is dst},
        "src": _state(src),
        "before": before,
        "after": _state(dst),
        "shares_with_src": any(id(p) in src_ids for p in dst.parameters()),
    }


@probe
def transplant_mismatch(sub):
    src, dst = _pair()
    before = _state(dst)
    result = attempt(sub.transplant, src, dst, 3)
    after = _state(dst)
    return {"error": result.get("error"), "unchanged": all(torch.equal(before[k], after[k]) for k in before)}


# ----------------------------------------------------------------- save_checkpoint / load_checkpoint


def _batches():
    g = torch.Generator().manual_seed(1234)  # independent of the RNG the student's code may use
    return [(torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)) for _ in range(6)]


def _checkpoint_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))


OPTIMIZERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=0.01),
}


def _train(model, optimizer, batches):
    losses = []
    model.train()
    for X, y in batches:
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses)


@probe
def checkpoint_resume(sub):
    batches = _batches()
    out = {}
    for kind, make in OPTIMIZERS.items():
        model = _checkpoint_model(1)
        optimizer = make(model.parameters())
        _train(model, optimizer, batches[:3])
        saved = attempt(sub.save_checkpoint, f"{kind}.ckpt", model, optimizer, 3)
        if "error" in saved:
            out[kind] = {"saved": saved}
            continue
        continued = _train(model, optimizer, batches[3:])  # the run that was never interrupted
        fresh = _checkpoint_model(2)  # different weights, a new optimizer: everything must come from the file
        fresh_optimizer = make(fresh.parameters())
        epoch = attempt(sub.load_checkpoint, f"{kind}.ckpt", fresh, fresh_optimizer)
        resumed = _train(fresh, fresh_optimizer, batches[3:]) if "value" in epoch else None
        out[kind] = {"saved": {"value": True}, "epoch": epoch, "continued": continued, "resumed": resumed}
    return out
