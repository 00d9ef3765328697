"""What a probe author writes with. Probes run in the sandbox, beside the student's code.

    from autograder.probing import probe, attempt

    @probe
    def seq_forward(sub, device):          # `sub` is the student's module
        net = sub.MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)
        X = torch.rand(2, 20, device=device)
        return {"X": X, "Y": attempt(net, X), "state": net.state_dict()}

A probe builds inputs, calls student code and returns plain data (see `wire`). It asserts
nothing: judging happens in the grader. `attempt` captures a student exception as data so one
failing call does not hide the rest of the probe's observations. The sandbox seeds every RNG
before each probe, so a probe sees the same random numbers whatever ran before it.

This module must stay light: it is imported by the sandbox host before any submission runs.
"""

from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass
from typing import Callable

MESSAGE_CHARS = 1500
TRACEBACK_FRAMES = 8
PROBE_ATTRIBUTE = "__blockgrade_probe__"


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    takes_device: bool
    timeout: float | None
    function: Callable


def probe(fn: Callable | None = None, *, timeout: float | None = None):
    """Mark `fn(sub)` or `fn(sub, device)` as a probe; its name is its fixture name in judges."""

    def mark(f: Callable) -> Callable:
        params = list(inspect.signature(f).parameters)
        if params not in (["sub"], ["sub", "device"]):
            raise TypeError(f"probe {f.__name__}: parameters must be (sub) or (sub, device), not {params}")
        setattr(f, PROBE_ATTRIBUTE, ProbeSpec(f.__name__, params == ["sub", "device"], timeout, f))
        return f

    return mark(fn) if fn is not None else mark


def probes_in(namespace: dict) -> dict[str, ProbeSpec]:
    """The probes defined in a loaded probe module, in definition order."""
    found = {}
    for value in namespace.values():
        spec = getattr(value, PROBE_ATTRIBUTE, None)
        if isinstance(spec, ProbeSpec) and spec.function is value:
            found[spec.name] = spec
    return found


def load_probe_modules(paths) -> dict[str, ProbeSpec]:
    """Import probe files by path (under private module names) and gather their probes."""
    import importlib.util
    import sys

    probes: dict[str, ProbeSpec] = {}
    for path in paths:
        name = "blockgrade_probes_" + "".join(c if c.isalnum() else "_" for c in str(path))
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        for probe_name, probe_spec in probes_in(vars(module)).items():
            if probe_name in probes:
                raise ValueError(f"probe {probe_name!r} is defined twice (again in {path})")
            probes[probe_name] = probe_spec
    return probes


class StudentFiles:
    """The files whose frames a student may see in a traceback (set once per sandbox child)."""

    paths: frozenset[str] = frozenset()


def describe_exception(exc: BaseException) -> dict:
    """A student-facing description of `exc`: type, message, and frames of student code only."""
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<the exception's message could not be read>"
    if not isinstance(message, str):
        message = "<the exception's message is not a string>"
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + " […]"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in StudentFiles.paths][
        -TRACEBACK_FRAMES:
    ]
    lines = []
    for f in frames:
        lines.append(f'  File "{_short(f.filename)}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()[:200]}")
    return {"type": type(exc).__name__, "message": message, "traceback": "\n".join(lines)}


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def attempt(fn: Callable, *args, **kwargs) -> dict:
    """Call student code: {"value": result} or {"error": description}. Never raises."""
    try:
        return {"value": fn(*args, **kwargs)}
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, pytest.exit... are data here
        return {"error": describe_exception(exc)}
