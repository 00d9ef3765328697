"""The boundary's data format: what a probe returns reaches the judge as plain data, and
nothing else gets through."""

import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder import wire
from autograder.frames import DataError
from autograder.wire import MetaTensor, Opaque

DTYPES = [
    torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64, torch.complex128,
]  # fmt: skip
LIMIT = 64 * 2**20


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 4), max_size=3))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=gen).bool()
    if dtype.is_complex:
        return torch.randn(shape, generator=gen, dtype=dtype)
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=gen) * 100).to(dtype)
    return torch.randint(-100 if dtype != torch.uint8 else 0, 100, shape, generator=gen, dtype=dtype)


scalars = st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False) | st.text(max_size=20)
keys = st.text(max_size=8) | st.integers(-5, 5)
trees = st.recursive(
    scalars | tensors(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple) | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=12,
)


def same(a, b) -> bool:
    """Structural equality: same container types, tensors equal in dtype, shape and values."""
    if isinstance(a, torch.Tensor):
        return (
            type(b) is torch.Tensor
            and a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(a.detach().cpu().resolve_conj(), b)
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def roundtrip(obj):
    return wire.decode(*wire.encode(obj), max_bytes=LIMIT)


@given(trees)
def test_roundtrip_keeps_values_types_and_containers(obj):
    assert same(obj, roundtrip(obj))


def test_decoded_tensors_are_fresh_plain_copies():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.Tensor.__eq__:
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    base = torch.arange(6.0, requires_grad=True)
    view = base.detach().reshape(2, 3).t()  # non-contiguous
    liar = torch.zeros(3).as_subclass(Liar)
    out = roundtrip({"grad": base * 2, "view": view, "liar": liar, "expanded": torch.ones(1).expand(4)})
    for t in out.values():
        assert type(t) is torch.Tensor and not t.requires_grad and t.is_contiguous()
    assert torch.equal(out["view"], view.contiguous())
    assert torch.equal(out["grad"], torch.arange(6.0) * 2)
    assert not bool((out["liar"] == torch.ones(3)).all()), "the subclass's __eq__ must not survive"


def test_special_values():
    class Student:
        def __repr__(self):
            return "Student()"

    out = roundtrip(
        {
            "meta": torch.empty(2, 3, device="meta"),
            "dtype": torch.float16,
            "device": torch.device("cpu"),
            "size": torch.Size([2, 3]),
            "object": Student(),
            "nan": float("nan"),
        }
    )
    assert out["meta"] == MetaTensor((2, 3), torch.float32)
    assert out["dtype"] is torch.float16 and out["device"] == torch.device("cpu")
    assert out["size"] == (2, 3) and type(out["size"]) is tuple
    assert isinstance(out["object"], Opaque) and out["object"].text == "Student()"
    assert math.isnan(out["nan"])


def test_hostile_repr_costs_only_a_description():
    class Hostile:
        def __repr__(self):
            raise SystemExit("no")

    (value,) = roundtrip([Hostile()])
    assert isinstance(value, Opaque) and "repr failed" in value.text


@pytest.mark.parametrize(
    "text, blob, message",
    [
        (b"{not json", b"", "not valid JSON"),
        (b'{"__tensor__": "t0"}', b"", "tensor reference is broken"),
        (b'{"__pickle__": "x"}', b"", "unexpected element"),
        (b'{"__dtype__": "torch.nn"}', b"", "not a dtype"),
        (b'{"__device__": "../../etc"}', b"", "not a device"),
        (b'{"a": 1, "b": 2, "c": 3}', b"", "unexpected element"),
        (b'{"__tensor__": "t0"}', b"\x00" * 16, "not valid safetensors"),
        (b"[" * 100 + b"]" * 100, b"", "too deeply nested"),
    ],
)
def test_malformed_data_is_refused(text, blob, message):
    with pytest.raises(DataError, match=message):
        wire.decode(text, blob, max_bytes=LIMIT)


def test_size_limit():
    text, blob = wire.encode(torch.zeros(1000))
    with pytest.raises(DataError, match="more than"):
        wire.decode(text, blob, max_bytes=100)


def test_complex_marker_on_an_integer_tensor_is_refused():
    text, blob = wire.encode(torch.zeros(3, 2, dtype=torch.int64))
    tree = json.loads(text)
    tree["complex"] = True
    with pytest.raises(DataError, match="complex"):
        wire.decode(json.dumps(tree).encode(), blob, max_bytes=LIMIT)


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_arbitrary_bytes_are_decoded_or_refused_with_a_reason(text, blob):
    try:
        wire.decode(text, blob, max_bytes=LIMIT)
    except DataError as exc:  # any other exception type fails the test
        assert str(exc), "a refusal must say why"
