"""`blockgrade check`: the visible suite on a student's own file, as a per-task table.

It is the grading path itself (`Grader` on the visible suite), so what a student sees locally
is what the grader would say about the same tests.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograder import choosing
from autograder.catalog import Assignment
from autograder.grading import Grader
from autograder.i18n import _, localize, speaks_assignment
from autograder.outputs import fmt_points
from autograder.results import FAILED, NOT_RUN, SubmissionResult
from autograder.staging import Staged

HINT_CHARS = 160


def working_file(assignment: Assignment, folder: Path | None = None) -> Path:
    """The file a student is working on: the module or its notebook, the one with the work in
    it (`choosing.working_file`, which also says why)."""
    return choosing.working_file(assignment, folder).path


def run_check(
    assignment: Assignment, path: Path | Staged, tasks: list[str] | None = None, host=None, note: str = ""
) -> SubmissionResult:
    """Grade `path` (or a module already staged) with the visible suite (on `host`, a
    SandboxHost already started for it); `note` (which file, and why) heads the notes."""
    with Grader(assignment, "visible", tasks=tasks, host=host) as grader:
        if isinstance(path, Staged):
            result = grader.grade_staged(path, path.origin)
        else:
            result = grader.grade(path, name=path.name)
    if note:
        result.notes.insert(0, note)
    return result


def first_line(message: str) -> str:
    line = next((l.strip() for l in message.splitlines() if l.strip()), "")
    return line if len(line) <= HINT_CHARS else line[: HINT_CHARS - 1] + "…"


@speaks_assignment
def task_rows(result: SubmissionResult, selected: set[str] | None = None) -> list[dict]:
    """One row per task; verdicts and hints in the active language."""
    rows = []
    for task in result.assignment.tasks:
        if selected and task.id not in selected:
            continue
        tests = [r for r in result.tests if r.test.task == task.id]
        failed = [r for r in tests if r.outcome == FAILED]
        ran = [r for r in tests if r.outcome != NOT_RUN]
        not_run = sorted({r.test.device for r in tests if r.outcome == NOT_RUN and r.test.device})
        if failed:
            verdict = _("failed ({failed} of {ran})", failed=len(failed), ran=len(ran))
        elif ran:
            verdict = _("passed")
        else:
            verdict = _("not run")
        rows.append(
            {
                "task": task.id,
                "points": task.points,
                "verdict": verdict,
                "passed": not failed and bool(ran),
                "hint": first_line(localize(failed[0].message, result.assignment)) if failed else "",
                "detail": failed[0] if failed else None,
                "not_run": not_run,
            }
        )
    return rows


@speaks_assignment
def render(result: SubmissionResult, console: Console, selected: set[str] | None = None, verbose: bool = False) -> bool:
    """Print the per-task table (and the first failure of each task); True if all passed."""
    a = result.assignment
    console.print(
        Text.assemble(
            (localize(a.title, a), "bold"), _(": visible tests on {origin}", origin=result.origin or result.name)
        )
    )
    for note in result.notes:
        console.print(Text(_("  note: {note}", note=localize(note, a)), style="yellow"))
    table = Table(show_lines=False)
    table.add_column(_("task"), style="bold")
    # each column headed by what it holds: the task's points (not what this run earned) and
    # the first line of its first failure
    table.add_column(_("worth"), justify="right")
    table.add_column(_("result"))
    table.add_column(_("first failure"), overflow="fold")
    rows = task_rows(result, selected)
    for row in rows:
        style = "green" if row["passed"] else "red"
        verdict = row["verdict"] + (
            _(" ({devices} not run)", devices=", ".join(row["not_run"])) if row["not_run"] and row["passed"] else ""
        )
        table.add_row(Text(row["task"]), fmt_points(row["points"]), Text(verdict, style=style), Text(row["hint"]))
    console.print(table)
    failing = [row for row in rows if row["detail"] is not None]
    for row in failing if verbose else failing[:1]:
        detail = row["detail"]
        console.print(
            Text(
                f"{row['task']}: {localize(detail.test.title, a)}"
                + (f" [{detail.test.device}]" if detail.test.device else ""),
                style="bold red",
            )
        )
        console.print(Text(localize(detail.message, a)), soft_wrap=True)
        console.print()
    if verbose and result.output.strip():
        console.print(Text(_("What your code printed:"), style="bold"))
        console.print(Text(result.output), soft_wrap=True)
    if len(failing) > 1 and not verbose:
        console.print(Text(_("(blockgrade check -v shows every failure in full)"), style="dim"))
    passed = all(row["passed"] for row in rows)
    total = sum(row["points"] for row in rows if row["passed"])
    console.print(
        _(
            "{passed} of {count} tasks pass the visible tests ({points} of {total} points if the hidden tests agree).",
            passed=sum(r["passed"] for r in rows),
            count=len(rows),
            points=fmt_points(total),
            total=fmt_points(sum(r["points"] for r in rows)),
        )
    )
    return passed
