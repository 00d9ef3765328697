"""A stand-in GPU, for runners that have none (most Gradescope runners, a student's laptop).

A probe that takes `device` runs on `cpu` and on `cuda:0`. Without a GPU the `cuda:0` runs would
not happen, and code that forgets `.to(device)`, `device=` or the final `.cpu()` would keep every
point. So on such a runner the sandbox runs them on this stand-in instead:

- a tensor "on" the stand-in is an ordinary CPU tensor whose class (`StandInTensor`,
  `StandInParameter`, ... made on demand for any tensor class) says it is on `cuda:0`. Its values
  are real: what a probe reports from it is compared by the judges like any other result;
- while a stand-in probe runs, a `TorchFunctionMode` (`active()`) sees every call into torch's
  Python API: `.to(device)`, `.cuda()`, `.cpu()`, `device=` and `nn.Module.to` move tensors on or
  off the stand-in (copying, as a real transfer does); every other result lives where its inputs
  live; `.device`, `.is_cuda`, `get_device()` and printing answer as for a CUDA tensor; `.numpy()`
  refuses as it does on a GPU; and a call that mixes a stand-in tensor with a CPU tensor of one
  dimension or more raises CUDA's own error ("Expected all tensors to be on the same device, but
  found at least two devices, cuda:0 and cpu!"), 0-dimensional CPU tensors being allowed as
  CUDA allows them. Copies across devices (`copy_`, assigning into a slice, `load_state_dict`,
  `p.data = ...`, indexing with CPU indices, `torch.tensor` of a list) are allowed as on a GPU;
- `torch.cuda.is_available()`, `device_count()`, `current_device()`, `synchronize()`,
  `torch.accelerator` and friends answer as on a machine with one GPU, only while a stand-in probe
  runs; `torch.save` records a stand-in tensor's storage as `cuda:0`, and `torch.load` (with
  `map_location` naming `cuda`, or a file saved from `cuda:0`) gives stand-in tensors.

On a runner with a GPU the real device is used and none of this is installed. What the stand-in does
not see: code that does not go through torch's Python API (C++ extensions), a storage's own
device, gradients an autograd `Function.backward` receives (they arrive as CPU tensors), threads
started by the submission, and anything about timing, memory or streams.
"""

from __future__ import annotations

import contextlib
import threading

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

DEVICE = torch.device("cuda:0")  # the device the stand-in plays
CPU = torch.device("cpu")
GPUS = 1  # the stand-in runner has one GPU
NAME = "stand-in GPU"
MIXED = "Expected all tensors to be on the same device, but found at least two devices, {} and {}!"
ORDINAL = "CUDA error: invalid device ordinal"
NUMPY = "can't convert {} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."

_DISABLED = torch._C._disabled_torch_function_impl


class StandInTensor(torch.Tensor):
    """A CPU tensor standing for one on the stand-in GPU. Outside `active()` it is a plain tensor."""

    __torch_function__ = _DISABLED


_TAGGED: dict[type, type] = {torch.Tensor: StandInTensor}  # a tensor class -> its stand-in class
_HOST: dict[type, type] = {StandInTensor: torch.Tensor}  # a stand-in class -> the class it stands for


def tagged_class(cls: type) -> type | None:
    """The stand-in class of a tensor class (made once), or None when one cannot be made.

    It derives from the class first, so the class's own behaviour (a lazy module's uninitialized
    parameter refusing to compute) is kept, and from StandInTensor, which marks it."""
    if cls in _HOST:
        return cls
    tagged = _TAGGED.get(cls)
    if tagged is None:
        attrs: dict = {"__module__": __name__}
        if cls is nn.Parameter:
            attrs["__new__"] = _parameter_new
        become = getattr(cls, "cls_to_become", None)  # what an uninitialized parameter becomes
        if isinstance(become, type) and issubclass(become, torch.Tensor):
            attrs["cls_to_become"] = tagged_class(become)
        try:
            tagged = type("StandIn" + cls.__name__, (cls, StandInTensor), attrs)
        except TypeError:
            return None
        _TAGGED[cls], _HOST[tagged] = tagged, cls
    return tagged


def _parameter_new(cls, data=None, requires_grad=True):
    """`StandInParameter(data)`: a parameter sharing `data`, as `nn.Parameter(data)` makes one."""
    if data is None:
        data = torch.empty(0)
    return torch.Tensor._make_subclass(cls, data, requires_grad)


StandInParameter = tagged_class(nn.Parameter)


