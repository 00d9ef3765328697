"""Hidden judges of assignment 4 (layers). They run in the grader on the probes' plain data.

Every reference is recomputed here from the probes' given inputs and weights (the fixtures
`<probe>_given`, rebuilt in the grader), never from what a probe reports: means,
`relu(X @ W + b)`, its gradients, the tensor reduction with `einsum`, and the FFT with
`torch.fft.fft`. Inputs a probe reports after the student's call are checked unchanged.
"""

import torch
from torch.nn import functional as F

from autograder.i18n import N_
from autograder.judging import (
    Mistake,
    assert_close,
    assert_same_inputs,
    describe,
    expect_tensor,
    matches,
    task,
    unwrap,
)

# ----------------------------------------------------------------------- CenteredLayer


def check_centered_all(case, X, what):
    Y = unwrap(case["Y"], what)
    assert_same_inputs(case["X"], X, f"The input X of {what}")
    expected = X - X.mean()
    if X.dim() > 1 and not matches(Y, expected):
        for d in range(X.dim()):
            if matches(Y, X - X.mean(d, keepdim=True)):
                raise Mistake(
                    "mean-along-a-dimension",
                    f"{what} equals X - X.mean({d}, keepdim=True): with dim=None, subtract the mean of all elements, X.mean()",
                )
    assert_close(Y, expected, f"{what} should be X - X.mean()")


@task("CenteredLayer", points=1)
def test_centered_over_everything(centered_all, centered_all_given):
    "dim=None subtracts the mean of all elements (any shape, dtype kept)"
    given = centered_all_given
    check_centered_all(centered_all["X"], given["X"], N_("CenteredLayer()(X) for X of shape (4, 6)"))
    check_centered_all(centered_all["single"], given["single"], N_("CenteredLayer()(X) for X of shape (1,)"))
    check_centered_all(centered_all["cube"], given["cube"], "CenteredLayer()(X) for a float64 X of shape (2, 3, 4)")
    parameters = unwrap(centered_all["parameters"], "len(list(CenteredLayer().parameters()))")
    assert parameters == 0, f"CenteredLayer() has {parameters} parameter(s): it must have none"


@task("CenteredLayer", points=1)
def test_centered_along_dim(centered_dims, centered_dims_given):
    "dim=d subtracts X.mean(d, keepdim=True), negative d too"
    X = centered_dims_given["X"]
    for d, got in centered_dims["Y"].items():  # the dims the probe declares
        what = N_("CenteredLayer(dim={d})(X) for X of shape (2, 3, 5)", d=d)
        Y = unwrap(got, what)
        assert_same_inputs(centered_dims["X"], X, f"The input X of CenteredLayer(dim={d})(X)")
        expected = X - X.mean(int(d), keepdim=True)
        if not matches(Y, expected) and matches(Y, X - X.mean()):
            raise Mistake(
                "ignores-dim",
                f"{what} equals X - X.mean(): CenteredLayer ignores dim and subtracts the mean of everything",
            )
        assert_close(Y, expected, f"{what} should be X - X.mean({d}, keepdim=True)")


@task("CenteredLayer", points=0.5)
def test_centered_in_a_network(centered_in_net, centered_in_net_given):
    "works as a layer inside nn.Sequential and adds no parameters"
    given = centered_in_net_given
    Y = unwrap(centered_in_net["Y"], "nn.Sequential(nn.Linear(8, 32), CenteredLayer())(X)")
    with torch.no_grad():
        H = given["linear"](given["X"])
    assert_close(Y, H - H.mean(), "the network's output should be linear(X) minus its mean")
    parameters = unwrap(centered_in_net["parameters"], "the network's named_parameters()")
    assert parameters == ["0.weight", "0.bias"], (
        f"the network's parameters are {parameters}: CenteredLayer must add none"
    )


@task("CenteredLayer", points=0.5)
def test_centered_gradient(centered_gradient, centered_gradient_given):
    "gradients flow through the mean too (backward of sum(G * layer(X)) gives G - mean of G)"
    G = centered_gradient_given["G"]
    for d, got in centered_gradient.items():
        call = "CenteredLayer()" if d == "None" else f"CenteredLayer(dim={d})"
        grad = unwrap(got, f"backward through {call}(X)")
        assert grad is not None, f"after sum(G * {call}(X)).backward(), X.grad is None: the output is cut off from X"
        expected = G - (G.mean() if d == "None" else G.mean(int(d), keepdim=True))
        if not matches(grad, expected) and matches(grad, G):
            raise Mistake(
                "detached-mean",
                f"the gradient of sum(G * {call}(X)) with respect to X is G itself: the mean is subtracted as a "
                "constant (cut off from autograd, e.g. by .item(), .detach() or a Python number), so its share of the "
                "gradient is lost",
            )
        assert_close(grad, expected, f"the gradient of sum(G * {call}(X)) with respect to X should be G minus its mean")


