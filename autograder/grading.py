"""The one grading path: stage a submission, probe it in the sandbox, judge the data.

`Grader` is used as is by `blockgrade check` (visible suite), by Gradescope's
`run_autograder` and by every worker of `grade_batch` (hidden suite), so a local check, a
batch and an autograder run cannot disagree about the same submission.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from autograder import i18n, questions
from autograder.catalog import Assignment, Course, Limits, course_at
from autograder.choosing import ModuleFiles
from autograder.errors import BlockgradeError
from autograder.i18n import N_
from autograder.integrity import scan as scan_integrity
from autograder.judge_runner import JudgeSuite, probe_failure_text
from autograder.notebooks import LineMap
from autograder.outputs import Gradebook, gradebook_row, write_submission
from autograder.results import (
    CRASHED,
    GRADED,
    IMPORT_ERROR,
    INTERNAL_ERROR,
    JUDGING_STOPPED,
    TIMED_OUT,
    SubmissionResult,
    worst_status,
)
from autograder.sandbox import isolation
from autograder.sandbox.client import HostFactory, SandboxHost, SandboxRun, SentRequest
from autograder.sandbox.protocol import ProbeStatus
from autograder.staging import BAD_ARCHIVE, Staged, StagingError, stage, submission_name

if TYPE_CHECKING:
    from autograder.inputs import SubmissionInput


def import_notes(run: SandboxRun, module: str, lines: LineMap | None = None) -> list[str]:
    """What loading the module left out, and why; a notebook's lines (`lines`) as its cells'."""
    info = run.import_info or {}

    def at(line):  # "blocks.py", 37 or, for a notebook's line, "blocks.ipynb cell 4 (MLP),", 9
        return lines.at(line, module) if lines is not None and isinstance(line, int) else (module, line)

    def block(note):  # the block left out and its error's line, for a notebook in the error's cell
        first, last, line = note["first_line"], note["last_line"], note["line"]
        if lines is not None and all(isinstance(n, int) for n in (first, last, line)):
            return lines.block(first, last, line, module)
        return module, first, last, line

    if info.get("failed"):
        return [N_("{module} could not be loaded: {message}.", module=module, message=info.get("message"))]
    notes = []
    for note in info.get("notes", []):
        if note["kind"] == "syntax":
            place, first, last, line = block(note)
            if note.get("defines"):
                left_out = N_(
                    "lines {first}–{last} were left out, so `{name}` is not defined",
                    first=first,
                    last=last,
                    name=note["defines"],
                )
            else:
                left_out = N_("lines {first}–{last} were left out", first=first, last=last)
            notes.append(
                N_(
                    "{module} line {line}: {message}; {left_out}.",
                    module=place,
                    line=line,
                    message=note["message"],
                    left_out=left_out,
                )
            )
        elif note["kind"] == "runtime":
            error = note["error"]
            place, line = at(note["line"])
            notes.append(
                N_(
                    "{module} line {line}: running this top-level statement raised {type}: {message}; it was skipped.",
                    module=place,
                    line=line,
                    type=error["type"],
                    message=error["message"],
                )
            )
        elif note["kind"] == "unparsable":
            notes.append(N_("{module} could not be parsed at all.", module=module))
    return notes


# the submission's status a probe's end gives it (an INVALID probe: its data broke the caps)
PROBE_STATUSES = {
    ProbeStatus.TIMED_OUT: TIMED_OUT,
    ProbeStatus.CRASHED: CRASHED,
    ProbeStatus.INVALID: CRASHED,
    ProbeStatus.INTERNAL: INTERNAL_ERROR,
}


def _status(run: SandboxRun, probes: bool = True) -> str:
    statuses = [GRADED]
    info = run.import_info or {}
    if run.internal:
        statuses.append(INTERNAL_ERROR)
    if info.get("failed") == "timed out":
        statuses.append(TIMED_OUT)
    elif info.get("failed"):
        statuses.append(CRASHED)
    if info.get("notes"):
        statuses.append(IMPORT_ERROR)
    if probes:
        statuses += [PROBE_STATUSES[o.status] for o in run.outcomes.values() if o.status in PROBE_STATUSES]
    return worst_status(statuses)


def status_cause(run: SandboxRun, status: str) -> str | None:
    """Why a probe's end gave the run its `status`, as its check says it (the first such
    probe's); None where something before the probes did (the import, the sandbox: their
    notes say so)."""
    if status == _status(run, probes=False):
        return None
    cause = next((o for o in run.outcomes.values() if PROBE_STATUSES.get(o.status) == status), None)
    return None if cause is None else probe_failure_text(cause)


@dataclass
class _Staging:
    """A submission staged, not yet sent to the sandbox."""

    staged: Staged
    name: str
    started: float  # (monotonic) when its grading began


@dataclass
class _Flight:
    """A submission sent to the sandbox, whose answer is still to be read and judged."""

    staging: _Staging
    sent: SentRequest | SandboxRun  # (a run already, where the request could not be sent)
    flags: list | None = None  # the integrity scan's, made while the host runs it


class Grader:
    """Grades submissions of one assignment against one suite. Close it (or use `with`)."""

    def __init__(
        self,
        assignment: Assignment,
        suite: str = "hidden",
        *,
        limits: Limits | None = None,
        devices: list[str] | None = None,
        tasks: Iterable[str] | None = None,
        sandbox: str = "auto",
        warm_up: bool = False,
        huge_pages: bool = False,
        unsafe_basic_as_root: bool = False,
        host: SandboxHost | None = None,
        module_name: str | None = None,
        judges: JudgeSuite | None = None,
    ) -> None:
        refuse_basic_as_root(sandbox, unsafe_basic_as_root)
        self.assignment = assignment
        # which file names are the module (`--module-name`: a glob for renamed files)
        self.files = ModuleFiles.of(assignment, module_name)
        self.suite = suite
        self.limits = limits or assignment.limits
        self.tasks = set(tasks) if tasks else None
        if self.tasks:
            for t in self.tasks:
                assignment.task(t)  # an unknown task id is a clear error, not an empty run
        # The host imports torch in its own process while this one collects the judges. A
        # caller may have started it already (`check` does, before its own imports).
        self.host = host or SandboxHost(
            assignment.probe_files(suite),
            sandbox=sandbox,
            warm_up=warm_up,
            memory_mb=self.limits.memory_mb,
            huge_pages=huge_pages,
        )
        try:
            # a batch worker's comes collected already: the batch's process collected it and forked
            self.judges = judges or JudgeSuite(assignment, suite, devices)
            if _is_root() and not unsafe_basic_as_root:  # "auto" may have fallen back to basic
                refuse_basic_as_root(self.host.ready(), False)
        except BaseException:
            self.host.close()
            raise

    def grade(
        self, path: Path, name: str | None = None, member: str | None = None, problem: str = ""
    ) -> SubmissionResult:
        """Grade the submission at `path` (a folder, a zip, or the module file), or in the
        folder `member` of the zip at `path`; one with a `problem` (a bad name in an export)
        is refused as a bad archive."""
        staged = self._stage(path, name, member, problem)
        return staged if isinstance(staged, SubmissionResult) else self._graded(self._send(staged))

    def grade_staged(self, staged: Staged, name: str, started: float | None = None) -> SubmissionResult:
        return self._graded(self._send(_Staging(staged, name, time.monotonic() if started is None else started)))

    def grade_many(self, inputs: Iterable[SubmissionInput]) -> Iterator[SubmissionResult]:
        """Grade each of `inputs` in turn, as `grade` would, yielding its result: the sandbox
        runs each submission while the one before it is judged and its result recorded (a
        batch's one worker then keeps both cores busy). A submission that the grader itself
        fails on is an internal error, and the rest go on. Close the iterator (or exhaust it)."""
        flight: _Flight | None = None  # sent: the host runs it while the one before it is judged
        try:
            for item in inputs:
                staged = self._failsafe(item.name, self._stage, Path(item.path), item.name, item.member, item.problem)
                done = run = None
                if flight is not None:
                    run = self._failsafe(flight.staging.name, self._answered, flight)
                    done, flight = flight, None
                # the next request goes before this one is judged (and after its answer is read
                # whole: a host blocked writing an answer reads no request)
                sent = self._failsafe(staged.name, self._send, staged, True) if isinstance(staged, _Staging) else staged
                if isinstance(sent, _Flight):
                    flight = sent
                if done is not None:
                    yield self._result(done, run)
                if isinstance(sent, SubmissionResult):
                    yield sent
            if flight is not None:
                run = self._failsafe(flight.staging.name, self._answered, flight)
                done, flight = flight, None
                yield self._result(done, run)
        finally:
            if flight is not None:  # stopped early: the host runs a request whose answer no one reads
                self.host.drop(flight.sent)

    def _result(self, flight: _Flight, run: SandboxRun | SubmissionResult) -> SubmissionResult:
        """The flight judged on its `run` (or the internal error that reading the run became)."""
        if isinstance(run, SubmissionResult):
            return run
        return self._failsafe(flight.staging.name, self._judged, flight, run)

    def _failsafe(self, name: str, step: Callable, *args):
        try:
            return step(*args)
        except Exception as exc:  # a bug of ours must not stop the batch: record it
            return self.internal_error(name, exc)

    def internal_error(self, name: str, exc: Exception) -> SubmissionResult:
        """The result of a submission this grader failed on (not the student's doing)."""
        reason = f"{type(exc).__name__}: {exc}"
        message = N_("The grader failed on this submission (not the student's doing): {reason}", reason=reason)
        return SubmissionResult(
            name=name,
            assignment=self.assignment,
            suite=self.suite,
            status=INTERNAL_ERROR,
            tests=self.judges.all_failed(message, self.tasks),
            notes=[message],
        )

    def _stage(self, path: Path, name: str | None, member: str | None, problem: str) -> "_Staging | SubmissionResult":
        started = time.monotonic()
        name = name or submission_name(path)
        try:
            if problem:
                raise StagingError(BAD_ARCHIVE, problem)
            return _Staging(stage(path, self.assignment, member, self.files), name, started)
        except StagingError as exc:
            return SubmissionResult(
                name=name,
                assignment=self.assignment,
                suite=self.suite,
                status=exc.status,
                tests=self.judges.all_failed(N_("Not graded: {reason}", reason=exc.message), self.tasks),
                notes=[exc.message],
                seconds=time.monotonic() - started,
            )

    def _send(self, staging: _Staging, more: bool = False) -> _Flight:
        sent = self.host.send(
            staging.staged.submission,
            self.judges.jobs(self.tasks),
            self.limits,
            stand_in=self.judges.stand_in,
            more=more,
        )
        return _Flight(staging, sent)

    def _answered(self, flight: _Flight) -> SandboxRun:
        """The flight's run, once the grader's own work that needs none of it is done (a static
        read of the source, the judging process forked if none is waiting) while the host runs
        it; what that raises is raised once the answer is read, so the pipe stays in step."""
        try:
            flight.flags = [
                f.to_dict()
                for f in scan_integrity(flight.staging.staged.submission.source, self.assignment.allowed_imports)
            ]
            self.judges.prepare()
        finally:
            run = self.host.answer(flight.sent, decode=False)
        return run

    def _graded(self, flight: _Flight) -> SubmissionResult:
        return self._judged(flight, self._answered(flight))

    def _judged(self, flight: _Flight, run: SandboxRun) -> SubmissionResult:
        staged, name, started, flags = flight.staging.staged, flight.staging.name, flight.staging.started, flight.flags
        judgement = self.judges.judge(run, self.tasks, self.limits)
        tests = judgement.results
        module = self.assignment.module
        if staged.lines is not None:  # a notebook: its errors cite the cell and line, not the made-up module's
            tests = [replace(t, message=staged.lines.rewrite(t.message, module)) if t.message else t for t in tests]
        # what the import left out before which file was graded: a note that explains the
        # status comes first (the report's "why" is a submission's first note)
        notes = [self.judges.redact(n) for n in import_notes(run, module, staged.lines) + list(staged.notes)]
        if any(e.get("kind") == "submission timeout" for e in run.events):
            notes.append(
                N_("The submission ran out of its {seconds:g} s time limit.", seconds=self.limits.submission_seconds)
            )
        if run.internal:
            notes.append(
                N_("The grader failed on this submission (not the student's doing): {reason}", reason=run.internal)
            )
        if any(t.test.stand_in for t in tests):
            notes.append(
                N_(
                    "This machine has no GPU: the {device} checks ran on a stand-in for one, which computes on "
                    "the CPU but keeps track of each tensor's device and refuses to mix devices as a GPU does.",
                    device=", ".join(sorted(self.judges.stand_in)),
                )
            )
        if run.import_info is None:  # the host was lost, or refused the submission: say why
            lost = [e for e in run.events if e.get("kind") in ("crash", "refused")]
            notes += [
                N_("The sandbox could not run this submission: {reason}.", reason=e.get("message", "")) for e in lost
            ]
        status = _status(run)
        cause = status_cause(run, status)
        if cause is not None:  # said first: the report's "why" is a submission's first note
            cause = staged.lines.rewrite(cause, module) if staged.lines is not None else cause
            notes.insert(0, self.judges.redact(cause))
        if judgement.stopped:
            notes.append(judgement.stopped)
            status = worst_status([status, INTERNAL_ERROR if judgement.internal else JUDGING_STOPPED])
        return SubmissionResult(
            name=name,
            assignment=self.assignment,
            suite=self.suite,
            status=status,
            tests=tests,
            notes=notes,
            output=self.judges.redact((run.output or {}).get("text", "")),
            seconds=time.monotonic() - started,
            origin=staged.origin,
            sandbox=self.host.sandbox or "",
            integrity_flags=flags,
            source=staged.submission.source,  # for the batch's similarity check (never written)
        )

    def close(self) -> None:
        self.host.close()
        judges = getattr(self, "judges", None)
        if judges is not None:
            judges.close()

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------- batches


# On Linux a batch starts once: its process collects the judges and forks the workers, and one
# sandbox host process (a zygote, see HostFactory) imports torch and forks a host per worker.
# Elsewhere (macOS, Windows: fork is unsafe there) each worker starts its grader and its host.
FORK_WORKERS = sys.platform.startswith("linux")
# What a worker costs beyond the first and what a submission costs once a worker is warm, in
# seconds, as benchmarks/speed.py measured them on the 2-core machine of README's table (the
# CPU time a batch of 20 takes more with two workers than with one; a warm submission's CPU
# time, every process counted). A forked worker costs a fork of this process and of the
# zygote, and the page faults of their first submissions; a spawned one, two interpreters
# that import torch. A batch's one worker takes less than a submission's CPU time for each:
# its sandbox runs each submission while it judges the one before (`Grader.grade_many`), so
# that it alone keeps two cores busy (20 and 40 submissions, `-j 1` against `-j 2`: the same
# within the machine's noise; `-j 2` sooner from some 60 on).
WORKER_START_SECONDS = 0.3 if FORK_WORKERS else 3.0
SUBMISSION_SECONDS = 0.08  # (0.12 before the judging process was kept and the spares forked ahead)
PIPELINED_SECONDS = 0.045  # a submission's wall time on a batch's one worker
# Submissions a worker of several is given at a time (see `_pooled`). Four, overlapped in the
# worker, took some 7 % off 400 submissions, but a share's results come back together: one
# slow submission held back the rows of the three beside it, and Ctrl-C lost those already
# graded. One at a time until the workers report each result as it comes.
WORKER_SHARE = 1
GRADEBOOK_SECONDS = 0.5  # the gradebook is rewritten at most this often while a batch runs
# From this many submissions on, a batch's sandbox host is backed by huge pages before it forks
# any child (isolation.collapse_huge_pages): about 0.3 s of CPU once, before the first host is
# ready, against some 5 ms saved on each child's fork and exit (benchmarks/tree_cpu.py, 100
# submissions: the templates' and children's CPU 4.4 -> 3.9 s); a smaller batch would wait
# for more than it saves.
HUGE_PAGES_FROM = 100


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(count: int, cores: int | None = None) -> int:
    """The number of workers that grades `count` submissions soonest: each worker beyond the
    first costs its start (WORKER_START_SECONDS, paid one after another by the batch's
    process) and saves its share of the submissions' time (SUBMISSION_SECONDS each), on at
    most one worker per core; one worker alone overlaps its submissions (PIPELINED_SECONDS
    each). Never more than one worker where a second would not pay."""
    cores = cores or usable_cores()

    def total(workers: int) -> float:
        if workers == 1:
            return count * PIPELINED_SECONDS
        return (workers - 1) * WORKER_START_SECONDS + count / workers * SUBMISSION_SECONDS

    return min(range(1, max(1, min(cores, count)) + 1), key=lambda w: (total(w), w))


@dataclass(frozen=True)
class _WorkerConfig:
    course_root: str
    assignment_id: str
    suite: str
    limits: Limits | None
    devices: tuple[str, ...] | None
    sandbox: str
    unsafe_basic_as_root: bool = False
    scratch: str | None = None  # the batch's temporary folder: a worker's sandbox host lives there
    module_name: str | None = None  # `--module-name`: the glob naming renamed module files
    huge_pages: bool = False  # a large batch's hosts fork from huge pages (HUGE_PAGES_FROM)
    batch_pid: int = 0  # the batch's process: a worker ends with it (see _worker_start)


class WorkerStartError(BlockgradeError):
    """A batch worker could not start its grader (the message says why)."""


class UnsafeSandboxError(BlockgradeError):
    """Grading in the basic sandbox as root was asked for (or fallen back to) without forcing it."""


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def refuse_basic_as_root(sandbox: str | None, forced: bool) -> None:
    """The basic sandbox runs submissions as the grader's user: as root, that is the machine's
    root. Refused unless the caller forces it (`unsafe_basic_as_root`, `--unsafe-basic-as-root`)."""
    if sandbox == "basic" and _is_root() and not forced:
        raise UnsafeSandboxError(
            "refusing to grade in the basic sandbox as root: submissions would run as this machine's root, "
            "able to read and change any file and stop any process. Grade with --sandbox root (or auto, where "
            "namespaces work), or as an unprivileged user; --unsafe-basic-as-root forces it, for code you trust "
            "only (README: What the sandbox guarantees)."
        )


# One grader per worker process, built by the pool's initializer; a failed start is kept so
# that the first task reports it (an initializer that raises makes the pool respawn forever).
_worker_grader: Grader | None = None
_worker_failure: str | None = None
# What a batch's process prepared for the workers it forks: the collected judges and the
# sandbox host factory (None where workers are spawned).
_preloaded: tuple[JudgeSuite, HostFactory] | None = None


def _worker_stop(signum, frame) -> None:
    """The pool terminates its workers with SIGTERM: take the sandbox host down with us."""
    # A second SIGTERM must not interrupt the close below: it would find the host half closed,
    # return at once and exit, leaving the host's folder behind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _worker_grader is not None:
        _worker_grader.close()
    os._exit(1)


def _worker_start(config: _WorkerConfig) -> None:
    global _worker_grader, _worker_failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _worker_stop)
    # A batch killed before its own clean-up (SIGKILL, the OOM killer) must not leave its
    # workers waiting for shares that never come, each with a sandbox host: its death SIGTERMs
    # them (_worker_stop closes the host). The pool forks them from the batch's main thread,
    # whose end is the batch's.
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGTERM)
    if config.batch_pid and os.getppid() != config.batch_pid:
        _worker_stop(signal.SIGTERM, None)  # the batch died before the line above
    if config.scratch:
        # this process's temporary files (its sandbox host's folder) go under the batch's
        # folder, which the batch removes even when a worker was killed and could not
        tempfile.tempdir = config.scratch
    try:
        judges, factory = _preloaded or (None, None)
        if judges is not None:
            assignment = judges.assignment
        else:
            assignment = course_at(Path(config.course_root)).get(config.assignment_id)
        devices = list(config.devices) if config.devices else None
        host = None
        if factory is not None:  # a fork of the factory's preloaded host, not an interpreter of its own
            probes = assignment.probe_files(config.suite)
            memory_mb = (config.limits or assignment.limits).memory_mb  # its first request's: forked ahead
            host = SandboxHost(
                probes,
                sandbox=config.sandbox,
                warm_up=True,
                factory=factory,
                memory_mb=memory_mb,
                huge_pages=config.huge_pages,  # (an interpreter of its own, should the zygote be gone)
            )
        _set_torch_threads()
        _worker_grader = Grader(
            assignment,
            config.suite,
            limits=config.limits,
            devices=devices,
            sandbox=config.sandbox,
            warm_up=True,
            huge_pages=config.huge_pages,
            unsafe_basic_as_root=config.unsafe_basic_as_root,
            module_name=config.module_name,
            host=host,
            judges=judges,
        )
        # A pool's worker ends with os._exit, skipping atexit: only multiprocessing's own
        # finalizers run, so the sandbox host (and its folder) is closed by one of those.
        multiprocessing.util.Finalize(None, _worker_grader.close, exitpriority=10)
        gc.freeze()  # what the worker holds now stays: its collections (and its judging forks') skip it
    except Exception as exc:
        _worker_failure = f"{type(exc).__name__}: {exc}"