def on_stand_in(t) -> bool:
    return type(t) in _HOST


def tag(t: torch.Tensor) -> torch.Tensor:
    """Put `t` on the stand-in, in place (its class changes; its values and identity stay)."""
    cls = type(t)
    if cls not in _HOST:
        tagged = tagged_class(cls)
        if tagged is not None:
            try:
                t.__class__ = tagged
            except TypeError:  # a class whose layout differs (slots): it stays where it is
                pass
    return t


def untag(t: torch.Tensor) -> torch.Tensor:
    """Take `t` off the stand-in, in place."""
    host = _HOST.get(type(t))
    if host is not None:
        t.__class__ = host
    return t


# ------------------------------------------------------------------------------ devices


def _device(value) -> torch.device:
    """A device argument as a torch.device; `cuda` means the stand-in's current device, cuda:0."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = torch.device("cuda", value)
    device = value if isinstance(value, torch.device) else torch.device(value)
    if device.type == "cuda":
        index = 0 if device.index is None else device.index
        if not 0 <= index < GPUS:
            raise RuntimeError(ORDINAL)
        return torch.device("cuda", index)
    return device


def device_of(t) -> torch.device:
    if type(t) in _HOST:
        return DEVICE
    with _plain():
        return t.device


@contextlib.contextmanager
def _plain():
    """Torch calls inside see no mode (for tensors held by the stand-in's own bookkeeping)."""
    with torch._C.DisableTorchFunction():
        yield


def _tensors(args, kwargs):
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, torch.Tensor):
                    yield item


def _check_same_device(func, args, kwargs) -> None:
    for t in _tensors(args, kwargs):
        if type(t) not in _HOST:
            with _plain():
                if t.dim() == 0 and t.device.type == "cpu":
                    continue  # a CPU scalar tensor, which CUDA kernels accept
                raise RuntimeError(MIXED.format(DEVICE, t.device))


def _tag_results(out, inputs):
    """Put the tensors `out` holds on the stand-in, unless one is an input (an in-place result)."""
    if isinstance(out, torch.Tensor):
        if not any(out is i for i in inputs):
            tag(out)
    elif isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, torch.Tensor) and not any(item is i for i in inputs):
                tag(item)
    return out


# --------------------------------------------------------------------------- the mode


class _Mode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        special = _SPECIAL.get(func)
        if special is not None:
            return special(self, func, args, kwargs)
        stand_in = any(type(t) in _HOST for t in _tensors(args, kwargs))
        if kwargs.get("pin_memory"):  # a GPU machine pins host memory; this one cannot, nor needs to
            kwargs = {**kwargs, "pin_memory": False}
        target = kwargs.get("device")
        if target is not None:
            target = _device(target)
            if target.type == "cuda":
                kwargs = {**kwargs, "device": CPU}
        if stand_in and func not in _MIXES:
            _check_same_device(func, args, kwargs)
        out = func(*args, **kwargs)
        if (target is not None and target.type == "cuda") or (target is None and stand_in):
            return _tag_results(out, (*args, *kwargs.values()))
        return out


def _getter(answer):
    def get(mode, func, args, kwargs):
        return answer if type(args[0]) in _HOST or id(args[0]) in _PRETEND else func(*args, **kwargs)

    return get


def _move(t, target: torch.device, dtype, copy: bool, memory_format):
    """`t.to(target, dtype)`: a copy when the device changes, `t` itself when nothing does."""
    source = device_of(t)
    options = {"dtype": dtype} if dtype is not None else {}
    if memory_format is not None:
        options["memory_format"] = memory_format
    if source == target:
        out = torch.Tensor.to(t, copy=copy, **options)
        return out if out is t else _tag_results(out, ()) if target.type == "cuda" else out
    if source.type == "cuda" and target.type == "cpu":
        return torch.Tensor.to(t, copy=True, **options)  # a fresh CPU tensor: no stand-in class
    if target.type == "cuda":
        if source.type != "cpu":
            raise RuntimeError(f"cannot copy a tensor from {source} to the {NAME}")
        return tag(torch.Tensor.to(t, copy=True, **options))
    return torch.Tensor.to(t, target, copy=copy, **options)  # from the stand-in to meta, say


