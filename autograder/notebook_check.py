"""`check(task)` in a Jupyter or Colab notebook: the visible tests of one task, as a table.

The check grades what the kernel has run, the way the grader reads a notebook submission:
the module is the assignment's given code (imports, helpers: the template module beside the
notebook) with each task's name taken from the latest cell the student ran that defines it,
the whole cell, as a solution cell is graded whole. Names not defined yet keep their stub.
Of the other cells run, only the definitions the taken code uses (a helper, a constant, an
import: `notebooks.helper_definitions`, as grading takes them from added cells) run. The
tests then run through `blockgrade check`'s own path (`checking.run_check`), in the sandbox,
and the same per-task table is shown; an error cites the cell it is in (`Cell In[7], line 3`).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from autograder import i18n
from autograder.catalog import Assignment, CatalogError, find_course
from autograder.i18n import N_, _
from autograder.notebooks import ModuleBuilder, NotebookModule, first_line, helper_definitions, strip_magics


def _history() -> list[str]:
    """The cells this kernel ran, oldest first, as the student wrote them: IPython's raw input
    history, numbered as `In` (whose entries are the cells as IPython rewrote them: a cell under
    `%%time` is a call of `run_cell_magic`, a line magic one of `get_ipython()`, which the
    check would then read as no code of the task's, or as a statement that fails)."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise CatalogError(
            _("check() runs inside a Jupyter or Colab notebook; in a terminal, run `blockgrade check` instead")
        )
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    return [str(cell) for cell in (history if history is not None else shell.user_ns.get("In", []))]


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


def module_from_history(
    assignment: Assignment, given_source: str, history: list[str], given_name: str | None = None
) -> NotebookModule:
    """The module a notebook stands for, from the template module (`given_name`, its file) and
    the cells run so far (IPython's `In`: `history[n]` is `In[n]`), with a map of where each
    line came from (`Cell In[7], line 3`, or the template module's own line)."""
    given_name = given_name or assignment.module
    task_names = [n for t in assignment.tasks for n in t.names]
    latest: dict[str, int] = {}
    for number, cell in enumerate(history):  # later runs replace earlier ones
        for name in _defines(cell) & set(task_names):
            latest[name] = number
    tree = ast.parse(given_source)
    lines = given_source.splitlines(keepends=True)
    pieces: list[tuple[str, int | None, int]] = []  # (code, cell number or None for given code, its first line)
    used: set[int] = set()
    for node in tree.body:
        number = latest.get(getattr(node, "name", None))
        if number is None:
            first = first_line(node)
            pieces.append(("".join(lines[first - 1 : node.end_lineno]), None, first))
        elif number not in used:
            used.add(number)
            pieces.append((strip_magics(history[number])[0], number, 1))
    # what the cells taken use from other cells run (a helper, a constant): as grading takes it
    others = [n for n in range(len(history)) if n not in used]
    codes = {n: strip_magics(history[n])[0] for n in others}
    helpers = helper_definitions([code for code, _, _ in pieces], [codes[n] for n in others])
    builder = ModuleBuilder()
    first_task = next((i for i, (_, number, _) in enumerate(pieces) if number is not None), len(pieces))
    for i, (code, number, start) in enumerate(pieces):
        if i == first_task:
            for d in helpers:
                number_of = others[d.cell]
                text = "\n".join(codes[number_of].split("\n")[d.first - 1 : d.last])
                builder.add("", text, start=d.first, cell=f"Cell In[{number_of}]")
        if number is None:
            builder.add("", code, start=start, file=given_name)
        else:
            builder.add("", code, start=1, cell=f"Cell In[{number}]")
    notes = []
    if helpers:
        numbers = sorted({others[d.cell] for d in helpers})
        fields = dict(
            cells=", ".join(f"In[{n}]" for n in numbers), names=", ".join(sorted({n for d in helpers for n in d.names}))
        )
        if len(numbers) > 1:  # English kept, translated where the table shows it (`checking.render`)
            note = N_(
                "cells you ran ({cells}) define {names}, which your task cells use: those definitions are checked "
                "too, as grading takes them from the cells you added (the rest of those cells is not).",
                **fields,
            )
        else:
            note = N_(
                "a cell you ran ({cells}) defines {names}, which your task cells use: those definitions are checked "
                "too, as grading takes them from the cells you added (the rest of that cell is not).",
                **fields,
            )
        notes.append(note)
    return NotebookModule(builder.source(), notes, builder.line_map(assignment.notebook))


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
    raise CatalogError(_("name the assignment: check(task, assignment='blocks')"))


def check(
    task: str | None = None, assignment: str | None = None, verbose: bool = False, lang: str | None = None
) -> None:
    """Run the visible tests of `task` (every task when None) on what this notebook has run
    and show the per-task table. Returns nothing, so that the cell shows only the table, and
    raises nothing, so that "Run All" goes on past a failing task. The table is in `lang`
    (`es`, `zh`, `en`), else `$BLOCKGRADE_LANG`'s language, else the assignment's."""
    with i18n.using(i18n.normalize(lang) if lang else None):
        _check(task, assignment, verbose)


def _check(task: str | None, assignment: str | None, verbose: bool) -> None:
    from autograder.nbgrader_tests import AUTOGRADE, EXECUTION_VARIABLE, VALIDATE

    if os.environ.get(EXECUTION_VARIABLE) in (AUTOGRADE, VALIDATE):  # nbgrader's test cells grade it
        print("(not run while nbgrader grades or validates: the autograded cells below check this notebook)")
        return
    from rich.console import Console

    from autograder.checking import render, run_check
    from autograder.staging import from_source

    console = Console(highlight=False)
    try:
        a = find_assignment(assignment, task)
        if task is not None:
            a.task(task)
        given = a.folder / a.module
        if not given.is_file():
            raise CatalogError(_("{path} is missing: keep the notebook in its assignment folder", path=given))
        made = module_from_history(a, given.read_text(encoding="utf-8"), _history(), a.module)
    except CatalogError as exc:
        console.print(f"[red]blockgrade: {exc}[/red]")
        return
    staged = from_source(a, made.source, a.notebook, made.notes, made.lines)
    result = run_check(a, staged, [task] if task else None)
    with i18n.using(i18n.resolve(assignment=a)):
        result.origin = _("{notebook} (the cells run so far)", notebook=a.notebook)
        render(result, console, {task} if task else None, verbose)
