"""Hidden judges of assignment 3 (initialization). They run in the grader on the probes' plain data.

Statistical bounds: the probes sample 131072 weights with fixed seeds, so a result never
changes from run to run. Each bound is at least twice the six-standard-error width of a
correct implementation's estimate (so any correct implementation passes, whatever order it
draws its random numbers in), and far tighter than the distance to the mistakes it catches
(a wrong std, a uniform instead of a normal, wrong proportions). A message names a cause
(judging.Mistake) only where the statistics match what that mistaken call draws, within the
same bounds; otherwise it says which statistic differs and what was expected.
"""

import math

import torch
from torch.nn import functional as F

from autograder.i18n import N_
from autograder.judging import Mistake, assert_close, assert_same_inputs, describe, task, unwrap

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
    for buffer, value in given["net"].named_buffers():
        got = data["buffers"].get(buffer)
        assert isinstance(got, torch.Tensor) and got.shape == value.shape and torch.equal(got, value), (
            f"{name} changed the buffer {buffer} of a BatchNorm1d: it must act on nn.Linear only"
        )
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
    # standard errors: mean std/sqrt(N) (2.8e-5 for std 0.01), std std/sqrt(2N) (2.0e-5 for std 0.01)
    if abs(mean - 0.01) < 0.01 and abs(std - 1) < 0.03:
        raise Mistake(
            "mean-for-std",
            f"the weights have mean {mean:.3g} and standard deviation {std:.3g}, as nn.init.normal_(w, 0.01) draws "
            "them: its second argument is the mean. Pass std=0.01 (and mean=0)",
        )
    if abs(mean) < 3e-6 and abs(std - 1e-4) < 3e-6:
        raise Mistake(
            "variance-for-std",
            f"the weights' standard deviation is {std:.3g}, which is 0.01²: 0.01 is the standard deviation "
            "(std=0.01), not the variance",
        )
    assert abs(mean) < 3e-4, f"the weights' mean is {mean:.2e}, expected 0"
    assert abs(std - 0.01) < 3e-4, f"the weights' standard deviation is {std:.4g}, expected 0.01"
    within = (W.abs() < 0.01).double().mean().item()  # 68.3% for a normal, 57.7% for a uniform of the same std
    assert abs(within - 0.6827) < 0.015, (
        f"{within:.1%} of the weights lie within one standard deviation (0.01) of 0, expected 68.3% for N(0, 0.01²)"
    )


@task("init_normal", points=1)
def test_normal_bias_zeros(normal_sampled, normal_sampled_given):
    "bias is set to zeros"
    call = "init_normal(nn.Linear(512, 256))"
    _, bias = sampled(normal_sampled, call)
    check_bias(bias, torch.zeros_like(normal_sampled_given["layer"].bias), call, N_("set the bias to zeros"))


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
        check_bias(bias, torch.zeros(WEIGHT_SHAPE[0]), call, N_("set the bias to zeros"))


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
    largest, std = W.abs().max().item(), W.std().item()
    normal_std = math.sqrt(2 / (512 + 256))  # xavier_normal_'s: the same variance, a normal's shape
    within = (W.abs() < normal_std).double().mean().item()  # 68.3% for a normal, 57.7% for this uniform
    if largest > bound and abs(std / normal_std - 1) < 0.03 and abs(within - 0.6827) < 0.015:
        raise Mistake(
            "xavier-normal",
            f"the weights follow N(0, {normal_std:.4f}²), as nn.init.xavier_normal_ draws them (a weight of "
            f"magnitude {largest:.4f} lies beyond the bound {bound:.4f}): use the uniform variant, "
            "U(-a, a) with a = sqrt(6 / (fan_in + fan_out))",
        )
    assert largest <= bound * (1 + 1e-6), (
        f"a weight of magnitude {largest:.4f} lies beyond the Xavier bound a = {bound:.4f} = sqrt(6 / (512 + 256))"
    )
    assert largest > 0.99 * bound, (
        f"the largest weight magnitude is {largest:.4f}, expected close to the bound {bound:.4f}"
    )
    # a uniform's std is a / sqrt(3); standard error 0.4% of it
    assert abs(std / (bound / math.sqrt(3)) - 1) < 0.03, (
        f"the weights' std is {std:.4f}, expected {bound / math.sqrt(3):.4f} for U(-a, a)"
    )
    half = (W.abs() < bound / 2).double().mean().item()  # 50% for a uniform
    assert abs(half - 0.5) < 0.015, f"{half:.1%} of the weights lie within half the bound, expected 50% for U(-a, a)"


@task("init_xavier", points=1)
def test_xavier_bias_and_in_place(xavier_sampled, xavier_sampled_given, xavier_applied, xavier_applied_given):
    "bias unchanged; acts in place on nn.Linear only, bias=None included"
    call = "init_xavier(nn.Linear(512, 256))"
    _, bias = sampled(xavier_sampled, call)
    check_bias(bias, xavier_sampled_given["layer"].bias.detach(), call, N_("leave the bias unchanged"))
    check_applied(xavier_applied, xavier_applied_given, "init_xavier", bias="unchanged")


# ------------------------------------------------------------------------------- my_init


