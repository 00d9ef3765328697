"""What a judge author writes with. Judges are pytest tests that run in the grader.

    from autograder.judging import task, unwrap, assert_close

    @task("MySequential", points=2)
    def test_same_as_nn_sequential(seq_forward):       # seq_forward: the probe's data
        "forward chains the modules in order"           # the name students see
        ref = nn.Sequential(...)
        assert_close(unwrap(seq_forward["Y"], "net(X)"), ref(seq_forward["X"]),
                     "MySequential's output differs from nn.Sequential's")

A judge never sees student objects, only the plain data its probes returned. What a student
reads when a judge fails is the message of its AssertionError, nothing of the judge's source:
write every assert with a message that teaches (`assert ok, "what went wrong and why"`).
"""

from __future__ import annotations

import re

import pytest
import torch

from autograder.i18n import N_
from autograder.judge_runner import TASK_MARK
from autograder.wire import MetaTensor, Opaque

# torch.testing.assert_close's default (rtol, atol) per dtype; other dtypes compare exactly.
# (torch.testing itself imports torch.distributed on first use: a second per grading process.)
_TOLERANCES = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
    torch.complex64: (1.3e-6, 1e-5),
    torch.complex128: (1e-7, 1e-7),
}


def task(task_id: str, points: float = 0):
    """Tag a judge with the catalog task it grades and the points it carries."""
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise TypeError(f"task {task_id!r}: points must be a non-negative number")
    return getattr(pytest.mark, TASK_MARK)(task_id, points=points)


_CAUSE_ID = re.compile(r"[a-z][a-z0-9-]{1,47}")


class Mistake(AssertionError):
    """A failure whose message names its cause: a short id (`"plain-list"`) for the mistake the
    judge *verified*, not one it suspects. Fail with a plain `assert` (saying what differs: a
    shape, values at an index, a count) when the data cannot tell the cause apart; raise a
    Mistake only after checking that the data shows this cause and no other. The kit's corpus
    test holds every named cause against the mistake each case was written with.

        if got_ids == [first_id] * n:            # the same object n times: verified
            raise Mistake("reused-instance", f"all {n} modules are one object: call factory() n times")
    """

    def __init__(self, cause: str, message: str) -> None:
        if not isinstance(cause, str) or not _CAUSE_ID.fullmatch(cause):
            raise ValueError(f"a Mistake's cause is a short lowercase id such as 'plain-list', not {cause!r}")
        super().__init__(message)
        self.cause = cause


# Phrasings judges write with only short words between their fields (`f"{call} is {got},
# expected {want}"`), which an assignment's catalog does not take as messages: translated here
# once for every assignment (autograder.i18n.localize matches them whatever the fields hold).
COMMON_PHRASES = (
    N_("{what} is {got}, expected {expected}"),
    N_("{what} has {got}, expected {expected}"),
    N_("{what} returned {got}, expected {expected}"),
    N_("{what} returned {got}"),
    N_("{what} maps {inputs} to {got}, expected {expected}"),
    N_("{what}: {key} differs"),
    N_("{what} should {do}"),
)


def describe(value) -> str:
    """A short, student-facing description of a value's kind."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        return N_("a {dtype} tensor of shape {shape}", dtype=dtype, shape=tuple(value.shape))
    if isinstance(value, MetaTensor):
        return N_("a meta tensor of shape {shape}", shape=value.shape)
    if isinstance(value, Opaque):
        return N_("an object of type {type}", type=value.type_name)
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def unwrap(attempted: dict, what: str):
    """The value of an `attempt(...)` from a probe, or a failure quoting the student's error."""
    if not isinstance(attempted, dict) or not ({"value"} == set(attempted) or {"error"} == set(attempted)):
        raise AssertionError(N_("{what}: the sandbox returned malformed data", what=what))
    if "value" in attempted:
        return attempted["value"]
    error = attempted["error"]
    text = N_("{what} raised {type}: {message}", what=what, type=error.get("type"), message=error.get("message"))
    if error.get("traceback"):
        text += "\n" + error["traceback"]
    raise AssertionError(text)


def failed(attempted: dict) -> bool:
    return isinstance(attempted, dict) and "error" in attempted


def error_type(attempted: dict) -> str | None:
    """The exception type name an `attempt` raised, or None if it returned."""
    if failed(attempted):
        return attempted["error"].get("type")
    return None


