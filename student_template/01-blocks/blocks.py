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
        # YOUR CODE HERE
        raise NotImplementedError("MLP.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("MLP.forward is not implemented yet")


class MySequential(nn.Module):
    """A minimal `nn.Sequential`.

    Registers each module under the names "0", "1", ... in order, so that `parameters()`,
    `state_dict()`, `.to()` and `.apply()` see them. `forward` runs them one after the other.
    `len(net)` and `net[i]` (negative `i` too) behave as they do for `nn.Sequential`.
    """

    def __init__(self, *modules):
        # YOUR CODE HERE
        raise NotImplementedError("MySequential.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("MySequential.forward is not implemented yet")

    def __len__(self):
        # YOUR CODE HERE
        raise NotImplementedError("MySequential.__len__ is not implemented yet")

    def __getitem__(self, index):
        # YOUR CODE HERE
        raise NotImplementedError("MySequential.__getitem__ is not implemented yet")


class FixedHiddenMLP(nn.Module):
    """A network with a constant weight and Python control flow in `forward`.

    `rand_weight`: a constant `(in_features, in_features)` tensor drawn with `torch.rand`,
    registered as a buffer (saved in `state_dict`, moved by `.to()`, never trained).
    `linear = nn.Linear(in_features, in_features)` is used twice.
    """

    def __init__(self, in_features=20):
        # YOUR CODE HERE
        raise NotImplementedError("FixedHiddenMLP.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("FixedHiddenMLP.forward is not implemented yet")


class NestMLP(nn.Module):
    """Modules inside modules: `net` (an nn.Sequential) followed by `linear`."""

    def __init__(self):
        # YOUR CODE HERE
        raise NotImplementedError("NestMLP.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("NestMLP.forward is not implemented yet")


class Parallel(nn.Module):
    """Runs `net1` and `net2` on the same input and concatenates their outputs along `dim`."""

    def __init__(self, net1, net2, dim=-1):
        # YOUR CODE HERE
        raise NotImplementedError("Parallel.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("Parallel.forward is not implemented yet")


def replicate(factory, n):
    """A MySequential of `n` independent modules, each made by calling `factory()`.

    Raises ValueError when `n < 1`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("replicate is not implemented yet")
