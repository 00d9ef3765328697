"""Visible probes of assignment 4 (layers): what `blockgrade check` runs in the sandbox.

One probe per task, each building its layers inside `attempt`: a task you have not done yet
fails only its own check. The inputs (and the weights, which the probes copy into your
layers) come from `given` builders that the grader rebuilds to compute the expected values.
"""

import torch

from autograder.contract import Attempt, Optional, Record, Tensor
from autograder.probing import attempt, probe

OUTPUT = Tensor(max_numel=10_000)  # what your forward returned
INPUT = Tensor(shape=(4, 6), dtype=torch.float32, finite=True, nonempty=True)


def _prepared(make, args, what, values):
    """Build your layer and copy the given values into its weights (so they are known)."""
    layer = make(*args)
    for name, value in values.items():
        current = getattr(layer, name)
        if not isinstance(current, torch.Tensor):
            raise TypeError(f"{what}.{name} is a {type(current).__name__}, not a tensor")
        if tuple(current.shape) != tuple(value.shape) and tuple(current.shape) != (1, *value.shape):
            raise ValueError(f"{what}.{name} has shape {tuple(current.shape)}, expected {tuple(value.shape)}")
        with torch.no_grad():
            current.copy_(value)
    return layer


def centered_given():
    return {"X": torch.randn(4, 6)}


@probe(
    task="CenteredLayer",
    given=centered_given,
    returns=Record(X=INPUT, centered=Attempt(OUTPUT), centered_rows=Attempt(OUTPUT)),
)
def centered(sub, given):
    X = given["X"]
    return {
        "centered": attempt(lambda: sub.CenteredLayer()(X)),
        "centered_rows": attempt(lambda: sub.CenteredLayer(dim=1)(X)),
        "X": X,
    }


def mylinear_given():
    return {"X": torch.randn(4, 6), "weight": torch.randn(6, 2), "bias": torch.randn(2)}


@probe(
    task="MyLinear",
    given=mylinear_given,
    returns=Record(
        layer=Attempt(), X=INPUT, linear=Optional(Attempt(OUTPUT)), linear_grad=Optional(Tensor(max_numel=10_000))
    ),
)
def mylinear(sub, given):
    X = given["X"]
    values = {"weight": given["weight"], "bias": given["bias"]}
    made = attempt(_prepared, sub.MyLinear, (6, 2), "MyLinear(6, 2)", values)
    if "error" in made:
        return {"layer": made, "X": X, "linear": None, "linear_grad": None}
    layer = made["value"]
    Y = attempt(layer, X)
    if "value" in Y and isinstance(Y["value"], torch.Tensor) and Y["value"].requires_grad:
        attempt(lambda: Y["value"].sum().backward())
    return {"layer": {"value": None}, "X": X, "linear": Y, "linear_grad": layer.weight.grad}


def reduction_given():
    return {"X": torch.randn(4, 6), "weight": torch.randn(2, 6, 6) / 6}


@probe(
    task="TensorReduction",
    given=reduction_given,
    returns=Record(layer=Attempt(), X=INPUT, reduction=Optional(Attempt(OUTPUT))),
)
def reduction(sub, given):
    X = given["X"]
    made = attempt(_prepared, sub.TensorReduction, (6, 2), "TensorReduction(6, 2)", {"weight": given["weight"]})
    if "error" in made:
        return {"layer": made, "X": X, "reduction": None}
    return {"layer": {"value": None}, "X": X, "reduction": attempt(made["value"], X)}


@probe(task="FourierHalf", returns=Record({n: Attempt(OUTPUT) for n in ("6", "5")}))
def fourier(sub):
    return {str(n): attempt(lambda n=n: sub.FourierHalf()(torch.ones(2, n))) for n in (6, 5)}
