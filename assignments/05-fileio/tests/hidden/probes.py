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
MODES = ListOf(Bool(), max_len=100)  # `training` of every module, in modules() order
DEVICES = ListOf(Str(max_len=40), max_len=100)
OPTIMIZER_STATE = Tree(Tensor(max_numel=10_000), max_len=100, max_depth=6)  # an optimizer's state_dict()


def _model():
    """Batch norm (buffers, a mode) and dropout (a mode): what a state_dict and eval() are about."""
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))


def _fixture_model():
    """The architecture of data/gpu_params.pt (see data/make_gpu_fixture.py)."""
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _trained_model():
    """A model whose buffers have moved away from their defaults."""
    net = _model()
    net.train()
    net(torch.rand(16, 4))
    return net


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _devices(net):
    return sorted({str(t.device) for t in net.state_dict().values()})


def _absent_device():
    """A CUDA device this machine lacks: a file saved there must be loaded with map_location."""
    return f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"


def _save_tagged(obj, path, location):
    """torch.save(obj, path) as if every tensor in it lived on `location` (the file a machine
    with that device would write). torch.save reads the tag through this module attribute."""
    import torch.serialization as serialization

    original = serialization.location_tag
    serialization.location_tag = lambda storage: location
    try:
        torch.save(obj, path)
    finally:
        serialization.location_tag = original


_UNPICKLED = []


def _record_unpickling(tag):
    _UNPICKLED.append(tag)
    return tag


class _Payload:
    """An object whose unpickling runs code (it records `tag`): loading it must be refused."""

    def __init__(self, tag):
        self.tag = tag

    def __reduce__(self):
        return (_record_unpickling, (self.tag,))


def _load_refusing(load, *args, tag):
    """Call a student's loader on a file holding a _Payload(tag), with torch's default switched
    to the unsafe loader: a load that relies on the default rather than asking for
    weights_only=True must not pass by accident (the default became True in torch 2.6).
    Returns (the attempt, whether the payload ran)."""
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        result = attempt(load, *args)
    finally:
        del os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"]
    return result, tag in _UNPICKLED


# ---------------------------------------------------------------- save_tensors / load_tensors


def tensor_roundtrips_given():
    """The samples save_tensors writes; the judges compare what loads back with these."""
    grid = torch.arange(12.0).reshape(3, 4) / 7
    base = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    return {
        "tensor": grid,
        "integers": torch.arange(5, dtype=torch.int64) - 2,
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "strided": grid.T,  # a view that is not contiguous
        "list": [grid[0], torch.arange(3, dtype=torch.int32)],
        "tuple": (grid.T.contiguous(), torch.tensor([True, False, True])),
        "one": (torch.tensor([1.5]),),
        "empty_list": [],
        "dict": {
            "weight": grid * 3,
            "step": torch.tensor(7),
            "half": torch.ones(2, dtype=torch.bfloat16),
            "f16": torch.full((2, 2), 0.1, dtype=torch.float16),
            "complex": torch.tensor([1 + 2j, -0.5j], dtype=torch.complex64),
            "bytes": torch.tensor([0, 7, 255], dtype=torch.uint8),
            "small": torch.tensor([-3, 4], dtype=torch.int8),
        },
        "aliased": {"whole": base, "row": base[1]},  # two views of one storage, as tied weights are
        "empty_dict": {},
    }


SAMPLES = (
    "tensor", "integers", "scalar", "strided", "list", "tuple", "one", "empty_list", "dict", "aliased", "empty_dict"
)  # fmt: skip


def _readable_safely(path):
    """Whether a safe loader reads the file: torch's weights_only unpickler or safetensors."""
    if "value" in attempt(torch.load, path, weights_only=True):
        return True
    return "value" in attempt(_safetensors_keys, path)


def _file_facts(path):
    """What the grader may know about a file student code wrote, without unpickling it."""
    facts = {"safe": _readable_safely(path), "pickle_stream": False, "unsafe_globals": None}
    with open(path, "rb") as f:
        head = f.read(2)
    # a raw pickle (pickle.dump, protocol 2 or later) starts with PROTO and the protocol number
    facts["pickle_stream"] = len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    found = attempt(torch.serialization.get_unsafe_globals_in_checkpoint, path)  # reads, never runs, the pickle
    if "value" in found:
        facts["unsafe_globals"] = sorted(str(g)[:200] for g in found["value"])[:20]  # a set's order varies
    return facts


FILE_FACTS = Record(safe=Bool(), pickle_stream=Bool(), unsafe_globals=Optional(ListOf(Str(max_len=200), max_len=20)))


