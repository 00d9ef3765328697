"""Assignment 1, blocks: layers and modules (Dive into Deep Learning, Builders' Guide §6.1).

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


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
        activations = self.hidden(X).clamp(min=0)  # ReLU by hand
        return self.out(activations)


class MySequential(nn.Module):
    """A minimal `nn.Sequential`.

    Registers each module under the names "0", "1", ... in order, so that `parameters()`,
    `state_dict()`, `.to()` and `.apply()` see them. `forward` runs them one after the other.
    `len(net)` and `net[i]` (negative `i` too) behave as they do for `nn.Sequential`.
    """

    def __init__(self, *modules):
        super().__init__()
        for position, layer in zip(range(len(modules)), modules):
            self.register_module(f"{position}", layer)

    def forward(self, X):
        result = X
        for key in self._modules:
            result = self._modules[key](result)  # every entry, even a layer added twice
        return result

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        keys = list(self._modules.keys())
        return self._modules[keys[index]]  # negative index and IndexError come from the list


class FixedHiddenMLP(nn.Module):
    """A network with a constant weight and Python control flow in `forward`.

    `rand_weight`: a constant `(in_features, in_features)` tensor drawn with `torch.rand`,
    registered as a buffer (saved in `state_dict`, moved by `.to()`, never trained).
    `linear = nn.Linear(in_features, in_features)` is used twice.
    """

    def __init__(self, in_features=20):
        super().__init__()
        constant = torch.rand(in_features, in_features)
        self.register_buffer("rand_weight", constant)  # saved and moved, never trained
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        state = self.linear(X)
        state = torch.relu(torch.mm(state, self.rand_weight) + 1)
        state = self.linear(state)  # same weights a second time
        while state.abs().sum() > 1:
            state = state / 2
        return state.sum()


class NestMLP(nn.Module):
    """Modules inside modules: `net` (an nn.Sequential) followed by `linear`."""

    def __init__(self):
        super().__init__()
        layers = [nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        features = self.net(X)
        return self.linear(features)


class Parallel(nn.Module):
    """Runs `net1` and `net2` on the same input and concatenates their outputs along `dim`."""

    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.add_module("net1", net1)
        self.add_module("net2", net2)
        self.dim = dim

    def forward(self, X):
        outputs = [self.net1(X), self.net2(X)]
        return torch.cat(outputs, dim=self.dim)


def replicate(factory, n):
    """A MySequential of `n` independent modules, each made by calling `factory()`.

    Raises ValueError when `n < 1`.
    """
    if n < 1:
        raise ValueError("replicate needs n >= 1")
    blocks = []
    for _ in range(n):
        blocks.append(factory())  # a fresh instance each time
    return MySequential(*blocks)
