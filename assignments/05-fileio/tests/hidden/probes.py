"""Hidden probes of assignment 5 (fileio). They run in the sandbox, beside the student's module.

Every file the student's code writes is written and read here, in the sandbox's private
directory; only tensors and plain facts about the files go back to the grader, which never
opens a file a student's code made. The models and tensors a probe hands to student code come
from its `given` builder, which the grader rebuilds: judges compare what came back with those,
never with values the probe reports.
"""

import copy
import os
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn
from torch.nn import functional as F

from autograder.contract import (
    Anything,
    Attempt,
    Bool,
    DictOf,
    ListOf,
    Optional,
    Record,
    Str,
    Tensor,
    Tree,
)
from autograder.probing import attempt, probe

# Read when the host loads the probes, so the sandbox needs no access to this folder.
GPU_PARAMS = (Path(__file__).parent / "data" / "gpu_params.pt").read_bytes()

# An optimizer's first use imports torch._dynamo (seconds). The checkpoint probe's `given`
# builder makes optimizers in the grader too, where each submission is judged in a fresh fork:
# take that cost once, when the probes are loaded, rather than once per submission.
torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)


STATE = DictOf(Str(max_len=200), Tensor(max_numel=10_000), max_len=100)  # a state_dict from a student's load
ERROR = Optional(Record(type=Str(max_len=200), message=Str(max_len=5000), traceback=Str(max_len=5000)))


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


def tensor_roundtrips_given():
    """The samples save_tensors writes; the judges compare what loads back with these."""
    grid = torch.arange(12.0).reshape(3, 4) / 7
    return {
        "tensor": grid,
        "integers": torch.arange(5, dtype=torch.int64) - 2,
        "list": [grid[0], torch.arange(3, dtype=torch.int32)],
        "tuple": (grid.T.contiguous(), torch.tensor([True, False, True])),
        "dict": {"weight": grid * 3, "step": torch.tensor(7), "half": torch.ones(2, dtype=torch.bfloat16)},
    }


SAMPLES = ("tensor", "integers", "list", "tuple", "dict")


def _readable_safely(path):
    """Whether a safe loader reads the file: torch's weights_only unpickler or safetensors."""
    if "value" in attempt(torch.load, path, weights_only=True):
        return True
    return "value" in attempt(_safetensors_keys, path)


