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

import contextlib
import inspect
import os
import traceback
from dataclasses import dataclass
from typing import Callable

MESSAGE_CHARS = 1500
TRACEBACK_FRAMES = 8
PROBE_ATTRIBUTE = "__blockgrade_probe__"
PROBE_MODULE_PREFIX = "blockgrade_probes_"  # the private names probe files are imported under


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    takes_device: bool
    timeout: float | None
    function: Callable
    task: tuple[str, ...] = ()  # the catalog tasks whose judges may use this probe
    given: Callable | None = None  # builds the inputs; run seeded in the sandbox and in the grader
    returns: object = None  # an `autograder.contract.Spec`: what the probe's data must look like

    @property
    def takes_given(self) -> bool:
        return self.given is not None


GIVEN_SEED = 0  # the RNG seed `given` builders run under, in the sandbox and in the grader


def probe(
    fn: Callable | None = None,
    *,
    task: str | tuple[str, ...] | None = None,
    returns=None,
    given: Callable | None = None,
    timeout: float | None = None,
):
    """Mark a probe; its name is its fixture name in judges.

    Parameters are `(sub)`, then `device` if it runs once per device, then `given` if it
    declares a `given` builder. `task` names the task(s) whose judges may use it; `returns`
    declares its data (see `autograder.contract`); `given()` builds, on the CPU and seeded,
    the inputs it feeds to student code, which judges receive rebuilt in the grader as the
    fixture `<probe>_given` (so a submission cannot change what the reference is computed on).
    """

    def mark(f: Callable) -> Callable:
        from autograder.contract import Spec

        params = list(inspect.signature(f).parameters)
        expected = ["sub"] + (["device"] if "device" in params else []) + (["given"] if given is not None else [])
        if params != expected:
            raise TypeError(
                f"probe {f.__name__}: parameters must be (sub[, device]{', given' if given else ''}), not {params}"
            )
        if given is not None and (not callable(given) or inspect.signature(given).parameters):
            raise TypeError(f"probe {f.__name__}: given= must be a function of no arguments")
        if returns is not None and not isinstance(returns, Spec):
            raise TypeError(f"probe {f.__name__}: returns= must be a spec from autograder.contract")
        tasks = (task,) if isinstance(task, str) else tuple(task or ())
        setattr(f, PROBE_ATTRIBUTE, ProbeSpec(f.__name__, "device" in params, timeout, f, tasks, given, returns))
        return f

    return mark(fn) if fn is not None else mark


def seed_torch(seed: int) -> None:
    """torch's generators at `seed`. Where CUDA can be had, torch.manual_seed: every device's,
    one that has not started yet being seeded when it does. Elsewhere the CPU's alone, which is
    all torch.manual_seed comes to there, without the stack it records (formatted, some 0.3 ms
    a call) for each device that might start later: a submission's run seeds before every probe."""
    import torch

    if torch.cuda.is_available():
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


def build_given(spec: ProbeSpec):
    """Run a probe's `given` builder under the fixed seed, leaving the caller's RNG state as it was."""
    import random

    import torch

    state = random.getstate()
    threads = torch.get_num_threads()
    # One thread, as in the sandbox: a reduction (a BatchNorm's running mean, a loss) sums in
    # another order on more threads, and the grader's copy must be the sandbox's to the bit.
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        random.seed(GIVEN_SEED)
        seed_torch(GIVEN_SEED)
        try:
            return spec.given()
        finally:
            random.setstate(state)
            torch.set_num_threads(threads)


def probes_in(namespace: dict) -> dict[str, ProbeSpec]:
    """The probes defined in a loaded probe module, in definition order."""
    found = {}
    for value in namespace.values():
        spec = getattr(value, PROBE_ATTRIBUTE, None)
        if isinstance(spec, ProbeSpec) and spec.function is value:
            found[spec.name] = spec
    return found


@contextlib.contextmanager
def suite_imports(folder: str):
    """Let probe and judge files import helper modules that sit beside them (`import inputs`).

    The folder is on sys.path only meanwhile, and the helpers it loaded leave sys.modules
    afterwards (the files that imported them keep their references), so a visible and a
    hidden suite may each have a helper of the same name in one process."""
    import sys

    folder = os.path.abspath(folder)
    sys.path.insert(0, folder)
    before = set(sys.modules)
    try:
        yield
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            helper = name.split(".")[0] == os.path.splitext(os.path.basename(file))[0]
            if helper and os.path.dirname(os.path.abspath(file)) == folder:
                del sys.modules[name]


def load_probe_modules(paths) -> dict[str, ProbeSpec]:
    """Import probe files by path (under private module names) and gather their probes."""
    import importlib.util
    import sys

    probes: dict[str, ProbeSpec] = {}
    for path in paths:
        name = PROBE_MODULE_PREFIX + "".join(c if c.isalnum() else "_" for c in str(path))
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                with suite_imports(os.path.dirname(os.path.abspath(path))):
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