# ---------------------------------------------------------------------------- MyLinear


@task("MyLinear", points=1)
def test_mylinear_parameters(mylinear_parameters):
    "weight (in_units, units) and bias (units,) are Parameters drawn with torch.randn"
    data = unwrap(mylinear_parameters, "MyLinear(64, 128)")
    params = data["parameters"]
    assert params == [["bias", [128]], ["weight", [64, 128]]], (
        f"MyLinear(64, 128) registers {params}: expected Parameters weight of shape (64, 128) and bias of shape (128,)"
    )
    weight, bias = data["weight"], data["bias"]
    assert weight is not None and tuple(weight.shape) == (64, 128), (
        f"MyLinear(64, 128).weight is {describe(weight)}, expected a tensor of shape (64, 128)"
    )
    assert bias is not None and tuple(bias.shape) == (128,), (
        f"MyLinear(64, 128).bias is {describe(bias)}, expected a tensor of shape (128,)"
    )
    weight, bias = weight.double(), bias.double()
    std, mean = weight.std().item(), weight.mean().item()  # 8192 values: standard errors 0.8% and 0.011
    assert 0.9 < std < 1.1 and abs(mean) < 0.1, (  # NaN or infinity fails these comparisons too
        f"weight has mean {mean:.3f} and std {std:.3f}, expected about 0 and 1: draw it with torch.randn"
    )
    bias_std, bias_mean = bias.std().item(), bias.mean().item()  # 128 values: standard errors 6% and 0.09
    assert 0.5 < bias_std < 1.5 and abs(bias_mean) < 0.5, (
        f"bias has mean {bias_mean:.3f} and std {bias_std:.3f}, expected about 0 and 1: draw it with torch.randn"
    )
    assert data["distinct"] is not False, (
        "two MyLinear(64, 128) built one after the other hold the same weight: each layer must draw its own "
        "values with torch.randn"
    )


MYLINEAR_SET = "building MyLinear(5, 3) and setting its weight (5, 3) and bias (3,) to known values"


def mylinear_reference(given):
    """relu(X @ W + b) and its gradients, from the given X, weight and bias."""
    W = given["weight"].clone().requires_grad_()
    b = given["bias"].clone().requires_grad_()
    Y = F.relu(given["X"] @ W + b)
    Y.sum().backward()
    return Y.detach(), W.grad, b.grad


@task("MyLinear", points=2)
def test_mylinear_forward(mylinear_forward, mylinear_forward_given):
    "forward computes relu(X @ weight + bias)"
    data, given = mylinear_forward, mylinear_forward_given
    unwrap(data["layer"], MYLINEAR_SET)
    Y = unwrap(data["Y"], "MyLinear(5, 3)(X)")
    assert_same_inputs(data["X"], given["X"], "The input X of MyLinear(5, 3)(X)")
    expected, _, _ = mylinear_reference(given)
    X, W, b = given["X"], given["weight"], given["bias"]
    if not matches(Y, expected):
        if matches(Y, X @ W + b):
            raise Mistake("missing-relu", "MyLinear(5, 3)(X) equals X @ weight + bias: the ReLU is missing")
        if matches(Y, F.relu(X @ W)):
            raise Mistake("missing-bias", "MyLinear(5, 3)(X) equals relu(X @ weight): the bias is left out")
        if matches(Y, F.relu(X @ W) + b):
            raise Mistake(
                "bias-after-relu", "MyLinear(5, 3)(X) equals relu(X @ weight) + bias: add the bias before the ReLU"
            )
    assert_close(Y, expected, "MyLinear(5, 3)(X) should be relu(X @ weight + bias)")


@task("MyLinear", points=2)
def test_mylinear_gradients(mylinear_forward, mylinear_forward_given):
    "gradients reach weight and bias"
    data = mylinear_forward
    unwrap(data["layer"], MYLINEAR_SET)
    unwrap(data["Y"], "MyLinear(5, 3)(X)")
    unwrap(data["backward"], "MyLinear(5, 3)(X).sum().backward()")
    _, grad_weight, grad_bias = mylinear_reference(mylinear_forward_given)
    registered = data["registered"] or []
    for name, got, expected in (("weight", data["grad_weight"], grad_weight), ("bias", data["grad_bias"], grad_bias)):
        if name not in registered:
            raise Mistake(
                "not-registered",
                f"MyLinear.{name} is not a registered Parameter (named_parameters() lists {registered}): an optimizer "
                f"built from parameters() would never train it. Make it an nn.Parameter",
            )
        if got is None:
            raise Mistake(
                "no-gradient-to-parameter",
                f"no gradient reached the Parameter MyLinear.{name} after backward(): forward used its values "
                "outside autograd's graph",
            )
        # a weight stored as (units, in_units), or a bias as (1, units), costs the shape check only
        if name == "weight" and tuple(got.shape) == tuple(expected.T.shape) != tuple(expected.shape):
            expected = expected.T
        elif name == "bias" and got.dim() == 2 and tuple(got.shape) == (1, expected.numel()):
            expected = expected.reshape(got.shape)
        assert_close(got, expected, f"MyLinear.{name}'s gradient after MyLinear(5, 3)(X).sum().backward()")


