"""Visible probes of assignment 5 (fileio): what `blockgrade check` runs in the sandbox.

One probe per task: a task you have not done yet fails only its own check. The models and
tensors handed to your functions come from `given` builders, which the grader rebuilds to
know what should come back.
"""

import copy

import torch
from torch import nn
from torch.nn import functional as F

from autograder.contract import Attempt, Bool, DictOf, Optional, Record, Str, Tensor, Tree
from autograder.probing import attempt, probe

# An optimizer's first use imports torch._dynamo (seconds). The checkpoint probe's `given`
# builder makes optimizers in the grader too, where each submission is judged in a fresh fork:
# take that cost once, when the probes are loaded, rather than once per submission.
torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)

STATE = DictOf(Str(max_len=200), Tensor(max_numel=10_000), max_len=100)  # a model's tensors after your load


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def tensors_given():
    return {"sample": {"a": torch.arange(4.0), "b": torch.tensor([1, 2])}}


@probe(task="save_tensors", given=tensors_given, returns=Attempt(Tree()))
def tensors(sub, given):
    saved = attempt(sub.save_tensors, given["sample"], "sample.pt")
    return saved if "error" in saved else attempt(sub.load_tensors, "sample.pt")


def params_given():
    return {"net": _model(), "fresh": _model()}


@probe(task="save_params", given=params_given, returns=Record(loaded=Attempt(Bool()), eval=Bool(), restored=STATE))
def params(sub, given):
    net, fresh = given["net"], given["fresh"]
    saved = attempt(sub.save_params, net, "net.pt")
    loaded = saved if "error" in saved else attempt(sub.load_params, fresh, "net.pt")
    return {
        "loaded": loaded if "error" in loaded else {"value": loaded["value"] is fresh},
        "eval": not fresh.training,
        "restored": _state(fresh),
    }


def safetensors_given():
    shared, other = nn.Linear(3, 3), nn.Linear(3, 3)
    return {"tied": nn.Sequential(shared, shared), "fresh": nn.Sequential(other, other)}


@probe(task="save_safetensors", given=safetensors_given, returns=Record(loaded=Attempt(), restored=STATE))
def safetensors(sub, given):
    saved = attempt(sub.save_safetensors, given["tied"], "tied.safetensors")
    loaded = saved if "error" in saved else attempt(sub.load_safetensors, given["fresh"], "tied.safetensors")
    return {"loaded": loaded if "error" in loaded else {"value": None}, "restored": _state(given["fresh"])}


def transplant_given():
    return {"src": _model(), "dst": _model()}


@probe(task="transplant", given=transplant_given, returns=Record(moved=Attempt(), after=STATE))
def transplant(sub, given):
    moved = attempt(sub.transplant, given["src"], given["dst"], 1)
    return {"moved": moved if "error" in moved else {"value": None}, "after": _state(given["dst"])}


def _train(model, optimizer, batches):
    losses = []
    for X, y in batches:
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses)


def checkpoint_given():
    """The model and optimizer to save (trained on 2 batches), a fresh pair to load into, and
    the losses of the 2 next batches of the run that is never interrupted (from a twin)."""
    batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(4)]
    model = _model()
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    _train(model, optimizer, batches[:2])
    _train(twin, twin_optimizer, batches[:2])
    fresh = _model()
    return {
        "batches": batches,
        "model": model,
        "optimizer": optimizer,
        "fresh": fresh,
        "fresh_optimizer": torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9),
        "expected": _train(twin, twin_optimizer, batches[2:]),
    }


@probe(
    task="save_checkpoint",
    given=checkpoint_given,
    returns=Record(epoch=Attempt(Tree()), resumed=Optional(Tensor(shape=(2,), dtype=torch.float32))),
)
def checkpoint(sub, given):
    saved = attempt(sub.save_checkpoint, "run.ckpt", given["model"], given["optimizer"], 2)
    if "error" in saved:
        return {"epoch": saved, "resumed": None}
    fresh, fresh_optimizer = given["fresh"], given["fresh_optimizer"]
    epoch = attempt(sub.load_checkpoint, "run.ckpt", fresh, fresh_optimizer)
    resumed = _train(fresh, fresh_optimizer, given["batches"][2:]) if "value" in epoch else None
    return {"epoch": epoch, "resumed": resumed}
