"""Visible tests of assignment 3 (initialization): `blockgrade check` runs these on your file.

They are a subset of what grading runs (grading also checks the distributions closely,
whether other modules are left alone, and whether an optimizer built before still works).
"""

import math

import torch

from autograder.i18n import N_
from autograder.judging import describe, task, unwrap

SHAPE = (100, 200)  # the weight of the probes' nn.Linear(200, 100)


def check(data, call):
    unwrap(data["result"], call)
    weight, bias = data["weight"], data["bias"]
    assert isinstance(weight, torch.Tensor) and tuple(weight.shape) == SHAPE, (
        f"after {call} the weight is {describe(weight)}, expected shape {SHAPE}"
    )
    assert data["same"], f"{call} replaced the weight Parameter: change it in place"
    assert isinstance(bias, torch.Tensor) and tuple(bias.shape) == SHAPE[:1], (
        f"after {call} the bias is {describe(bias)}, expected shape {SHAPE[:1]}"
    )
    return weight, bias


@task("init_normal")
def test_init_normal(normal):
    "init_normal: weights with std near 0.01, bias zeros; other modules untouched"
    weight, bias = check(normal["normal"], "init_normal(nn.Linear(200, 100))")
    assert 0.009 < weight.std().item() < 0.011, f"the weights' std is {weight.std().item():.4f}, expected 0.01"
    assert bias.abs().sum().item() == 0, "the bias should be zeros"
    unwrap(normal["relu_untouched"], "init_normal(nn.ReLU())")


@task("init_constant")
def test_init_constant(constant):
    "init_constant(m, value=0.5): weights all 0.5, bias zeros"
    weight, bias = check(constant, "init_constant(layer, value=0.5)")
    assert (weight == 0.5).all(), "all weights should be 0.5"
    assert (bias == 0).all(), "the bias should be zeros"


@task("init_xavier")
def test_init_xavier(xavier, xavier_given):
    "init_xavier: weights within the Xavier bound, bias unchanged"
    weight, bias = check(xavier, "init_xavier(nn.Linear(200, 100))")
    bound = math.sqrt(6 / 300)
    assert weight.abs().max().item() <= bound + 1e-6, f"a weight lies beyond the bound {bound:.4f}"
    assert torch.equal(bias, xavier_given["layer"].bias.detach()), "init_xavier should leave the bias unchanged"


@task("my_init")
def test_my_init(my_init):
    "my_init: about half the weights zero, the rest with 5 <= |w| <= 10"
    weight, _ = check(my_init, "my_init(nn.Linear(200, 100))")
    zero = (weight == 0).float().mean().item()
    assert 0.45 < zero < 0.55, f"{zero:.0%} of the weights are zero, expected about 50%"
    nonzero = weight[weight != 0].abs()
    assert nonzero.min().item() >= 5 and nonzero.max().item() <= 10, "non-zero weights should have 5 <= |w| <= 10"


@task("init_per_layer")
def test_init_per_layer(per_layer, per_layer_given):
    "init_per_layer(net, {0: ones}) initializes net[0] only and returns net"
    assert unwrap(per_layer["per_layer"], "init_per_layer(net, {0: ones})") is True, "return net"
    assert torch.equal(per_layer["first"], torch.ones(3, 3)), "net[0] should have been initialized"
    second = per_layer_given["net"][2].weight.detach()
    assert torch.equal(per_layer["second"], second), "net[2] has no init and should be left alone"


@task("lazy_mlp")
def test_lazy(lazy):
    "lazy_mlp uses LazyLinear; materialize(net, 5) gives the parameters their shapes, and keeps a BatchNorm net's mode"
    kind = unwrap(lazy["lazy"], "lazy_mlp(hidden=16, out_features=2)")
    assert kind == "LazyLinear", f"the first layer is a {kind}, expected nn.LazyLinear"
    shapes = unwrap(lazy["shapes"], "materialize(net, 5)")
    assert shapes == [[16, 5], [16], [2, 16], [2]], f"after materialize the shapes are {shapes}"
    call = N_("materialize(Sequential(LazyLinear(4), LazyBatchNorm1d()) in training mode, 5)")
    assert unwrap(lazy["batchnorm"], call), f"after {call} the network is no longer in training mode"