@probe(
    task="save_tensors",
    given=tensor_roundtrips_given,
    returns=Record(
        {name: Record(saved=Attempt(), loaded=Optional(Attempt(Tree())), file=Optional(FILE_FACTS)) for name in SAMPLES}
    ),
)
def tensor_roundtrips(sub, given):
    out = {}
    for name in SAMPLES:
        path = f"{name}.pt"
        saved = attempt(sub.save_tensors, given[name], path)
        if "error" in saved:
            out[name] = {"saved": saved, "loaded": None, "file": None}
            continue
        out[name] = {"saved": {"value": None}, "loaded": attempt(sub.load_tensors, path), "file": _file_facts(path)}
    return out


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
    torch.save({"x": torch.ones(2), "payload": _Payload("tensors")}, "evil.pt")
    result, unpickled = _load_refusing(sub.load_tensors, "evil.pt", tag="tensors")
    return {"clean": clean, "error": result.get("error"), "unpickled": unpickled}


# -------------------------------------------------------------------- save_params / load_params


def _saved_and_fresh():
    """A trained model to save and a fresh one (other weights, default buffers) to load into."""
    return {"net": _trained_model(), "fresh": _model()}


@probe(
    task="save_params",
    given=_saved_and_fresh,
    returns=Record(
        saved=Attempt(),
        net_after=Optional(STATE),
        net_modes=Optional(MODES),
        file_keys=Optional(ListOf(Anything(), max_len=100)),
        file_error=ERROR,
        file=Optional(FILE_FACTS),
        loaded=Optional(Attempt(Bool())),
        modes=Optional(MODES),
        restored=Optional(STATE),
    ),
)
def params_roundtrip(sub, given):
    net, fresh = given["net"], given["fresh"]
    out = dict.fromkeys(("net_after", "net_modes", "file_keys", "file_error", "file", "loaded", "modes", "restored"))
    net.train()  # mid-training, as a checkpointing loop calls it
    out["saved"] = saved = attempt(sub.save_params, net, "params.pt")
    if "error" in saved:
        return out
    out["saved"] = {"value": None}
    out["net_after"], out["net_modes"] = _state(net), [m.training for m in net.modules()]
    plain = attempt(torch.load, "params.pt", weights_only=True)
    if "value" in plain and isinstance(plain["value"], dict):
        out["file_keys"] = list(plain["value"].keys())
    out["file_error"] = plain.get("error")
    out["file"] = _file_facts("params.pt")
    fresh.train()
    loaded = attempt(sub.load_params, fresh, "params.pt")
    out["loaded"] = loaded if "error" in loaded else {"value": loaded["value"] is fresh}
    out["modes"] = [m.training for m in fresh.modules()]
    out["restored"] = _state(fresh)
    return out


def params_from_a_gpu_given():
    return {"fresh": _fixture_model()}


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


def params_devices_given():
    return {"net": _trained_model(), "fresh": [_model() for _ in range(3)]}


_CROSS = Record(loaded=Attempt(Bool()), devices=DEVICES, restored=STATE)


@probe(
    task="save_params",
    given=params_devices_given,
    returns=Record(
        device=Str(max_len=40), saved=Attempt(), to_device=Optional(_CROSS), to_cpu=Optional(_CROSS), absent=_CROSS
    ),
)
def params_devices(sub, device, given):
    """Files saved on one device loaded onto another: save_params of the net on the CPU loaded
    into a fresh net on `device`, the net on `device` loaded into one on the CPU, and a
    state_dict saved on a device this machine lacks loaded into one on `device`."""
    net, (fresh_device, fresh_cpu, fresh_absent) = given["net"], given["fresh"]

    def load(fresh, path, where):
        fresh.to(where)
        loaded = attempt(sub.load_params, fresh, path)
        return {
            "loaded": loaded if "error" in loaded else {"value": loaded["value"] is fresh},
            "devices": _devices(fresh),
            "restored": _state(fresh),
        }

    out = {"device": str(device), "saved": None, "to_device": None, "to_cpu": None}
    _save_tagged(net.state_dict(), "absent.pt", _absent_device())
    out["absent"] = load(fresh_absent, "absent.pt", device)
    saved = attempt(sub.save_params, net, "from_cpu.pt")
    if "value" in saved:
        saved = attempt(sub.save_params, copy.deepcopy(net).to(device), "from_device.pt")
    out["saved"] = saved if "error" in saved else {"value": None}
    if "error" in saved:
        return out
    out["to_device"] = load(fresh_device, "from_cpu.pt", device)
    out["to_cpu"] = load(fresh_cpu, "from_device.pt", "cpu")
    return out


