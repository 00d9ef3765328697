"""Assignment 2, parameters: access, nested blocks, tied parameters (Builders' Guide §6.2).

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


def describe_parameters(net):
    """`(name, shape)` of every parameter of `net`, in registration order.

    A parameter shared by several layers is listed once, as `named_parameters()` yields it.
    Shapes are tuples of ints, e.g. `[("0.weight", (8, 4)), ("0.bias", (8,))]`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("describe_parameters is not implemented yet")


def block1():
    """`nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())`."""
    # YOUR CODE HERE
    raise NotImplementedError("block1 is not implemented yet")


def block2(n=4):
    """An `nn.Sequential` of `n` fresh `block1()`s, added as children named "block 0" ... "block {n-1}"."""
    # YOUR CODE HERE
    raise NotImplementedError("block2 is not implemented yet")


def rgnet(n=4):
    """`nn.Sequential(block2(n), nn.Linear(4, 1))`."""
    # YOUR CODE HERE
    raise NotImplementedError("rgnet is not implemented yet")


def get_parameter(net, path):
    """The very Parameter object at a dotted path such as "0.block 1.0.bias".

    Child names may contain spaces. A path that names no parameter raises KeyError naming the path.
    """
    # YOUR CODE HERE
    raise NotImplementedError("get_parameter is not implemented yet")


def count_parameters(net, trainable_only=False):
    """The number of scalars in `net`'s parameters, each shared parameter counted once.

    With `trainable_only`, only parameters with `requires_grad` count.
    """
    # YOUR CODE HERE
    raise NotImplementedError("count_parameters is not implemented yet")


def tied_mlp():
    """`Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1)` in an nn.Sequential.

    `shared = nn.Linear(8, 8)` is one module, at indices 2 and 4: one set of parameters, whose
    gradient after `backward()` is the sum of the gradients of both uses.
    """
    # YOUR CODE HERE
    raise NotImplementedError("tied_mlp is not implemented yet")


def tie_weights(net, src, dst):
    """Make `net[dst]` use the very Parameters (weight and bias) of `net[src]`; return `net`.

    If their shapes differ (a bias on one layer and none on the other counts), raise ValueError
    and leave `net` unchanged. Layers built with `bias=False` tie too.
    """
    # YOUR CODE HERE
    raise NotImplementedError("tie_weights is not implemented yet")
