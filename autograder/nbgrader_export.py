"""`blockgrade export nbgrader COURSE_DIR`: an nbgrader course whose own gradebook gets the points.

For every assignment it writes:

- `COURSE_DIR/source/<id>/<module>.ipynb`, the source notebook in nbgrader's format: the
  template notebook's cells (handout, given code, one solution cell per task name, solution
  between `### BEGIN SOLUTION` and `### END SOLUTION`, a check cell per task) with, after each
  task's check cell, an autograded test cell worth the task's points (`grade: true`,
  `points`, `grade_id` `test-<task>`, locked). The cell calls `autograder.nbgrader_tests`,
  which at `nbgrader autograde` grades the collected notebook with the hidden suite: nbgrader's
  gradebook then holds, per task, what `blockgrade grade` gives the same notebook. Beside it:
  the handout, the template module and the visible tests (what `check` needs);
- `COURSE_DIR/blockgrade/assignments/<slug>/`: the assignment's toml and its suites, hidden
  included, that the test cells grade with. It is outside `source/`, so `nbgrader
  generate_assignment` never releases it;
- `COURSE_DIR/nbgrader_config.py`, when there is none: the course id, and a cell time limit
  long enough for the first test cell (it grades the whole notebook).

The source notebook is built in steps (`NOTEBOOK_STEPS`), each a function of the assignment
and the notebook's JSON: another kind of cell is one more step.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.catalog import Assignment, CatalogError, Course
from autograder.generate import BEGIN, END, build_assignment
from autograder.nbgrader_tests import GRADING_FOLDER
from autograder.notebooks import CHECK_PREFIX, NBGRADER_SCHEMA, notebook_from_module
from autograder.release import _assert_no_solution, copy_grading_suites

TEST_PREFIX = "test-"
# nbgrader's Execute gives a cell 30 s by default; the first test cell grades the whole
# notebook (a sandbox to start, torch to import): give it the submission's limits and more.
CELL_TIMEOUT_MARGIN = 240

NBGRADER_CONFIG = """\
# Written by `blockgrade export nbgrader`; nbgrader reads it from the course folder.
import warnings

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
# The first autograded test cell grades the whole notebook with the hidden tests.
c.Execute.timeout = {timeout}
# Quiet: nbgrader 0.9's gradebook warns on every submission under SQLAlchemy 2, and each
# kernel it starts warns that it listens on localhost TCP; neither is the instructor's to fix.
warnings.filterwarnings("ignore", message=r"Object of type <\\w+> not in session")
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _grade_id(cell: dict) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id", "") if isinstance(meta.get("grade_id"), str) else ""


def test_cell(assignment: Assignment, task) -> dict:
    """The autograded cell of one task: worth its points, locked, naming no test."""
    grade_id = TEST_PREFIX + _slug(task.id)
    source = (
        f"# Autograded: {task.id}'s {task.points:g} point(s) come from the course's hidden tests"
        " when your notebook is graded.\n"
        "from autograder.nbgrader_tests import grade\n"
        "\n"
        f"grade({task.id!r}, assignment={assignment.id!r})\n"
    )
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": grade_id,
        "metadata": {
            "nbgrader": {
                "schema_version": NBGRADER_SCHEMA,
                "grade": True,
                "grade_id": grade_id,
                "locked": True,
                "points": task.points,
                "solution": False,
                "task": False,
            }
        },
        "outputs": [],
        "source": source,
    }


def add_test_cells(assignment: Assignment, notebook: dict) -> dict:
    """A test cell after each task's check cell (after its last solution cell if it has none)."""
    cells = notebook["cells"]
    for task in assignment.tasks:
        names = {task.id, *task.names}
        place = None
        for index, cell in enumerate(cells):
            grade_id = _grade_id(cell)
            if grade_id == CHECK_PREFIX + _slug(task.id):
                place = index
                break
            if grade_id in names and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                place = index
        if place is None:
            raise CatalogError(f"{assignment.id}: the notebook has no cell for task {task.id}")
        cells.insert(place + 1, test_cell(assignment, task))
    return notebook


NOTEBOOK_STEPS: list[Callable[[Assignment, dict], dict]] = [add_test_cells]


