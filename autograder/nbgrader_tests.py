"""The autograded test cells of the notebook `blockgrade export nbgrader` writes: one per task.

    from autograder.nbgrader_tests import grade

    grade("MLP", assignment="blocks")

What the cell does depends on who runs it, which nbgrader says in `NBGRADER_EXECUTION`:

- `nbgrader autograde` (`autograde`): the collected notebook (the file in the folder nbgrader
  runs it in) is graded with the assignment's *hidden* suite, through the same `Grader` as
  `blockgrade grade`, so the two give the same points. The suite is read from the nbgrader
  course folder's `blockgrade/` (the export writes it beside `source/`, so nbgrader never
  releases it). The first test cell grades the notebook; the others reuse its result. The
  cell prints what failed and its value is the task's points: nbgrader's partial credit.
- `nbgrader validate` (`validate`): the same with the *visible* suite (the one released with
  the notebook); a task that fails raises, so that validation names it.
- Anyone else (a student running the notebook): one line saying what the cell is for; the
  check cell above it runs the visible tests.

Nothing the cell holds is secret: it names the task, never a test. It writes nothing to
stderr, which nbgrader would take for a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

from autograder import i18n
from autograder.catalog import Assignment, CatalogError, Course, course_at, find_course

EXECUTION_VARIABLE = "NBGRADER_EXECUTION"
AUTOGRADE = "autograde"
VALIDATE = "validate"
# The folder of the nbgrader course that holds the grading suites (`blockgrade export nbgrader`).
GRADING_FOLDER = "blockgrade"

_results: dict[tuple, object] = {}


def grading_course(start: Path) -> Course:
    """The course whose hidden suites grade the notebooks of the nbgrader course around `start`."""
    for folder in (start, *start.parents):
        candidate = folder / GRADING_FOLDER
        if (candidate / "assignments").is_dir():
            course = course_at(candidate)
            if course is not None:
                return course
    raise CatalogError(
        f"no {GRADING_FOLDER}/assignments/ in {start} or above: the hidden tests are written there by "
        "`blockgrade export nbgrader COURSE_DIR`; autograde in that course folder"
    )


def _assignment(course: Course, key: str | None) -> Assignment:
    if key:
        return course.get(key)
    if len(course.assignments) == 1:
        return course.assignments[0]
    raise CatalogError("name the assignment: grade(task, assignment='blocks')")


@contextlib.contextmanager
def _quiet():
    """Nothing reaches stderr while grading (nbgrader scores a cell that wrote there 0): Python
    warnings are ignored, and what is written to stderr, by this process or one it forks or
    starts, is dropped."""
    saved = None
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        saved = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)


def _graded(assignment: Assignment, suite: str, notebook: Path):
    """The notebook's result on `suite`, graded once per file version (the first test cell)."""
    from autograder.grading import Grader

    info = notebook.stat()
    key = (str(assignment.folder), suite, str(notebook.resolve()), info.st_mtime_ns, info.st_size)
    fresh = key not in _results
    if fresh:
        with _quiet(), Grader(assignment, suite) as grader:
            _results[key] = grader.grade(notebook, name=notebook.name)
    return _results[key], fresh


def _describe(result, task: str, fresh: bool) -> str:
    """The task's points and what failed; before them, in the first test cell only, what
    concerns the whole notebook (its total, status, notes, device checks not run)."""
    from autograder.i18n import _, localize
    from autograder.outputs import fmt_points, shown_test_name, summary_text
    from autograder.results import FAILED

    score = next(s for s in result.task_scores() if s.task == task)
    lines = [summary_text(result), ""] if fresh else []
    lines.append(f"{task}: {fmt_points(score.score)} / {fmt_points(score.max_score)}")
    for t in result.tests:
        if t.test.task == task and t.outcome == FAILED:
            points = _(" ({points} pt)", points=fmt_points(t.max_score))  # as feedback.md says it
            lines.append(f"- {shown_test_name(result, t.test)}{points}: {_('failed')}")
            lines += [f"    {line}" for line in localize(t.message, result.assignment).splitlines()]
    return "\n".join(lines)


def grade(task: str, assignment: str | None = None) -> float | None:
    """The test cell of `task`: its points under `nbgrader autograde` (see the module's doc)."""
    __tracebackhide__ = True  # a failed validation shows the cell, not this function
    mode = os.environ.get(EXECUTION_VARIABLE, "")
    if mode not in (AUTOGRADE, VALIDATE):
        print(
            i18n._(
                "{task}: graded with the course's hidden tests when your notebook is collected. "
                "The check cell above runs the visible ones.",
                task=task,
            )
        )
        return None
    here = Path.cwd()
    if mode == AUTOGRADE:
        course, suite = grading_course(here), "hidden"
    else:
        course, suite = find_course(here, prefer_student=True), "visible"
    a = _assignment(course, assignment)
    a.task(task)
    notebook = here / a.notebook
    if not notebook.is_file():
        raise CatalogError(f"{a.notebook} is not in {here}: nbgrader runs a notebook in its own folder")
    result, fresh = _graded(a, suite, notebook)
    with i18n.using(i18n.resolve(assignment=a)):
        print(_describe(result, task, fresh))
    score = next(s for s in result.task_scores() if s.task == task)
    if mode == VALIDATE:
        if score.failed:
            raise AssertionError(f"{task} does not pass its visible tests yet (above: what failed)")
        return None
    # nbgrader takes a number as the cell's points and refuses one above the cell's maximum
    return round(min(max(score.score, 0.0), a.task(task).points), 6)
