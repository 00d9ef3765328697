"""Judging: run a suite's pytest judges in the grader on the data a sandbox run returned.

A `JudgeSuite` collects a suite once (which judges exist, their tasks and points, the probes
and devices they need) in a pytest session it keeps, and then judges any number of sandbox
runs, each in a fork of the grader that runs the collected items through pytest's protocol.
Probe results reach judges as fixtures named after the probes; a probe that takes `device`
makes its judges run once per device (`[cpu]`, `[cuda:0]`); on a runner without a GPU the
`cuda:0` items judge runs on the sandbox's stand-in GPU (`autograder.standin`), and a device
left out is reported as not run. No student code runs here: only plain data decoded by `wire`.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import difflib
import functools
import hashlib
import json
import os
import sys
import types
from dataclasses import dataclass, field

import pytest

from autograder import contract, limited
from autograder.catalog import Assignment, CatalogError, Limits
from autograder.frames import DataError
from autograder.i18n import N_, REDACTED
from autograder.probing import ProbeSpec, build_given, load_probe_modules, suite_imports
from autograder.sandbox.client import ProbeOutcome, SandboxRun
from autograder.sandbox.protocol import ProbeStatus

# pytest's own plugins that judging does not need; each costs time on every submission.
_UNUSED_PLUGINS = (
    "cacheprovider", "terminal", "unraisableexception", "threadexception", "logging",
    "faulthandler", "warnings", "junitxml", "doctest", "pastebin", "stepwise", "legacypath",
    "setuponly", "setupplan", "debugging", "capture", "unittest",
)  # fmt: skip
PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
GIVEN_SUFFIX = "_given"  # the fixture holding a probe's inputs, rebuilt in the grader
SECRET_LINE_CHARS = 16
TASK_MARK = "task"  # the pytest mark `autograder.judging.task` applies
# Every probe must declare task= and returns= (the typed probe→judge contract).
REQUIRE_DECLARATIONS = True


class ConfigurationError(CatalogError):
    """A suite is broken (the instructor's side): it cannot be collected or its points are off."""


def available_devices() -> list[str]:
    """The runner's real devices: `cpu`, then each GPU (`cuda:0`, ...)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["cpu"] + [f"cuda:{i}" for i in range(count)]


STAND_IN = "cuda:0"  # the device the sandbox's stand-in plays on a runner without a GPU (autograder.standin)


def device_share(device: str | None, gpus: int) -> float:
    """The fraction of a judge's points that its item on `device` carries, when `gpus` GPUs
    (real, or the stand-in) run: half on the CPU and half shared by the GPUs, so the same code
    earns the same on every runner; all on the CPU when no GPU runs at all."""
    if device is None:
        return 1.0
    if gpus == 0:
        return 1.0 if device == "cpu" else 0.0
    return 0.5 if device == "cpu" else 0.5 / gpus


@dataclass(frozen=True)
class JudgeTest:
    """One collected judge item (one device of a parametrized judge)."""

    nodeid: str
    function: str  # the judge function's id, shared by its device items
    task: str
    points: float  # the points of this item on this runner (split across devices that run)
    title: str
    device: str | None
    runs: bool  # False when its device is absent from this runner
    probes: tuple[tuple[str, str | None], ...]
    stand_in: bool = False  # its device is played by the sandbox's stand-in (a runner without a GPU)

    @property
    def name(self) -> str:
        return f"{self.task}: {self.title}" + (f" [{self.device}]" if self.device else "")


@dataclass
class Judgement:
    """What judging one run gave: a result per selected test, and why judging was cut short."""

    results: list["TestResult"]
    stopped: str | None = None  # judging overran its limits or failed (the message says which)
    internal: bool = False  # it failed by a fault of ours, not a limit


@dataclass
class TestResult:
    test: JudgeTest
    outcome: str
    score: float
    message: str = ""
    cause: str | None = None  # the verified cause a judge named (judging.Mistake), for the kit's checks

    @property
    def max_score(self) -> float:
        return self.test.points


class ProbeFailed(Exception):
    """Raised by a probe fixture whose probe did not return data; carries the outcome."""

    def __init__(self, outcome: ProbeOutcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


def _title(function) -> str:
    doc = (function.__doc__ or "").strip()
    if doc:
        return doc.splitlines()[0].strip()
    name = function.__name__
    return name[len("test_") :].replace("_", " ") if name.startswith("test_") else name


class _Plugin:
    """The pytest plugin for one session: collection bookkeeping, or judging one run."""

    def __init__(self, suite: "JudgeSuite", outcomes: dict | None, tasks: set[str] | None) -> None:
        self.suite = suite
        self.outcomes = outcomes
        self.tasks = tasks
        self.items: list[pytest.Item] = []
        self.errors: list[str] = []
        self.records: dict[str, dict] = {}

    def fixtures(self) -> types.ModuleType:
        """A plugin object holding one fixture per probe, and `<probe>_given` per `given` builder."""
        holder = types.ModuleType("blockgrade_probe_fixtures")
        for name, spec in self.suite.probes.items():
            setattr(holder, name, self._fixture(name, spec))
            if spec.takes_given:
                setattr(holder, name + GIVEN_SUFFIX, self._given_fixture(name, spec))
        return holder

    def _given_fixture(self, name: str, spec: ProbeSpec):
        suite = self.suite

        def given_data():
            return fresh_copy(suite.given(name))  # judges may change what they get

        given_data.__name__ = name + GIVEN_SUFFIX
        return pytest.fixture(name=name + GIVEN_SUFFIX)(given_data)

    def _fixture(self, name: str, spec: ProbeSpec):
        plugin = self

        def probe_data(request):
            device = request.param if spec.takes_device else None
            return plugin.data_for(name, device)

        probe_data.__name__ = name
        return pytest.fixture(name=name)(probe_data)

    def data_for(self, name: str, device: str | None):
        if self.outcomes is None:
            raise RuntimeError("no sandbox run to judge")
        outcome = self.outcomes.get((name, device))
        if outcome is None:
            outcome = ProbeOutcome(
                name,
                device,
                ProbeStatus.INTERNAL,
                error={"type": "internal", "message": f"probe {name} did not run", "traceback": ""},
            )
        if not outcome.ok:
            raise ProbeFailed(outcome)
        return fresh_copy(outcome.data)  # judges may change what they get; others must not see it

    def pytest_configure(self, config) -> None:
        config.addinivalue_line("markers", f"{TASK_MARK}(task_id, points): the catalog task a judge grades")

    def pytest_generate_tests(self, metafunc) -> None:
        names = [n for n in metafunc.fixturenames if n in self.suite.probes and self.suite.probes[n].takes_device]
        if not names:
            return
        params = []
        for device in self.suite.devices_all:
            marks = (
                ()
                if device in self.suite.devices_present
                else (pytest.mark.skip(reason=f"this runner has no {device}"),)
            )
            params.append(pytest.param(*([device] * len(names)), id=device, marks=marks))
        metafunc.parametrize(names, params, indirect=True)

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.errors.append(str(report.longrepr))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        if self.tasks is not None:
            keep = [i for i in items if _task_of(i)[0] in self.tasks]
            config.hook.pytest_deselected(items=[i for i in items if i not in keep])
            items[:] = keep
        self.items = list(items)

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_without_traceback(self, item, call):
        """pytest's report of a failed judge, less its formatted traceback (`longrepr`), which
        judging never shows (the student reads the exception's message) and which costs a
        failing judge most of its time: pytest parses the judge's source file for each frame.
        Passes, skips and anything unusual get pytest's own report (None: the next hook)."""
        excinfo = call.excinfo
        if excinfo is None or call.when == "collect":
            return None
        if not isinstance(excinfo.value, (Exception, pytest.fail.Exception)) or isinstance(excinfo.value, _GROUPS):
            return None
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            f"{excinfo.typename}: {excinfo.value}"[:1000],
            call.when,
            [],
            call.duration,
            call.start,
            call.stop,
            user_properties=item.user_properties,
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        record = self.records.setdefault(item.nodeid, {"outcome": PASSED, "exc": None})
        if report.skipped and record["outcome"] == PASSED:
            record["outcome"] = NOT_RUN
        elif report.failed and record["outcome"] != FAILED:
            record["outcome"] = FAILED
            record["exc"] = call.excinfo.value if call.excinfo is not None else None
        return report


try:
    _GROUPS: tuple[type, ...] = (BaseExceptionGroup,)  # its skips are pytest's to sort out
except NameError:  # Python 3.10
    _GROUPS = ()


@functools.cache
def _copied_as_is() -> tuple[tuple[type, ...], type]:
    """The types `fresh_copy` shares rather than copies, and torch's tensor type. Imported here,
    not with this module: the batch's process imports it before it starts the sandbox's zygote,
    and importing torch first would make the two imports follow one another."""
    import torch

    from autograder.wire import MetaTensor, Opaque

    unchanging = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, MetaTensor, Opaque)
    return unchanging, torch.Tensor


def fresh_copy(value):
    """`copy.deepcopy(value)`, some five times faster on what judges get (decoded probe data,
    a `given` builder's tensors): a plain tensor is cloned, containers are rebuilt and values
    that cannot change are shared. A tensor seen twice is copied once, as deepcopy keeps it; a
    tensor that takes part in autograd, a subclass, and anything else go to deepcopy itself."""
    unchanging, tensor = _copied_as_is()
    memo: dict = {}

    def copied(value):
        kind = type(value)
        if kind in unchanging:
            return value
        if id(value) in memo:
            return memo[id(value)]
        if kind is tensor and not value.requires_grad and value.grad_fn is None and value.grad is None:
            result = value.clone()
        elif kind is list:
            result = memo[id(value)] = []  # (before its items: a list that holds itself)
            result.extend(copied(item) for item in value)
            return result
        elif kind is tuple:
            result = tuple(copied(item) for item in value)
        elif kind is dict:
            result = memo[id(value)] = {}
            result.update((copied(k), copied(v)) for k, v in value.items())
            return result
        else:
            return copy.deepcopy(value, memo)
        memo[id(value)] = result
        return result

    return copied(value)


def _forget_other_judges(judge_files) -> None:
    """pytest names a judge module by its path under the course root, so two courses in one
    process (the kit's tests, an audit) would share `assignments.01-x.tests.hidden.test_x`:
    drop any such module loaded from another file before collecting ours."""
    ours = {str(path.resolve()) for path in judge_files}
    stems = {"." + path.stem for path in judge_files}
    names = {path.name for path in judge_files}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and any(name.endswith(stem) for stem in stems) and os.path.basename(file) in names:
            if os.path.realpath(file) not in ours:
                del sys.modules[name]


@contextlib.contextmanager
def _plain_imports():
    """A grader that runs inside another pytest (the kit's own tests, a notebook under pytest)
    would have its judges rewritten by that pytest's assertion hook, and their messages would
    differ from a plain run's: judges import as plain modules everywhere."""
    outer_hooks = [h for h in sys.meta_path if type(h).__name__ == "AssertionRewritingHook"]
    for hook in outer_hooks:
        sys.meta_path.remove(hook)
    try:
        yield
    finally:
        sys.meta_path[:0] = outer_hooks


def _out_of_memory(exc: BaseException | None) -> bool:
    """A judge that ran out of its memory cap (Python's or torch's allocator saying so)."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)[:500]


def _task_of(item) -> tuple[str | None, float]:
    mark = item.get_closest_marker(TASK_MARK)
    if mark is None or not mark.args:
        return None, 0.0
    return mark.args[0], float(mark.kwargs.get("points", 0))


_SHAPE_DEPTH = 4  # how far into a module's containers `_shape` looks
_SHAPE_ITEMS = 2000  # and how many items of each
_PICTURE_VALUES = 100_000  # and how many values in all (some 25 ms)
_SCALARS = (type(None), bool, int, float, complex, str, bytes)


class PictureTooLarge(Exception):
    """A suite's modules hold more than a picture may look at (`_Budget`)."""


class _Budget:
    """How many more values one picture may look at: a module holding a million-item structure
    would cost every submission a fifth of a second; past the budget the picture fails, and the
    judging process then judges one submission only (`limited.Server`), as a fresh fork would."""

    def __init__(self, values: int = _PICTURE_VALUES) -> None:
        self.left = values

    def spend(self, values: int) -> None:
        self.left -= values
        if self.left < 0:
            raise PictureTooLarge(f"more than {_PICTURE_VALUES} values")


def _shape(value, depth: int, own: frozenset[str], budget: _Budget | None = None):
    """A comparable picture of `value`: what it is and, for containers and for the functions,
    classes and objects of the modules named in `own`, the same of what they hold, `depth`
    levels down (a tensor: its in-place version; a cache: its size). Two pictures differ when
    anything in reach was rebound, added, removed or changed in place; what other modules
    define (torch, the kit) is pictured by identity only. `budget` bounds the values looked at."""
    if budget is not None:
        budget.spend(1)
    if isinstance(value, _SCALARS):
        return value if not isinstance(value, float) or value == value else "nan"
    if isinstance(value, types.ModuleType) or depth <= 0:
        return id(value)
    down = depth - 1
    if isinstance(value, dict):
        items = list(value.items())[:_SHAPE_ITEMS]
        pairs = tuple((_shape(k, 1, own, budget), _shape(v, down, own, budget)) for k, v in items)
        return (id(value), len(value), pairs)
    if isinstance(value, (list, tuple, set, frozenset, collections.deque)):
        return (id(value), len(value), tuple(_shape(v, down, own, budget) for v in list(value)[:_SHAPE_ITEMS]))
    if isinstance(value, bytearray):
        return (id(value), bytes(value))
    version = _attribute(value, "_version")
    if isinstance(version, int):  # a tensor
        return (id(value), version)
    state = _state_of(value)
    kind = value if isinstance(value, type) else type(value)
    if kind.__module__ not in own and _attribute(value, "__module__") not in own:
        return id(value) if state is None else (id(value), state)
    if isinstance(value, type):  # its own attributes, less Python's caches (__slotnames__, _abc_impl)
        held = [(k, v) for k, v in list(vars(value).items()) if not k.startswith(("__", "_abc_"))]
        return (id(value), tuple((k, _shape(v, down, own, budget)) for k, v in held))
    cache = _attribute(value, "cache_info")
    try:  # functools' caches: its misses (what it computed, and stored) and its size
        cache = tuple(cache())[1:] if callable(cache) else None
    except Exception:
        cache = None
    held = [_attribute(value, "__defaults__"), _attribute(value, "__kwdefaults__"), _attribute(value, "__dict__")]
    cells = []
    for cell in _attribute(value, "__closure__") or ():  # what a judge made by a factory keeps
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # not set yet
            cells.append(None)
    held += cells
    return (id(value), state, cache, tuple(_shape(h, down, own, budget) for h in held))


def _attribute(value, name: str):
    """getattr(value, name, None), also for an object of the suite's whose __getattr__ raises
    something else than AttributeError for a name it does not know (a settings object that
    looks names up in a dict): picturing the suite must never fail judging."""
    try:
        return getattr(value, name, None)
    except Exception:
        return None


def _state_of(value):
    """What an object of another library that a suite module holds can change without a
    version counter or attributes `_shape` sees: a reference network's parameters, buffers and
    modes, a random generator's state (a judge that draws from one would draw differently for
    each submission), an array's contents. None for anything else."""
    torch = sys.modules.get("torch")
    if torch is not None:
        if isinstance(value, torch.nn.Module):
            tensors = value.state_dict(keep_vars=True).items()
            modes = tuple(m.training for m in value.modules())
            return (modes, tuple((k, id(t), t._version) for k, t in tensors))
        if isinstance(value, torch.Generator):
            return hashlib.blake2b(value.get_state().numpy().tobytes()).digest()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            if value.dtype == object:
                return (value.shape, hashlib.blake2b(repr(value.tolist()).encode()).digest())
            try:  # its buffer (copied only if it is not contiguous)
                contents = memoryview(numpy.ascontiguousarray(value)).cast("B")
            except (TypeError, ValueError, NotImplementedError):  # a format memoryview cannot read
                contents = value.tobytes()
            return (value.shape, str(value.dtype), hashlib.blake2b(contents).digest())
        if isinstance(value, numpy.random.RandomState):
            return hashlib.blake2b(repr(value.get_state(legacy=False)).encode()).digest()
        if isinstance(value, numpy.random.Generator):
            return hashlib.blake2b(repr(value.bit_generator.state).encode()).digest()
    import random

    if isinstance(value, random.Random):
        return hash(value.getstate())
    return None


class JudgeSuite:
    """A collected suite (visible or hidden) of one assignment, ready to judge sandbox runs."""

    def __init__(
        self, assignment: Assignment, suite: str, devices: list[str] | None = None, *, stand_in: bool = True
    ) -> None:
        self.assignment = assignment
        self.suite = suite
        self.dir = assignment.suite_dir(suite)
        self._judging: limited.Server | None = None  # the judging process (see `judge`)
        self.judge_files = assignment.judge_files(suite)
        self.probe_files = assignment.probe_files(suite)
        if not self.judge_files:
            raise ConfigurationError(f"{self.dir}: no judge files (test_*.py)")
        try:
            self.probes = load_probe_modules(self.probe_files)
        except Exception as exc:
            raise ConfigurationError(f"{self.dir}: the probe files do not load: {type(exc).__name__}: {exc}") from exc
        present = devices if devices is not None else available_devices()
        cuda = [d for d in present if d.startswith("cuda")]
        # Without a GPU, cuda:0 runs on the sandbox's stand-in (`stand_in=False`: not at all).
        self.stand_in = frozenset() if cuda or not stand_in else frozenset({STAND_IN})
        self.devices_present = set(present) | self.stand_in
        self.devices_all = ["cpu", *(cuda or [STAND_IN])]
        self._check_declarations()
        self._given_cache: dict[str, object] = {}
        self.tests = self._collect()
        for name, spec in self.probes.items():  # built here once, so the judging process inherits them
            if spec.takes_given:
                self.given(name)
        self._check_points()
        self.secret_lines = self._secret_lines() if suite == "hidden" else frozenset()
        self._suite_modules = self._own_modules()

    def _own_modules(self) -> list[dict]:
        """The namespaces of the suite's judge and probe modules, and of the helper modules
        beside them they hold: imported whole (`import inputs`), or through what they define
        (`from inputs import reference`: the function's globals are the helper's)."""
        found: dict[int, dict] = {}
        roots = [item.module for item in self._items if getattr(item, "module", None) is not None]
        roots += [sys.modules[spec.function.__module__] for spec in self.probes.values()]
        folder = os.path.abspath(self.dir)
        for module in roots:
            found[id(vars(module))] = vars(module)
            for value in list(vars(module).values()):
                if isinstance(value, types.ModuleType):
                    held = vars(value)
                elif isinstance(value, type):  # a class from a helper: its methods' globals
                    methods = [f for f in vars(value).values() if isinstance(f, types.FunctionType)]
                    held = methods[0].__globals__ if methods else None
                else:  # a function from a helper (or a decorated one: what it wraps)
                    function = _attribute(value, "__wrapped__") or value
                    held = function.__globals__ if isinstance(function, types.FunctionType) else None
                file = held.get("__file__") if isinstance(held, dict) else None
                if file and os.path.dirname(os.path.abspath(file)) == folder:
                    found[id(held)] = held
        return list(found.values())

    def _secret_lines(self) -> frozenset[str]:
        """Lines of the hidden suite's source, which no feedback may repeat (a submission that
        could read them, in the basic sandbox, must not be able to print them back)."""
        from autograder.i18n import literal_text
        from autograder.i18n_tools import assignment_strings

        # A line the assignment's own texts say (a hint, a judge's message, a docstring: what a
        # student reads in the feedback, in any language) is no secret: redacting it would only
        # cut that text, and its translation with it.
        said = {literal_text(s.msgid) for s in assignment_strings(self.assignment)}
        lines = set()
        for path in [*self.judge_files, *self.probe_files]:
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if len(line) >= SECRET_LINE_CHARS and not any(line in text for text in said):
                    lines.add(line)
        return frozenset(lines)

    def redact(self, text: str) -> str:
        """`text` without the hidden suite's lines: each becomes REDACTED, which the catalogs
        translate wherever it stands (i18n.MARKERS)."""
        if not self.secret_lines or not text:
            return text
        for line in self.secret_lines:
            if line in text:
                text = text.replace(line, REDACTED)
        return text

    def _check_declarations(self) -> None:
        """Every probe says which task it serves and what it returns (the typed contract)."""
        for name, spec in self.probes.items():
            missing = [what for what, ok in (("task=", spec.task), ("returns=", spec.returns)) if not ok]
            if missing and REQUIRE_DECLARATIONS:
                raise ConfigurationError(
                    f"{self.dir}: probe {name} declares no {' and no '.join(missing)} "
                    "(see the README's 'Writing tests: probe and judge')"
                )
            for task_id in spec.task:
                if task_id not in self.assignment.task_ids:
                    raise ConfigurationError(
                        f"{self.dir}: probe {name} names task {task_id!r}, which is not in the toml"
                    )

    def given(self, name: str):
        """A probe's inputs as its `given` builder makes them here, in the grader (built once)."""
        if name not in self._given_cache:
            self._given_cache[name] = build_given(self.probes[name])
        return self._given_cache[name]

    # -- collection ------------------------------------------------------------------------

    def _args(self) -> list[str]:
        args = [str(f) for f in self.judge_files]
        args += ["--rootdir", str(self.assignment.course_root), "-c", os.devnull, "--noconftest"]
        args += ["--import-mode=importlib", "--assert=plain", "--disable-plugin-autoload", "-p", "no:randomly"]
        for name in _UNUSED_PLUGINS:
            args += ["-p", f"no:{name}"]
        return args

    def _open_session(self, plugin: _Plugin):
        """pytest's own start of a run, as `pytest.main` makes it (configure, start the session,
        collect), kept open: the judging process runs the collected items through pytest's test
        protocol, so no submission pays pytest's start, its plugins or the collection again.
        `pytest.main` offers no way to keep a session, hence its two internal steps here
        (pytest is pinned in constraints.txt; every test that grades runs this path)."""
        from _pytest.config import _prepareconfig
        from _pytest.main import Session
        from _pytest.mark import MARK_GEN

        _forget_other_judges(self.judge_files)
        marks_before = MARK_GEN._config
        with _plain_imports(), suite_imports(str(self.dir)):  # judges may import helper modules beside them
            config = _prepareconfig(self._args(), [plugin, plugin.fixtures()])
            try:
                config._do_configure()
                session = Session.from_config(config)
                config.hook.pytest_sessionstart(session=session)
                config.hook.pytest_collection(session=session)
            except BaseException:
                config._ensure_unconfigure()
                raise
            finally:
                self._marks = MARK_GEN._config
                MARK_GEN._config = marks_before  # pytest.mark stays the outer run's, if any
        return session

    def _collect(self) -> list[JudgeTest]:
        self._plugin = _Plugin(self, None, None)
        try:
            self._session = self._open_session(self._plugin)
        except Exception as exc:  # pytest.UsageError, an internal error of pytest's
            raise ConfigurationError(f"{self.dir}: the judges do not collect: {type(exc).__name__}: {exc}") from exc
        plugin = self._plugin
        if plugin.errors:
            self.close()
            raise ConfigurationError(f"{self.dir}: the judges do not collect:\n" + "\n".join(plugin.errors))
        self._items = list(plugin.items)
        try:
            tests = [self._describe(item) for item in self._items]
        except ConfigurationError:
            self.close()
            raise
        if not tests:
            self.close()
            raise ConfigurationError(f"{self.dir}: no judges were collected")
        return tests

    def close(self) -> None:
        """End the judging process and the collected pytest session (its plugins' clean-ups run)."""
        if self._judging is not None:
            self._judging.close()
        session, self._session = getattr(self, "_session", None), None
        if session is not None:
            from _pytest.mark import MARK_GEN

            marks_before = MARK_GEN._config
            session.config._ensure_unconfigure()
            MARK_GEN._config = marks_before

    def _describe(self, item) -> JudgeTest:
        task_id, points = _task_of(item)
        if task_id is None:
            raise ConfigurationError(f"{item.nodeid}: every judge needs @task(...)")
        if task_id not in self.assignment.task_ids:
            raise ConfigurationError(
                f"{item.nodeid}: task {task_id!r} is not in {self.assignment.folder}/assignment.toml"
            )
        callspec = getattr(item, "callspec", None)
        device = None
        if callspec is not None:
            devices = {callspec.params[n] for n in callspec.params if n in self.probes and self.probes[n].takes_device}
            device = devices.pop() if devices else None
        runs = device is None or device in self.devices_present
        gpus = sum(d in self.devices_present for d in self.devices_all if d != "cpu")
        share = device_share(device, gpus)
        probes = tuple(
            (n, device if self.probes[n].takes_device else None) for n in item.fixturenames if n in self.probes
        )
        info = getattr(item, "_fixtureinfo", None)  # pytest's: what each name resolves to
        if info is not None:
            unknown = [n for n in info.names_closure if n != "request" and n not in info.name2fixturedefs]
            if unknown:
                known = [*self.probes, *(n + GIVEN_SUFFIX for n, s in self.probes.items() if s.takes_given)]
                close = difflib.get_close_matches(unknown[0], known, n=1)
                raise ConfigurationError(
                    f"{item.nodeid}: the judge's parameter {unknown[0]!r} names no probe and no fixture"
                    + (f" (did you mean {close[0]!r}?)" if close else f"; the probes are: {', '.join(known)}")
                )
        for fixture in item.fixturenames:
            name = fixture[: -len(GIVEN_SUFFIX)] if fixture.endswith(GIVEN_SUFFIX) else fixture
            spec = self.probes.get(name)
            if spec is not None and spec.task and task_id not in spec.task:
                raise ConfigurationError(
                    f"{item.nodeid}: a judge of task {task_id} uses probe {name}, which belongs to "
                    f"{', '.join(spec.task)}: a task's checks must not depend on another task's probes"
                )
        return JudgeTest(
            nodeid=item.nodeid,
            function=item.nodeid.split("[")[0],
            task=task_id,
            points=points * share if runs else 0.0,
            title=_title(item.function),
            device=device,
            runs=runs,
            probes=probes,
            stand_in=device in self.stand_in,
        )

    def _check_points(self) -> None:
        totals: dict[str, float] = {t: 0.0 for t in self.assignment.task_ids}
        for test in self.tests:
            totals[test.task] += test.points
        if self.suite != "hidden":
            return
        for task in self.assignment.tasks:
            if abs(totals[task.id] - task.points) > 1e-9:
                raise ConfigurationError(
                    f"{self.dir}: the judges of task {task.id} carry {totals[task.id]:g} points, "
                    f"assignment.toml gives it {task.points:g}"
                )

    # -- judging ---------------------------------------------------------------------------

    def selected(self, tasks: set[str] | None = None) -> list[JudgeTest]:
        return [t for t in self.tests if tasks is None or t.task in tasks]

    def jobs(self, tasks: set[str] | None = None) -> list[tuple[str, str | None]]:
        """The probe runs the selected judges need, in a stable order."""
        needed: dict[tuple[str, str | None], None] = {}
        for test in self.selected(tasks):
            if test.runs:
                for job in test.probes:
                    needed[job] = None
        order = list(self.probes)
        return sorted(needed, key=lambda j: (order.index(j[0]), self.devices_all.index(j[1]) if j[1] else -1))

    def prepare(self) -> None:
        """Have the judging process ready for `judge`: forked now (while the sandbox runs the
        submission) unless the one that judged the last submission is waiting."""
        self._server().start()

    def _server(self) -> limited.Server:
        if self._judging is None:
            self._judging = limited.Server(self._judge_packed, watched=self._suite_state)
        return self._judging

    def _judge_packed(self, data: bytes) -> dict:
        head, _, packed = data.partition(b"\n")
        tasks, memory_mb = json.loads(head)
        return self._judge_here(SandboxRun.unpack(packed), None if tasks is None else set(tasks), memory_mb)

    def _suite_state(self) -> tuple:
        """What judging could leave behind in the suite's own modules (its judge files, and
        the helpers beside them they imported), for `limited.Server` to compare after each
        submission: a judge that keeps anything of a submission (a list it appends to, a
        counter, a cache) ends its judging process, so the next submission is judged afresh."""
        own = frozenset(namespace["__name__"] for namespace in self._suite_modules)
        budget = _Budget()
        return tuple(
            (name, _shape(value, _SHAPE_DEPTH, own, budget))
            for namespace in self._suite_modules
            for name, value in list(namespace.items())
            if not name.startswith("__")  # the import system's own (__builtins__, __loader__, ...)
        )

    def judge(self, run: SandboxRun, tasks: set[str] | None = None, limits: Limits | None = None) -> Judgement:
        """Judge one sandbox run in the judging process (`limited.Server`, a fork of the grader)
        under the judging limits: decoding, checking against the probes' declarations and every
        judge happen there, so data crafted to make a judge loop or allocate costs this
        submission only. That process judges submission after submission as long as judging
        leaves nothing behind that a fresh fork would not have (`_suite_state`)."""
        limits = limits or self.assignment.limits
        head = json.dumps([None if tasks is None else sorted(tasks), limits.judge_memory_mb]).encode()
        outcome = self._server().run(
            head + b"\n" + run.pack(), seconds=limits.judge_seconds, memory_mb=limits.judge_memory_mb
        )
        if outcome.ok:
            by_id = {t.nodeid: t for t in self.tests}
            results = [TestResult(by_id[n], o, float(sc), m, c) for n, o, sc, m, c in outcome.value["results"]]
            return Judgement(results, stopped=outcome.value["stopped"])
        if outcome.status in (limited.TIMED_OUT, limited.OUT_OF_MEMORY):
            stopped = N_("Checking this submission's results was stopped: {reason}.", reason=outcome.detail)
        else:
            stopped = N_(
                "The grader failed while checking this submission (not the student's doing): {reason}",
                reason=outcome.detail,
            )
        results = [
            TestResult(t, NOT_RUN, 0.0, N_("Not run: this runner has no {device}.", device=t.device))
            if not t.runs
            else TestResult(t, FAILED, 0.0, stopped)
            for t in self.selected(tasks)
        ]
        return Judgement(results, stopped=stopped, internal=outcome.status == limited.FAILED)

    def _judge_here(self, run: SandboxRun, tasks: set[str] | None, memory_mb: int) -> dict:
        outcomes = {key: self._checked(o) for key, o in run.outcomes.items()}
        plugin = self._run_items(outcomes, tasks)
        explain = _Explainer(self.assignment, run)
        results = []
        stopped = None
        for test in self.selected(tasks):
            record = plugin.records.get(test.nodeid)
            if record is not None and _out_of_memory(record["exc"]):
                stopped = N_(
                    "Checking this submission's results needed more than {memory} MB of memory.", memory=memory_mb
                )
                record["exc"] = AssertionError(
                    N_(
                        "Checking this result needed more than {memory} MB of memory: "
                        "your code's result is far larger than this task calls for.",
                        memory=memory_mb,
                    )
                )
            record = plugin.records.get(test.nodeid)
            if not test.runs:
                results.append(
                    [test.nodeid, NOT_RUN, 0.0, N_("Not run: this runner has no {device}.", device=test.device), None]
                )
            elif record is None:
                results.append([test.nodeid, FAILED, 0.0, N_("The grader did not run this check."), None])
            elif record["outcome"] == PASSED:
                results.append([test.nodeid, PASSED, test.points, "", None])
            else:
                message, cause = explain.failure(test, record["exc"])
                results.append([test.nodeid, FAILED, 0.0, self.redact(message), cause])
        return {"results": results, "stopped": stopped}

    def _run_items(self, outcomes: dict, tasks: set[str] | None) -> _Plugin:
        """Run the collected judges that apply on `outcomes`, through pytest's test protocol
        (fixtures, parametrization, marks, reports). Called in the judging process: the last
        item's teardown ends every fixture, and tmp_path gets a new base folder for each run;
        what else a run could leave ends that process (see `_suite_state`, `limited.Server`)."""
        if self._session is None:
            raise RuntimeError("this suite was closed")
        from _pytest.mark import MARK_GEN
        from _pytest.runner import runtestprotocol

        plugin = self._plugin
        plugin.outcomes, plugin.records = outcomes, {}
        factory = getattr(self._session.config, "_tmp_path_factory", None)  # pytest's (tmp_path, tmp_path_factory)
        if factory is not None:  # a base folder of its own for each submission, as a fresh fork makes
            factory._basetemp = None
        items = [
            item for item, test in zip(self._items, self.tests) if test.runs and (tasks is None or test.task in tasks)
        ]
        marks_before, MARK_GEN._config = MARK_GEN._config, self._marks
        try:
            with _plain_imports(), suite_imports(str(self.dir)):
                for index, item in enumerate(items):
                    following = items[index + 1] if index + 1 < len(items) else None
                    runtestprotocol(item, log=False, nextitem=following)
        finally:
            MARK_GEN._config = marks_before
        return plugin

    def _checked(self, outcome: ProbeOutcome) -> ProbeOutcome:
        """The outcome with its data decoded and held against its probe's declaration."""
        if not outcome.ok:
            return outcome
        spec = self.probes.get(outcome.probe)
        try:
            data = outcome.data  # decodes (and validates the wire format) on first use
            if spec is not None and spec.returns is not None:
                contract.check(spec.returns, data, outcome.probe)
        except (DataError, contract.ContractError) as exc:
            return ProbeOutcome(
                outcome.probe,
                outcome.device,
                ProbeStatus.INVALID,
                error={"type": "invalid", "message": f"the probe's data was rejected: {exc}", "traceback": ""},
                seconds=outcome.seconds,
            )
        return outcome

    def all_failed(self, message: str, tasks: set[str] | None = None) -> list[TestResult]:
        """Results for a submission that could not be run at all (no module, bad archive)."""
        return [
            TestResult(t, NOT_RUN, 0.0, N_("Not run: this runner has no {device}.", device=t.device))
            if not t.runs
            else TestResult(t, FAILED, 0.0, message)
            for t in self.selected(tasks)
        ]


@dataclass
class _Explainer:
    """Turns a judge's failure into the text a student reads."""

    assignment: Assignment
    run: SandboxRun
    _missing: dict = field(default_factory=dict)

    def failure(self, test: JudgeTest, exc: BaseException | None) -> tuple[str, str | None]:
        """The student's text, and the verified cause the judge named (a Mistake's), if any."""
        missing = self.missing_names(test.task)
        if missing:
            return missing, None
        # A judge module imports judging, which imports this module: read the attribute, not the class.
        cause = getattr(exc, "cause", None) if isinstance(exc, AssertionError) else None
        if isinstance(exc, ProbeFailed):
            text = probe_failure_text(exc.outcome)
        elif isinstance(exc, AssertionError):
            text = str(exc).strip() or N_("This check failed.")
        elif exc is None:
            text = N_("This check failed.")
        else:
            text = N_("The grader could not check your result: {reason}", reason=f"{type(exc).__name__}: {exc}")
        return text + self.hints(test.task, text), cause if isinstance(cause, str) else None

    def hints(self, task: str, text: str) -> str:
        found = [h.text for h in self.assignment.hints if (h.task in (None, task)) and h.pattern.search(text)]
        return "".join("\n" + N_("Hint: {hint}", hint=h) for h in dict.fromkeys(found))

    def missing_names(self, task_id: str) -> str:
        if task_id in self._missing:
            return self._missing[task_id]
        info = self.run.import_info or {}
        module = self.assignment.module
        text = ""
        if self.run.import_info is None:  # the sandbox never got as far as loading it: no name is missing
            text = N_(
                "{module} was not run: the sandbox could not run it (the notes say why).",
                module=module,
            )
        elif info.get("failed"):
            text = N_("{module} could not be loaded: {message}", module=module, message=info.get("message"))
        else:
            present = set(info.get("present", []))
            notes = info.get("notes", [])
            for name in self.assignment.task(task_id).names:
                if name in present:
                    continue
                text = _why_missing(name, module, notes)
                break
        self._missing[task_id] = text
        return text


def _why_missing(name: str, module: str, notes: list[dict]) -> str:
    """`name` is not defined in `module`, and why (one sentence each, for the catalogs). Each
    begins as `notebooks.NOT_DEFINED_START` says, and the syntax error's is `NOT_DEFINED_SYNTAX`:
    in a notebook's feedback `LineMap.rewrite` names the notebook and cites the cell's lines."""
    from autograder.notebooks import NOT_DEFINED_SYNTAX

    for note in notes:
        if note.get("defines") == name and note.get("kind") == "syntax":
            return N_(
                NOT_DEFINED_SYNTAX,
                name=name,
                module=module,
                first=note["first_line"],
                last=note["last_line"],
                line=note["line"],
                message=note["message"],
            )
        if note.get("defines") == name and note.get("kind") == "runtime":
            error = note["error"]
            return N_(
                "`{name}` is not defined in {module}: defining it raised {type}: {message}",
                name=name,
                module=module,
                type=error["type"],
                message=error["message"],
            )
    if any(n.get("kind") == "unparsable" for n in notes):
        return N_("`{name}` is not defined in {module}: the file could not be parsed.", name=name, module=module)
    return N_(
        "`{name}` is not defined in {module} (check the spelling: it must be a top-level name of the module).",
        name=name,
        module=module,
    )


# what the sandbox's host says of a process that stopped (autograder.sandbox.host, which runs
# where no catalog is loaded), for the catalogs: shown after "Your code stopped the process: "
STOPPED = (
    N_("the process exited with status {status:d}"),
    N_("the process was ended by {signal}"),
    N_("the process was ended by {signal} (a segmentation fault)"),
    N_("the process was ended by {signal} (the CPU-time limit)"),
    N_("the process was ended by {signal} (the file-size limit)"),
    N_("the process was ended by {signal} (killed)"),
    N_("the process was ended by {signal} (aborted)"),
    N_("the process ended"),
    N_("it was still running and was stopped"),
)
# what it says of a check that did not finish, or could not be trusted (after "Your code did not
# finish: ", "Your code's result could not be checked: ", "... could not be loaded: "); a field
# here stands for what the host fills in, whatever its name there
HOST_MESSAGES = (
    N_("it took longer than {seconds} s (an endless loop?)"),
    N_("the submission's time limit of {seconds} s ran out"),
    N_("the submission's time limit ran out"),
    N_("the submission's time limit ran out before this ran"),
    N_("importing the module took longer than {seconds} s"),
    N_("importing the module ended the process: {how}"),
    N_("it used more than {limit} MB of memory and was stopped"),
    N_("it started more than {limit} processes and was stopped"),
    N_("this submission's results together are larger than {limit} MB"),
    N_(
        "the process ended right after this check reported, twice, so its report was not trusted "
        "(something other than the probe may have written it): {how}"
    ),
    N_(
        "the sandbox received data this probe did not send ({error}): something in the submission wrote to "
        "the grader's channel"
    ),
    N_("the channel was written out of order ({error})"),
    N_("between probes: {how}"),
    N_("the sandbox could not start ({how})"),  # after "The grader failed on this submission ...: "
    # autograder.limited's reasons, after "Checking this submission's results was stopped: "
    N_("it took longer than {seconds} s"),
    N_("it used more than {seconds} s of CPU time"),
    N_("it needed more than {limit} MB of memory"),
    N_("its result was too large"),
    N_("it was killed (out of memory, limit {limit} MB)"),
    N_("it ended without a result"),
    N_("its result was malformed"),
    N_("its process could not be started"),
)


def probe_failure_text(outcome: ProbeOutcome) -> str:
    error = outcome.error or {}
    message = error.get("message", "")
    if outcome.status == ProbeStatus.ERROR:
        text = N_("Your code raised {type}: {message}", type=error.get("type"), message=message)
        if error.get("traceback"):
            text += "\n" + error["traceback"]
        return text
    if outcome.status == ProbeStatus.TIMED_OUT:
        return N_("Your code did not finish: {message}", message=message)
    if outcome.status == ProbeStatus.CRASHED:
        return N_("Your code stopped the process: {message}", message=message)
    if outcome.status == ProbeStatus.NOT_RUN:
        return N_("Not run: {message}", message=message)
    if outcome.status == ProbeStatus.INVALID:
        return N_("Your code's result could not be checked: {message}", message=message)
    return N_("The grader failed to run this check (not your doing): {message}", message=message)