def _set_torch_threads() -> None:
    """A worker's torch runs on one thread: the workers already use every core, and judging
    (in forks of the worker, see `limited`) is small work that more threads only slow down."""
    import torch

    torch.set_num_threads(1)


def _worker_grade(items: list[SubmissionInput]) -> list[SubmissionResult]:
    """A worker's share (WORKER_SHARE): `items` graded in turn, each one's sandbox run
    overlapping the judging of the one before (`Grader.grade_many`)."""
    if _worker_grader is None:
        raise WorkerStartError(f"a grading worker could not start: {_worker_failure}")
    with contextlib.closing(_worker_grader.grade_many(items)) as graded:
        return list(graded)


def _pooled(items: list[SubmissionInput], workers: int, config: _WorkerConfig):
    """Grade `items` on `workers` processes, yielding results as they finish (and None after
    GRADEBOOK_SECONDS without one: results come a worker's share at a time).

    A worker that dies (killed by the kernel, say) breaks only what it was grading: the
    submissions then in flight are graded again one at a time in a fresh worker, the one that
    kills that worker too is recorded as crashed, and the rest of the batch goes on. A worker
    is given WORKER_SHARE submissions at a time (overlapped: see `_worker_grade`), so a death
    costs at most `workers` times that many regradings.
    """
    pending = list(items)
    suspects: list[SubmissionInput] = []  # in flight when a worker died: regraded alone
    context = multiprocessing.get_context("fork" if _preloaded is not None else "spawn")
    while pending or suspects:
        alone = bool(suspects)
        if alone:
            queue, suspects = suspects, []
        else:
            queue, pending = pending, []
        capacity = 1 if alone else workers
        share = 1 if alone else WORKER_SHARE
        executor = ProcessPoolExecutor(capacity, mp_context=context, initializer=_worker_start, initargs=(config,))
        running: dict = {}
        broken = False
        try:
            while (queue or running) and not broken:
                while queue and len(running) < capacity:
                    given, queue = queue[:share], queue[share:]
                    try:
                        running[executor.submit(_worker_grade, given)] = given
                    except BrokenProcessPool:  # a worker died since the last results: as below
                        queue, broken = given + queue, True
                        break
                if broken:
                    break
                done, _ = wait(running, timeout=GRADEBOOK_SECONDS, return_when=FIRST_COMPLETED)
                if not done:
                    yield None  # nothing new for a while: the batch may write what it has
                for future in done:
                    given = running.pop(future)
                    try:
                        results = future.result()  # a broken suite (WorkerStartError) stops the batch
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            yield _worker_lost(config, given[0])
                        else:
                            suspects += given
                        continue
                    yield from results
        finally:
            _stop_executor(executor)
        if broken:
            suspects += [item for given in running.values() for item in given]
            if alone:
                suspects += queue
            else:
                pending = queue + pending


