"""Hidden judges of assignment 3 (initialization). They run in the grader on the probes' plain data.

Statistical bounds: the probes sample 131072 weights with fixed seeds, so a result never
changes from run to run. Each bound is at least twice the six-standard-error width of a
correct implementation's estimate (so any correct implementation passes, whatever order it
draws its random numbers in), and far tighter than the distance to the mistakes it catches
(a wrong std, a uniform instead of a normal, wrong proportions).
"""

import math

import torch
from torch.nn import functional as F

from autograder.judging import assert_close, assert_same_inputs, describe, task, unwrap

N = 512 * 256  # weights sampled per layer
WEIGHT_SHAPE = (256, 512)  # the sampled nn.Linear(512, 256)'s weight
LINEAR_PREFIXES = ("0.", "3.")  # the nn.Linear layers of the probes' mixed network
KINDS = {"1": "BatchNorm1d", "4": "Conv1d", "5": "Embedding"}


def sampled(data, call):
    """The weight an init function left on the sampled layer (as float64), and the layer's bias."""
    unwrap(data["result"], call)
    W = data["weight"]
    assert isinstance(W, torch.Tensor) and tuple(W.shape) == WEIGHT_SHAPE, (
        f"after {call} the weight is {describe(W)}, expected shape {WEIGHT_SHAPE}"
    )
    assert bool(torch.isfinite(W).all()), f"after {call} the weights hold NaN or infinite values"
    return W.double(), data["bias"]


def check_bias(bias, expected, call, what):
    """The bias after `call` is `expected` (a tensor of the layer's bias shape)."""
    assert isinstance(bias, torch.Tensor) and tuple(bias.shape) == tuple(expected.shape), (
        f"after {call} the bias is {describe(bias)}, expected shape {tuple(expected.shape)}"
    )
    assert torch.equal(bias, expected.to(bias.dtype)), f"{call} should {what}"


def check_applied(data, given, name, *, bias):
    """What every init function owes when run by net.apply on a mixed network."""
    unwrap(data["result"], f"net.apply({name}) on a network with BatchNorm1d, Conv1d and Embedding layers")
    before = {param: p.detach() for param, p in given["net"].named_parameters()}
    after = data["after"]
    for param in before:
        assert param in after, f"after net.apply({name}) the network has no parameter {param}"
        if not param.startswith(LINEAR_PREFIXES):
            assert torch.equal(after[param], before[param]), (
                f"{name} changed {param} of a {KINDS[param.split('.')[0]]}: it must act on nn.Linear only"
            )
        else:
            assert tuple(after[param].shape) == tuple(before[param].shape), (
                f"{name} changed the shape of {param} to {tuple(after[param].shape)}: change the values in place"
            )
            assert bool(torch.isfinite(after[param]).all()), f"{name} left NaN or infinite values in {param}"
    assert not torch.equal(after["3.weight"], before["3.weight"]), (
        f"{name} left the weight of nn.Linear(5, 4, bias=False) as it was"
    )
    if bias == "zeros":
        assert torch.equal(after["0.bias"], torch.zeros_like(before["0.bias"])), f"{name} should set the bias to zeros"
    elif bias == "unchanged":
        assert torch.equal(after["0.bias"], before["0.bias"]), f"{name} should leave the bias as it was"
    replaced = [p for p in before if data["same_objects"].get(p) is not True]
    assert not replaced, (
        f"{name} put a new Parameter object in place of {', '.join(replaced)}: Parameter objects were replaced, "
        "so an optimizer built before (or a tied layer) no longer sees them"
    )
    assert all(data["leaf"].get(p) is True for p in before), (
        f"{name} left parameters with autograd history: initialize under torch.no_grad()"
    )
    for param in before:
        value = data["stepped"].get(param)
        assert_close(value, after[param] - 0.5, f"an optimizer built before {name} no longer updates {param}")


# --------------------------------------------------------------------------- init_normal


