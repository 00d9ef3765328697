"""Visible tests of assignment 3 (initialization): `blockgrade check` runs these on your file.

They are a subset of what grading runs (grading also checks the distributions closely,
whether other modules are left alone, and whether an optimizer built before still works).
"""

import math

from autograder.judging import task, unwrap


def check(data, call):
    unwrap(data["result"], call)
    assert data["same"], f"{call} replaced the weight Parameter: change it in place"
    return data["weight"], data["bias"], data["bias_before"]


@task("init_normal")
def test_init_normal(inits):
    "init_normal: weights with std near 0.01, bias zeros; other modules untouched"
    weight, bias, _ = check(inits["normal"], "init_normal(nn.Linear(200, 100))")
    assert 0.009 < weight.std().item() < 0.011, f"the weights' std is {weight.std().item():.4f}, expected 0.01"
    assert bias.abs().sum().item() == 0, "the bias should be zeros"
    unwrap(inits["relu_untouched"], "init_normal(nn.ReLU())")


@task("init_constant")
def test_init_constant(inits):
    "init_constant(m, value=0.5): weights all 0.5, bias zeros"
    weight, bias, _ = check(inits["constant"], "init_constant(layer, value=0.5)")
    assert (weight == 0.5).all(), "all weights should be 0.5"
    assert (bias == 0).all(), "the bias should be zeros"


@task("init_xavier")
def test_init_xavier(inits):
    "init_xavier: weights within the Xavier bound, bias unchanged"
    weight, bias, before = check(inits["xavier"], "init_xavier(nn.Linear(200, 100))")
    bound = math.sqrt(6 / 300)
    assert weight.abs().max().item() <= bound + 1e-6, f"a weight lies beyond the bound {bound:.4f}"
    assert (bias == before).all(), "init_xavier should leave the bias unchanged"


@task("my_init")
def test_my_init(inits):
    "my_init: about half the weights zero, the rest with 5 <= |w| <= 10"
    weight, _, _ = check(inits["my_init"], "my_init(nn.Linear(200, 100))")
    zero = (weight == 0).float().mean().item()
    assert 0.45 < zero < 0.55, f"{zero:.0%} of the weights are zero, expected about 50%"
    nonzero = weight[weight != 0].abs()
    assert nonzero.min().item() >= 5 and nonzero.max().item() <= 10, "non-zero weights should have 5 <= |w| <= 10"


@task("init_per_layer")
def test_init_per_layer(per_layer_and_lazy):
    "init_per_layer(net, {0: ones}) initializes net[0] only and returns net"
    assert unwrap(per_layer_and_lazy["per_layer"], "init_per_layer(net, {0: ones})") is True, "return net"
    assert (per_layer_and_lazy["first"] == 1).all(), "net[0] should have been initialized"
    assert per_layer_and_lazy["second_kept"], "net[2] has no init and should be left alone"


@task("lazy_mlp")
def test_lazy(per_layer_and_lazy):
    "lazy_mlp uses LazyLinear; materialize(net, 5) gives the parameters their shapes"
    kind = unwrap(per_layer_and_lazy["lazy"], "lazy_mlp(hidden=16, out_features=2)")
    assert kind == "LazyLinear", f"the first layer is a {kind}, expected nn.LazyLinear"
    shapes = unwrap(per_layer_and_lazy["shapes"], "materialize(net, 5)")
    assert shapes == [[16, 5], [16], [2, 16], [2]], f"after materialize the shapes are {shapes}"
