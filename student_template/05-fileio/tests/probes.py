"""Visible probes of assignment 5 (fileio): what `blockgrade check` runs in the sandbox."""

import torch
from torch import nn
from torch.nn import functional as F

from autograder.probing import attempt, probe


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


@probe
def files(sub):
    out = {}
    sample = {"a": torch.arange(4.0), "b": torch.tensor([1, 2])}
    saved = attempt(sub.save_tensors, sample, "sample.pt")
    out["tensors"] = saved if "error" in saved else attempt(sub.load_tensors, "sample.pt")

    net, fresh = _model(), _model()
    saved = attempt(sub.save_params, net, "net.pt")
    loaded = saved if "error" in saved else attempt(sub.load_params, fresh, "net.pt")
    out["params"] = loaded if "error" in loaded else {"value": torch.equal(net[0].weight, fresh[0].weight)}
    out["eval"] = not fresh.training

    shared = nn.Linear(3, 3)
    tied, fresh_tied = nn.Sequential(shared, shared), None
    saved = attempt(sub.save_safetensors, tied, "tied.safetensors")
    if "value" in saved:
        other = nn.Linear(3, 3)
        fresh_tied = nn.Sequential(other, other)
        loaded = attempt(sub.load_safetensors, fresh_tied, "tied.safetensors")
        saved = loaded if "error" in loaded else {"value": torch.equal(fresh_tied[0].weight, shared.weight)}
    out["safetensors"] = saved

    src, dst = _model(), _model()
    moved = attempt(sub.transplant, src, dst, 1)
    out["transplant"] = (
        moved
        if "error" in moved
        else {"value": [torch.equal(dst[0].weight, src[0].weight), torch.equal(dst[2].weight, src[2].weight)]}
    )
    return out


@probe
def checkpoint(sub):
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g)) for _ in range(4)]

    def train(model, optimizer, batches):
        losses = []
        for X, y in batches:
            optimizer.zero_grad()
            loss = F.mse_loss(model(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train(model, optimizer, data[:2])
    saved = attempt(sub.save_checkpoint, "run.ckpt", model, optimizer, 2)
    if "error" in saved:
        return {"epoch": saved}
    expected = train(model, optimizer, data[2:])
    fresh = _model()
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    epoch = attempt(sub.load_checkpoint, "run.ckpt", fresh, fresh_optimizer)
    return {"epoch": epoch, "expected": expected, "resumed": train(fresh, fresh_optimizer, data[2:])}