def expect_tensor(value, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise AssertionError(N_("{what} should be a tensor, but it is {kind}", what=what, kind=describe(value)))
    return value


def mismatch(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    allow_empty: bool = False,
    allow_nonfinite: bool = False,
) -> str | None:
    """None if `actual` is close to `expected` (same shape and dtype); else what differs.

    Never vacuous: an empty comparison, or one where either side holds NaN or ±inf, fails
    unless the judge asks for it (`allow_empty`, `allow_nonfinite`), so that data made
    empty or infinite cannot pass a check by having nothing to compare."""
    if tuple(actual.shape) != tuple(expected.shape):
        shape, wanted = tuple(actual.shape), tuple(expected.shape)
        return N_("the shape is {shape}, expected {expected}", shape=shape, expected=wanted)
    if actual.dtype != expected.dtype:
        return N_("the dtype is {dtype}, expected {expected}", dtype=actual.dtype, expected=expected.dtype)
    if expected.numel() == 0:
        return None if allow_empty else N_("there are no values to compare (the tensor is empty)")
    if not allow_nonfinite and (expected.is_floating_point() or expected.is_complex()):
        for side, t in ((N_("the result"), actual), (N_("the expected value"), expected)):
            if not bool(torch.isfinite(t).all()):
                count = int((~torch.isfinite(t)).sum())
                if count == 1:
                    return N_("{side} holds 1 NaN or infinite value", side=side)
                return N_("{side} holds {count} NaN or infinite values", side=side, count=count)
    default_rtol, default_atol = _TOLERANCES.get(expected.dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    inexact = expected.is_floating_point() or expected.is_complex()
    close = torch.isclose(actual, expected, rtol=rtol, atol=atol) if inexact else actual == expected
    if bool(close.all()):
        return None
    if inexact:
        difference = (actual - expected).abs()
    else:
        difference = (actual.to(torch.float64) - expected.to(torch.float64)).abs()
    bad = int((~close).sum())
    worst = int(torch.nan_to_num(difference.to(torch.float64), nan=float("inf")).flatten().argmax())
    index = _unravel(worst, tuple(expected.shape))
    return N_(
        "{bad:d} of {total:d} values differ; the largest difference is {largest:.4g} at index {index} "
        "(allowed: {atol:g} + {rtol:g} × |expected|)",
        bad=bad,
        total=expected.numel(),
        largest=difference.flatten()[worst].item(),
        index=index,
        atol=atol,
        rtol=rtol,
    )


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of element `flat` of a row-major tensor of `shape` (torch.unravel_index's first
    call costs a third of a second, paid again in every judging fork)."""
    index = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


def assert_close(
    actual,
    expected: torch.Tensor,
    message: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    allow_empty: bool = False,
    allow_nonfinite: bool = False,
) -> None:
    """Fail with `message` (and what differs) unless `actual` is a tensor close to `expected`."""
    if not isinstance(actual, torch.Tensor):
        text = N_("{message}: the result should be a tensor, but it is {kind}", message=message, kind=describe(actual))
        raise AssertionError(text)
    problem = mismatch(actual, expected, rtol=rtol, atol=atol, allow_empty=allow_empty, allow_nonfinite=allow_nonfinite)
    if problem is not None:
        raise AssertionError(f"{message}: {problem}")


def matches(
    actual,
    expected: torch.Tensor,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    allow_empty: bool = False,
    allow_nonfinite: bool = False,
) -> bool:
    """Whether `actual` is a tensor close to `expected` (for telling mistakes apart)."""
    if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != tuple(expected.shape):
        return False
    return (
        mismatch(
            actual,
            expected.to(actual.dtype),
            rtol=rtol,
            atol=atol,
            allow_empty=allow_empty,
            allow_nonfinite=allow_nonfinite,
        )
        is None
    )


def assert_same_inputs(reported, given: torch.Tensor, what: str) -> None:
    """Fail unless the input a probe reports after the student's call is the one it was given:
    a call that changed its input in place (or a run that reported other inputs) is caught."""
    if not isinstance(reported, torch.Tensor) or tuple(reported.shape) != tuple(given.shape):
        kind = describe(reported)
        raise AssertionError(N_("{what} was changed by your code: it is now {kind}", what=what, kind=kind))
    if reported.dtype != given.dtype or not torch.equal(reported, given.to(reported.dtype)):
        raise AssertionError(
            N_("{what} was changed in place by your code: do not modify the input you are given", what=what)
        )


def assert_nonempty(container, what: str) -> None:
    """Fail when a list, tuple, dict or tensor a judge is about to check has nothing in it."""
    size = container.numel() if isinstance(container, torch.Tensor) else len(container)
    if size == 0:
        raise AssertionError(N_("{what} is empty: there is nothing to check", what=what))
