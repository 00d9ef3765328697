"""Assignment 1, blocks: layers and modules (Dive into Deep Learning, Builders' Guide §6.1).

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


class MySequential(nn.Module):
    """A minimal `nn.Sequential`.

    Registers each module under the names "0", "1", ... in order, so that `parameters()`,
    `state_dict()`, `.to()` and `.apply()` see them. `forward` runs them one after the other.
    `len(net)` and `net[i]` (negative `i` too) behave as they do for `nn.Sequential`.
    """

    def __init__(self, *modules):
        super().__init__()
        for i, mod in zip(range(len(modules)), modules):
            self.register_module(f"{i}", mod)

    def forward(self, X):
        out = X
        for key in self._modules:
            out = self._modules[key](out)  # _modules keeps duplicates too
        return out

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        names = list(self._modules.keys())
        return self._modules[names[index]]  # list indexing handles -1 and out of range


def replicate(factory, n):
    """A MySequential of `n` independent modules, each made by calling `factory()`.

    Raises ValueError when `n < 1`.
    """
    if n < 1:
        raise ValueError("replicate needs n >= 1")
    copies = []
    for _ in range(n):
        copies.append(factory())  # new module per call
    return MySequential(*copies)


class MLP(nn.Module):
    """A multilayer perceptron with one hidden layer.

    Attributes: `hidden = nn.Linear(in_features, hidden)` and `out = nn.Linear(hidden, out_features)`.
    `forward(X)` returns `out(relu(hidden(X)))`.
    """

    def __init__(self, in_features=20, hidden=256, out_features=10):
        super(MLP, self).__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        h = self.hidden(X).clamp(min=0)  # relu = clamp at zero
        return self.out(h)


class Parallel(nn.Module):
    """Runs `net1` and `net2` on the same input and concatenates their outputs along `dim`."""

    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.add_module("net1", net1)
        self.add_module("net2", net2)
        self.dim = dim

    def forward(self, X):
        outs = [self.net1(X), self.net2(X)]
        return torch.cat(outs, dim=self.dim)


class FixedHiddenMLP(nn.Module):
    """A network with a constant weight and Python control flow in `forward`.

    `rand_weight`: a constant `(in_features, in_features)` tensor drawn with `torch.rand`,
    registered as a buffer (saved in `state_dict`, moved by `.to()`, never trained).
    `linear = nn.Linear(in_features, in_features)` is used twice.
    """

    def __init__(self, in_features=20):
        super().__init__()
        w = torch.rand(in_features, in_features)
        self.register_buffer("rand_weight", w)  # buffer, not a Parameter
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        z = self.linear(X)
        z = torch.relu(torch.mm(z, self.rand_weight) + 1)
        z = self.linear(z)  # reuse the layer
        while z.abs().sum() > 1:
            z = z / 2
        return z.sum()


class NestMLP(nn.Module):
    """Modules inside modules: `net` (an nn.Sequential) followed by `linear`."""

    def __init__(self):
        super().__init__()
        parts = [nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU()]
        self.net = nn.Sequential(*parts)
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        feat = self.net(X)
        return self.linear(feat)