@task("init_normal", points=1)
def test_normal_distribution(normal_sampled):
    "weight ~ N(0, 0.01²): mean, standard deviation and shape of the distribution"
    W, _ = sampled(normal_sampled, "init_normal(nn.Linear(512, 256))")
    mean, std = W.mean().item(), W.std().item()
    # standard errors: mean 0.01/sqrt(N) = 2.8e-5, std 0.01/sqrt(2N) = 2.0e-5
    assert abs(mean) < 3e-4, f"the weights' mean is {mean:.2e}, expected 0"
    assert abs(std - 0.01) < 3e-4, (
        f"the weights' standard deviation is {std:.4g}, expected 0.01 (not a variance of 0.01)"
    )
    within = (W.abs() < 0.01).double().mean().item()  # 68.3% for a normal, 57.7% for a uniform of the same std
    assert abs(within - 0.6827) < 0.015, f"{within:.1%} of the weights lie within one std: they are not normal"


@task("init_normal", points=1)
def test_normal_bias_zeros(normal_sampled, normal_sampled_given):
    "bias is set to zeros"
    call = "init_normal(nn.Linear(512, 256))"
    _, bias = sampled(normal_sampled, call)
    check_bias(bias, torch.zeros_like(normal_sampled_given["layer"].bias), call, "set the bias to zeros")


@task("init_normal", points=1)
def test_normal_in_place_linear_only(normal_applied, normal_applied_given):
    "acts in place on nn.Linear only, bias=None included"
    check_applied(normal_applied, normal_applied_given, "init_normal", bias="zeros")


# ------------------------------------------------------------------------- init_constant


@task("init_constant", points=1)
def test_constant_values(constant_sampled):
    "weight is all `value` (1.0 by default), bias zeros"
    for key, value, call in (
        ("default", 1.0, "init_constant(layer)"),
        ("value", 3.5, "init_constant(layer, value=3.5)"),
    ):
        W, bias = sampled(constant_sampled[key], call)
        assert torch.equal(W, torch.full(WEIGHT_SHAPE, value, dtype=W.dtype)), (
            f"after {call} the weights should all be {value}"
        )
        check_bias(bias, torch.zeros(WEIGHT_SHAPE[0]), call, "set the bias to zeros")


@task("init_constant", points=1)
def test_constant_in_place_linear_only(constant_applied, constant_applied_given):
    "acts in place on nn.Linear only, bias=None included"
    check_applied(constant_applied, constant_applied_given, "init_constant", bias="zeros")
    assert torch.equal(constant_applied["after"]["3.weight"], torch.full((4, 5), 2.0)), (
        "init_constant(m, value=2.0) should set the weights to 2.0"
    )


# --------------------------------------------------------------------------- init_xavier


@task("init_xavier", points=1)
def test_xavier_distribution(xavier_sampled):
    "weight ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out))"
    W, _ = sampled(xavier_sampled, "init_xavier(nn.Linear(512, 256))")
    bound = math.sqrt(6 / (512 + 256))
    largest = W.abs().max().item()
    assert largest <= bound * (1 + 1e-6), (
        f"a weight of magnitude {largest:.4f} lies beyond the Xavier bound {bound:.4f}: "
        "use the uniform variant with a = sqrt(6 / (fan_in + fan_out))"
    )
    assert largest > 0.99 * bound, (
        f"the weights reach only {largest:.4f} of the bound {bound:.4f}: check fan_in and fan_out"
    )
    std = W.std().item()  # a uniform's std is a / sqrt(3); standard error 0.4% of it
    assert abs(std / (bound / math.sqrt(3)) - 1) < 0.03, (
        f"the weights' std is {std:.4f}, expected {bound / math.sqrt(3):.4f}"
    )
    half = (W.abs() < bound / 2).double().mean().item()  # 50% for a uniform
    assert abs(half - 0.5) < 0.015, f"{half:.1%} of the weights lie within half the bound: they are not uniform"