@contextlib.contextmanager
def _preloading(
    assignment: Assignment, suite: str, devices: list[str] | None, sandbox: str, scratch: str, huge_pages: bool
):
    """The batch's one start (where workers are forked): the sandbox's zygote starts first, so
    that it imports torch while this process collects the judges; each worker then forks
    from here with both ready."""
    global _preloaded
    if not FORK_WORKERS:
        yield
        return
    factory = HostFactory(assignment.probe_files(suite), sandbox=sandbox, folder=scratch, huge_pages=huge_pages)
    judges = None
    try:
        judges = JudgeSuite(assignment, suite, devices)
        _preloaded = (judges, factory)
        yield
    finally:
        _preloaded = None
        if judges is not None:
            judges.close()
        factory.close()


def _stop_executor(executor: ProcessPoolExecutor) -> None:
    """Stop the workers now: SIGTERM makes each close its sandbox host (see _worker_stop)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()


def _worker_lost(config: _WorkerConfig, item: SubmissionInput) -> SubmissionResult:
    """A submission whose grading killed the worker grading it, even alone."""
    message = N_("Grading this submission stopped the grader's worker process, twice; it was not graded.")
    if _preloaded is not None:
        suite = _preloaded[0]
        tests = suite.all_failed(message)
    else:
        assignment = course_at(Path(config.course_root)).get(config.assignment_id)
        suite = JudgeSuite(assignment, config.suite, list(config.devices) if config.devices else None)
        tests = suite.all_failed(message)
        suite.close()
    return SubmissionResult(
        name=item.name,
        assignment=suite.assignment,
        suite=config.suite,
        status=CRASHED,
        tests=tests,
        notes=[message],
    )


@contextlib.contextmanager
def _whole_on_ctrl_c():
    """Ctrl-C inside the block takes effect at its end. Python runs a signal's handler in the
    main thread, whichever thread the kernel gave the signal to (blocking SIGINT in this thread
    alone would not do: the pool's threads would take it). Left as it is where Ctrl-C is not
    Python's KeyboardInterrupt (ignored, say, in a shell's background job)."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


