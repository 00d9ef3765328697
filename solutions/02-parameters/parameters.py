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
    ### BEGIN SOLUTION
    return [(name, tuple(param.shape)) for name, param in net.named_parameters()]
    ### END SOLUTION


def block1():
    """`nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())`."""
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())
    ### END SOLUTION


def block2(n=4):
    """An `nn.Sequential` of `n` fresh `block1()`s, added as children named "block 0" ... "block {n-1}"."""
    ### BEGIN SOLUTION
    net = nn.Sequential()
    for i in range(n):
        net.add_module(f"block {i}", block1())
    return net
    ### END SOLUTION


def rgnet(n=4):
    """`nn.Sequential(block2(n), nn.Linear(4, 1))`."""
    ### BEGIN SOLUTION
    return nn.Sequential(block2(n), nn.Linear(4, 1))
    ### END SOLUTION


def get_parameter(net, path):
    """The very Parameter object at a dotted path such as "0.block 1.0.bias".

    Child names may contain spaces. A path that names no parameter raises KeyError naming the path.
    """
    ### BEGIN SOLUTION
    *modules, last = path.split(".")
    module = net
    for name in modules:
        if name not in module._modules:
            raise KeyError(f"no parameter at {path!r}")
        module = module._modules[name]
    param = module._parameters.get(last)
    if param is None:
        raise KeyError(f"no parameter at {path!r}")
    return param
    ### END SOLUTION


def count_parameters(net, trainable_only=False):
    """The number of scalars in `net`'s parameters, each shared parameter counted once.

    With `trainable_only`, only parameters with `requires_grad` count.
    """
    ### BEGIN SOLUTION
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)
    ### END SOLUTION


def tied_mlp():
    """`Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1)` in an nn.Sequential.

    `shared = nn.Linear(8, 8)` is one module, at indices 2 and 4: one set of parameters, whose
    gradient after `backward()` is the sum of the gradients of both uses.
    """
    ### BEGIN SOLUTION
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    ### END SOLUTION


def tie_weights(net, src, dst):
    """Make `net[dst]` use the very Parameters (weight and bias) of `net[src]`; return `net`.

    If their shapes differ (a bias on one layer and none on the other counts), raise ValueError
    and leave `net` unchanged. Layers built with `bias=False` tie too.
    """
    ### BEGIN SOLUTION
    source, target = net[src], net[dst]
    same_bias = (source.bias is None) == (target.bias is None) and (
        source.bias is None or source.bias.shape == target.bias.shape
    )
    if source.weight.shape != target.weight.shape or not same_bias:
        raise ValueError(f"cannot tie net[{dst}] to net[{src}]: their parameters have different shapes")
    target.weight = source.weight
    target.bias = source.bias
    return net
    ### END SOLUTION
