"""The one grading path: stage a submission, probe it in the sandbox, judge the data.

`Grader` is used as is by `blockgrade check` (visible suite), by Gradescope's
`run_autograder` and by every worker of `grade_batch` (hidden suite), so a local check, a
batch and an autograder run cannot disagree about the same submission.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from autograder.catalog import Assignment, Course, Limits, course_at
from autograder.errors import BlockgradeError
from autograder.inputs import SubmissionInput, expand, extra_columns
from autograder.integrity import scan as scan_integrity
from autograder.judge_runner import JudgeSuite
from autograder.outputs import gradebook_row, write_gradebook, write_submission
from autograder.report import write_report
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
from autograder.sandbox.client import SandboxHost, SandboxRun
from autograder.sandbox.protocol import ProbeStatus
from autograder.staging import BAD_ARCHIVE, Staged, StagingError, stage, submission_name


def import_notes(run: SandboxRun, module: str) -> list[str]:
    info = run.import_info or {}
    if info.get("failed"):
        return [f"{module} could not be loaded: {info.get('message')}."]
    notes = []
    for note in info.get("notes", []):
        if note["kind"] == "syntax":
            left_out = f"lines {note['first_line']}–{note['last_line']} were left out"
            if note.get("defines"):
                left_out += f", so `{note['defines']}` is not defined"
            notes.append(f"{module} line {note['line']}: {note['message']}; {left_out}.")
        elif note["kind"] == "runtime":
            error = note["error"]
            notes.append(
                f"{module} line {note['line']}: running this top-level statement raised "
                f"{error['type']}: {error['message']}; it was skipped."
            )
        elif note["kind"] == "unparsable":
            notes.append(f"{module} could not be parsed at all.")
    return notes


def _status(run: SandboxRun) -> str:
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
    for outcome in run.outcomes.values():
        if outcome.status == ProbeStatus.TIMED_OUT:
            statuses.append(TIMED_OUT)
        elif outcome.status in (ProbeStatus.CRASHED, ProbeStatus.INVALID):
            statuses.append(CRASHED)
        elif outcome.status == ProbeStatus.INTERNAL:
            statuses.append(INTERNAL_ERROR)
    return worst_status(statuses)


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
        unsafe_basic_as_root: bool = False,
        host: SandboxHost | None = None,
    ) -> None:
        refuse_basic_as_root(sandbox, unsafe_basic_as_root)
        self.assignment = assignment
        self.suite = suite
        self.limits = limits or assignment.limits
        self.tasks = set(tasks) if tasks else None
        if self.tasks:
            for t in self.tasks:
                assignment.task(t)  # an unknown task id is a clear error, not an empty run
        # The host imports torch in its own process while this one collects the judges. A
        # caller may have started it already (`check` does, before its own imports).
        self.host = host or SandboxHost(assignment.probe_files(suite), sandbox=sandbox, warm_up=warm_up)
        try:
            self.judges = JudgeSuite(assignment, suite, devices)
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
        started = time.monotonic()
        name = name or submission_name(path)
        try:
            if problem:
                raise StagingError(BAD_ARCHIVE, problem)
            staged = stage(path, self.assignment, member)
        except StagingError as exc:
            return SubmissionResult(
                name=name,
                assignment=self.assignment,
                suite=self.suite,
                status=exc.status,
                tests=self.judges.all_failed(f"Not graded: {exc.message}", self.tasks),
                notes=[exc.message],
                seconds=time.monotonic() - started,
            )
        return self.grade_staged(staged, name, started)

    def grade_staged(self, staged: Staged, name: str, started: float | None = None) -> SubmissionResult:
        started = time.monotonic() if started is None else started
        run = self.host.run(staged.submission, self.judges.jobs(self.tasks), self.limits, decode=False)
        judgement = self.judges.judge(run, self.tasks, self.limits)
        tests = judgement.results
        notes = [self.judges.redact(n) for n in list(staged.notes) + import_notes(run, self.assignment.module)]
        if any(e.get("kind") == "submission timeout" for e in run.events):
            notes.append(f"The submission ran out of its {self.limits.submission_seconds:g} s time limit.")
        if run.internal:
            notes.append(f"The grader failed on this submission (not the student's doing): {run.internal}")
        if run.import_info is None:  # the host was lost, or refused the submission: say why
            lost = [e for e in run.events if e.get("kind") in ("crash", "refused")]
            notes += [f"The sandbox could not run this submission: {e.get('message', '')}." for e in lost]
        status = _status(run)
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
            # a static read of the source, for the instructor's review; it never changes a score
            integrity_flags=[
                f.to_dict() for f in scan_integrity(staged.submission.source, self.assignment.allowed_imports)
            ],
        )

    def close(self) -> None:
        self.host.close()

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------- batches


# A worker costs two interpreter starts with torch (its grader and its sandbox host), about as
# much as grading this many submissions; below that, grading in this process is quicker.
SUBMISSIONS_PER_WORKER = 8


def default_workers(count: int) -> int:
    return max(1, min(os.cpu_count() or 1, count // SUBMISSIONS_PER_WORKER))


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
    if config.scratch:
        # this process's temporary files (its sandbox host's folder) go under the batch's
        # folder, which the batch removes even when a worker was killed and could not
        tempfile.tempdir = config.scratch
    try:
        assignment = course_at(Path(config.course_root)).get(config.assignment_id)
        devices = list(config.devices) if config.devices else None
        _worker_grader = Grader(
            assignment,
            config.suite,
            limits=config.limits,
            devices=devices,
            sandbox=config.sandbox,
            warm_up=True,
            unsafe_basic_as_root=config.unsafe_basic_as_root,
        )
        # A pool's worker ends with os._exit, skipping atexit: only multiprocessing's own
        # finalizers run, so the sandbox host (and its folder) is closed by one of those.
        multiprocessing.util.Finalize(None, _worker_grader.close, exitpriority=10)
    except Exception as exc:
        _worker_failure = f"{type(exc).__name__}: {exc}"


def _grade_input(grader: Grader, item: SubmissionInput) -> SubmissionResult:
    try:
        return grader.grade(Path(item.path), item.name, item.member, item.problem)
    except Exception as exc:  # a bug of ours must not stop the batch: record it
        return _internal_error(grader, item.name, exc)


def _worker_grade(item: SubmissionInput) -> SubmissionResult:
    if _worker_grader is None:
        raise WorkerStartError(f"a grading worker could not start: {_worker_failure}")
    return _grade_input(_worker_grader, item)


def _internal_error(grader: Grader, name: str, exc: Exception) -> SubmissionResult:
    message = f"The grader failed on this submission (not the student's doing): {type(exc).__name__}: {exc}"
    return SubmissionResult(
        name=name,
        assignment=grader.assignment,
        suite=grader.suite,
        status=INTERNAL_ERROR,
        tests=grader.judges.all_failed(message, grader.tasks),
        notes=[message],
    )


def _pooled(items: list[SubmissionInput], workers: int, config: _WorkerConfig):
    """Grade `items` on `workers` processes, yielding results as they finish.

    A worker that dies (killed by the kernel, say) breaks only what it was grading: the
    submissions then in flight are graded again one at a time in a fresh worker, the one that
    kills that worker too is recorded as crashed, and the rest of the batch goes on. At most
    `workers` submissions are in flight, so a death costs at most that many regradings.
    """
    pending = list(items)
    suspects: list[SubmissionInput] = []  # in flight when a worker died: regraded alone
    context = multiprocessing.get_context("spawn")
    while pending or suspects:
        alone = bool(suspects)
        if alone:
            queue, suspects = suspects, []
        else:
            queue, pending = pending, []
        capacity = 1 if alone else workers
        executor = ProcessPoolExecutor(capacity, mp_context=context, initializer=_worker_start, initargs=(config,))
        running: dict = {}
        broken = False
        try:
            while (queue or running) and not broken:
                while queue and len(running) < capacity:
                    item = queue.pop(0)
                    running[executor.submit(_worker_grade, item)] = item
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    try:
                        result = future.result()  # a broken suite (WorkerStartError) stops the batch
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            yield _worker_lost(config, item)
                        else:
                            suspects.append(item)
                        continue
                    yield result
        finally:
            _stop_executor(executor)
        if broken:
            suspects += list(running.values())
            if alone:
                suspects += queue
            else:
                pending = queue + pending


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
    assignment = course_at(Path(config.course_root)).get(config.assignment_id)
    suite = JudgeSuite(assignment, config.suite, list(config.devices) if config.devices else None)
    message = "Grading this submission stopped the grader's worker process, twice; it was not graded."
    return SubmissionResult(
        name=item.name,
        assignment=assignment,
        suite=config.suite,
        status=CRASHED,
        tests=suite.all_failed(message),
        notes=[message],
    )


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
) -> BatchResult:
    """Grade many submissions on every core; write DIR/<submission>/*, DIR/gradebook.csv and
    DIR/report.html.

    The gradebook is rewritten after each submission, so an interrupted batch (Ctrl-C) leaves
    a valid gradebook of what was graded.
    """
    started = time.monotonic()
    refuse_basic_as_root(sandbox, unsafe_basic_as_root)
    items = expand(paths)
    columns = {i.name: i.columns for i in items}
    extra = extra_columns(items)
    out_dir.mkdir(parents=True, exist_ok=True)
    gradebook = out_dir / "gradebook.csv"
    workers = max(1, min(workers or default_workers(len(items)), len(items) or 1))
    results: list[SubmissionResult] = []
    rows: list[dict] = []
    if on_start is not None:
        on_start(len(items))

    def record(result: SubmissionResult) -> None:
        write_submission(out_dir, result)
        results.append(result)
        rows.append(gradebook_row(result, columns.get(result.name)))
        write_gradebook(gradebook, assignment.task_ids, rows, extra)
        if on_result is not None:
            on_result(result)

    write_gradebook(gradebook, assignment.task_ids, rows, extra)
    interrupted = False
    if workers == 1 or len(items) <= 1:
        warm_up = len(items) > 1
        with Grader(
            assignment,
            suite,
            limits=limits,
            devices=devices,
            sandbox=sandbox,
            warm_up=warm_up,
            unsafe_basic_as_root=unsafe_basic_as_root,
        ) as grader:
            try:
                for item in items:
                    record(_grade_input(grader, item))
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
        )
        try:
            with contextlib.closing(_pooled(items, workers, config)) as graded:
                for result in graded:
                    record(result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            shutil.rmtree(config.scratch, ignore_errors=True)
    # Everything once more, from memory: whatever a submission managed to write while it ran
    # (possible only in the basic sandbox) is overwritten by what the grader decided.
    for result in results:
        write_submission(out_dir, result)
    write_gradebook(gradebook, assignment.task_ids, rows, extra)
    report = write_report(out_dir / "report.html", assignment, results, len(items), interrupted)
    return BatchResult(
        results=results,
        interrupted=interrupted,
        seconds=time.monotonic() - started,
        gradebook=gradebook,
        report=report,
        count=len(items),
    )
