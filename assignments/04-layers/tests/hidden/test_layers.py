"""Hidden judges of assignment 4 (layers). They run in the grader on the probes' plain data.

Every reference is recomputed here from the probes' given inputs and weights (the fixtures
`<probe>_given`, rebuilt in the grader), never from what a probe reports: means,
`relu(X @ W + b)`, its gradients, the tensor reduction with `einsum`, and the FFT with
`torch.fft.fft`. Inputs a probe reports after the student's call are checked unchanged.
"""

import torch
from torch.nn import functional as F

from autograder.judging import (
    assert_close,
    assert_same_inputs,
    describe,
    expect_tensor,
    matches,
    task,
    unwrap,
)

# ----------------------------------------------------------------------- CenteredLayer


@task("CenteredLayer", points=1)
def test_centered_over_everything(centered_all, centered_all_given):
    "dim=None subtracts the mean of all elements"
    X = centered_all_given["X"]
    Y = unwrap(centered_all["Y"], "CenteredLayer()(X)")
    assert_same_inputs(centered_all["X"], X, "The input X of CenteredLayer()(X)")
    if matches(Y, X - X.mean(0, keepdim=True)) or matches(Y, X - X.mean(-1, keepdim=True)):
        raise AssertionError(
            "CenteredLayer() subtracts a mean along one dimension: with dim=None, use X.mean() over all"
        )
    assert_close(Y, X - X.mean(), "CenteredLayer()(X) should be X - X.mean()")
    parameters = unwrap(centered_all["parameters"], "len(list(CenteredLayer().parameters()))")
    assert parameters == 0, "CenteredLayer must not have parameters"


@task("CenteredLayer", points=1)
def test_centered_along_dim(centered_dims, centered_dims_given):
    "dim=d subtracts X.mean(d, keepdim=True)"
    X = centered_dims_given["X"]
    for d, got in centered_dims["Y"].items():  # the four dims the probe declares
        Y = unwrap(got, f"CenteredLayer(dim={d})(X) for X of shape (2, 3, 5)")
        assert_same_inputs(centered_dims["X"], X, f"The input X of CenteredLayer(dim={d})(X)")
        expected = X - X.mean(int(d), keepdim=True)
        if not matches(Y, expected) and matches(Y, X - X.mean()):
            raise AssertionError(f"CenteredLayer(dim={d}) ignores dim: it subtracts the mean of everything")
        assert_close(Y, expected, f"CenteredLayer(dim={d})(X) should be X - X.mean({d}, keepdim=True)")


@task("CenteredLayer", points=1)
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
        f"weight has mean {mean:.3f} and std {std:.3f}: draw it with torch.randn"
    )
    bias_std = bias.std().item()  # 128 values: standard error 6%
    assert 0.5 < bias_std < 1.5, f"bias has std {bias_std:.3f}: draw it with torch.randn"


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
    if matches(Y, X @ W + b):
        raise AssertionError("MyLinear's output is X @ weight + bias without the ReLU")
    if matches(Y, F.relu(X @ W)):
        raise AssertionError("MyLinear's output leaves out the bias")
    assert_close(Y, expected, "MyLinear(5, 3)(X) should be relu(X @ weight + bias)")


@task("MyLinear", points=2)
def test_mylinear_gradients(mylinear_forward, mylinear_forward_given):
    "gradients reach weight and bias"
    data = mylinear_forward
    unwrap(data["layer"], MYLINEAR_SET)
    unwrap(data["Y"], "MyLinear(5, 3)(X)")
    unwrap(data["backward"], "MyLinear(5, 3)(X).sum().backward()")
    _, grad_weight, grad_bias = mylinear_reference(mylinear_forward_given)
    for name, got, expected in (("weight", data["grad_weight"], grad_weight), ("bias", data["grad_bias"], grad_bias)):
        assert got is not None, (
            f"no gradient reached MyLinear.{name} after backward(): it must be a registered Parameter, "
            "and forward must use the Parameter itself"
        )
        # a weight stored as (units, in_units), or a bias as (1, units), costs the shape check only
        if name == "weight" and tuple(got.shape) == tuple(expected.T.shape) != tuple(expected.shape):
            expected = expected.T
        elif name == "bias" and got.dim() == 2 and tuple(got.shape) == (1, expected.numel()):
            expected = expected.reshape(got.shape)
        assert_close(got, expected, f"MyLinear.{name}'s gradient")


# --------------------------------------------------------------------- TensorReduction


def reduce(weight, X):
    return torch.einsum("kij,ni,nj->nk", weight, X, X)


@task("TensorReduction", points=1)
def test_reduction_parameter(reduction_parameters):
    "one Parameter, weight, of shape (out_features, in_features, in_features)"
    params = unwrap(reduction_parameters, "TensorReduction(4, 3).named_parameters()")
    assert params == [["weight", [3, 4, 4]]], (
        f"TensorReduction(4, 3) registers {params}: expected weight of shape (3, 4, 4)"
    )


