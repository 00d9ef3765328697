"""Tasks are graded independently (EXERCISES.md: a wrong task must not zero another's): for every
task of every assignment, a module where only that task is solved (the stub, with the reference
solution's definitions of that task's names) passes all of that task's checks, visible and hidden."""

import ast

import pytest

from autograder.catalog import course_at
from autograder.grading import grade_batch

from conftest import REPO

COURSE = course_at(REPO)


def definitions(source: str) -> dict[str, str]:
    """Top-level def/class name -> its source (decorators included)."""
    lines = source.splitlines(keepends=True)
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            found[node.name] = "".join(lines[first - 1 : node.end_lineno])
    return found


def only_solved(stub: str, solution: str, names: tuple[str, ...]) -> str:
    solved = definitions(solution)
    out = stub
    for name, text in definitions(stub).items():
        if name in names:
            out = out.replace(text, solved[name], 1)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    results = {}
    for a in COURSE.assignments:
        stub = (REPO / "student_template" / a.slug / a.module).read_text(encoding="utf-8")
        solution = (a.solution_dir / a.module).read_text(encoding="utf-8")
        root = tmp_path_factory.mktemp(f"only-{a.slug}")
        paths = []
        for task in a.tasks:
            folder = root / "subs" / task.id
            folder.mkdir(parents=True)
            source = only_solved(stub, solution, task.names)
            assert source != stub, f"{a.id}: no definition of {task.names} in the stub"
            (folder / a.module).write_text(source, encoding="utf-8")
            paths.append(folder)
        for suite in ("visible", "hidden"):
            batch = grade_batch(COURSE, a, paths, root / f"out-{suite}", suite=suite, devices=["cpu"], workers=1)
            for r in batch.results:
                results[(a.id, suite, r.name)] = r
    return results


CASES = [
    pytest.param(a.id, suite, t.id, id=f"{a.id}-{suite}-{t.id}")
    for a in COURSE.assignments
    for suite in ("visible", "hidden")
    for t in a.tasks
]


@pytest.mark.parametrize("assignment, suite, task", CASES)
def test_a_task_solved_alone_passes_all_its_checks(graded, assignment, suite, task):
    result = graded[(assignment, suite, task)]
    mine = [t for t in result.tests if t.test.task == task and t.test.runs]
    assert mine, f"{task} has no {suite} checks"
    failing = [f"{t.test.name}: {t.message[:300]}" for t in mine if t.outcome != "passed"]
    assert not failing, "\n".join(failing)
    assert sum(t.score for t in mine) == pytest.approx(sum(t.max_score for t in mine))
