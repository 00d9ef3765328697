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
        ### BEGIN SOLUTION
        super().__init__()
        self.dim = dim
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        if self.dim is None:
            return X - X.mean()
        return X - X.mean(self.dim, keepdim=True)
        ### END SOLUTION


class MyLinear(nn.Module):
    """A fully connected layer with ReLU, written by hand.

    Parameters `weight` of shape `(in_units, units)` and `bias` of shape `(units,)`, drawn with
    `torch.randn`; `forward(X) = relu(X @ weight + bias)`. Gradients must reach both.
    """

    def __init__(self, in_units, units):
        ### BEGIN SOLUTION
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        return F.relu(X @ self.weight + self.bias)
        ### END SOLUTION


class TensorReduction(nn.Module):
    """`y[n, k] = sum over i, j of weight[k, i, j] * X[n, i] * X[n, j]`.

    Parameter `weight` of shape `(out_features, in_features, in_features)`; a batch `X` of shape
    `(N, in_features)` gives `(N, out_features)`.
    """

    def __init__(self, in_features, out_features):
        ### BEGIN SOLUTION
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features) / in_features)
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        return torch.einsum("kij,ni,nj->nk", self.weight, X, X)
        ### END SOLUTION


class FourierHalf(nn.Module):
    """A layer without parameters: the first ceil(n / 2) coefficients of
    `torch.fft.fft(X, dim=-1)`, where `n = X.shape[-1]` (complex values)."""

    def forward(self, X):
        ### BEGIN SOLUTION
        n = X.shape[-1]
        return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2]
        ### END SOLUTION