# --------------------------------------------------------------------- TensorReduction


def reduce(weight, X):
    return torch.einsum("kij,ni,nj->nk", weight, X, X)


@task("TensorReduction", points=1)
def test_reduction_parameter(reduction_parameters):
    "one Parameter, weight, of shape (out_features, in_features, in_features)"
    for key, (inputs, outputs) in (("wide", (4, 3)), ("tiny", (1, 1))):
        params = unwrap(reduction_parameters[key], f"TensorReduction({inputs}, {outputs}).named_parameters()")
        expected = [["weight", [outputs, inputs, inputs]]]
        assert params == expected, (
            f"TensorReduction({inputs}, {outputs}) registers {params}: expected one Parameter, weight, "
            f"of shape ({outputs}, {inputs}, {inputs})"
        )


@task("TensorReduction", points=2.5)
def test_reduction_forward(reduction_forward, reduction_forward_given):
    "y[n, k] = sum over i, j of weight[k, i, j] * X[n, i] * X[n, j]"
    data, given = reduction_forward, reduction_forward_given
    unwrap(data["layer"], "building TensorReduction(5, 3) and setting its weight (3, 5, 5) to known values")
    what = N_("TensorReduction(5, 3)(X) for X of shape (7, 5)")
    Y = unwrap(data["Y"], what)
    W, X = given["weight"], given["X"]
    assert_same_inputs(data["X"], X, "The input X of TensorReduction(5, 3)(X)")
    expected = reduce(W, X)
    if matches(Y, expected.T, rtol=1e-4, atol=1e-4):
        raise Mistake(
            "output-transposed",
            f"{what} has shape (3, 7) and holds the expected values transposed: return (N, out_features), "
            "one row per example",
        )
    assert_close(Y, expected, f"{what} differs from the sum over i and j", rtol=1e-4, atol=1e-4)


@task("TensorReduction", points=1)
def test_reduction_rows_are_independent(reduction_rows, reduction_rows_given):
    "each output row depends on its own input row only, for any batch size"
    data = reduction_rows
    unwrap(data["layer"], "building TensorReduction(4, 2) and setting its weight (2, 4, 4) to known values")
    full = unwrap(data["full"], "TensorReduction(4, 2)(X)")
    single = unwrap(data["single"], "TensorReduction(4, 2)(X[2:3])")
    flipped = unwrap(data["flipped"], "TensorReduction(4, 2)(X.flip(0))")
    assert_same_inputs(data["X"], reduction_rows_given["X"], "The input X of TensorReduction(4, 2)(X)")
    for name, Y, rows in (("X", full, 6), ("X[2:3]", single, 1), ("X.flip(0)", flipped, 6)):
        assert tuple(Y.shape) == (rows, 2), (
            f"TensorReduction(4, 2)({name}) for an input of shape ({rows}, 4) has shape {tuple(Y.shape)}, "
            f"expected ({rows}, 2)"
        )
    assert_close(
        single,
        full[2:3],
        "row 2 of TensorReduction(4, 2)(X) changes when that row is passed alone (X[2:3]): "
        "the output of a row depends on the other rows of the batch",
        rtol=1e-4,
        atol=1e-4,
    )
    assert_close(
        flipped,
        full.flip(0),
        "reversing the batch does not just reverse the output rows: "
        "the output of a row depends on the other rows of the batch",
        rtol=1e-4,
        atol=1e-4,
    )


@task("TensorReduction", points=0.5)
def test_reduction_single_example(reduction_single, reduction_single_given):
    "one example and one output give shape (1, 1)"
    unwrap(reduction_single["layer"], "building TensorReduction(3, 1) and setting its weight (1, 3, 3) to known values")
    what = N_("TensorReduction(3, 1)(X) for X of shape (1, 3)")
    Y = unwrap(reduction_single["Y"], what)
    W, X = reduction_single_given["weight"], reduction_single_given["X"]
    assert_same_inputs(reduction_single["X"], X, f"The input X of {what}")
    assert_close(Y, reduce(W, X), what, rtol=1e-4, atol=1e-4)


