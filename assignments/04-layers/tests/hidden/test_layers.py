"""Hidden judges of assignment 4 (layers). They run in the grader on the probes' plain data.

Every reference is recomputed here: means, `relu(X @ W + b)`, its gradients, the tensor
reduction with `einsum`, and the FFT with `torch.fft.fft`.
"""

import torch
from torch.nn import functional as F

from autograder.judging import assert_close, describe, expect_tensor, matches, task, unwrap

# ----------------------------------------------------------------------- CenteredLayer


@task("CenteredLayer", points=1)
def test_centered_over_everything(centered_all):
    "dim=None subtracts the mean of all elements"
    X = centered_all["X"]
    Y = unwrap(centered_all["Y"], "CenteredLayer()(X)")
    if matches(Y, X - X.mean(0, keepdim=True)) or matches(Y, X - X.mean(-1, keepdim=True)):
        raise AssertionError(
            "CenteredLayer() subtracts a mean along one dimension: with dim=None, use X.mean() over all"
        )
    assert_close(Y, X - X.mean(), "CenteredLayer()(X) should be X - X.mean()")
    assert centered_all["parameters"] == 0, "CenteredLayer must not have parameters"


@task("CenteredLayer", points=1)
def test_centered_along_dim(centered_dims):
    "dim=d subtracts X.mean(d, keepdim=True)"
    X = centered_dims["X"]
    for d, got in centered_dims["Y"].items():
        Y = unwrap(got, f"CenteredLayer(dim={d})(X) for X of shape (2, 3, 5)")
        expected = X - X.mean(int(d), keepdim=True)
        if not matches(Y, expected) and matches(Y, X - X.mean()):
            raise AssertionError(f"CenteredLayer(dim={d}) ignores dim: it subtracts the mean of everything")
        assert_close(Y, expected, f"CenteredLayer(dim={d})(X) should be X - X.mean({d}, keepdim=True)")


@task("CenteredLayer", points=1)
def test_centered_in_a_network(centered_in_net):
    "works as a layer inside nn.Sequential and adds no parameters"
    data = centered_in_net
    Y = unwrap(data["Y"], "nn.Sequential(nn.Linear(8, 32), CenteredLayer())(X)")
    H = F.linear(data["X"], data["linear"]["weight"], data["linear"]["bias"])
    assert_close(Y, H - H.mean(), "the network's output should be linear(X) minus its mean")
    assert data["parameters"] == ["0.weight", "0.bias"], (
        f"the network's parameters are {data['parameters']}: CenteredLayer must add none"
    )


# ---------------------------------------------------------------------------- MyLinear


@task("MyLinear", points=1)
def test_mylinear_parameters(mylinear_parameters):
    "weight (in_units, units) and bias (units,) are Parameters drawn with torch.randn"
    params = mylinear_parameters["parameters"]
    assert params == [["bias", [128]], ["weight", [64, 128]]], (
        f"MyLinear(64, 128) registers {params}: expected Parameters weight of shape (64, 128) and bias of shape (128,)"
    )
    weight = mylinear_parameters["weight"]
    std, mean = weight.std().item(), weight.mean().item()  # 8192 values: standard errors 0.8% and 0.011
    assert 0.9 < std < 1.1 and abs(mean) < 0.1, (
        f"weight has mean {mean:.3f} and std {std:.3f}: draw it with torch.randn"
    )
    bias_std = mylinear_parameters["bias"].std().item()  # 128 values: standard error 6%
    assert 0.5 < bias_std < 1.5, f"bias has std {bias_std:.3f}: draw it with torch.randn"


def mylinear_reference(data):
    """relu(X @ W + b) and its gradients; a weight stored as (units, in_units) is read as such,
    so that storing it transposed costs the shape check only."""
    W = data["weight"].clone().requires_grad_()
    b = data["bias"].clone().requires_grad_()
    X = data["X"]
    transposed = W.dim() == 2 and W.shape[0] != X.shape[-1] and W.shape[1] == X.shape[-1]
    Y = F.relu(X @ (W.T if transposed else W) + b)
    Y.sum().backward()
    return Y.detach(), W.grad, b.grad


@task("MyLinear", points=2)
def test_mylinear_forward(mylinear_forward):
    "forward computes relu(X @ weight + bias)"
    Y = unwrap(mylinear_forward["Y"], "MyLinear(5, 3)(X)")
    expected, _, _ = mylinear_reference(mylinear_forward)
    X, W, b = mylinear_forward["X"], mylinear_forward["weight"], mylinear_forward["bias"]
    if W.shape[0] != X.shape[-1]:
        W = W.T
    if matches(Y, X @ W + b):
        raise AssertionError("MyLinear's output is X @ weight + bias without the ReLU")
    if matches(Y, F.relu(X @ W)):
        raise AssertionError("MyLinear's output leaves out the bias")
    assert_close(Y, expected, "MyLinear(5, 3)(X) should be relu(X @ weight + bias)")


@task("MyLinear", points=2)
def test_mylinear_gradients(mylinear_forward):
    "gradients reach weight and bias"
    data = mylinear_forward
    unwrap(data["Y"], "MyLinear(5, 3)(X)")
    unwrap(data["backward"], "MyLinear(5, 3)(X).sum().backward()")
    _, grad_weight, grad_bias = mylinear_reference(data)
    for name, got, expected in (("weight", data["grad_weight"], grad_weight), ("bias", data["grad_bias"], grad_bias)):
        assert got is not None, (
            f"no gradient reached MyLinear.{name} after backward(): it must be a registered Parameter, "
            "and forward must use the Parameter itself"
        )
        assert_close(got, expected, f"MyLinear.{name}'s gradient")