@dataclass
class BatchResult:
    results: list[SubmissionResult]
    interrupted: bool
    seconds: float
    gradebook: Path
    report: Path
    count: int  # submissions in the batch, graded or not


def grade_batch(
    course: Course,
    assignment: Assignment,
    paths: list[Path],
    out_dir: Path,
    *,
    suite: str = "hidden",
    workers: int | None = None,
    limits: Limits | None = None,
    devices: list[str] | None = None,
    sandbox: str = "auto",
    unsafe_basic_as_root: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
    language: str | None = None,
    module_name: str | None = None,
) -> BatchResult:
    """Grade many submissions on every core; write DIR/<submission>/*, DIR/gradebook.csv and
    DIR/report.html. The feedback and the report are in `language` (default: autograder.i18n's
    choice for the assignment); grading itself is the same in every language.

    The gradebook is rewritten as submissions are graded (at most every GRADEBOOK_SECONDS: a
    rewrite costs what the class holds), and once more at the end, so an interrupted batch (Ctrl-C) leaves
    a valid gradebook of what was graded.
    """
    # Instructor tools (the report, the written questions' sheet, similarity, Gradescope
    # exports' YAML), imported here: `check`, `submit` and Gradescope's runner use `Grader`
    # alone, on a student's install without them (pyproject: the `instructor` extra).
    from autograder import manual, similarity
    from autograder.inputs import expand, extra_columns
    from autograder.report import write_report

    started = time.monotonic()
    refuse_basic_as_root(sandbox, unsafe_basic_as_root)
    items = expand(paths)
    columns = {i.name: i.columns for i in items}
    inputs = {i.name: i for i in items}
    extra = [*manual.gradebook_columns(assignment), *extra_columns(items)]  # written questions' columns first
    out_dir.mkdir(parents=True, exist_ok=True)
    gradebook = out_dir / "gradebook.csv"
    workers = max(1, min(workers or default_workers(len(items)), len(items) or 1))
    huge_pages = len(items) >= HUGE_PAGES_FROM
    results: list[SubmissionResult] = []
    book = Gradebook(gradebook, assignment.task_ids, extra)  # each row made into its line once
    if on_start is not None:
        on_start(len(items))

    language = i18n.resolve(language, assignment)

    # forked now, while this process is small (before torch): the similarity check's fingerprints
    gatherer = similarity.Gatherer(out_dir, assignment, language)
    next_gradebook = 0.0  # when the gradebook is next rewritten
    in_gradebook = 0  # the results it holds, as last written
    try:

        def rewrite_gradebook() -> None:
            nonlocal next_gradebook, in_gradebook
            book.write()
            next_gradebook, in_gradebook = time.monotonic() + GRADEBOOK_SECONDS, len(results)

        def record(result: SubmissionResult | None) -> None:
            if result is None:  # the workers are busy: the rows recorded since the last rewrite go in now
                if in_gradebook < len(results):
                    with _whole_on_ctrl_c():
                        rewrite_gradebook()
                return
            with _whole_on_ctrl_c():  # its folder, its row and its place in the results, or none of them
                result.answers = questions.answers_of(assignment, inputs.get(result.name))  # written answers, read here
                with i18n.using(language):
                    write_submission(out_dir, result)
                results.append(result)
                book.add(gradebook_row(result, columns.get(result.name)))
                if time.monotonic() >= next_gradebook:
                    rewrite_gradebook()
                if result.source:
                    gatherer.add(result.name, result.source)  # fingerprinted beside the grading
            if on_result is not None:
                on_result(result)

        book.write()
        interrupted = False
        # Ending the workers, the sandbox hosts and the zygote takes a moment that the outputs
        # need not wait for (unless code ran in the basic sandbox: see below): done last.
        with contextlib.ExitStack() as closing_last:
            if workers == 1 or len(items) <= 1:
                grader = closing_last.enter_context(
                    Grader(
                        assignment,
                        suite,
                        limits=limits,
                        devices=devices,
                        sandbox=sandbox,
                        warm_up=len(items) > 1,
                        huge_pages=huge_pages,
                        unsafe_basic_as_root=unsafe_basic_as_root,
                        module_name=module_name,
                    )
                )
                try:
                    with contextlib.closing(grader.grade_many(items)) as graded:
                        for result in graded:
                            record(result)
                except KeyboardInterrupt:
                    interrupted = True
            else:
                config = _WorkerConfig(
                    str(course.root),
                    assignment.id,
                    suite,
                    limits,
                    tuple(devices) if devices else None,
                    sandbox,
                    unsafe_basic_as_root,
                    tempfile.mkdtemp(prefix="blockgrade-batch-"),
                    module_name,
                    huge_pages,
                    os.getpid(),
                )
                closing_last.callback(shutil.rmtree, config.scratch, ignore_errors=True)
                try:
                    closing_last.enter_context(
                        _preloading(assignment, suite, devices, sandbox, config.scratch, huge_pages)
                    )
                    with contextlib.closing(_pooled(items, workers, config)) as graded:
                        for result in graded:
                            record(result)
                except KeyboardInterrupt:
                    interrupted = True
                if _preloaded is not None:  # the workers are gone: the zygote ends while the outputs are written
                    _preloaded[1].end()
            # Everything once more, from memory: whatever a submission managed to write while it
            # ran (possible only in the basic sandbox, whose code runs as this user, outside
            # namespaces) is overwritten by what the grader decided, once nothing of it runs.
            with i18n.using(language):
                # (an interrupted batch may have a basic child in flight that no result names yet)
                if interrupted or any(r.sandbox == "basic" for r in results):
                    closing_last.close()
                    for result in results:
                        write_submission(out_dir, result)
                book.write()
                manual.write_sheet(out_dir, assignment, results)  # manual.csv and a page per written question
                similar = gatherer.finish()
                report = write_report(
                    out_dir / "report.html", assignment, results, len(items), interrupted, similarity=similar
                )
    finally:
        gatherer.close()
    return BatchResult(
        results=results,
        interrupted=interrupted,
        seconds=time.monotonic() - started,
        gradebook=gradebook,
        report=report,
        count=len(items),
    )