def _to(mode, func, args, kwargs):
    self, rest, options = args[0], list(args[1:]), dict(kwargs)
    copy = bool(options.pop("copy", False))
    if rest and isinstance(rest[0], torch.Tensor):  # .to(other[, non_blocking, copy]): other's device and dtype
        other = rest.pop(0)
        target, dtype, memory_format = device_of(other), other.dtype, None
        copy = copy or (len(rest) > 1 and bool(rest[1]))
    else:
        if rest and isinstance(rest[0], int) and not isinstance(rest[0], bool):
            rest[0] = _device(rest[0])  # .to(0): cuda:0
        flags = [i for i, a in enumerate(rest) if isinstance(a, bool)]
        if len(flags) > 1:  # .to(device, dtype, non_blocking, copy)
            copy = bool(rest.pop(flags[1]))
        device, dtype, _, memory_format = torch._C._nn._parse_to(*rest, **options)
        target = device_of(self) if device is None else _device(device)
    if target.type != "cuda" and not on_stand_in(self):
        return func(*args, **kwargs)  # nothing to do with the stand-in
    return _move(self, target, dtype, copy, memory_format)


def _cuda(mode, func, args, kwargs):
    device = args[1] if len(args) > 1 else kwargs.get("device")
    target = _device("cuda" if device is None else device)
    if target.type != "cuda":
        raise ValueError(f"Invalid device, must be cuda device, not {target}")
    return _move(args[0], target, None, False, kwargs.get("memory_format"))


def _cpu(mode, func, args, kwargs):
    if type(args[0]) not in _HOST:
        return func(*args, **kwargs)
    return _move(args[0], CPU, None, False, kwargs.get("memory_format"))


def _numpy(mode, func, args, kwargs):
    if type(args[0]) in _HOST:
        raise TypeError(NUMPY.format(DEVICE))
    return func(*args, **kwargs)


def _iter(mode, func, args, kwargs):
    """Iterating a stand-in tensor gives its rows, on the stand-in too."""
    if type(args[0]) not in _HOST:
        return func(*args, **kwargs)
    return iter([tag(row) for row in func(*args, **kwargs)])


def _pin_memory(mode, func, args, kwargs):
    if type(args[0]) in _HOST:
        kind = args[0].type().replace("torch.", "torch.cuda.", 1)
        raise RuntimeError(f"cannot pin '{kind}' only dense CPU tensors can be pinned")
    return torch.Tensor.clone(args[0])  # a pinned copy, as far as anyone here can tell


def _set_data(mode, func, args, kwargs):
    """`t.data = value` (and `t.set_(value)`): `t` moves to where `value` is, staying the same object."""
    self, value = args[0], args[1] if len(args) > 1 else None
    out = func(*args, **kwargs)
    if isinstance(value, torch.Tensor) and on_stand_in(value):
        tag(self)
    elif isinstance(value, torch.Tensor):
        untag(self)
    return out


def _from_data(mode, func, args, kwargs):
    """torch.tensor / as_tensor / asarray: on `device`, else where a tensor `data` is, else the CPU."""
    args, kwargs = list(args), dict(kwargs)
    if func is torch.as_tensor and len(args) > 2:  # as_tensor(data, dtype, device)
        kwargs["device"] = args.pop(2)
    data = args[0] if args else kwargs.get("data", kwargs.get("obj"))
    if kwargs.get("device") is not None:
        target = _device(kwargs["device"])
        if target.type == "cuda":
            kwargs["device"] = CPU
    else:
        target = device_of(data) if isinstance(data, torch.Tensor) else CPU
    out = func(*args, **kwargs)
    if not isinstance(out, torch.Tensor):
        return out
    if out is data and device_of(data) != target:  # as_tensor gave its input back: a transfer copies
        out = torch.Tensor.clone(out)
    return tag(out) if target.type == "cuda" and out is not data else out


_PRETEND: set[int] = set()  # tensors whose host class is lent to torch's printing, still on the stand-in


def _repr(mode, func, args, kwargs):
    self = args[0]
    if type(self) not in _HOST:
        return func(*args, **kwargs)
    # torch prints `tensor(...)` for its own classes only, and asks the tensor for its device:
    # lend it its host class, and let the stand-in keep answering for its device.
    _PRETEND.add(id(self))
    try:
        with _as_host(self), mode:
            return torch._tensor_str._str(self, tensor_contents=kwargs.get("tensor_contents"))
    finally:
        _PRETEND.discard(id(self))


def _format(mode, func, args, kwargs):
    self = args[0]
    if type(self) not in _HOST:
        return func(*args, **kwargs)
    spec = args[1] if len(args) > 1 else kwargs.get("format_spec", "")
    if self.dim() == 0:
        return self.item().__format__(spec)
    return _repr(mode, torch.Tensor.__repr__, (self,), {}).__format__(spec)


