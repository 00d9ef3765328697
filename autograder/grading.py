"""The one grading path: stage a submission, probe it in the sandbox, judge the data.

`Grader` is used as is by `blockgrade check` (visible suite), by Gradescope's
`run_autograder` and by every worker of `grade_batch` (hidden suite), so a local check, a
batch and an autograder run cannot disagree about the same submission.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from autograder.catalog import Assignment, Course, Limits, course_at
from autograder.errors import BlockgradeError
from autograder.inputs import SubmissionInput, expand, extra_columns
from autograder.judge_runner import JudgeSuite
from autograder.outputs import gradebook_row, write_gradebook, write_submission
from autograder.report import write_report
from autograder.results import (
    CRASHED,
    GRADED,
    IMPORT_ERROR,
    INTERNAL_ERROR,
    TIMED_OUT,
    SubmissionResult,
    worst_status,
)
from autograder.sandbox.client import SandboxHost, SandboxRun
from autograder.staging import Staged, StagingError, stage, submission_name


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
        if outcome.status == "timed out":
            statuses.append(TIMED_OUT)
        elif outcome.status in ("crashed", "invalid"):
            statuses.append(CRASHED)
        elif outcome.status == "internal":
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
    ) -> None:
        self.assignment = assignment
        self.suite = suite
        self.limits = limits or assignment.limits
        self.tasks = set(tasks) if tasks else None
        if self.tasks:
            for t in self.tasks:
                assignment.task(t)  # an unknown task id is a clear error, not an empty run
        # The host imports torch in its own process while this one collects the judges.
        self.host = SandboxHost(assignment.probe_files(suite), sandbox=sandbox, warm_up=warm_up)
        try:
            self.judges = JudgeSuite(assignment, suite, devices)
        except BaseException:
            self.host.close()
            raise

    def grade(self, path: Path, name: str | None = None, member: str | None = None) -> SubmissionResult:
        """Grade the submission at `path` (a folder, a zip, or the module file), or in the
        folder `member` of the zip at `path`."""
        started = time.monotonic()
        name = name or submission_name(path)
        try:
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
        run = self.host.run(staged.submission, self.judges.jobs(self.tasks), self.limits)
        tests = self.judges.judge(run, self.tasks)
        notes = [self.judges.redact(n) for n in list(staged.notes) + import_notes(run, self.assignment.module)]
        if any(e.get("kind") == "submission timeout" for e in run.events):
            notes.append(f"The submission ran out of its {self.limits.submission_seconds:g} s time limit.")
        if run.internal:
            notes.append(f"The grader failed on this submission (not the student's doing): {run.internal}")
        return SubmissionResult(
            name=name,
            assignment=self.assignment,
            suite=self.suite,
            status=_status(run),
            tests=tests,
            notes=notes,
            output=self.judges.redact((run.output or {}).get("text", "")),
            seconds=time.monotonic() - started,
            origin=staged.origin,
            sandbox=self.host.sandbox or "",
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


class WorkerStartError(BlockgradeError):
    """A batch worker could not start its grader (the message says why)."""


# One grader per worker process, built by the pool's initializer; a failed start is kept so
# that the first task reports it (an initializer that raises makes the pool respawn forever).
_worker_grader: Grader | None = None
_worker_failure: str | None = None


def _worker_stop(signum, frame) -> None:
    """The pool terminates its workers with SIGTERM: take the sandbox host down with us."""
    if _worker_grader is not None:
        _worker_grader.close()
    os._exit(1)


def _worker_start(config: _WorkerConfig) -> None:
    global _worker_grader, _worker_failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _worker_stop)
    try:
        assignment = course_at(Path(config.course_root)).get(config.assignment_id)
        devices = list(config.devices) if config.devices else None
        _worker_grader = Grader(
            assignment, config.suite, limits=config.limits, devices=devices, sandbox=config.sandbox, warm_up=True
        )
        # A pool's worker ends with os._exit, skipping atexit: only multiprocessing's own
        # finalizers run, so the sandbox host (and its folder) is closed by one of those.
        multiprocessing.util.Finalize(None, _worker_grader.close, exitpriority=10)
    except Exception as exc:
        _worker_failure = f"{type(exc).__name__}: {exc}"


def _grade_input(grader: Grader, item: SubmissionInput) -> SubmissionResult:
    try:
        return grader.grade(Path(item.path), item.name, item.member)
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
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
) -> BatchResult:
    """Grade many submissions on every core; write DIR/<submission>/*, DIR/gradebook.csv and
    DIR/report.html.

    The gradebook is rewritten after each submission, so an interrupted batch (Ctrl-C) leaves
    a valid gradebook of what was graded.
    """
    started = time.monotonic()
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
        with Grader(assignment, suite, limits=limits, devices=devices, sandbox=sandbox, warm_up=warm_up) as grader:
            try:
                for item in items:
                    record(_grade_input(grader, item))
            except KeyboardInterrupt:
                interrupted = True
    else:
        config = _WorkerConfig(
            str(course.root), assignment.id, suite, limits, tuple(devices) if devices else None, sandbox
        )
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(workers, initializer=_worker_start, initargs=(config,))
        try:
            # a broken suite stops the batch at the first result, with the worker's message
            for result in pool.imap_unordered(_worker_grade, items):
                record(result)
            pool.close()
        except KeyboardInterrupt:
            interrupted = True
            pool.terminate()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
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
