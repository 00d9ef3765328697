"""Assignment 1, blocks: layers and modules (Dive into Deep Learning, Builders' Guide §6.1).

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """A multilayer perceptron with one hidden layer.

    Attributes: `hidden = nn.Linear(in_features, hidden)` and `out = nn.Linear(hidden, out_features)`.
    `forward(X)` returns `out(relu(hidden(X)))`.
    """

    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        return self.out(self.hidden(X).relu())


class MySequential(nn.Module):
    """A minimal `nn.Sequential`.

    Registers each module under the names "0", "1", ... in order, so that `parameters()`,
    `state_dict()`, `.to()` and `.apply()` see them. `forward` runs them one after the other.
    `len(net)` and `net[i]` (negative `i` too) behave as they do for `nn.Sequential`.
    """

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            self._modules[f"{i}"] = m

    def forward(self, X):
        y = X
        for m in list(self._modules.values()):
            y = m(y)
        return y

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return [*self._modules.values()][index]


class FixedHiddenMLP(nn.Module):
    """A network with a constant weight and Python control flow in `forward`.

    `rand_weight`: a constant `(in_features, in_features)` tensor drawn with `torch.rand`,
    registered as a buffer (saved in `state_dict`, moved by `.to()`, never trained).
    `linear = nn.Linear(in_features, in_features)` is used twice.
    """

    def __init__(self, in_features=20):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        out = self.linear(X)
        out = F.relu(out.matmul(self.rand_weight) + 1)
        out = self.linear(out)
        while out.abs().sum() > 1:
            out = out / 2
        return out.sum()


class NestMLP(nn.Module):
    """Modules inside modules: `net` (an nn.Sequential) followed by `linear`."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))


class Parallel(nn.Module):
    """Runs `net1` and `net2` on the same input and concatenates their outputs along `dim`."""

    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.net1 = net1
        self.net2 = net2
        self.dim = dim

    def forward(self, X):
        return torch.cat((self.net1(X), self.net2(X)), self.dim)


def replicate(factory, n):
    """A MySequential of `n` independent modules, each made by calling `factory()`.

    Raises ValueError when `n < 1`.
    """
    if n < 1
        raise ValueError("n must be positive")
    return MySequential(*[factory() for _ in range(n)])


print(MLP()(torch.rand(2, 20)).shape)