def source_notebook(assignment: Assignment) -> str:
    """The assignment's source notebook for nbgrader, from its reference solution."""
    import nbformat

    from autograder import i18n
    from autograder.i18n_tools import translate_solution

    # in the assignment's language (--lang, else its own): handout, docstrings, task headers
    language = i18n.resolve(None, assignment, environment=False)
    solution = (assignment.solution_dir / assignment.module).read_text(encoding="utf-8")
    with i18n.using(language):
        notebook = json.loads(notebook_from_module(assignment, translate_solution(assignment, solution, language)))
    for step in NOTEBOOK_STEPS:
        notebook = step(assignment, notebook)
    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    text = nbformat.writes(node) + "\n"
    _check_markers_only_in_solution_cells(assignment, text)
    return text


def _check_markers_only_in_solution_cells(assignment: Assignment, notebook_text: str) -> None:
    for cell in json.loads(notebook_text)["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        if source.count(BEGIN) != source.count(END):
            raise CatalogError(f"{assignment.id}: cell {meta.get('grade_id')!r} has unbalanced solution markers")
        if BEGIN in source and not meta.get("solution"):
            raise CatalogError(
                f"{assignment.id}: a solution region lies outside every task's definition "
                f"(cell {meta.get('grade_id')!r}); nbgrader would release it as is"
            )


def cell_timeout(course: Course) -> int:
    return int(
        max(a.limits.submission_seconds + a.limits.judge_seconds for a in course.assignments) + CELL_TIMEOUT_MARGIN
    )


@dataclass
class NbgraderExport:
    notebooks: list[Path]  # COURSE_DIR/source/<id>/<module>.ipynb
    grading: Path  # COURSE_DIR/blockgrade: the suites the test cells grade with
    config: Path
    config_written: bool  # False: an nbgrader_config.py was there, and was left as it was
    cell_timeout: int  # the cell time limit the test cells need (c.Execute.timeout)


def export_nbgrader(course: Course, course_dir: Path) -> NbgraderExport:
    """Write the nbgrader course (see the module's doc)."""
    written = []
    grading = course_dir / GRADING_FOLDER
    for assignment in course.assignments:
        target = course_dir / "source" / assignment.id
        notebook = source_notebook(assignment)
        with tempfile.TemporaryDirectory(prefix="blockgrade-nbgrader-") as tmp:
            folder = Path(tmp) / assignment.id
            build_assignment(assignment, folder)
            (folder / assignment.notebook).unlink()
            _assert_no_solution(assignment, folder)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)
        (target / assignment.notebook).write_text(notebook, encoding="utf-8")
        copy_grading_suites(assignment, grading / "assignments" / assignment.slug)
        written.append(target / assignment.notebook)
    config = course_dir / "nbgrader_config.py"
    fresh, timeout = not config.exists(), cell_timeout(course)
    if fresh:
        # (a folder named in another script, `作业`, leaves no ASCII: then "course", not "--")
        course_id = re.sub(r"[^A-Za-z0-9_-]", "-", course.root.name).strip("-") or "course"
        config.write_text(NBGRADER_CONFIG.format(course_id=course_id, timeout=timeout), encoding="utf-8")
    return NbgraderExport(written, grading, config, config_written=fresh, cell_timeout=timeout)


def nbgrader_next_steps(export: NbgraderExport) -> str:
    """What the export wrote, and what to run next: the command's output."""
    course_dir = export.config.parent
    lines = [f"wrote {path}" for path in export.notebooks]
    lines.append(f"wrote {export.grading}: the hidden tests the autograded cells grade with (never released)")
    if export.config_written:
        lines.append(f"wrote {export.config}")
    elif "Execute.timeout" in export.config.read_text(encoding="utf-8", errors="replace"):
        lines.append(f"kept {export.config} as it was")
    else:
        lines.append(
            f"kept {export.config} as it was: the autograded cells need a longer cell time limit than nbgrader's "
            f"30 s (the first one grades the whole notebook); add the lines of a fresh export's config, such as "
            f"`c.Execute.timeout = {export.cell_timeout}`"
        )
    lines.append(
        f"next, in {course_dir}: nbgrader generate_assignment ID; once submissions are collected, "
        "nbgrader autograde ID, then nbgrader export (each task's points are in nbgrader's gradebook)"
    )
    return "\n".join(lines)