@probe(
    task="save_tensors",
    given=tensor_roundtrips_given,
    returns=Record(
        {
            name: Record(saved=Attempt(), loaded=Optional(Attempt(Tree())), plain_file=Optional(Bool()))
            for name in SAMPLES
        }
    ),
)
def tensor_roundtrips(sub, given):
    out = {}
    for name in SAMPLES:
        path = f"{name}.pt"
        saved = attempt(sub.save_tensors, given[name], path)
        if "error" in saved:
            out[name] = {"saved": saved, "loaded": None, "plain_file": None}
            continue
        out[name] = {
            "saved": {"value": None},
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


def refuses_pickles_given():
    return {"clean": {"x": torch.arange(3.0)}}


@probe(
    task="save_tensors",
    given=refuses_pickles_given,
    returns=Record(clean=Attempt(Tree()), error=ERROR, unpickled=Bool()),
)
def refuses_pickles(sub, given):
    torch.save(given["clean"], "clean.pt")  # the same loader must still load a clean file
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


def _saved_and_fresh():
    """A trained model to save and a fresh one (other weights, default buffers) to load into."""
    return {"net": _trained_model(), "fresh": _model()}


@probe(
    task="save_params",
    given=_saved_and_fresh,
    returns=Record(
        saved=Attempt(),
        file_keys=Optional(ListOf(Anything(), max_len=100)),
        file_error=ERROR,
        loaded=Optional(Attempt(Bool())),
        training=Optional(Bool()),
        restored=Optional(STATE),
    ),
)
def params_roundtrip(sub, given):
    net, fresh = given["net"], given["fresh"]
    out = {"saved": None, "file_keys": None, "file_error": None, "loaded": None, "training": None, "restored": None}
    out["saved"] = saved = attempt(sub.save_params, net, "params.pt")
    if "error" in saved:
        return out
    plain = attempt(torch.load, "params.pt", weights_only=True)
    if "value" in plain and isinstance(plain["value"], dict):
        out["file_keys"] = list(plain["value"].keys())
    fresh.train()
    loaded = attempt(sub.load_params, fresh, "params.pt")
    out["saved"] = {"value": None}
    out["file_error"] = plain.get("error")
    out["loaded"] = loaded if "error" in loaded else {"value": loaded["value"] is fresh}
    out["training"] = fresh.training
    out["restored"] = _state(fresh)
    return out


def params_from_a_gpu_given():
    return {"fresh": _model()}


@probe(
    task="save_params",
    given=params_from_a_gpu_given,
    returns=Record(loaded=Attempt(Bool()), restored=STATE),
)
def params_from_a_gpu(sub, given):
    Path("gpu_params.pt").write_bytes(GPU_PARAMS)  # saved "on cuda:0": needs map_location here
    fresh = given["fresh"]
    loaded = attempt(sub.load_params, fresh, "gpu_params.pt")
    return {"loaded": loaded if "error" in loaded else {"value": True}, "restored": _state(fresh)}


# ------------------------------------------------------------ save_safetensors / load_safetensors


def _tied():
    shared = nn.Linear(4, 4)
    return nn.Sequential(shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(4, 2))


def _safetensors_keys(path):
    with safe_open(path, framework="pt") as f:
        return sorted(f.keys())


@probe(
    task="save_safetensors",
    given=_saved_and_fresh,
    returns=Record(
        saved=Attempt(),
        keys=Optional(Attempt(ListOf(Str(max_len=200), max_len=100))),
        loaded=Optional(Attempt(Bool())),
        restored=Optional(STATE),
    ),
)
def safetensors_plain(sub, given):
    net, fresh = given["net"], given["fresh"]
    saved = attempt(sub.save_safetensors, net, "model.safetensors")
    if "error" in saved:
        return {"saved": saved, "keys": None, "loaded": None, "restored": None}
    loaded = attempt(sub.load_safetensors, fresh, "model.safetensors")
    return {
        "saved": {"value": None},
        "keys": attempt(_safetensors_keys, "model.safetensors"),
        "loaded": loaded if "error" in loaded else {"value": loaded["value"] is fresh},
        "restored": _state(fresh),
    }


def safetensors_tied_given():
    return {"net": _tied(), "fresh": _tied()}


@probe(
    task="save_safetensors",
    given=safetensors_tied_given,
    returns=Record(
        saved=Attempt(), loaded=Optional(Attempt(Bool())), still_tied=Optional(Bool()), restored=Optional(STATE)
    ),
)
def safetensors_tied(sub, given):
    net, fresh = given["net"], given["fresh"]
    saved = attempt(sub.save_safetensors, net, "tied.safetensors")
    if "error" in saved:
        return {"saved": saved, "loaded": None, "still_tied": None, "restored": None}
    loaded = attempt(sub.load_safetensors, fresh, "tied.safetensors")
    return {
        "saved": {"value": None},
        "loaded": loaded if "error" in loaded else {"value": True},
        "still_tied": fresh[0].weight is fresh[2].weight and fresh[0].bias is fresh[2].bias,
        "restored": _state(fresh),
    }


@probe(
    task="save_safetensors",
    given=_saved_and_fresh,
    returns=Record(
        saved=Attempt(),
        loaded=Optional(Attempt(Bool())),
        devices=Optional(ListOf(Str(max_len=40), max_len=100)),
        device=Str(max_len=40),
        restored=Optional(STATE),
    ),
)
def safetensors_device(sub, device, given):
    net, fresh = given["net"], given["fresh"]
    out = {"saved": None, "loaded": None, "devices": None, "device": str(device), "restored": None}
    out["saved"] = saved = attempt(sub.save_safetensors, net, "device.safetensors")
    if "error" in saved:
        return out
    loaded = attempt(sub.load_safetensors, fresh, "device.safetensors", device=str(device))
    out["saved"] = {"value": None}
    out["loaded"] = loaded if "error" in loaded else {"value": loaded["value"] is fresh}
    out["devices"] = sorted({str(t.device) for t in fresh.state_dict().values()})
    out["restored"] = _state(fresh)
    return out


# ---------------------------------------------------------------------------------- transplant


def _pair():
    """src and dst match in their first two children and differ in the third."""
    src = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    dst = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    src.train()
    src(torch.rand(16, 4))  # src's buffers move away from dst's
    return {"src": src, "dst": dst}


@probe(
    task="transplant",
    given=_pair,
    returns=Record(result=Attempt(Bool()), after=Optional(STATE), shares_with_src=Optional(Bool())),
)
def transplanted(sub, given):
    src, dst = given["src"], given["dst"]
    result = attempt(sub.transplant, src, dst, 2)
    if "error" in result:
        return {"result": result, "after": None, "shares_with_src": None}
    src_ids = {id(p) for p in src.parameters()}
    return {
        "result": {"value": result["value"] is dst},
        "after": _state(dst),
        "shares_with_src": any(id(p) in src_ids for p in dst.parameters()),
    }


@probe(task="transplant", given=_pair, returns=Record(error=ERROR, after=STATE))
def transplant_mismatch(sub, given):
    src, dst = given["src"], given["dst"]
    result = attempt(sub.transplant, src, dst, 3)
    return {"error": result.get("error"), "after": _state(dst)}


# ----------------------------------------------------------------- save_checkpoint / load_checkpoint


def _batches():
    g = torch.Generator().manual_seed(1234)
    return [(torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)) for _ in range(6)]