@contextlib.contextmanager
def _as_host(t):
    """`t` with its host class meanwhile (for torch's own code that checks `type(t) is Tensor`)."""
    tagged = type(t)
    untag(t)
    try:
        yield t
    finally:
        t.__class__ = tagged


def _deepcopy(mode, func, args, kwargs):
    self, memo = args[0], args[1] if len(args) > 1 else kwargs.get("memo")
    if type(self) not in _HOST:
        return func(*args, **kwargs)
    with _as_host(self):
        copied = func(self, memo)
    return tag(copied)


_SAVED: dict[int, object] = {}  # storages torch.save met in stand-in tensors (held so ids stay unique)
_LOADED: dict[int, object] = {}  # storages torch.load put on the stand-in


def _reduce(mode, func, args, kwargs):
    self = args[0]
    if type(self) not in _HOST:
        return func(*args, **kwargs)
    storage = self.untyped_storage()
    _SAVED[storage._cdata] = storage
    with _as_host(self):
        return func(*args, **kwargs)


def _location_tag(storage) -> str | None:
    """torch.save's location of a storage: `cuda:0` for one that a stand-in tensor holds."""
    if _STATE.device is None:
        return None
    untyped = getattr(storage, "_untyped_storage", storage)
    return str(DEVICE) if getattr(untyped, "_cdata", None) in _SAVED else None


def _restore(storage, location: str):
    """torch.load's restore of a storage saved on (or mapped to) `cuda:i`: kept on the CPU, noted."""
    if _STATE.device is None or not str(location).startswith("cuda"):
        return None
    index = torch.device(location).index or 0
    if index >= GPUS:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {index} but torch.cuda.device_count() is "
            f"{GPUS}. Please use torch.load with map_location to map your storages to an existing device."
        )
    untyped = getattr(storage, "_untyped_storage", storage)
    _LOADED[untyped._cdata] = untyped
    return storage


def _retag_loaded(value, depth: int = 0, seen: set | None = None):
    """Put on the stand-in every tensor in what torch.load returned whose storage it restored there."""
    seen = set() if seen is None else seen
    if depth > 64 or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        with _plain():
            if value.untyped_storage()._cdata in _LOADED:
                tag(value)
    elif isinstance(value, dict):
        for item in list(value.values()):
            _retag_loaded(item, depth + 1, seen)
    elif isinstance(value, (list, tuple, set)):
        for item in list(value):
            _retag_loaded(item, depth + 1, seen)
    elif isinstance(value, nn.Module):
        for item in value.state_dict(keep_vars=True).values():
            _retag_loaded(item, depth + 1, seen)


_MIXES = {  # calls that may mix devices, as on a GPU
    torch.Tensor.copy_,
    torch.Tensor.__setitem__,
    torch.Tensor.__getitem__,
    torch.Tensor.index_put_,
    torch.Tensor.index_put,
    torch.index_put,
    torch.Tensor.new_tensor,
    torch.Tensor.grad.__set__,
    torch._has_compatible_shallow_copy_type,  # nn.Module.to asks it before `param.data = moved`
}

_SPECIAL = {
    torch.Tensor.device.__get__: _getter(DEVICE),
    torch.Tensor.is_cuda.__get__: _getter(True),
    torch.Tensor.is_cpu.__get__: _getter(False),
    torch.Tensor.get_device: _getter(DEVICE.index),
    torch.Tensor.to: _to,
    torch.Tensor.cuda: _cuda,
    torch.Tensor.cpu: _cpu,
    torch.Tensor.numpy: _numpy,
    torch.Tensor.pin_memory: _pin_memory,
    torch.Tensor.is_pinned: lambda mode, func, args, kwargs: False,
    torch.Tensor.__array__: _numpy,
    torch.Tensor.data.__set__: _set_data,
    torch.Tensor.set_: _set_data,
    torch.tensor: _from_data,
    torch.as_tensor: _from_data,
    torch.asarray: _from_data,
    torch.Tensor.__iter__: _iter,
    torch.Tensor.__repr__: _repr,
    torch.Tensor.__format__: _format,
    torch.Tensor.__deepcopy__: _deepcopy,
    torch.Tensor.__reduce_ex__: _reduce,
}


# ------------------------------------------------------------------ torch.cuda and friends


class _Stream:
    """The stand-in's only stream: nothing is ever pending on it."""

    device = DEVICE

    def is_capturing(self) -> bool:
        return False

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass

    def wait_stream(self, stream) -> None:
        pass


