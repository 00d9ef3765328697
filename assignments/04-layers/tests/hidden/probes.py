"""Hidden probes of assignment 4 (layers). They run in the sandbox, beside the student's module.

Every input a probe feeds to student code comes from its `given` builder, which the grader
rebuilds to compute the references: judges never recompute from what a probe reports. Where
the student's layer draws its own weights, the probe overwrites them with given values first,
so the weights are known too. Every layer is built inside `attempt`, so a task that is not
done yet costs only its own checks.
"""

import torch

from autograder.contract import Attempt, Bool, Int, ListOf, Optional, Record, Str, Tensor, TupleOf
from autograder.probing import attempt, probe

OUTPUT = Tensor(max_numel=10_000)  # what a student's forward returned: bounded, not trusted
GRAD = Optional(Tensor(max_numel=10_000))
BACKWARD = Optional(Attempt(Optional(Str(max_len=20))))
NAMED_SHAPES = ListOf(TupleOf(Str(max_len=200), ListOf(Int(min=0), max_len=8)), max_len=100)  # [[name, shape]...]


def _input(shape, dtype=torch.float32):
    """An input the probe built, reported after the student's call (judges check it is unchanged)."""
    return Tensor(shape=shape, dtype=dtype, finite=True, nonempty=True)


def _backward(Y):
    """Backpropagate sum(Y) if Y is a tensor in a graph; report what happened."""
    if isinstance(Y, torch.Tensor) and Y.requires_grad:
        return attempt(lambda: Y.sum().real.backward())
    return {"value": "no graph"}


def _overwrite(layer, what, values, transposed_ok=False):
    """Copy given values into the student's own tensors (`layer.weight`...), so that the judges
    know every weight. Returns whether a 2-D weight is stored transposed (accepted where
    `transposed_ok`: its layout is judged by another check)."""
    transposed = False
    for name, value in values.items():
        current = getattr(layer, name)
        if not isinstance(current, torch.Tensor):
            raise TypeError(f"{what}.{name} is a {type(current).__name__}, not a tensor")
        shape = tuple(current.shape)
        if shape == tuple(value.shape) or (current.numel() == value.numel() and _broadcasts(value.shape, shape)):
            source = value  # a bias kept as (1, units) holds the same values
        elif transposed_ok and value.dim() == 2 and shape == tuple(value.T.shape):
            source, transposed = value.T, True
        else:
            raise ValueError(f"{what}.{name} has shape {shape}, expected {tuple(value.shape)}")
        with torch.no_grad():
            current.copy_(source)
    return transposed


def _broadcasts(source, target):
    try:
        return tuple(torch.broadcast_shapes(tuple(source), tuple(target))) == tuple(target)
    except RuntimeError:
        return False


def _prepared(make, args, what, device, values, transposed_ok=False):
    """Build the student's layer, move it to `device`, and set its weights to `values`."""
    layer = make(*args)
    if device is not None:
        layer.to(device)
    return layer, _overwrite(layer, what, values, transposed_ok)


# ----------------------------------------------------------------------- CenteredLayer


def centered_all_given():
    return {
        "X": torch.rand(4, 6) * 10,
        "single": torch.tensor([3.5]),  # one element: its mean is itself
        "cube": torch.randn(2, 3, 4, dtype=torch.float64) + 5,  # three dimensions, float64 kept
    }


CENTERED_SHAPES = {"X": ((4, 6), torch.float32), "single": ((1,), torch.float32), "cube": ((2, 3, 4), torch.float64)}


@probe(
    task="CenteredLayer",
    given=centered_all_given,
    returns=Record(
        {
            **{
                name: Record(X=_input(shape, dtype), Y=Attempt(OUTPUT))
                for name, (shape, dtype) in CENTERED_SHAPES.items()
            },
            "parameters": Attempt(Int(min=0)),
        }
    ),
)
def centered_all(sub, device, given):
    out = {"parameters": attempt(lambda: len(list(sub.CenteredLayer().parameters())))}
    for name in CENTERED_SHAPES:
        X = given[name].to(device)
        out[name] = {"Y": attempt(lambda X=X: sub.CenteredLayer()(X)), "X": X}
    return out


def centered_dims_given():
    return {"X": torch.rand(2, 3, 5) * 10}


DIMS = (0, 1, 2, -1, -2)


@probe(
    task="CenteredLayer",
    given=centered_dims_given,
    returns=Record(X=_input((2, 3, 5)), Y=Record({str(d): Attempt(OUTPUT) for d in DIMS})),
)
def centered_dims(sub, given):
    X = given["X"]
    return {"Y": {str(d): attempt(lambda d=d: sub.CenteredLayer(dim=d)(X)) for d in DIMS}, "X": X}