def _checkpoint_model():
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


def checkpoint_resume_given():
    """Per optimizer: a model and optimizer trained on 3 batches (what is saved), a fresh model
    and optimizer to load into, and the losses of the 3 next batches when training is not
    interrupted (from a twin trained identically, so that the saved pair stays as it is)."""
    batches = _batches()
    given = {"batches": batches}
    for kind, make in OPTIMIZERS.items():
        model = _checkpoint_model()
        twin = copy.deepcopy(model)
        optimizer, twin_optimizer = make(model.parameters()), make(twin.parameters())
        _train(model, optimizer, batches[:3])
        _train(twin, twin_optimizer, batches[:3])
        continued = _train(twin, twin_optimizer, batches[3:])
        fresh = _checkpoint_model()  # different weights, a new optimizer: everything must come from the file
        given[kind] = {
            "model": model,
            "optimizer": optimizer,
            "fresh": fresh,
            "fresh_optimizer": make(fresh.parameters()),
            "continued": continued,
        }
    return given


@probe(
    task="save_checkpoint",
    given=checkpoint_resume_given,
    returns=Record(
        {
            kind: Record(
                saved=Attempt(),
                epoch=Optional(Attempt(Tree(Tensor(max_numel=100)))),
                resumed=Optional(Tensor(shape=(3,), dtype=torch.float32)),
            )
            for kind in OPTIMIZERS
        }
    ),
)
def checkpoint_resume(sub, given):
    out = {}
    for kind in OPTIMIZERS:
        case = given[kind]
        saved = attempt(sub.save_checkpoint, f"{kind}.ckpt", case["model"], case["optimizer"], 3)
        if "error" in saved:
            out[kind] = {"saved": saved, "epoch": None, "resumed": None}
            continue
        fresh, fresh_optimizer = case["fresh"], case["fresh_optimizer"]
        epoch = attempt(sub.load_checkpoint, f"{kind}.ckpt", fresh, fresh_optimizer)
        resumed = _train(fresh, fresh_optimizer, given["batches"][3:]) if "value" in epoch else None
        out[kind] = {"saved": {"value": None}, "epoch": epoch, "resumed": resumed}
    return out
