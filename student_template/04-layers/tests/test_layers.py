"""Visible tests of assignment 4 (layers): `blockgrade check` runs these on your layers.py.

They are a subset of what grading runs (grading also tests other shapes, devices and gradients).
"""

import torch
from torch.nn import functional as F

from autograder.judging import assert_close, assert_same_inputs, describe, task, unwrap


@task("CenteredLayer")
def test_centered(centered, centered_given):
    "CenteredLayer() subtracts the mean of all elements; CenteredLayer(dim=1) of each row"
    X = centered_given["X"]
    assert_close(unwrap(centered["centered"], "CenteredLayer()(X)"), X - X.mean(), "CenteredLayer()(X)")
    assert_close(unwrap(centered["centered_rows"], "CenteredLayer(dim=1)(X)"), X - X.mean(1, keepdim=True), "dim=1")
    assert_same_inputs(centered["X"], X, "The input X")


@task("MyLinear")
def test_mylinear(mylinear, mylinear_given):
    "MyLinear(6, 2) computes relu(X @ weight + bias) and its weight gets a gradient"
    unwrap(mylinear["layer"], "building MyLinear(6, 2) and setting its weight (6, 2) and bias (2,) to known values")
    X, W, b = mylinear_given["X"], mylinear_given["weight"], mylinear_given["bias"]
    assert_close(unwrap(mylinear["linear"], "MyLinear(6, 2)(X)"), F.relu(X @ W + b), "MyLinear(6, 2)(X)")
    assert_same_inputs(mylinear["X"], X, "The input X")
    assert mylinear["linear_grad"] is not None, (
        "no gradient reached MyLinear.weight after MyLinear(6, 2)(X).sum().backward(): "
        "forward must compute with self.weight itself, so that autograd links the output to it"
    )


@task("TensorReduction")
def test_reduction(reduction, reduction_given):
    "TensorReduction(6, 2) maps (4, 6) to (4, 2) as the double sum says"
    unwrap(reduction["layer"], "building TensorReduction(6, 2) and setting its weight (2, 6, 6) to known values")
    W, X = reduction_given["weight"], reduction_given["X"]
    expected = torch.einsum("kij,ni,nj->nk", W, X, X)
    assert_close(
        unwrap(reduction["reduction"], "TensorReduction(6, 2)(X)"), expected, "TensorReduction", rtol=1e-4, atol=1e-4
    )
    assert_same_inputs(reduction["X"], X, "The input X")


@task("FourierHalf")
def test_fourier(fourier):
    "FourierHalf keeps ceil(n / 2) complex coefficients"
    for n, keep in (("6", 3), ("5", 3)):
        Y = unwrap(fourier[n], f"FourierHalf()(X) for n = {n}")
        assert Y.is_complex(), f"the coefficients should be complex, but the result is {describe(Y)}"
        assert tuple(Y.shape) == (2, keep), f"for n = {n} the shape is {tuple(Y.shape)}, expected (2, {keep})"
        expected = torch.fft.fft(torch.ones(2, int(n)), dim=-1)[..., :keep]
        assert_close(Y, expected.to(Y.dtype), f"FourierHalf()(X) for n = {n}", rtol=1e-4, atol=1e-4)
