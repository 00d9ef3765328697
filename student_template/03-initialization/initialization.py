"""Assignment 3, initialization: built-in and custom initializers, lazy layers (§6.3, §6.4).

Each `init_*` function takes one module `m`, acts only on `nn.Linear` (leaving any other
module untouched, so that `net.apply(fn)` works), changes the existing parameters in place
(no new Parameter objects, no autograd history), and copes with `bias=None`.

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn


def init_normal(m):
    """Weight ~ N(0, 0.01²), bias zeros."""
    # YOUR CODE HERE
    raise NotImplementedError("init_normal is not implemented yet")


def init_constant(m, value=1.0):
    """Weight all `value`, bias zeros."""
    # YOUR CODE HERE
    raise NotImplementedError("init_constant is not implemented yet")


def init_xavier(m):
    """Weight Xavier-uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); bias unchanged."""
    # YOUR CODE HERE
    raise NotImplementedError("init_xavier is not implemented yet")


def my_init(m):
    """Each weight independently: U(5, 10) with probability 1/4, 0 with probability 1/2,
    U(-10, -5) with probability 1/4. Bias unchanged."""
    # YOUR CODE HERE
    raise NotImplementedError("my_init is not implemented yet")


def init_per_layer(net, inits):
    """Apply `inits[i]` to `net[i]` and its submodules, and to nothing else; return `net`.

    `inits` maps an index of `net` to an init function, e.g. `{0: init_xavier, 2: init_constant}`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("init_per_layer is not implemented yet")


def lazy_mlp(hidden=256, out_features=10):
    """`nn.Sequential(LazyLinear(hidden), ReLU(), LazyLinear(out_features))`: the input size
    stays unknown until the first forward pass."""
    # YOUR CODE HERE
    raise NotImplementedError("lazy_mlp is not implemented yet")


def materialize(net, in_features):
    """Run one dummy forward pass (a batch of 1, on the device of `net`) so that every
    parameter gets its shape; return `net`.

    The dummy pass must train nothing: `net` keeps its mode (training or eval) and its
    buffers (a BatchNorm's running statistics) as they were."""
    # YOUR CODE HERE
    raise NotImplementedError("materialize is not implemented yet")