def params_refuses_pickles_given():
    return {"net": _trained_model(), "fresh": _model(), "clean_fresh": _model()}


@probe(
    task="save_params",
    given=params_refuses_pickles_given,
    returns=Record(clean=Attempt(), error=ERROR, unpickled=Bool(), restored=STATE),
)
def params_refuses_pickles(sub, given):
    """A state_dict file that also holds a pickled object: load_params must refuse it, leaving
    the net as it was (and the same load_params must load the clean file)."""
    torch.save(given["net"].state_dict(), "clean.pt")
    clean = attempt(sub.load_params, given["clean_fresh"], "clean.pt")
    torch.save({**given["net"].state_dict(), "payload": _Payload("params")}, "evil.pt")
    result, unpickled = _load_refusing(sub.load_params, given["fresh"], "evil.pt", tag="params")
    return {
        "clean": clean if "error" in clean else {"value": None},
        "error": result.get("error"),
        "unpickled": unpickled,
        "restored": _state(given["fresh"]),
    }


# ------------------------------------------------------------ save_safetensors / load_safetensors


def _tied():
    shared = nn.Linear(4, 4)
    return nn.Sequential(shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(4, 2))


def _tied_distinct():
    """Two distinct Linear modules sharing one weight Parameter (as tie_weights makes them),
    each with its own bias."""
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    return nn.Sequential(first, nn.ReLU(), second, nn.ReLU(), nn.Linear(4, 2))


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
    return {"net": _tied(), "fresh": _tied(), "distinct": _tied_distinct(), "distinct_fresh": _tied_distinct()}


_TIED = Record(saved=Attempt(), loaded=Optional(Attempt(Bool())), still_tied=Optional(Bool()), restored=Optional(STATE))


@probe(task="save_safetensors", given=safetensors_tied_given, returns=Record(shared=_TIED, distinct=_TIED))
def safetensors_tied(sub, given):
    out = {}
    for kind, net, fresh in (
        ("shared", given["net"], given["fresh"]),
        ("distinct", given["distinct"], given["distinct_fresh"]),
    ):
        path = f"{kind}.safetensors"
        saved = attempt(sub.save_safetensors, net, path)
        if "error" in saved:
            out[kind] = {"saved": saved, "loaded": None, "still_tied": None, "restored": None}
            continue
        loaded = attempt(sub.load_safetensors, fresh, path)
        tied = fresh[0].weight is fresh[2].weight
        if kind == "shared":
            tied = tied and fresh[0].bias is fresh[2].bias
        out[kind] = {
            "saved": {"value": None},
            "loaded": loaded if "error" in loaded else {"value": True},
            "still_tied": tied,
            "restored": _state(fresh),
        }
    return out


def safetensors_device_given():
    return {"net": _trained_model(), "fresh": _model(), "back": _model()}


@probe(
    task="save_safetensors",
    given=safetensors_device_given,
    returns=Record(
        saved=Attempt(),
        loaded=Optional(Attempt(Bool())),
        devices=Optional(DEVICES),
        device=Str(max_len=40),
        restored=Optional(STATE),
        back=Optional(_CROSS),
    ),
)
def safetensors_device(sub, device, given):
    """Loaded onto `device` from a net on the CPU, and onto the CPU (the default) into a net
    on `device`."""
    net, fresh, back = given["net"], given["fresh"], given["back"]
    out = {"saved": None, "loaded": None, "devices": None, "device": str(device), "restored": None, "back": None}
    out["saved"] = saved = attempt(sub.save_safetensors, net, "device.safetensors")
    if "error" in saved:
        return out
    loaded = attempt(sub.load_safetensors, fresh, "device.safetensors", device=str(device))
    out["saved"] = {"value": None}
    out["loaded"] = loaded if "error" in loaded else {"value": loaded["value"] is fresh}
    out["devices"] = _devices(fresh)
    out["restored"] = _state(fresh)
    back.to(device)
    returned = attempt(sub.load_safetensors, back, "device.safetensors")
    out["back"] = {
        "loaded": returned if "error" in returned else {"value": returned["value"] is back},
        "devices": _devices(back),
        "restored": _state(back),
    }
    return out


# ---------------------------------------------------------------------------------- transplant


def _pair():
    """src and dst match in their first two children (a nested block with batch norm, and a
    ReLU without parameters) and differ in the third."""
    src = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)), nn.ReLU(), nn.Linear(8, 3))
    dst = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)), nn.ReLU(), nn.Linear(8, 5))
    src.train()
    src(torch.rand(16, 4))  # src's buffers move away from dst's
    return {"src": src, "dst": dst}