def centered_in_net_given():
    return {"linear": torch.nn.Linear(8, 32), "X": torch.rand(4, 8)}


@probe(
    task="CenteredLayer",
    given=centered_in_net_given,
    returns=Record(Y=Attempt(OUTPUT), parameters=Attempt(ListOf(Str(max_len=200), max_len=100))),
)
def centered_in_net(sub, given):
    made = attempt(lambda: torch.nn.Sequential(given["linear"], sub.CenteredLayer()))
    if "error" in made:
        return {"Y": made, "parameters": made}
    net = made["value"]
    return {
        "Y": attempt(net, given["X"]),
        "parameters": attempt(lambda: [n for n, _ in net.named_parameters()]),
    }


def centered_gradient_given():
    return {"X": torch.randn(3, 4), "G": torch.randn(3, 4)}


GRADIENT_DIMS = ("None", "0", "1")


@probe(
    task="CenteredLayer",
    given=centered_gradient_given,
    returns=Record({d: Attempt(Optional(Tensor(shape=(3, 4), dtype=torch.float32))) for d in GRADIENT_DIMS}),
)
def centered_gradient(sub, given):
    """The gradient of sum(G * CenteredLayer(dim)(X)) with respect to X: G minus its mean (the
    mean is part of the graph)."""

    def gradient(dim):
        X = given["X"].clone().requires_grad_()
        layer = sub.CenteredLayer() if dim is None else sub.CenteredLayer(dim=dim)
        (layer(X) * given["G"]).sum().backward()
        return X.grad

    return {d: attempt(gradient, None if d == "None" else int(d)) for d in GRADIENT_DIMS}


# ---------------------------------------------------------------------------- MyLinear


@probe(
    task="MyLinear",
    returns=Attempt(
        Record(
            parameters=NAMED_SHAPES,
            weight=Optional(Tensor(max_numel=100_000)),
            bias=Optional(Tensor(max_numel=100_000)),
            distinct=Optional(Bool()),
        )
    ),
)
def mylinear_parameters(sub):
    def observe():
        layer = sub.MyLinear(64, 128)
        weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
        other = getattr(sub.MyLinear(64, 128), "weight", None)  # a second layer must draw its own values
        distinct = None
        if isinstance(weight, torch.Tensor) and isinstance(other, torch.Tensor) and weight.shape == other.shape:
            distinct = not torch.equal(weight.detach(), other.detach())
        return {
            "parameters": sorted([name, list(p.shape)] for name, p in layer.named_parameters()),
            "weight": weight if isinstance(weight, torch.Tensor) else None,
            "bias": bias if isinstance(bias, torch.Tensor) else None,
            "distinct": distinct,
        }

    return attempt(observe)


def mylinear_forward_given():
    return {"X": torch.randn(6, 5), "weight": torch.randn(5, 3), "bias": torch.randn(3)}


@probe(
    task="MyLinear",
    given=mylinear_forward_given,
    returns=Record(
        layer=Attempt(Bool()),
        X=_input((6, 5)),
        Y=Optional(Attempt(OUTPUT)),
        backward=BACKWARD,
        grad_weight=GRAD,
        grad_bias=GRAD,
        registered=Optional(ListOf(Str(max_len=200), max_len=100)),
    ),
)
def mylinear_forward(sub, device, given):
    X = given["X"].to(device)
    values = {"weight": given["weight"], "bias": given["bias"]}
    made = attempt(_prepared, sub.MyLinear, (5, 3), "MyLinear(5, 3)", device, values, transposed_ok=True)
    out = {"layer": made, "X": X, "Y": None, "backward": None, "grad_weight": None, "grad_bias": None}
    out["registered"] = None
    if "error" in made:
        return out
    layer, transposed = made["value"]
    out["layer"] = {"value": transposed}
    out["Y"] = attempt(layer, X)
    out["backward"] = _backward(out["Y"].get("value"))
    registered = dict(layer.named_parameters())  # what an optimizer built from parameters() would train
    out["registered"] = sorted(registered)
    out["grad_weight"] = getattr(registered.get("weight"), "grad", None)
    out["grad_bias"] = getattr(registered.get("bias"), "grad", None)
    return out


# --------------------------------------------------------------------- TensorReduction


