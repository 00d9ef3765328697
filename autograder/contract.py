"""The typed probe→judge contract: what a probe declares it returns, checked in the grader.

A probe's data comes from a process that ran student code, so the grader trusts none of it.
Every probe declares the shape of what it returns with these specs, and `check` holds the
decoded data against that declaration before any judge sees it:

    from autograder.contract import Attempt, Record, Tensor, ListOf, Int

    @probe(task="MySequential", returns=Record(
        X=Tensor(shape=(2, 20), finite=True),           # what the probe built: exact shape
        Y=Attempt(Tensor(max_numel=10_000)),            # what student code returned: bounded
    ))
    def seq_forward(sub, device, given): ...

Two kinds of declaration, on purpose:
- data the *probe* built (inputs, its own layers' weights) is declared exactly (shape,
  dtype, finite, non-empty): a mismatch means the sandbox was tampered with;
- data *student code* produced is declared by bounds only (sizes, nesting), so a wrong
  answer still reaches the judge, which then says what is wrong with it.

A violation fails that probe's judges with a message naming the path and what was wrong.
Specs are plain frozen dataclasses (no torch needed to build them); checking needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_NUMEL = 1 << 20  # elements in one tensor unless a spec says otherwise
DEFAULT_MAX_LEN = 1000  # items in one list or dict unless a spec says otherwise
DEFAULT_MAX_STR = 2000  # characters in one string unless a spec says otherwise


class ContractError(ValueError):
    """Probe data that does not match its probe's declaration; the message names the path."""


class Spec:
    """Base of every declaration. `check(value, path)` raises ContractError or returns None."""

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _fail(path: str, expected: str, value: Any) -> None:
    raise ContractError(f"{path or 'the result'}: expected {expected}, got {_kind(value)}")


def _kind(value: Any) -> str:
    import torch

    from autograder.wire import MetaTensor, Opaque

    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, MetaTensor):
        return f"a meta tensor of shape {value.shape}"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name[:60]}"
    if value is None:
        return "None"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class Anything(Spec):
    """Any wire value (the global caps of `wire` still apply). For values a judge only shows."""

    def check(self, value, path):
        return None

    def describe(self):
        return "any value"


@dataclass(frozen=True)
class Bool(Spec):
    def check(self, value, path):
        if type(value) is not bool:
            _fail(path, "a bool", value)

    def describe(self):
        return "a bool"


