"""`blockgrade check`: the visible suite on a student's own file, as a per-task table.

It is the grading path itself (`Grader` on the visible suite), so what a student sees locally
is what the grader would say about the same tests.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograder.catalog import Assignment, CatalogError
from autograder.grading import Grader
from autograder.outputs import fmt_points
from autograder.results import FAILED, NOT_RUN, SubmissionResult

HINT_CHARS = 160
NEWER_SECONDS = 1.0


def working_file(assignment: Assignment, folder: Path | None = None) -> Path:
    """The file a student is working on: the module or its notebook, whichever changed last."""
    folder = folder or assignment.folder
    module, notebook = folder / assignment.module, folder / assignment.notebook
    if not module.is_file() and not notebook.is_file():
        raise CatalogError(f"no {assignment.module} or {assignment.notebook} in {folder}")
    if not notebook.is_file():
        return module
    if not module.is_file():
        return notebook
    # the template writes both at once: the notebook wins only once it was saved after the module
    return notebook if notebook.stat().st_mtime > module.stat().st_mtime + NEWER_SECONDS else module


def run_check(assignment: Assignment, path: Path, tasks: list[str] | None = None, host=None) -> SubmissionResult:
    """Grade `path` with the visible suite (on `host`, a SandboxHost already started for it)."""
    with Grader(assignment, "visible", tasks=tasks, host=host) as grader:
        return grader.grade(path, name=path.name)


def first_line(message: str) -> str:
    line = next((l.strip() for l in message.splitlines() if l.strip()), "")
    return line if len(line) <= HINT_CHARS else line[: HINT_CHARS - 1] + "…"


def task_rows(result: SubmissionResult, selected: set[str] | None = None) -> list[dict]:
    rows = []
    for task in result.assignment.tasks:
        if selected and task.id not in selected:
            continue
        tests = [r for r in result.tests if r.test.task == task.id]
        failed = [r for r in tests if r.outcome == FAILED]
        ran = [r for r in tests if r.outcome != NOT_RUN]
        not_run = sorted({r.test.device for r in tests if r.outcome == NOT_RUN and r.test.device})
        if failed:
            verdict = f"failed ({len(failed)} of {len(ran)})"
        elif ran:
            verdict = "passed"
        else:
            verdict = "not run"
        rows.append(
            {
                "task": task.id,
                "points": task.points,
                "verdict": verdict,
                "passed": not failed and bool(ran),
                "hint": first_line(failed[0].message) if failed else "",
                "detail": failed[0] if failed else None,
                "not_run": not_run,
            }
        )
    return rows


def render(result: SubmissionResult, console: Console, selected: set[str] | None = None, verbose: bool = False) -> bool:
    """Print the per-task table (and the first failure of each task); True if all passed."""
    a = result.assignment
    console.print(Text.assemble((a.title, "bold"), f": visible tests on {result.origin or result.name}"))
    for note in result.notes:
        console.print(Text(f"  note: {note}", style="yellow"))
    table = Table(show_lines=False)
    table.add_column("task", style="bold")
    table.add_column("points", justify="right")
    table.add_column("result")
    table.add_column("hint", overflow="fold")
    rows = task_rows(result, selected)
    for row in rows:
        style = "green" if row["passed"] else "red"
        verdict = row["verdict"] + (
            f" ({', '.join(row['not_run'])} not run)" if row["not_run"] and row["passed"] else ""
        )
        table.add_row(Text(row["task"]), fmt_points(row["points"]), Text(verdict, style=style), Text(row["hint"]))
    console.print(table)
    failing = [row for row in rows if row["detail"] is not None]
    for row in failing if verbose else failing[:1]:
        detail = row["detail"]
        console.print(
            Text(
                f"{row['task']}: {detail.test.title}" + (f" [{detail.test.device}]" if detail.test.device else ""),
                style="bold red",
            )
        )
        console.print(Text(detail.message), soft_wrap=True)
        console.print()
    if verbose and result.output.strip():
        console.print(Text("What your code printed:", style="bold"))
        console.print(Text(result.output), soft_wrap=True)
    if len(failing) > 1 and not verbose:
        console.print(Text("(blockgrade check -v shows every failure in full)", style="dim"))
    passed = all(row["passed"] for row in rows)
    total = sum(row["points"] for row in rows if row["passed"])
    console.print(
        f"{sum(r['passed'] for r in rows)} of {len(rows)} tasks pass the visible tests "
        f"({fmt_points(total)} of {fmt_points(sum(r['points'] for r in rows))} points if the hidden tests agree)."
    )
    return passed
