"""Assignment 4, layers: custom layers with and without parameters (Builders' Guide §6.5).

Replace each `raise NotImplementedError(...)` with your code. Import nothing beyond torch.
"""

import torch
from torch import nn
from torch.nn import functional as F


class CenteredLayer(nn.Module):
    """A layer without parameters that subtracts the mean.

    `dim=None`: `X - X.mean()` over all elements; otherwise `X - X.mean(dim, keepdim=True)`.
    """

    def __init__(self, dim=None):
        # YOUR CODE HERE
        raise NotImplementedError("CenteredLayer.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("CenteredLayer.forward is not implemented yet")


class MyLinear(nn.Module):
    """A fully connected layer with ReLU, written by hand.

    Parameters `weight` of shape `(in_units, units)` and `bias` of shape `(units,)`, drawn with
    `torch.randn`; `forward(X) = relu(X @ weight + bias)`. Gradients must reach both.
    """

    def __init__(self, in_units, units):
        # YOUR CODE HERE
        raise NotImplementedError("MyLinear.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("MyLinear.forward is not implemented yet")


class TensorReduction(nn.Module):
    """`y[n, k] = sum over i, j of weight[k, i, j] * X[n, i] * X[n, j]`.

    Parameter `weight` of shape `(out_features, in_features, in_features)`; a batch `X` of shape
    `(N, in_features)` gives `(N, out_features)`.
    """

    def __init__(self, in_features, out_features):
        # YOUR CODE HERE
        raise NotImplementedError("TensorReduction.__init__ is not implemented yet")

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("TensorReduction.forward is not implemented yet")


class FourierHalf(nn.Module):
    """A layer without parameters: the first ceil(n / 2) coefficients of
    `torch.fft.fft(X, dim=-1)`, where `n = X.shape[-1]` (complex values)."""

    def forward(self, X):
        # YOUR CODE HERE
        raise NotImplementedError("FourierHalf.forward is not implemented yet")