class _State(threading.local):
    device: torch.device | None = None


_STATE = _State()
_INSTALLED: list = []


def _switch(owner, name: str, stand_in):
    """Replace `owner.name` by a function that answers `stand_in(...)` while the stand-in is active."""
    original = getattr(owner, name, None)
    if original is None:
        return

    def switched(*args, **kwargs):
        if _STATE.device is not None:
            return stand_in(*args, **kwargs)
        return original(*args, **kwargs)

    switched.__name__ = switched.__qualname__ = name
    switched.__doc__ = original.__doc__
    setattr(owner, name, switched)
    _INSTALLED.append((owner, name, original))


def _set_device(device) -> None:
    _device(device)  # cuda:0 is fine, another index is not


def _loader(original):
    def load(*args, **kwargs):
        _LOADED.clear()
        try:
            out = original(*args, **kwargs)
            if _STATE.device is not None and _LOADED:
                _retag_loaded(out)
            return out
        finally:
            _LOADED.clear()

    load.__name__, load.__qualname__, load.__doc__ = original.__name__, original.__qualname__, original.__doc__
    load.__wrapped__ = original
    return load


def install() -> None:
    """Prepare torch for the stand-in (once per process, before the submission is imported):
    the functions it answers for switch to it only while `active()`; until then they are torch's."""
    if _INSTALLED:
        return
    answers = {
        "is_available": lambda: True,
        "device_count": lambda: GPUS,
        "current_device": lambda: DEVICE.index,
        "is_initialized": lambda: True,
        "_lazy_init": lambda: None,
        "synchronize": lambda device=None: None,
        "set_device": _set_device,
        "get_device_name": lambda device=None: NAME,
        "empty_cache": lambda: None,
        "memory_allocated": lambda device=None: 0,
        "max_memory_allocated": lambda device=None: 0,
        "memory_reserved": lambda device=None: 0,
        "max_memory_reserved": lambda device=None: 0,
        "reset_peak_memory_stats": lambda device=None: None,
        "_exchange_device": lambda device: DEVICE.index,
        "current_stream": lambda device=None: _Stream(),
        "default_stream": lambda device=None: _Stream(),
        "is_current_stream_capturing": lambda: False,
        "_maybe_exchange_device": lambda device: DEVICE.index,
    }
    for name, answer in answers.items():
        _switch(torch.cuda, name, answer)
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None:
        for name, answer in {
            "is_available": lambda: True,
            "device_count": lambda: GPUS,
            "current_accelerator": lambda check_available=False: torch.device("cuda"),
            "current_device_index": lambda: DEVICE.index,
            "synchronize": lambda device=None: None,
            "current_stream": lambda device=None: _Stream(),
        }.items():
            _switch(accelerator, name, answer)
    torch.serialization.register_package(0, _location_tag, _restore)
    load = _loader(torch.serialization.load)
    _INSTALLED.append((torch, "load", torch.load))
    _INSTALLED.append((torch.serialization, "load", torch.serialization.load))
    torch.load = torch.serialization.load = load
    original_new = nn.Parameter.__dict__["__new__"]

    def parameter_new(cls, data=None, requires_grad=True):
        if cls is nn.Parameter and type(data) in _HOST:  # nn.Parameter(a stand-in tensor)
            return _parameter_new(StandInParameter, data, requires_grad)
        return original_new.__func__(cls, data, requires_grad)

    _INSTALLED.append((nn.Parameter, "__new__", original_new))
    nn.Parameter.__new__ = staticmethod(parameter_new)


def uninstall() -> None:
    """Undo `install()` (for the kit's tests; a sandbox child ends instead)."""
    while _INSTALLED:
        owner, name, original = _INSTALLED.pop()
        setattr(owner, name, original)
    torch.serialization._package_registry[:] = [
        entry for entry in torch.serialization._package_registry if entry[1] is not _location_tag
    ]


@contextlib.contextmanager
def active(device: str | torch.device = DEVICE):
    """Run the body with the stand-in playing `device` (cuda:0): see the module's docstring."""
    if _device(device) != DEVICE:
        raise ValueError(f"the stand-in plays {DEVICE} only, not {device}")
    install()
    depth = torch._C._len_torch_function_stack()
    _STATE.device = DEVICE
    _Mode().__enter__()
    try:
        yield
    finally:
        while torch._C._len_torch_function_stack() > depth:  # also a mode the body left open
            torch._C._pop_torch_function_stack()
        _STATE.device = None
        _SAVED.clear()
        _LOADED.clear()
