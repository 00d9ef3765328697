"""The typed probe→judge contract (`autograder.contract`) and the judging helpers that must
never pass vacuously (`autograder.judging`)."""

import math

import pytest
import torch

from autograder import wire
from autograder.contract import (
    Anything,
    Attempt,
    Bool,
    ContractError,
    DictOf,
    Float,
    Int,
    ListOf,
    OneOf,
    Optional,
    Record,
    Str,
    Tensor,
    TupleOf,
    check,
)
from autograder.frames import DataError
from autograder.judging import _TOLERANCES, assert_close, assert_nonempty, assert_same_inputs, matches, mismatch
from autograder.probing import build_given, probe

FORWARD = Record(X=Tensor(shape=(2, 3), dtype=torch.float32, finite=True), Y=Attempt(Tensor(max_numel=100)))


def through_wire(value):
    return wire.decode(*wire.encode(value), max_bytes=2**20)


def test_data_as_declared_passes():
    data = through_wire({"X": torch.rand(2, 3), "Y": {"value": torch.rand(2, 5)}})
    check(FORWARD, data, "forward")
    check(
        FORWARD,
        through_wire({"X": torch.rand(2, 3), "Y": {"error": {"type": "E", "message": "m", "traceback": ""}}}),
        "f",
    )


@pytest.mark.parametrize(
    "data, words",
    [
        ({"X": torch.rand(2, 3)}, "missing 'Y'"),
        ({"X": torch.rand(2, 3), "Y": {"value": 1}, "Z": 1}, "unexpected 'Z'"),
        ({"X": torch.rand(65536, 0), "Y": {"value": torch.rand(1)}}, "X: expected a tensor"),
        ({"X": torch.rand(2, 3).double(), "Y": {"value": torch.rand(1)}}, "dtype"),
        ({"X": torch.full((2, 3), math.inf), "Y": {"value": torch.rand(1)}}, "NaN or infinity"),
        ({"X": torch.rand(2, 3), "Y": {"value": torch.rand(65536, 0)}}, "larger than 100 values"),
        ({"X": torch.rand(2, 3), "Y": {"value": torch.rand(11, 10)}}, "larger than 100 values"),
        ({"X": torch.rand(2, 3), "Y": {"value": "a string"}}, "Y.value: expected a tensor"),
        ({"X": torch.rand(2, 3), "Y": {"value": 1, "error": 2}}, "a value or an error"),
        ({"X": [1, 2], "Y": {"value": torch.rand(1)}}, "X: expected a tensor"),
    ],
)
def test_violations_name_the_path_and_the_problem(data, words):
    with pytest.raises(ContractError, match=words) as caught:
        check(FORWARD, through_wire(data), "forward")
    assert str(caught.value).startswith("forward: ")


def test_scalar_and_container_specs():
    check(ListOf(Int(min=0, max=3), max_len=3), [0, 3], "p")
    for spec, value in [
        (ListOf(Int(), max_len=2), [1, 2, 3]),
        (Int(min=0), -1),
        (Int(), True),  # a bool is not an int here
        (Float(finite=True), math.nan),
        (Str(max_len=3), "abcd"),
        (Bool(), 1),
        (DictOf(Str(), Int(), max_len=1), {"a": 1, "b": 2}),
        (TupleOf(Int(), Int()), (1,)),
        (OneOf(Int(), Str()), 1.5),
        (ListOf(Int(), min_len=1), []),
    ]:
        with pytest.raises(ContractError):
            check(spec, value, "p")
    check(Optional(Int()), None, "p")
    check(Anything(), {"anything": [1, "x"]}, "p")
    check(Record({0: Int(), -1: Int()}), {0: 1, -1: 2}, "p")


def test_a_deep_structure_is_refused_cleanly():
    value: list = []
    for _ in range(5000):
        value = [value]
    spec: object = Anything()
    for _ in range(5000):
        spec = ListOf(spec)
    with pytest.raises(ContractError, match="nested too deeply|expected"):
        check(spec, value, "p")


def test_wire_caps_shapes_counts_and_depth():
    with pytest.raises(DataError, match="larger than the grader accepts"):
        through_wire({"t": torch.empty(2**16, 2**16, 0)})
    with pytest.raises(DataError, match="dimensions"):
        through_wire(torch.empty([1] * 9))
    with pytest.raises(DataError):
        wire.decode(b"[" * 100_000 + b"]" * 100_000, b"", max_bytes=100)


def test_given_is_rebuilt_identically_and_leaves_the_rng_alone():
    def given():
        return {"layer": torch.nn.Linear(3, 2), "X": torch.rand(4, 3)}

    @probe(task="t", given=given, returns=Anything())
    def p(sub, given):
        return None

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = build_given(p.__blockgrade_probe__)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's RNG state is untouched
    second = build_given(p.__blockgrade_probe__)
    assert torch.equal(first["X"], second["X"]) and torch.equal(first["layer"].weight, second["layer"].weight)


def test_probe_declarations_are_checked_when_written():
    with pytest.raises(TypeError, match="parameters"):
        probe(given=lambda: 1)(lambda sub: None)
    with pytest.raises(TypeError, match="returns="):
        probe(returns={"X": 1})(lambda sub: None)


# ------------------------------------------------------------------ comparisons never vacuous


def test_empty_tensors_do_not_compare_equal_unless_asked():
    empty = torch.empty(0, 3)
    assert mismatch(empty, empty.clone()) is not None
    assert not matches(empty, empty.clone())
    assert mismatch(empty, empty.clone(), allow_empty=True) is None
    with pytest.raises(AssertionError, match="empty"):
        assert_close(empty, empty.clone(), "same output")


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_values_do_not_compare_equal_unless_asked(bad):
    t = torch.tensor([1.0, bad])
    assert mismatch(t, t.clone()) is not None
    with pytest.raises(AssertionError, match="NaN or infinite"):
        assert_close(t, t.clone(), "same output")
    if not math.isnan(bad):
        assert mismatch(t, t.clone(), allow_nonfinite=True) is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_a_mismatch_names_how_many_values_differ_and_where_the_largest_difference_is(dtype):
    expected = torch.arange(12, dtype=dtype).reshape(3, 4)
    actual = expected.clone()
    actual[0, 1] += 1  # a small difference and, below, the largest
    actual[2, 3] -= 5
    rtol, atol = _TOLERANCES.get(dtype, (0.0, 0.0))
    assert mismatch(actual, expected) == (
        "2 of 12 values differ; the largest difference is 5 at index (2, 3) "
        f"(allowed: {atol:g} + {rtol:g} × |expected|)"
    )


def test_inputs_changed_in_place_are_caught():
    X = torch.rand(2, 3)
    assert_same_inputs(X.clone(), X, "X")
    for changed in (X[:0], X * 0, X.double()):
        with pytest.raises(AssertionError, match="changed"):
            assert_same_inputs(changed, X, "The input X")
    with pytest.raises(AssertionError, match="empty"):
        assert_nonempty([], "the list of parameters")
    assert_nonempty({"a": 1}, "d")