# --------------------------------------------------------------------- TensorReduction


def reduce(weight, X):
    return torch.einsum("kij,ni,nj->nk", weight, X, X)


@task("TensorReduction", points=1)
def test_reduction_parameter(reduction_parameters):
    "one Parameter, weight, of shape (out_features, in_features, in_features)"
    params = reduction_parameters["parameters"]
    assert params == [["weight", [3, 4, 4]]], (
        f"TensorReduction(4, 3) registers {params}: expected weight of shape (3, 4, 4)"
    )


@task("TensorReduction", points=3)
def test_reduction_forward(reduction_forward):
    "y[n, k] = sum over i, j of weight[k, i, j] * X[n, i] * X[n, j]"
    data = reduction_forward
    Y = unwrap(data["Y"], "TensorReduction(5, 3)(X) for X of shape (7, 5)")
    W, X = expect_tensor(data["weight"], "TensorReduction.weight"), data["X"]
    if isinstance(Y, torch.Tensor) and tuple(Y.shape) == (3, 7):
        raise AssertionError("TensorReduction returns shape (out_features, N): expected (N, out_features)")
    if matches(Y, reduce(W.transpose(1, 2), X).transpose(0, 1)) and not matches(Y, reduce(W, X)):
        raise AssertionError("TensorReduction mixes up the indices of weight")
    assert_close(Y, reduce(W, X), "TensorReduction's output differs from the sum over i and j", rtol=1e-4, atol=1e-4)


@task("TensorReduction", points=1)
def test_reduction_rows_are_independent(reduction_rows):
    "each output row depends on its own input row only, for any batch size"
    data = reduction_rows
    full = unwrap(data["full"], "TensorReduction(4, 2)(X)")
    single = unwrap(data["single"], "TensorReduction(4, 2)(X[2:3])")
    flipped = unwrap(data["flipped"], "TensorReduction(4, 2)(X.flip(0))")
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
def test_reduction_gradient(reduction_forward):
    "the gradient reaches weight"
    data = reduction_forward
    unwrap(data["Y"], "TensorReduction(5, 3)(X)")
    unwrap(data["backward"], "TensorReduction(5, 3)(X).sum().backward()")
    grad = data["grad"]
    assert grad is not None, "no gradient reached TensorReduction.weight: use the Parameter itself in forward"
    assert tuple(grad.shape) == tuple(data["weight"].shape), "the gradient's shape differs from the weight's"
    assert grad.abs().sum().item() > 0, "the gradient of TensorReduction.weight is zero everywhere"


# ------------------------------------------------------------------------- FourierHalf


def check_fourier(case, n, what):
    X = case["X"]
    Y = unwrap(case["Y"], what)
    full = torch.fft.fft(X, dim=-1)
    keep = (n + 1) // 2
    expect_tensor(Y, what)
    if not Y.is_complex():
        raise AssertionError(f"{what} is {describe(Y)}: the coefficients are complex numbers (use torch.fft.fft)")
    if Y.shape[-1] == n // 2 + 1 and n % 2 == 0:
        raise AssertionError(f"{what} has {n // 2 + 1} coefficients, expected {keep}: rfft keeps one more than half")
    if Y.shape[-1] == n // 2 and n % 2 == 1:
        raise AssertionError(f"{what} has {n // 2} coefficients, expected ceil({n} / 2) = {keep}: n // 2 rounds down")
    assert_close(Y, full[..., :keep], f"{what} should be torch.fft.fft(X, dim=-1)[..., :{keep}]", rtol=1e-4, atol=1e-4)


@task("FourierHalf", points=2)
def test_fourier_even(fourier):
    "even n: the first n / 2 complex coefficients of torch.fft.fft"
    for n in (8, 2):
        check_fourier(fourier[str(n)], n, f"FourierHalf()(X) for X of shape (3, {n})")


@task("FourierHalf", points=2)
def test_fourier_odd(fourier):
    "odd n: the first ceil(n / 2) coefficients"
    for n in (7, 1):
        check_fourier(fourier[str(n)], n, f"FourierHalf()(X) for X of shape (3, {n})")


@task("FourierHalf", points=1)
def test_fourier_batched(fourier):
    "transforms along the last dimension of a batch, keeping float64 precision"
    Y = unwrap(fourier["batched"]["Y"], "FourierHalf()(X) for X of shape (2, 3, 6)")
    assert expect_tensor(Y, "FourierHalf()(X)").dtype == torch.complex128, (
        f"a float64 input gives {describe(Y)}: keep the complex128 result of torch.fft.fft"
    )
    check_fourier(fourier["batched"], 6, "FourierHalf()(X) for X of shape (2, 3, 6)")


@task("FourierHalf", points=1)
def test_fourier_has_no_parameters(fourier):
    "FourierHalf has no parameters, and its forward returns a tensor"
    assert fourier["parameters"] == 0, "FourierHalf must not have parameters"
    expect_tensor(unwrap(fourier["8"]["Y"], "FourierHalf()(X)"), "FourierHalf()(X)")