@probe(
    task="transplant",
    given=_pair,
    returns=Record(
        result=Attempt(Bool()),
        after=Optional(STATE),
        src_after=Optional(STATE),
        shares_with_src=Optional(Bool()),
        src_after_dst_changed=Optional(STATE),
    ),
)
def transplanted(sub, given):
    src, dst = given["src"], given["dst"]
    result = attempt(sub.transplant, src, dst, 2)
    if "error" in result:
        return dict.fromkeys(("after", "src_after", "shares_with_src", "src_after_dst_changed"), None) | {
            "result": result
        }
    src_ids = {id(t) for t in [*src.parameters(), *src.buffers()]}
    out = {
        "result": {"value": result["value"] is dst},
        "after": _state(dst),
        "src_after": _state(src),
        "shares_with_src": any(id(t) in src_ids for t in [*dst.parameters(), *dst.buffers()]),
    }
    # dst trains on: an optimizer step changes its parameters in place, a forward pass in
    # training mode its batch-norm statistics. src must not follow.
    with torch.no_grad():
        for p in dst.parameters():
            p.add_(1.0)
        dst.train()
        dst[0](torch.rand(16, 4))
    out["src_after_dst_changed"] = _state(src)
    return out


def _matching_pair():
    """src and dst of the same architecture (three children), src trained."""
    src, dst = (
        _pair()["src"],
        nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)), nn.ReLU(), nn.Linear(8, 3)),
    )
    return {"src": src, "dst": dst, "zero_dst": copy.deepcopy(dst)}


@probe(
    task="transplant",
    given=_matching_pair,
    returns=Record(all=Record(result=Attempt(Bool()), after=STATE), zero=Record(result=Attempt(Bool()), after=STATE)),
)
def transplant_bounds(sub, given):
    """n = every child copies everything; n = 0 copies nothing."""
    out = {}
    for key, dst, n in (("all", given["dst"], 3), ("zero", given["zero_dst"], 0)):
        result = attempt(sub.transplant, given["src"], dst, n)
        out[key] = {"result": result if "error" in result else {"value": result["value"] is dst}, "after": _state(dst)}
    return out


def transplant_mismatch_given():
    """Pairs that must be refused, each with an earlier child that matches (so a copy made
    before the check shows): a weight's shape, a buffer's shape only, a parameter dst lacks,
    and fewer children than n."""
    pair = _pair()
    return {
        "shape": (pair["src"], pair["dst"], 3),
        "buffer": (
            nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8, affine=False)),
            nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(6, affine=False)),
            2,
        ),
        "missing": (
            nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8)),
            nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8, bias=False)),
            2,
        ),
        "too_few": (
            nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
            nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
            4,
        ),
    }


MISMATCHES = ("shape", "buffer", "missing", "too_few")


@probe(
    task="transplant",
    given=transplant_mismatch_given,
    returns=Record({kind: Record(error=ERROR, after=STATE) for kind in MISMATCHES}),
)
def transplant_mismatch(sub, given):
    out = {}
    for kind in MISMATCHES:
        src, dst, n = given[kind]
        result = attempt(sub.transplant, src, dst, n)
        out[kind] = {"error": result.get("error"), "after": _state(dst)}
    return out


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


def _decay(optimizer):
    """The learning rate a schedule has lowered by now: the fresh optimizer starts from the
    initial one, so the saved param_groups must come back too."""
    for group in optimizer.param_groups:
        group["lr"] *= 0.5


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
        if kind == "sgd":
            _decay(optimizer)
            _decay(twin_optimizer)
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
                model_after=Optional(STATE),
                optimizer_after=Optional(OPTIMIZER_STATE),
                epoch=Optional(Attempt(Tree(Tensor(max_numel=100)))),
                restored=Optional(STATE),
                optimizer_state=Optional(OPTIMIZER_STATE),
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
        entry = dict.fromkeys(("model_after", "optimizer_after", "epoch", "restored", "optimizer_state", "resumed"))
        saved = attempt(sub.save_checkpoint, f"{kind}.ckpt", case["model"], case["optimizer"], 3)
        entry["saved"] = saved if "error" in saved else {"value": None}
        out[kind] = entry
        if "error" in saved:
            continue
        entry["model_after"] = _state(case["model"])
        entry["optimizer_after"] = case["optimizer"].state_dict()
        fresh, fresh_optimizer = case["fresh"], case["fresh_optimizer"]
        entry["epoch"] = epoch = attempt(sub.load_checkpoint, f"{kind}.ckpt", fresh, fresh_optimizer)
        if "value" in epoch:
            entry["restored"] = _state(fresh)
            entry["optimizer_state"] = copy.deepcopy(fresh_optimizer.state_dict())
            entry["resumed"] = _train(fresh, fresh_optimizer, given["batches"][3:])
    return out


