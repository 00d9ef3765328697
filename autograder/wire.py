"""The trust boundary's data format: plain data as JSON, tensors as safetensors, never pickle.

A probe's result is a tree of None, bool, int, float, str, torch.Tensor, torch.dtype,
torch.device, list, tuple and dict. `encode` (run in the sandbox) turns it into JSON bytes and
one safetensors blob; `decode` (run in the grader) validates both and rebuilds the tree from
plain types only, so whatever the submission returned, the judge sees fresh `torch.Tensor`s
and built-in containers: no subclass, no student object, no code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import torch
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from autograder.frames import DataError

MAX_DEPTH = 40
MAX_NODES = 200_000
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_TENSORS = 4096
MAX_TENSOR_DIMS = 8
# Elements of one tensor counting a zero-sized dimension as 1: a (65536, 0) tensor holds no
# bytes but is not small to a judge that allocates by its shape.
MAX_NOMINAL_ELEMENTS = 1 << 26
OPAQUE_REPR_CHARS = 300
_DEVICE_RE = re.compile(r"^(cpu|cuda|meta|mps|xpu|hpu|xla|privateuseone)(:\d{1,3})?$")


@dataclass(frozen=True)
class Opaque:
    """Stands for a value the boundary does not carry (a student's object): its type and repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


@dataclass(frozen=True)
class MetaTensor:
    """A tensor on the `meta` device: shape and dtype, no data."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def device(self) -> torch.device:
        return torch.device("meta")


# --------------------------------------------------------------------------- encode (sandbox)


def _safe_repr(obj) -> str:
    try:
        text = repr(obj)
    except BaseException as exc:  # a hostile __repr__ only costs its own probe a description
        text = f"<repr failed: {type(exc).__name__}>"
    if not isinstance(text, str):
        text = "<repr returned a non-string>"
    return text[:OPAQUE_REPR_CHARS]


def _type_name(obj) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module in ("builtins", "") else f"{module}.{name}"


def _plain_tensor(t: torch.Tensor) -> torch.Tensor | dict:
    """A detached, contiguous, CPU, base-class copy of `t` (or a marker for meta tensors)."""
    with torch._C.DisableTorchFunctionSubclass():
        t = torch.Tensor.detach(t)
        if t.is_meta:
            return {"__meta_tensor__": {"shape": list(t.shape), "dtype": str(t.dtype)}}
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.is_quantized:
            t = t.dequantize()
        t = t.to("cpu").resolve_conj().resolve_neg().contiguous().clone()
    if type(t) is not torch.Tensor:
        t = t.as_subclass(torch.Tensor)
    return t


class _Encoder:
    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self.nodes = 0

    def node(self, obj, depth: int):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise DataError(f"the result has more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise DataError(f"the result is nested more than {MAX_DEPTH} levels deep")
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        if isinstance(obj, torch.Tensor):
            plain = _plain_tensor(obj)
            if isinstance(plain, dict):
                return plain
            marker: dict = {"__tensor__": f"t{len(self.tensors)}"}
            if plain.is_complex():
                marker["complex"] = True
                plain = torch.view_as_real(plain).clone()
            self.tensors[marker["__tensor__"]] = plain
            return marker
        if isinstance(obj, torch.dtype):
            return {"__dtype__": str(obj)}
        if isinstance(obj, torch.device):
            return {"__device__": str(obj)}
        if isinstance(obj, bool):  # bool subclasses cannot exist, but int/float/str ones can
            return bool(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, tuple):  # torch.Size and named tuples too
            return {"__tuple__": [self.node(x, depth + 1) for x in tuple.__iter__(obj)]}
        if isinstance(obj, list):
            return [self.node(x, depth + 1) for x in list.__iter__(obj)]
        if isinstance(obj, dict):
            return {"__dict__": [[self.key(k, depth), self.node(v, depth + 1)] for k, v in dict.items(obj)]}
        if type(obj).__module__ == "numpy":
            import numpy as np

            if isinstance(obj, np.ndarray):
                return self.node(torch.from_numpy(np.array(obj)), depth)
            if isinstance(obj, np.generic):
                return self.node(obj.item(), depth)
        return {"__opaque__": {"type": _type_name(obj), "repr": _safe_repr(obj)}}

    def key(self, k, depth: int):
        if k is None or isinstance(k, (bool, int, float, str)):
            return self.node(k, depth + 1)
        if isinstance(k, tuple):
            return self.node(k, depth + 1)
        return {"__opaque__": {"type": _type_name(k), "repr": _safe_repr(k)}}


def encode(obj) -> tuple[bytes, bytes]:
    """(JSON bytes, safetensors bytes) for a probe's result."""
    enc = _Encoder()
    tree = enc.node(obj, 0)
    text = json.dumps(tree, allow_nan=True, separators=(",", ":")).encode("utf-8")
    blob = _st_save(enc.tensors) if enc.tensors else b""
    return text, blob


# --------------------------------------------------------------------------- decode (grader)


def _dtype(name) -> torch.dtype:
    if not isinstance(name, str) or not name.startswith("torch."):
        raise DataError(f"not a dtype name: {name!r}")
    value = getattr(torch, name[len("torch.") :], None)
    if not isinstance(value, torch.dtype):
        raise DataError(f"not a dtype name: {name!r}")
    return value


class _Decoder:
    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = tensors
        self.nodes = 0

    def node(self, obj, depth: int):
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise DataError("the result is too large or too deeply nested")
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        if type(obj) is list:
            return [self.node(x, depth + 1) for x in obj]
        if type(obj) is not dict or len(obj) not in (1, 2):
            raise DataError(f"unexpected element of type {type(obj).__name__}")
        if "__tensor__" in obj:
            name = obj["__tensor__"]
            if name not in self.tensors or set(obj) - {"__tensor__", "complex"}:
                raise DataError(f"a tensor reference is broken: {obj!r:.80}")
            t = self.tensors[name]
            if obj.get("complex"):
                if t.dtype not in (torch.float16, torch.float32, torch.float64) or t.dim() == 0 or t.shape[-1] != 2:
                    raise DataError("a complex tensor is malformed")
                t = torch.view_as_complex(t.contiguous())
            return t
        if len(obj) != 1:
            raise DataError(f"unexpected element: {obj!r:.80}")
        ((kind, value),) = obj.items()
        if kind == "__tuple__" and type(value) is list:
            return tuple(self.node(x, depth + 1) for x in value)
        if kind == "__dict__" and type(value) is list:
            out = {}
            for pair in value:
                if type(pair) is not list or len(pair) != 2:
                    raise DataError("a dict entry is malformed")
                key = self.node(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise DataError("a dict key is not hashable") from None
                out[key] = self.node(pair[1], depth + 1)
            return out
        if kind == "__dtype__":
            return _dtype(value)
        if kind == "__device__":
            if not isinstance(value, str) or not _DEVICE_RE.match(value):
                raise DataError(f"not a device: {value!r:.40}")
            return torch.device(value)
        if kind == "__meta_tensor__" and type(value) is dict:
            shape = value.get("shape")
            if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
                raise DataError("a meta tensor's shape is malformed")
            check_tensor_size(shape)
            return MetaTensor(tuple(shape), _dtype(value.get("dtype")))
        if kind == "__opaque__" and type(value) is dict:
            type_name, text = value.get("type"), value.get("repr")
            if not isinstance(type_name, str) or not isinstance(text, str):
                raise DataError("an opaque value is malformed")
            return Opaque(type_name[:200], text[:OPAQUE_REPR_CHARS])
        raise DataError(f"unexpected element: {kind!r:.40}")


def decode(text: bytes, blob: bytes, *, max_bytes: int) -> object:
    """Validate and rebuild what `encode` produced. Raises DataError on anything else."""
    if len(text) > MAX_JSON_BYTES:
        raise DataError(f"the result's JSON part is larger than {MAX_JSON_BYTES} bytes")
    if len(blob) > max_bytes:
        raise DataError(f"the result's tensors take {len(blob)} bytes, more than {max_bytes}")
    try:
        tree = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"the result is not valid JSON: {exc}") from None
    tensors: dict[str, torch.Tensor] = {}
    if blob:
        try:
            tensors = _st_load(blob)
        except Exception as exc:  # safetensors reports malformed input with several types
            raise DataError(f"the result's tensors are not valid safetensors: {exc}") from None
    if len(tensors) > MAX_TENSORS:
        raise DataError(f"the result holds {len(tensors)} tensors, more than {MAX_TENSORS}")
    for t in tensors.values():
        check_tensor_size(t.shape)
    return _Decoder(tensors).node(tree, 0)


def check_tensor_size(shape) -> None:
    """Refuse a shape no judge should be asked to work with (see MAX_NOMINAL_ELEMENTS)."""
    if len(shape) > MAX_TENSOR_DIMS:
        raise DataError(f"a tensor has {len(shape)} dimensions, more than {MAX_TENSOR_DIMS}")
    nominal = 1
    for size in shape:
        nominal *= max(int(size), 1)
    if nominal > MAX_NOMINAL_ELEMENTS:
        raise DataError(f"a tensor of shape {tuple(shape)} is larger than the grader accepts")