@task("init_xavier", points=1)
def test_xavier_bias_and_in_place(xavier_sampled, xavier_sampled_given, xavier_applied, xavier_applied_given):
    "bias unchanged; acts in place on nn.Linear only, bias=None included"
    call = "init_xavier(nn.Linear(512, 256))"
    _, bias = sampled(xavier_sampled, call)
    check_bias(bias, xavier_sampled_given["layer"].bias.detach(), call, "leave the bias unchanged")
    check_applied(xavier_applied, xavier_applied_given, "init_xavier", bias="unchanged")


# ------------------------------------------------------------------------------- my_init


@task("my_init", points=2)
def test_my_init_proportions(my_init_sampled):
    "about 1/4 of the weights positive, 1/2 zero, 1/4 negative"
    W, _ = sampled(my_init_sampled, "my_init(nn.Linear(512, 256))")
    # standard error of a proportion near 1/2: sqrt(0.25 / N) = 0.0014
    for label, share, expected in (
        ("zero", (W == 0).double().mean().item(), 0.5),
        ("positive", (W > 0).double().mean().item(), 0.25),
        ("negative", (W < 0).double().mean().item(), 0.25),
    ):
        assert abs(share - expected) < 0.02, f"{share:.1%} of the weights are {label}, expected {expected:.0%}"


@task("my_init", points=1)
def test_my_init_magnitudes(my_init_sampled):
    "the non-zero weights are uniform on 5 <= |w| <= 10"
    W, _ = sampled(my_init_sampled, "my_init(nn.Linear(512, 256))")
    magnitudes = W[W != 0].abs()
    assert magnitudes.numel() > 0, "my_init left no weight different from zero"
    small = (magnitudes < 5).sum().item()
    assert small == 0, f"{small} weights lie in (-5, 5) without being 0: keep only weights with |w| >= 5"
    assert magnitudes.max().item() <= 10, f"a weight of magnitude {magnitudes.max().item():.3f} is beyond 10"
    mean, std = magnitudes.mean().item(), magnitudes.std().item()
    # U(5, 10): mean 7.5 (standard error 0.006), std 5 / sqrt(12) = 1.443 (standard error 0.3%)
    assert abs(mean - 7.5) < 0.05, f"the non-zero magnitudes average {mean:.3f}, expected 7.5: they are not uniform"
    assert abs(std / (5 / math.sqrt(12)) - 1) < 0.03, f"the non-zero magnitudes have std {std:.3f}, expected 1.443"


@task("my_init", points=1)
def test_my_init_bias_and_in_place(my_init_sampled, my_init_sampled_given, my_init_applied, my_init_applied_given):
    "bias unchanged; acts in place on nn.Linear only, bias=None included"
    call = "my_init(nn.Linear(512, 256))"
    _, bias = sampled(my_init_sampled, call)
    check_bias(bias, my_init_sampled_given["layer"].bias.detach(), call, "leave the bias unchanged")
    check_applied(my_init_applied, my_init_applied_given, "my_init", bias="unchanged")


# ------------------------------------------------------------------------ init_per_layer


def per_layer_after(data, given, name):
    """The value init_per_layer left in `name`, checked to have its shape."""
    before = dict(given["net"].named_parameters())[name]
    value = data["after"].get(name)
    assert isinstance(value, torch.Tensor) and tuple(value.shape) == tuple(before.shape), (
        f"after init_per_layer net.{name} is {describe(value)}, expected shape {tuple(before.shape)}"
    )
    return value, before.detach()


@task("init_per_layer", points=1)
def test_per_layer_reaches_its_layers(per_layer, per_layer_given):
    "inits[i] reaches net[i] and all its submodules"
    unwrap(per_layer["result"], "init_per_layer(net, {0: ..., 2: ...})")
    for name, value in (
        ("0.weight", 1.0),
        ("0.bias", 1.0),
        ("2.0.weight", 2.0),
        ("2.1.weight", 2.0),
        ("2.1.bias", 2.0),
    ):
        got, before = per_layer_after(per_layer, per_layer_given, name)
        assert torch.equal(got, torch.full_like(before, value).to(got.dtype)), (
            f"inits[{name[0]}] did not reach net.{name.rsplit('.', 1)[0]} (use net[i].apply(init) to reach submodules)"
        )


