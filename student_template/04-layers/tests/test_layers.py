"""Visible tests of assignment 4 (layers): `blockgrade check` runs these on your layers.py.

They are a subset of what grading runs (grading also tests other shapes, devices and gradients).
"""

import torch
from torch.nn import functional as F

from autograder.judging import assert_close, task, unwrap


@task("CenteredLayer")
def test_centered(layers):
    "CenteredLayer() subtracts the mean of all elements; CenteredLayer(dim=1) of each row"
    X = layers["X"]
    assert_close(unwrap(layers["centered"], "CenteredLayer()(X)"), X - X.mean(), "CenteredLayer()(X)")
    assert_close(unwrap(layers["centered_rows"], "CenteredLayer(dim=1)(X)"), X - X.mean(1, keepdim=True), "dim=1")


@task("MyLinear")
def test_mylinear(layers):
    "MyLinear(6, 2) computes relu(X @ weight + bias) and its weight gets a gradient"
    X, W, b = layers["X"], layers["weight"], layers["bias"]
    assert tuple(W.shape) == (6, 2), f"weight has shape {tuple(W.shape)}, expected (6, 2)"
    assert_close(unwrap(layers["linear"], "MyLinear(6, 2)(X)"), F.relu(X @ W + b), "MyLinear(6, 2)(X)")
    assert layers["linear_grad"] is not None, "no gradient reached weight: use self.weight, not self.weight.data"


@task("TensorReduction")
def test_reduction(layers):
    "TensorReduction(6, 2) maps (4, 6) to (4, 2) as the double sum says"
    W = layers["reduction_weight"]
    assert W is not None and tuple(W.shape) == (2, 6, 6), "weight should have shape (2, 6, 6)"
    expected = torch.einsum("kij,ni,nj->nk", W, layers["X"], layers["X"])
    assert_close(
        unwrap(layers["reduction"], "TensorReduction(6, 2)(X)"), expected, "TensorReduction", rtol=1e-4, atol=1e-4
    )


@task("FourierHalf")
def test_fourier(layers):
    "FourierHalf keeps ceil(n / 2) complex coefficients"
    for n, keep in (("6", 3), ("5", 3)):
        Y = unwrap(layers["fourier"][n], f"FourierHalf()(X) for n = {n}")
        assert Y.is_complex(), "the coefficients should be complex"
        assert tuple(Y.shape) == (2, keep), f"for n = {n} the shape is {tuple(Y.shape)}, expected (2, {keep})"