@probe(
    task="TensorReduction",
    returns=Record(wide=Attempt(NAMED_SHAPES), tiny=Attempt(NAMED_SHAPES)),
)
def reduction_parameters(sub):
    def shapes(*args):
        return [[name, list(p.shape)] for name, p in sub.TensorReduction(*args).named_parameters()]

    return {"wide": attempt(shapes, 4, 3), "tiny": attempt(shapes, 1, 1)}


def reduction_forward_given():
    return {"X": torch.randn(7, 5), "weight": torch.randn(3, 5, 5) / 5}


@probe(
    task="TensorReduction",
    given=reduction_forward_given,
    returns=Record(
        layer=Attempt(Bool()),
        X=_input((7, 5)),
        Y=Optional(Attempt(OUTPUT)),
        backward=BACKWARD,
        grad=GRAD,
        registered=Optional(ListOf(Str(max_len=200), max_len=100)),
    ),
)
def reduction_forward(sub, device, given):
    X = given["X"].to(device)
    made = attempt(_prepared, sub.TensorReduction, (5, 3), "TensorReduction(5, 3)", device, {"weight": given["weight"]})
    out = {"layer": made, "X": X, "Y": None, "backward": None, "grad": None, "registered": None}
    if "error" in made:
        return out
    layer, _ = made["value"]
    out["layer"] = {"value": False}
    out["Y"] = attempt(layer, X)
    out["backward"] = _backward(out["Y"].get("value"))
    registered = dict(layer.named_parameters())
    out["registered"] = sorted(registered)
    out["grad"] = getattr(registered.get("weight"), "grad", None)
    return out


def reduction_single_given():
    return {"X": torch.randn(1, 3), "weight": torch.randn(1, 3, 3)}


@probe(
    task="TensorReduction",
    given=reduction_single_given,
    returns=Record(layer=Attempt(Bool()), X=_input((1, 3)), Y=Optional(Attempt(OUTPUT))),
)
def reduction_single(sub, device, given):
    """The smallest case: one example, one output. The result is still (N, out) = (1, 1)."""
    X = given["X"].to(device)
    made = attempt(_prepared, sub.TensorReduction, (3, 1), "TensorReduction(3, 1)", device, {"weight": given["weight"]})
    if "error" in made:
        return {"layer": made, "X": X, "Y": None}
    return {"layer": {"value": False}, "X": X, "Y": attempt(made["value"][0], X)}


def reduction_rows_given():
    return {"X": torch.randn(6, 4), "weight": torch.randn(2, 4, 4) / 4}


@probe(
    task="TensorReduction",
    given=reduction_rows_given,
    returns=Record(
        layer=Attempt(Bool()),
        X=_input((6, 4)),
        full=Optional(Attempt(OUTPUT)),
        single=Optional(Attempt(OUTPUT)),
        flipped=Optional(Attempt(OUTPUT)),
    ),
)
def reduction_rows(sub, given):
    X = given["X"]
    single, flipped = X[2:3].clone(), X.flip(0)  # built before any call: each call gets its own input
    made = attempt(_prepared, sub.TensorReduction, (4, 2), "TensorReduction(4, 2)", None, {"weight": given["weight"]})
    out = {"layer": made, "X": X, "full": None, "single": None, "flipped": None}
    if "error" in made:
        return out
    layer, _ = made["value"]
    out["layer"] = {"value": False}
    out["full"] = attempt(layer, X)
    out["single"] = attempt(layer, single)
    out["flipped"] = attempt(layer, flipped)
    return out


# ------------------------------------------------------------------------- FourierHalf

FOURIER_SIZES = (8, 7, 2, 1)


def fourier_given():
    given = {str(n): torch.randn(3, n) for n in FOURIER_SIZES}
    given["batched"] = torch.randn(2, 3, 6, dtype=torch.float64)
    return given


_FOURIER_CASES = {str(n): Record(X=_input((3, n)), Y=Attempt(OUTPUT)) for n in FOURIER_SIZES}
_FOURIER_CASES["batched"] = Record(X=_input((2, 3, 6), torch.float64), Y=Attempt(OUTPUT))


@probe(
    task="FourierHalf",
    given=fourier_given,
    returns=Record({"parameters": Attempt(Int(min=0)), **_FOURIER_CASES}),
)
def fourier(sub, device, given):
    out = {"parameters": attempt(lambda: len(list(sub.FourierHalf().parameters())))}
    for key in _FOURIER_CASES:
        X = given[key].to(device)
        out[key] = {"Y": attempt(lambda X=X: sub.FourierHalf()(X)), "X": X}
    return out