def checkpoint_saved_given():
    """A model and optimizer trained on 3 batches (SGD with momentum), and fresh pairs to load into."""
    model = _checkpoint_model()
    optimizer = OPTIMIZERS["sgd"](model.parameters())
    _train(model, optimizer, _batches()[:3])
    fresh = [_checkpoint_model() for _ in range(3)]
    return {"model": model, "optimizer": optimizer, "fresh": [(m, OPTIMIZERS["sgd"](m.parameters())) for m in fresh]}


@probe(
    task="save_checkpoint",
    given=checkpoint_saved_given,
    returns=Record(
        clean=Attempt(Tree(Tensor(max_numel=100))),
        error=ERROR,
        unpickled=Bool(),
        restored=STATE,
        optimizer_state=OPTIMIZER_STATE,
    ),
)
def checkpoint_refuses_pickles(sub, given):
    """A checkpoint that also holds a pickled object: load_checkpoint must refuse it, leaving
    the model and the optimizer as they were (and the same load_checkpoint must load the
    checkpoint save_checkpoint wrote)."""
    model, optimizer = given["model"], given["optimizer"]
    clean = attempt(sub.save_checkpoint, "clean.ckpt", model, optimizer, 3)
    if "value" in clean:
        clean = attempt(sub.load_checkpoint, "clean.ckpt", *given["fresh"][1])
    evil = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3, "payload": _Payload("ckpt")}
    torch.save(evil, "evil.ckpt")
    fresh, fresh_optimizer = given["fresh"][0]
    result, unpickled = _load_refusing(sub.load_checkpoint, "evil.ckpt", fresh, fresh_optimizer, tag="ckpt")
    return {
        "clean": clean,
        "error": result.get("error"),
        "unpickled": unpickled,
        "restored": _state(fresh),
        "optimizer_state": fresh_optimizer.state_dict(),
    }


_RESUMED = Record(
    epoch=Attempt(Tree(Tensor(max_numel=100))),
    devices=DEVICES,
    state_devices=DEVICES,
    restored=STATE,
)


@probe(
    task="save_checkpoint",
    given=checkpoint_saved_given,
    returns=Record(
        device=Str(max_len=40),
        saved=Attempt(),
        absent=Optional(_RESUMED),
        to_device=Optional(_RESUMED),
        to_cpu=Optional(_RESUMED),
    ),
)
def checkpoint_devices(sub, device, given):
    """The checkpoint save_checkpoint wrote, rewritten as a machine with a device this one lacks
    would have written it, loaded into a model on `device`; the checkpoint of the pair on the
    CPU loaded into a model on `device`; and that of the pair moved to `device` loaded into a
    model on the CPU."""
    model, optimizer = given["model"], given["optimizer"]
    out = {"device": str(device), "saved": None, "absent": None, "to_device": None, "to_cpu": None}

    def load(path, where, index):
        fresh, fresh_optimizer = given["fresh"][index]
        fresh.to(where)
        epoch = attempt(sub.load_checkpoint, path, fresh, fresh_optimizer)
        state = [t for s in fresh_optimizer.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
        return {
            "epoch": epoch,
            "devices": _devices(fresh),
            "state_devices": sorted({str(t.device) for t in state}),
            "restored": _state(fresh),
        }

    saved = attempt(sub.save_checkpoint, "cpu.ckpt", model, optimizer, 3)
    out["saved"] = saved if "error" in saved else {"value": None}
    if "error" in saved:
        return out
    content = attempt(torch.load, "cpu.ckpt", map_location="cpu", weights_only=True)
    if "value" in content:  # a torch.save file: the same content, with every tensor tagged on the absent device
        _save_tagged(content["value"], "absent.ckpt", _absent_device())
        out["absent"] = load("absent.ckpt", device, 0)
    out["to_device"] = load("cpu.ckpt", device, 1)
    moved = copy.deepcopy(model).to(device)
    moved_optimizer = OPTIMIZERS["sgd"](moved.parameters())
    moved_optimizer.load_state_dict(optimizer.state_dict())  # its momentum buffers follow onto `device`
    saved = attempt(sub.save_checkpoint, "device.ckpt", moved, moved_optimizer, 3)
    if "error" in saved:
        out["saved"] = saved
    else:
        out["to_cpu"] = load("device.ckpt", "cpu", 2)
    return out
