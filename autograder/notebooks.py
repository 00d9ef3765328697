"""Notebook submissions: the module a notebook stands for.

In an nbgrader-format notebook the module is made of its solution cells and its read-only
code cells (the handout's imports), in order; check cells and any cell a student added do not
run. A notebook without nbgrader metadata (a student's own) contributes all its code cells.
IPython magics and shell lines (`%...`, `!...`) are dropped, since a module cannot run them.
"""

from __future__ import annotations

import ast
import re

NBGRADER_SCHEMA = 3
CHECK_PREFIX = "check-"


class NotebookError(ValueError):
    """The notebook cannot be read as a notebook."""


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata; {} where there is none or it is not a mapping."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_module_cell(cell, graded_notebook: bool) -> bool:
    if cell.get("cell_type") != "code":
        return False
    if not graded_notebook:
        return True
    meta = _nbgrader(cell)
    if meta.get("solution"):
        return True
    grade_id = meta.get("grade_id") if isinstance(meta.get("grade_id"), str) else ""
    return bool(meta.get("locked")) and not meta.get("grade") and not grade_id.startswith(CHECK_PREFIX)


def strip_magics(source: str) -> tuple[str, int]:
    """The cell without IPython-only lines (kept as blank lines); and how many were dropped."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return "", len(lines)
    kept, dropped = [], 0
    for line in lines:
        if line.lstrip().startswith(("%", "!")):
            kept.append("")
            dropped += 1
        else:
            kept.append(line)
    return "\n".join(kept), dropped


def _cells(data) -> list:
    """The cells of a notebook document (plain JSON: grading does not need nbformat's schemas)."""
    if not isinstance(data, dict):
        raise NotebookError("it is not a JSON object")
    if isinstance(data.get("cells"), list):
        return data["cells"]
    worksheets = data.get("worksheets")  # nbformat 3 kept cells in worksheets, code in "input"
    if isinstance(worksheets, list):
        cells = []
        for sheet in worksheets:
            sheet_cells = sheet.get("cells") if isinstance(sheet, dict) else None
            for cell in sheet_cells if isinstance(sheet_cells, list) else []:
                if isinstance(cell, dict):
                    cells.append({**cell, "source": cell.get("input", cell.get("source", ""))})
        return cells
    raise NotebookError("it has no list of cells")


def module_source_from_notebook(data: dict) -> tuple[str, list[str]]:
    cells = _cells(data)
    graded = any(_nbgrader(c) for c in cells if isinstance(c, dict))
    parts, notes, dropped = [], [], 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or not is_module_cell(cell, graded):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        text, n = strip_magics(source if isinstance(source, str) else "")
        dropped += n
        parts.append(f"# --- notebook cell {number} ---\n{text}\n")
    if dropped:
        notes.append(f"{dropped} IPython magic or shell line(s) of the notebook were left out.")
    return "\n".join(parts), notes


def first_line(node: ast.stmt) -> int:
    """Where a top-level statement starts: its first decorator, if it has one."""
    return node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno


# ------------------------------------------------------------------------ the template's notebook


def _cell(kind: str, source: str, cell_id: str, nbgrader: dict | None) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": NBGRADER_SCHEMA, "task": False, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _read_only(grade_id: str) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": True, "solution": False}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def notebook_from_module(assignment, source: str) -> str:
    """The nbgrader-format notebook of a (stub) module: same code, one solution cell per name.

    Cells, in the module's order: the handout (read-only), the code the course gives (imports,
    helpers; read-only), and per task a header, a solution cell per public name (the first
    one's grade_id is the task id) and a check cell after its last name.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    owner = {name: task for task in assignment.tasks for name in task.names}
    handout = (
        assignment.handout.read_text(encoding="utf-8") if assignment.handout.is_file() else f"# {assignment.title}\n"
    )
    cells = [_cell("markdown", handout.rstrip() + "\n", "handout", _read_only("handout"))]

    def text(node) -> str:
        first = first_line(node)
        last = node.end_lineno
        # indented comments right after the body belong to it (a solution's `### END SOLUTION`)
        scan = last
        while scan < len(lines) and (not lines[scan].strip() or lines[scan][:1] in " \t"):
            if lines[scan].strip().startswith("#"):
                last = scan + 1
            elif lines[scan].strip():
                break
            scan += 1
        return "".join(lines[first - 1 : last]).rstrip() + "\n"

    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the module docstring: the handout says it better
    last_of_task = {}
    for index, node in enumerate(body):
        task = owner.get(getattr(node, "name", None))
        if task is not None:
            last_of_task[task.id] = index

    given: list[str] = []
    started: set[str] = set()

    def flush_given() -> None:
        if given:
            grade_id = "imports" if not started else f"given-{len(cells)}"
            cells.append(_cell("code", "\n".join(given).rstrip() + "\n", grade_id, _read_only(grade_id)))
            given.clear()

    for index, node in enumerate(body):
        name = getattr(node, "name", None)
        task = owner.get(name)
        if task is None:
            given.append(text(node))
            continue
        flush_given()
        if task.id not in started:
            started.add(task.id)
            about = f"about-{_slug(task.id)}"
            header = f"## {task.id} ({task.points:g} points)\n\n{task.summary}\n"
            cells.append(_cell("markdown", header, about, _read_only(about)))
        grade_id = task.id if name == task.names[0] else name
        solution = {"grade": False, "grade_id": grade_id, "locked": False, "solution": True}
        cells.append(_cell("code", text(node), _slug(grade_id), solution))
        if last_of_task[task.id] == index:
            check_id = CHECK_PREFIX + _slug(task.id)
            check = f"from autograder.notebook_check import check\n\ncheck({task.id!r}, assignment={assignment.id!r})\n"
            cells.append(_cell("code", check, check_id, _read_only(check_id)))
    flush_given()
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    import nbformat  # only the template's builder needs it (its import takes seconds)

    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    return nbformat.writes(node) + "\n"
