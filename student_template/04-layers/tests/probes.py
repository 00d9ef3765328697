"""Visible probes of assignment 4 (layers): what `blockgrade check` runs in the sandbox."""

import torch

from autograder.probing import attempt, probe


@probe
def layers(sub):
    X = torch.randn(4, 6)
    linear = sub.MyLinear(6, 2)
    Y = attempt(linear, X)
    if "value" in Y and isinstance(Y["value"], torch.Tensor) and Y["value"].requires_grad:
        Y["value"].sum().backward()
    reduction = sub.TensorReduction(6, 2)
    return {
        "X": X,
        "centered": attempt(sub.CenteredLayer(), X),
        "centered_rows": attempt(sub.CenteredLayer(dim=1), X),
        "linear": Y,
        "weight": linear.weight,
        "bias": linear.bias,
        "linear_grad": linear.weight.grad,
        "reduction": attempt(reduction, X),
        "reduction_weight": getattr(reduction, "weight", None),
        "fourier": {str(n): attempt(sub.FourierHalf(), torch.ones(2, n)) for n in (6, 5)},
    }
