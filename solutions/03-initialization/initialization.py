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
    ### BEGIN SOLUTION
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    ### END SOLUTION


def init_constant(m, value=1.0):
    """Weight all `value`, bias zeros."""
    ### BEGIN SOLUTION
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, value)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    ### END SOLUTION


def init_xavier(m):
    """Weight Xavier-uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); bias unchanged."""
    ### BEGIN SOLUTION
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
    ### END SOLUTION


def my_init(m):
    """Each weight independently: U(5, 10) with probability 1/4, 0 with probability 1/2,
    U(-10, -5) with probability 1/4. Bias unchanged."""
    ### BEGIN SOLUTION
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            nn.init.uniform_(m.weight, -10, 10)
            m.weight *= m.weight.abs() >= 5
    ### END SOLUTION


def init_per_layer(net, inits):
    """Apply `inits[i]` to `net[i]` and its submodules, and to nothing else; return `net`.

    `inits` maps an index of `net` to an init function, e.g. `{0: init_xavier, 2: init_constant}`.
    """
    ### BEGIN SOLUTION
    for index, init in inits.items():
        net[index].apply(init)
    return net
    ### END SOLUTION


def lazy_mlp(hidden=256, out_features=10):
    """`nn.Sequential(LazyLinear(hidden), ReLU(), LazyLinear(out_features))`: the input size
    stays unknown until the first forward pass."""
    ### BEGIN SOLUTION
    return nn.Sequential(nn.LazyLinear(hidden), nn.ReLU(), nn.LazyLinear(out_features))
    ### END SOLUTION


def materialize(net, in_features):
    """Run one dummy forward pass (a batch of 1, on the device of `net`) so that every
    parameter gets its shape; return `net`.

    The dummy pass must train nothing: `net` keeps its mode (training or eval) and its
    buffers (a BatchNorm's running statistics) as they were."""
    ### BEGIN SOLUTION
    device = next(net.parameters()).device
    training = net.training
    net.eval()  # in training mode a BatchNorm would refuse a batch of 1 (and learn from it)
    with torch.no_grad():
        net(torch.zeros(1, in_features, device=device))
    net.train(training)
    return net
    ### END SOLUTION