@task("TensorReduction", points=3)
def test_reduction_forward(reduction_forward, reduction_forward_given):
    "y[n, k] = sum over i, j of weight[k, i, j] * X[n, i] * X[n, j]"
    data, given = reduction_forward, reduction_forward_given
    unwrap(data["layer"], "building TensorReduction(5, 3) and setting its weight (3, 5, 5) to known values")
    Y = unwrap(data["Y"], "TensorReduction(5, 3)(X) for X of shape (7, 5)")
    W, X = given["weight"], given["X"]
    assert_same_inputs(data["X"], X, "The input X of TensorReduction(5, 3)(X)")
    if tuple(Y.shape) == (3, 7):
        raise AssertionError("TensorReduction returns shape (out_features, N): expected (N, out_features)")
    if matches(Y, reduce(W.transpose(1, 2), X).transpose(0, 1)) and not matches(Y, reduce(W, X)):
        raise AssertionError("TensorReduction mixes up the indices of weight")
    assert_close(Y, reduce(W, X), "TensorReduction's output differs from the sum over i and j", rtol=1e-4, atol=1e-4)


@task("TensorReduction", points=1)
def test_reduction_rows_are_independent(reduction_rows, reduction_rows_given):
    "each output row depends on its own input row only, for any batch size"
    data = reduction_rows
    unwrap(data["layer"], "building TensorReduction(4, 2) and setting its weight (2, 4, 4) to known values")
    full = unwrap(data["full"], "TensorReduction(4, 2)(X)")
    single = unwrap(data["single"], "TensorReduction(4, 2)(X[2:3])")
    flipped = unwrap(data["flipped"], "TensorReduction(4, 2)(X.flip(0))")
    assert_same_inputs(data["X"], reduction_rows_given["X"], "The input X of TensorReduction(4, 2)(X)")
    assert tuple(full.shape) == (6, 2), f"TensorReduction(4, 2)(X) for X of shape (6, 4) has shape {tuple(full.shape)}"
    assert_close(
        single, full[2:3], "a batch of one row should give that row's output: rows are mixed", rtol=1e-4, atol=1e-4
    )
    assert_close(
        flipped,
        full.flip(0),
        "reversing the batch should reverse the output rows: rows are mixed",
        rtol=1e-4,
        atol=1e-4,
    )


@task("TensorReduction", points=1)
def test_reduction_gradient(reduction_forward, reduction_forward_given):
    "the gradient reaches weight"
    data = reduction_forward
    unwrap(data["layer"], "building TensorReduction(5, 3) and setting its weight (3, 5, 5) to known values")
    unwrap(data["Y"], "TensorReduction(5, 3)(X)")
    unwrap(data["backward"], "TensorReduction(5, 3)(X).sum().backward()")
    grad = data["grad"]
    assert grad is not None, "no gradient reached TensorReduction.weight: use the Parameter itself in forward"
    shape = tuple(reduction_forward_given["weight"].shape)
    assert tuple(grad.shape) == shape, f"the gradient's shape is {tuple(grad.shape)}, the weight's {shape}"
    assert bool(torch.isfinite(grad).all()), "the gradient of TensorReduction.weight holds NaN or infinity"
    assert grad.abs().sum().item() > 0, "the gradient of TensorReduction.weight is zero everywhere"


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
    if Y.dim() and Y.shape[-1] == n // 2 + 1 and n % 2 == 0:
        raise AssertionError(f"{what} has {n // 2 + 1} coefficients, expected {keep}: rfft keeps one more than half")
    if Y.dim() and Y.shape[-1] == n // 2 and n % 2 == 1:
        raise AssertionError(f"{what} has {n // 2} coefficients, expected ceil({n} / 2) = {keep}: n // 2 rounds down")
    assert_close(Y, full[..., :keep], f"{what} should be torch.fft.fft(X, dim=-1)[..., :{keep}]", rtol=1e-4, atol=1e-4)


@task("FourierHalf", points=2)
def test_fourier_even(fourier, fourier_given):
    "even n: the first n / 2 complex coefficients of torch.fft.fft"
    for n in (8, 2):
        check_fourier(fourier[str(n)], fourier_given[str(n)], f"FourierHalf()(X) for X of shape (3, {n})")


@task("FourierHalf", points=2)
def test_fourier_odd(fourier, fourier_given):
    "odd n: the first ceil(n / 2) coefficients"
    for n in (7, 1):
        check_fourier(fourier[str(n)], fourier_given[str(n)], f"FourierHalf()(X) for X of shape (3, {n})")


@task("FourierHalf", points=1)
def test_fourier_batched(fourier, fourier_given):
    "transforms along the last dimension of a batch, keeping float64 precision"
    Y = unwrap(fourier["batched"]["Y"], "FourierHalf()(X) for X of shape (2, 3, 6)")
    assert expect_tensor(Y, "FourierHalf()(X)").dtype == torch.complex128, (
        f"a float64 input gives {describe(Y)}: keep the complex128 result of torch.fft.fft"
    )
    check_fourier(fourier["batched"], fourier_given["batched"], "FourierHalf()(X) for X of shape (2, 3, 6)")


@task("FourierHalf", points=1)
def test_fourier_has_no_parameters(fourier):
    "FourierHalf has no parameters, and its forward returns a tensor"
    assert unwrap(fourier["parameters"], "len(list(FourierHalf().parameters()))") == 0, (
        "FourierHalf must not have parameters"
    )
    expect_tensor(unwrap(fourier["8"]["Y"], "FourierHalf()(X)"), "FourierHalf()(X)")