@task("my_init", points=2)
def test_my_init_proportions(my_init_sampled):
    "about 1/4 of the weights positive, 1/2 zero, 1/4 negative"
    W, _ = sampled(my_init_sampled, "my_init(nn.Linear(512, 256))")
    # standard error of a proportion near 1/2: sqrt(0.25 / N) = 0.0014
    for label, share, expected in (
        (N_("zero"), (W == 0).double().mean().item(), 0.5),
        (N_("positive"), (W > 0).double().mean().item(), 0.25),
        (N_("negative"), (W < 0).double().mean().item(), 0.25),
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
    assert abs(mean - 7.5) < 0.05, f"the non-zero magnitudes average {mean:.3f}, expected 7.5 for U(5, 10)"
    assert abs(std / (5 / math.sqrt(12)) - 1) < 0.03, (
        f"the non-zero magnitudes have std {std:.3f}, expected 1.443 for U(5, 10)"
    )


@task("my_init", points=1)
def test_my_init_bias_and_in_place(my_init_sampled, my_init_sampled_given, my_init_applied, my_init_applied_given):
    "bias unchanged; acts in place on nn.Linear only, bias=None included"
    call = "my_init(nn.Linear(512, 256))"
    _, bias = sampled(my_init_sampled, call)
    check_bias(bias, my_init_sampled_given["layer"].bias.detach(), call, N_("leave the bias unchanged"))
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
    reached = {}
    for name, value in (
        ("0.weight", 1.0),
        ("0.bias", 1.0),
        ("2.0.weight", 2.0),
        ("2.1.weight", 2.0),
        ("2.1.bias", 2.0),
    ):
        got, before = per_layer_after(per_layer, per_layer_given, name)
        if torch.equal(got, torch.full_like(before, value).to(got.dtype)):
            reached[name] = "filled"
        else:
            reached[name] = "untouched" if torch.equal(got, before.to(got.dtype)) else "changed"
    inner = [reached[name] for name in ("2.0.weight", "2.1.weight", "2.1.bias")]
    if reached["0.weight"] == reached["0.bias"] == "filled" and inner == ["untouched"] * 3:
        raise Mistake(
            "top-level-only",
            "inits[0] reached the nn.Linear net[0], but inits[2] left the layers inside net[2] (an nn.Sequential) "
            "untouched: an init function acts on the one module it is given, so call net[i].apply(init) to reach "
            "net[i]'s submodules",
        )
    for name, state in reached.items():
        assert state == "filled", f"inits[{name[0]}] did not set net.{name}: " + (
            "it is as it was" if state == "untouched" else f"it holds other values than inits[{name[0]}] gives"
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


@task("lazy_mlp", points=1)
def test_materialize_shapes(materialized):
    "materialize(net, in_features) runs a dummy batch of one, gives every parameter its shape and returns net"
    returned = unwrap(materialized["result"], "materialize(net, 7)")
    assert not materialized["uninitialized"], "after materialize(net, 7) some parameters still have no shape"
    expected = [["0.weight", [32, 7]], ["0.bias", [32]], ["2.weight", [3, 32]], ["2.bias", [3]]]
    assert materialized["shapes"] == expected, f"after materialize(net, 7) the shapes are {materialized['shapes']}"
    odd = [shape for shape in materialized["dummy"] if shape != [1, 7]]
    assert not odd, f"materialize(net, 7) ran net[0] on an input of shape {odd[0]}, expected a batch of one, [1, 7]"
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
    device = materialized_on["device"]
    unwrap(materialized_on["result"], f"materialize(net on {device}, 7)")
    devices = materialized_on["devices"]
    assert devices == [device], f"after materialize(net on {device}, 7) the parameters are on {devices}"


INITIAL = {"running_mean": "all zeros", "running_var": "all ones"}


@task("lazy_mlp", points=1)
def test_materialize_trains_nothing(materialized_modes):
    "materialize leaves the network's mode (training or eval) and its BatchNorm statistics as they were"
    net = "Sequential(LazyLinear(16), LazyBatchNorm1d(), ReLU(), Dropout(0.5), LazyLinear(3))"
    train, evaluated = materialized_modes["train"], materialized_modes["eval"]
    refused = "error" in train["result"] and "Expected more than 1 value per channel when training" in str(
        train["result"]["error"].get("message")
    )
    if refused and "value" in evaluated["result"]:
        raise Mistake(
            "train-mode-dummy",
            f"materialize({net}, 7) failed in training mode and worked in eval mode: in training mode a BatchNorm "
            "refuses a batch of one (and would learn its statistics from the dummy input). Run the dummy pass "
            f"in eval() mode, then restore the mode. The error: {train['result']['error'].get('message', '')[:300]}",
        )
    for mode, data in (("training", train), ("eval", evaluated)):
        if mode == "training":  # one message per mode: the catalogs translate the mode's word with it
            call = N_("materialize({net} in training mode, 7)", net=net)
        else:
            call = N_("materialize({net} in eval mode, 7)", net=net)
        unwrap(data["result"], call)
        assert not data["uninitialized"], f"after {call} some parameters still have no shape"
        modes = set(data["training"])
        assert modes == {mode == "training"}, (
            f"after {call} the network is in "
            + ("eval" if modes == {False} else "training" if modes == {True} else "mixed")
            + " mode instead"
        )
        stats = data["statistics"]
        assert stats is not None, f"after {call} the BatchNorm has no running statistics"
        for name, expected in (
            ("running_mean", torch.zeros(16)),
            ("running_var", torch.ones(16)),
            ("num_batches_tracked", torch.tensor(0)),
        ):
            got = stats[name]
            assert got.shape == expected.shape and torch.equal(got, expected.to(got.dtype)), (
                f"after {call} the BatchNorm's {name} is {describe(got)} that differs from its value before "
                f"({expected.tolist() if name == 'num_batches_tracked' else INITIAL[name]}): the dummy pass updated it"
            )