@dataclass(frozen=True)
class Int(Spec):
    min: int | None = None
    max: int | None = None

    def check(self, value, path):
        if type(value) is not int:
            _fail(path, self.describe(), value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ContractError(f"{path}: expected {self.describe()}, got {value}")

    def describe(self):
        bounds = f" in [{self.min}, {self.max}]" if self.min is not None or self.max is not None else ""
        return f"an int{bounds}"


@dataclass(frozen=True)
class Float(Spec):
    finite: bool = False
    ints_too: bool = True  # 1 and 1.0 are both numbers to a judge

    def check(self, value, path):
        import math

        allowed = (float, int) if self.ints_too else (float,)
        if type(value) not in allowed:
            _fail(path, "a number", value)
        if self.finite and not math.isfinite(value):
            raise ContractError(f"{path}: expected a finite number, got {value}")

    def describe(self):
        return "a finite number" if self.finite else "a number"


@dataclass(frozen=True)
class Str(Spec):
    max_len: int = DEFAULT_MAX_STR

    def check(self, value, path):
        if type(value) is not str:
            _fail(path, "a string", value)
        if len(value) > self.max_len:
            raise ContractError(f"{path}: a string of {len(value)} characters, more than {self.max_len}")

    def describe(self):
        return "a string"


@dataclass(frozen=True)
class DType(Spec):
    def check(self, value, path):
        import torch

        if not isinstance(value, torch.dtype):
            _fail(path, "a dtype", value)

    def describe(self):
        return "a dtype"


@dataclass(frozen=True)
class Device(Spec):
    def check(self, value, path):
        import torch

        if not isinstance(value, torch.device):
            _fail(path, "a device", value)

    def describe(self):
        return "a device"


@dataclass(frozen=True)
class Tensor(Spec):
    """A tensor. `shape` is exact (None in it: any size there); otherwise `max_numel` and
    `max_dim` bound it, counting a zero-sized dimension as 1 so that a (65536, 0) tensor is
    not 'small'. `finite` refuses NaN and ±inf; `nonempty` refuses zero elements."""

    dtype: Any = None  # a torch.dtype, a tuple of them, or None for any
    shape: tuple | None = None
    max_numel: int = DEFAULT_MAX_NUMEL
    max_dim: int = 8
    finite: bool = False
    nonempty: bool = False
    meta_ok: bool = False  # a MetaTensor (shape and dtype only) is acceptable

    def check(self, value, path):
        import torch

        from autograder.wire import MetaTensor

        if isinstance(value, MetaTensor) and self.meta_ok:
            shape, dtype = value.shape, value.dtype
        elif isinstance(value, torch.Tensor):
            shape, dtype = tuple(value.shape), value.dtype
        else:
            _fail(path, self.describe(), value)
        if len(shape) > self.max_dim:
            raise ContractError(f"{path}: a tensor of {len(shape)} dimensions, more than {self.max_dim}")
        nominal = 1
        for size in shape:
            nominal *= max(int(size), 1)
        if nominal > self.max_numel:
            raise ContractError(f"{path}: a tensor of shape {shape}, larger than {self.max_numel} values")
        if self.shape is not None:
            want = tuple(self.shape)
            if len(want) != len(shape) or any(w is not None and w != s for w, s in zip(want, shape)):
                raise ContractError(f"{path}: expected {self.describe()}, got shape {shape}")
        if self.dtype is not None:
            allowed = self.dtype if isinstance(self.dtype, tuple) else (self.dtype,)
            if dtype not in allowed:
                raise ContractError(f"{path}: expected {self.describe()}, got dtype {dtype}")
        if self.nonempty and 0 in shape:
            raise ContractError(f"{path}: expected a non-empty tensor, got shape {shape}")
        if self.finite and isinstance(value, torch.Tensor) and value.numel():
            if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
                raise ContractError(f"{path}: expected finite values, found NaN or infinity")

    def describe(self):
        parts = ["a tensor"]
        if self.dtype is not None:
            names = self.dtype if isinstance(self.dtype, tuple) else (self.dtype,)
            parts.append("of dtype " + " or ".join(str(d).replace("torch.", "") for d in names))
        if self.shape is not None:
            parts.append("of shape (" + ", ".join("*" if s is None else str(s) for s in self.shape) + ")")
        return " ".join(parts)


@dataclass(frozen=True)
class Optional(Spec):
    """None, or a value of `spec`."""

    spec: Spec

    def check(self, value, path):
        if value is not None:
            self.spec.check(value, path)

    def describe(self):
        return f"None or {self.spec.describe()}"


@dataclass(frozen=True)
class OneOf(Spec):
    """A value matching any of `specs` (the first that fits)."""

    specs: tuple[Spec, ...]

    def __init__(self, *specs: Spec) -> None:
        object.__setattr__(self, "specs", tuple(specs))

    def check(self, value, path):
        errors = []
        for spec in self.specs:
            try:
                spec.check(value, path)
                return
            except ContractError as exc:
                errors.append(str(exc))
        raise ContractError(f"{path}: expected {self.describe()}, got {_kind(value)}")

    def describe(self):
        return " or ".join(s.describe() for s in self.specs)


@dataclass(frozen=True)
class ListOf(Spec):
    """A list (or tuple, with `tuple_ok`) of values of `item`, at most `max_len` of them."""

    item: Spec = field(default_factory=Anything)
    max_len: int = DEFAULT_MAX_LEN
    min_len: int = 0
    tuple_ok: bool = False

    def check(self, value, path):
        kinds = (list, tuple) if self.tuple_ok else (list,)
        if type(value) not in kinds:
            _fail(path, self.describe(), value)
        if not self.min_len <= len(value) <= self.max_len:
            raise ContractError(f"{path}: {len(value)} items, expected {self.min_len} to {self.max_len}")
        for i, x in enumerate(value):
            self.item.check(x, f"{path}[{i}]")

    def describe(self):
        return f"a list of {self.item.describe()}"


@dataclass(frozen=True)
class TupleOf(Spec):
    """A tuple (or list) of exactly these items."""

    items: tuple[Spec, ...]

    def __init__(self, *items: Spec) -> None:
        object.__setattr__(self, "items", tuple(items))

    def check(self, value, path):
        if type(value) not in (tuple, list) or len(value) != len(self.items):
            _fail(path, f"a tuple of {len(self.items)} items", value)
        for i, (spec, x) in enumerate(zip(self.items, value)):
            spec.check(x, f"{path}[{i}]")

    def describe(self):
        return f"a tuple of {len(self.items)} items"


@dataclass(frozen=True)
class DictOf(Spec):
    """A dict with keys of `key` and values of `value`, at most `max_len` entries."""

    key: Spec = field(default_factory=Anything)
    value: Spec = field(default_factory=Anything)
    max_len: int = DEFAULT_MAX_LEN

    def check(self, value, path):
        if type(value) is not dict:
            _fail(path, "a dict", value)
        if len(value) > self.max_len:
            raise ContractError(f"{path}: {len(value)} entries, more than {self.max_len}")
        for k, v in value.items():
            self.key.check(k, f"{path}.<key {str(k)[:40]!r}>")
            self.value.check(v, f"{path}[{str(k)[:40]!r}]")

    def describe(self):
        return f"a dict of {self.value.describe()}"


class Tree(Spec):
    """Any nesting of lists, tuples and dicts, at most `max_len` long and `max_depth` deep, each
    tensor (dict keys included) within `tensor`'s bounds; other wire values are accepted, for
    the judge to describe. For what student code returns where any container is legitimate
    (`to_device`'s result, a loaded checkpoint)."""

    def __init__(self, tensor: Tensor | None = None, max_len: int = 64, max_depth: int = 6) -> None:
        self.tensor = tensor if tensor is not None else Tensor(max_numel=10_000, meta_ok=True)
        self.max_len, self.max_depth = max_len, max_depth

    def check(self, value, path, depth: int = 0):
        import torch

        from autograder.wire import MetaTensor

        if isinstance(value, (torch.Tensor, MetaTensor)):
            self.tensor.check(value, path)
        elif type(value) in (list, tuple, dict):
            if depth >= self.max_depth:
                raise ContractError(f"{path}: nested more than {self.max_depth} levels deep")
            if len(value) > self.max_len:
                raise ContractError(f"{path}: {len(value)} items, more than {self.max_len}")
            for key, item in value.items() if type(value) is dict else enumerate(value):
                where = f"{path}[{str(key)[:40]!r}]" if type(value) is dict else f"{path}[{key}]"
                if type(value) is dict:
                    self.check(key, f"{where}.<key>", depth + 1)
                self.check(item, where, depth + 1)

    def describe(self):
        return "nested lists, tuples and dicts of bounded tensors and plain values"

    def __repr__(self) -> str:
        return f"Tree({self.tensor!r}, max_len={self.max_len}, max_depth={self.max_depth})"


class Record(Spec):
    """A dict with exactly these keys (string keys as keyword arguments; any keys via `fields`)."""

    def __init__(self, fields: dict | None = None, /, **named: Spec) -> None:
        self.fields: dict = {**(fields or {}), **named}
        for key, spec in self.fields.items():
            if not isinstance(spec, Spec):
                raise TypeError(f"Record field {key!r}: {spec!r} is not a spec")

    def check(self, value, path):
        if type(value) is not dict:
            _fail(path, self.describe(), value)
        missing = [k for k in self.fields if k not in value]
        extra = [k for k in value if k not in self.fields]
        if missing or extra:
            what = []
            if missing:
                what.append("missing " + ", ".join(repr(k) for k in missing[:5]))
            if extra:
                what.append("unexpected " + ", ".join(repr(k)[:40] for k in extra[:5]))
            raise ContractError(f"{path or 'the result'}: {'; '.join(what)}")
        for k, spec in self.fields.items():
            spec.check(value[k], f"{path}.{k}" if path else str(k))

    def describe(self):
        return "a dict with keys " + ", ".join(repr(k) for k in self.fields)

    def __repr__(self) -> str:
        return f"Record({self.fields!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Record) and other.fields == self.fields

    __hash__ = None


ERROR = Record(type=Str(max_len=200), message=Str(max_len=5000), traceback=Str(max_len=5000))


@dataclass(frozen=True)
class Attempt(Spec):
    """What `probing.attempt` returns: {"value": <spec>} or {"error": <a student exception>}."""

    value: Spec = field(default_factory=Anything)

    def check(self, value, path):
        if type(value) is not dict or set(value) not in ({"value"}, {"error"}):
            _fail(path, "the result of a call (a value or an error)", value)
        if "value" in value:
            self.value.check(value["value"], f"{path}.value")
        else:
            ERROR.check(value["error"], f"{path}.error")

    def describe(self):
        return f"a call's result ({self.value.describe()}, or an error)"


def check(spec: Spec, value: Any, probe: str) -> None:
    """Hold `value` (decoded probe data) against `spec`; ContractError names the probe and path."""
    try:
        spec.check(value, "")
    except ContractError as exc:
        raise ContractError(f"{probe}: {exc}") from None
    except RecursionError:
        raise ContractError(f"{probe}: the result is nested too deeply") from None


__all__ = [
    "Anything",
    "Attempt",
    "Bool",
    "ContractError",
    "DType",
    "Device",
    "DictOf",
    "Float",
    "Int",
    "ListOf",
    "OneOf",
    "Optional",
    "Record",
    "Spec",
    "Str",
    "Tensor",
    "Tree",
    "TupleOf",
    "check",
]