@task("init_per_layer", points=1)
def test_per_layer_touches_nothing_else(per_layer, per_layer_given):
    "layers without an entry in inits are left alone"
    unwrap(per_layer["result"], "init_per_layer(net, {0: ..., 2: ...})")
    for name in ("3.weight", "3.bias"):
        got, before = per_layer_after(per_layer, per_layer_given, name)
        assert torch.equal(got, before.to(got.dtype)), (
            f"init_per_layer changed net.{name}, which has no init: apply inits[i] to net[i] only"
        )


@task("init_per_layer", points=1)
def test_per_layer_returns_net(per_layer):
    "returns the network it was given"
    returned = unwrap(per_layer["result"], "init_per_layer(net, {0: ..., 2: ...})")
    assert returned is True, "init_per_layer should return net itself"


# ---------------------------------------------------------------- lazy_mlp / materialize


@task("lazy_mlp", points=2)
def test_lazy_mlp(lazy_built):
    "lazy_mlp() is LazyLinear(hidden), ReLU, LazyLinear(out_features), with no input size yet"
    for key, call, outs in (
        ("default", "lazy_mlp()", [256, None, 10]),
        ("custom", "lazy_mlp(hidden=32, out_features=3)", [32, None, 3]),
    ):
        report = unwrap(lazy_built[key], call)
        assert report["kinds"] == ["LazyLinear", "ReLU", "LazyLinear"], (
            f"{call} holds {report['kinds']}: use nn.LazyLinear so that the input size stays open"
        )
        assert report["outs"] == outs, f"{call}'s layers have out_features {report['outs'][::2]}, expected {outs[::2]}"
        assert report["uninitialized"] == [True, False, True], f"{call}'s layers should have no shapes before first use"


@task("lazy_mlp", points=2)
def test_materialize_shapes(materialized):
    "materialize(net, in_features) gives every parameter its shape and returns net"
    returned = unwrap(materialized["result"], "materialize(net, 7)")
    assert not materialized["uninitialized"], "after materialize(net, 7) some parameters still have no shape"
    expected = [["0.weight", [32, 7]], ["0.bias", [32]], ["2.weight", [3, 32]], ["2.bias", [3]]]
    assert materialized["shapes"] == expected, f"after materialize(net, 7) the shapes are {materialized['shapes']}"
    assert returned is True, "materialize should return net itself"


@task("lazy_mlp", points=1)
def test_materialized_network_computes(materialized, materialized_given):
    "the materialized network computes its MLP on a batch of any size"
    unwrap(materialized["result"], "materialize(net, 7)")
    assert not materialized["uninitialized"], "after materialize(net, 7) some parameters still have no shape"
    wrong = unwrap(materialized["wrong"], "setting the weights of the materialized network")
    assert not wrong, f"after materialize(net, 7) the network has no parameter {wrong[0]} of the expected shape"
    state, X = materialized_given["state"], materialized_given["X"]
    expected = F.linear(F.relu(F.linear(X, state["0.weight"], state["0.bias"])), state["2.weight"], state["2.bias"])
    Y = unwrap(materialized["Y"], "net(X) after materialize")
    assert_same_inputs(materialized["X"], X, "The input X")
    assert_close(Y, expected, "the materialized network's output")


@task("lazy_mlp", points=1)
def test_materialize_on_the_device(materialized_on):
    "materialize runs its dummy pass on the network's device"
    unwrap(materialized_on["result"], f"materialize(net on {materialized_on.get('device', 'a device')}, 7)")
    assert materialized_on["devices"] == [materialized_on["device"]], (
        f"after materialize the parameters are on {materialized_on['devices']}, expected {materialized_on['device']}"
    )
