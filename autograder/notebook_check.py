"""`check(task)` in a Jupyter or Colab notebook: the visible tests of one task, as a table.

The check grades what the kernel has run, the way the grader reads a notebook submission:
the module is the assignment's given code (imports, helpers: the template module beside the
notebook) with each task's name taken from the latest cell the student ran that defines it,
the whole cell, as a solution cell is graded whole. Names not defined yet keep their stub.
Cells the student added that define no task name do not run, as in grading. The tests then
run through `blockgrade check`'s own path (`checking.run_check`), in the sandbox, and the
same per-task table is shown.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

from autograder.catalog import Assignment, CatalogError, find_course
from autograder.notebooks import first_line, strip_magics


def _history() -> list[str]:
    """The cells this kernel ran, oldest first (IPython's `In`)."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise CatalogError(
            "check() runs inside a Jupyter or Colab notebook; in a terminal, run `blockgrade check` instead"
        )
    return [str(cell) for cell in shell.user_ns.get("In", [])]


def _defines(source: str) -> set[str]:
    try:
        tree = ast.parse(strip_magics(source)[0])
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def module_from_history(assignment: Assignment, given_source: str, history: list[str]) -> str:
    """The module a notebook stands for, from the template module and the cells run so far."""
    task_names = [n for t in assignment.tasks for n in t.names]
    latest: dict[str, str] = {}
    for cell in history:  # later runs replace earlier ones
        for name in _defines(cell) & set(task_names):
            latest[name] = cell
    tree = ast.parse(given_source)
    lines = given_source.splitlines(keepends=True)
    parts, used = [], set()
    for node in tree.body:
        name = getattr(node, "name", None)
        cell = latest.get(name)
        if cell is None:
            parts.append("".join(lines[first_line(node) - 1 : node.end_lineno]))
        elif cell not in used:
            used.add(cell)
            parts.append(strip_magics(cell)[0])
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def find_assignment(key: str | None, task: str | None, start: Path | None = None) -> Assignment:
    """The assignment a notebook belongs to: named, or the one whose folder holds the notebook
    (Jupyter starts kernels there), or the only one with that task."""
    root = os.environ.get("BLOCKGRADE_ROOT")
    course = find_course(Path(root) if root else start, prefer_student=True)
    if key:
        return course.get(key)
    here = (start or Path.cwd()).resolve()
    for a in course.assignments:
        if here == a.folder or a.folder in here.parents:
            return a
    owners = [a for a in course.assignments if task in a.task_ids]
    if len(owners) == 1:
        return owners[0]
    raise CatalogError("name the assignment: check(task, assignment='blocks')")


def check(task: str | None = None, assignment: str | None = None, verbose: bool = False) -> None:
    """Run the visible tests of `task` (every task when None) on what this notebook has run
    and show the per-task table. Returns nothing, so that the cell shows only the table, and
    raises nothing, so that "Run All" goes on past a failing task."""
    from rich.console import Console

    from autograder.checking import render, run_check

    console = Console(highlight=False)
    try:
        a = find_assignment(assignment, task)
        if task is not None:
            a.task(task)
        given = a.folder / a.module
        if not given.is_file():
            raise CatalogError(f"{given} is missing: keep the notebook in its assignment folder")
        source = module_from_history(a, given.read_text(encoding="utf-8"), _history())
    except CatalogError as exc:
        console.print(f"[red]blockgrade: {exc}[/red]")
        return
    with tempfile.TemporaryDirectory(prefix="blockgrade-notebook-") as folder:
        path = Path(folder) / a.module
        path.write_text(source, encoding="utf-8")
        result = run_check(a, path, [task] if task else None)
    result.origin = f"{a.notebook} (the cells run so far)"
    render(result, console, {task} if task else None, verbose)