@task("TensorReduction", points=1)
def test_reduction_gradient(reduction_forward, reduction_forward_given):
    "the gradient reaches weight: d sum(y) / d weight[k, i, j] = sum over n of X[n, i] * X[n, j]"
    data = reduction_forward
    unwrap(data["layer"], "building TensorReduction(5, 3) and setting its weight (3, 5, 5) to known values")
    unwrap(data["Y"], "TensorReduction(5, 3)(X)")
    unwrap(data["backward"], "TensorReduction(5, 3)(X).sum().backward()")
    registered = data["registered"] or []
    if "weight" not in registered:
        raise Mistake(
            "not-registered",
            f"TensorReduction.weight is not a registered Parameter (named_parameters() lists {registered})",
        )
    grad = data["grad"]
    if grad is None:
        raise Mistake(
            "no-gradient-to-parameter",
            "no gradient reached the Parameter TensorReduction.weight after backward(): forward used its values "
            "outside autograd's graph",
        )
    W = reduction_forward_given["weight"].clone().requires_grad_()
    reduce(W, reduction_forward_given["X"]).sum().backward()
    what = N_("TensorReduction.weight's gradient after TensorReduction(5, 3)(X).sum().backward()")
    assert_close(grad, W.grad, what, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------- FourierHalf


def check_fourier(case, X, what):
    n = X.shape[-1]
    Y = unwrap(case["Y"], what)
    assert_same_inputs(case["X"], X, f"The input X of {what}")
    full = torch.fft.fft(X, dim=-1)
    keep = (n + 1) // 2
    expect_tensor(Y, what)
    if not Y.is_complex():
        raise AssertionError(f"{what} is {describe(Y)}: the coefficients are complex numbers (use torch.fft.fft)")
    tolerance = {"rtol": 1e-4, "atol": 1e-4}
    if n % 2 == 1 and matches(Y, full[..., : n // 2], **tolerance):
        raise Mistake(
            "floor-half",
            f"{what} holds the first {n // 2} coefficients, expected ceil({n} / 2) = {keep}: n // 2 rounds down",
        )
    if n % 2 == 0 and matches(Y, full[..., : n // 2 + 1], **tolerance):
        raise Mistake(
            "one-coefficient-too-many",
            f"{what} holds the first n // 2 + 1 = {n // 2 + 1} coefficients (as many as rfft returns), "
            f"expected ceil({n} / 2) = {keep}",
        )
    if X.dim() > 1 and X.shape[0] > 1:
        other = torch.fft.fft(X, dim=0)[..., :keep]
        if not matches(Y, full[..., :keep], **tolerance) and matches(Y, other, **tolerance):
            raise Mistake(
                "wrong-axis",
                f"{what} equals torch.fft.fft(X, dim=0)[..., :{keep}]: transform along the last dimension (dim=-1)",
            )
    assert_close(Y, full[..., :keep], f"{what} should be torch.fft.fft(X, dim=-1)[..., :{keep}]", **tolerance)


@task("FourierHalf", points=2)
def test_fourier_even(fourier, fourier_given):
    "even n: the first n / 2 complex coefficients of torch.fft.fft"
    for n in (8, 2):
        check_fourier(fourier[str(n)], fourier_given[str(n)], N_("FourierHalf()(X) for X of shape (3, {n})", n=n))


@task("FourierHalf", points=2)
def test_fourier_odd(fourier, fourier_given):
    "odd n: the first ceil(n / 2) coefficients (n = 1 too)"
    for n in (7, 1):
        check_fourier(fourier[str(n)], fourier_given[str(n)], N_("FourierHalf()(X) for X of shape (3, {n})", n=n))


@task("FourierHalf", points=1)
def test_fourier_batched(fourier, fourier_given):
    "transforms along the last dimension of a batch, keeping float64 precision"
    what = "FourierHalf()(X) for a float64 X of shape (2, 3, 6)"
    Y = unwrap(fourier["batched"]["Y"], what)
    assert expect_tensor(Y, what).dtype == torch.complex128, (
        f"{what} is {describe(Y)}: expected the complex128 result of torch.fft.fft"
    )
    check_fourier(fourier["batched"], fourier_given["batched"], what)


@task("FourierHalf", points=1)
def test_fourier_has_no_parameters(fourier):
    "FourierHalf has no parameters, and its forward returns a tensor"
    count = unwrap(fourier["parameters"], "len(list(FourierHalf().parameters()))")
    assert count == 0, f"FourierHalf() has {count} parameter(s): it must have none"
    expect_tensor(unwrap(fourier["8"]["Y"], "FourierHalf()(X)"), "FourierHalf()(X)")
