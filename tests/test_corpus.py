"""Every assignment graded end to end on its corpus: the reference solution earns full marks,
the generated stub earns nothing, and each mistaken submission loses exactly the points its
case says, with feedback that names the mistake; correct variants keep full marks."""

import shutil

import pytest

from autograder.catalog import course_at
from autograder.grading import Grader, grade_batch

import corpus
from conftest import REPO

COURSE = course_at(REPO)
ASSIGNMENTS = [a for a in COURSE.assignments if corpus.cases(a.slug)]
CASES = [pytest.param(a, c, id=f"{a.id}-{c.name}") for a in ASSIGNMENTS for c in corpus.cases(a.slug)]
# Short limits keep the endless-loop cases quick; correct code needs a fraction of them.
LIMITS = {"probe_seconds": 3, "submission_seconds": 40}
SOLUTION, STUB = "reference-solution", "generated-stub"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One batch per assignment: every case, the solution and the stub."""
    graded = {}
    for a in ASSIGNMENTS:
        root = tmp_path_factory.mktemp(a.slug)
        solution = (a.solution_dir / a.module).read_text(encoding="utf-8")
        paths = []
        for case in corpus.cases(a.slug):
            folder = root / case.name
            folder.mkdir()
            (folder / a.module).write_text(corpus.compose(solution, case), encoding="utf-8")
            paths.append(folder)
        for name, source in ((SOLUTION, a.solution_dir), (STUB, REPO / "student_template" / a.slug)):
            (root / name).mkdir()
            shutil.copyfile(source / a.module, root / name / a.module)
            paths.append(root / name)
        batch = grade_batch(COURSE, a, paths, root / "out", limits=a.limits.replace(**LIMITS), devices=["cpu"])
        assert not batch.interrupted
        graded[a.id] = ({r.name: r for r in batch.results}, root / "out")
    return graded


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id)
def test_solution_earns_full_marks(graded, assignment):
    results, _ = graded[assignment.id]
    result = results[SOLUTION]
    failed = [f"{t.test.name}: {t.message}" for t in result.tests if t.outcome == "failed"]
    assert not failed, "\n".join(failed)
    assert (result.score, result.max_score, result.status) == (assignment.max_score, assignment.max_score, "graded")


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id)
def test_stub_earns_nothing(graded, assignment):
    results, _ = graded[assignment.id]
    result = results[STUB]
    assert result.score == 0 and result.max_score == assignment.max_score
    passed = [t.test.name for t in result.tests if t.outcome == "passed"]
    assert not passed, f"the stub passes {passed}"


@pytest.mark.parametrize("assignment, case", CASES)
def test_case(graded, assignment, case):
    results, out = graded[assignment.id]
    result = results[case.name]
    earned = {s.task: s.score for s in result.task_scores()}
    expected = case.expected_scores(assignment.tasks)
    details = "\n".join(
        f"  {t.test.name}: {t.outcome} {t.message[:200]}" for t in result.tests if t.outcome == "failed"
    )
    assert earned == pytest.approx(expected), f"{case.mistake}\nearned {earned}\nexpected {expected}\n{details}"
    assert result.status == case.status, f"{case.mistake}: status {result.status!r}, expected {case.status!r}"
    feedback = (out / result.name / "feedback.md").read_text(encoding="utf-8")
    for phrase in case.feedback:
        assert phrase in feedback, f"{case.mistake}: feedback.md does not say {phrase!r}:\n{feedback}"
    # A judge names a cause only when it verified it (judging.Mistake): every cause named for
    # this case must be the case's own, and the case's causes must be named.
    named = {t.cause for t in result.tests if t.cause}
    assert named <= set(case.causes), (
        f"{case.mistake}: feedback names the cause(s) {sorted(named - set(case.causes))}, "
        f"which are not this case's ({case.causes or 'none'}):\n{details}"
    )
    assert set(case.causes) <= named, f"{case.mistake}: no judge named {sorted(set(case.causes) - named)}\n{details}"


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.id)
def test_visible_suite_passes_the_solution_and_fails_every_stub_task(assignment):
    with Grader(assignment, "visible", devices=["cpu"]) as grader:
        solved = grader.grade(assignment.solution_dir)
        stub = grader.grade(REPO / "student_template" / assignment.slug)
    failed = [f"{t.test.name}: {t.message}" for t in solved.tests if t.outcome == "failed"]
    assert not failed, "\n".join(failed)
    assert {t.test.task for t in solved.tests} == set(assignment.task_ids), "every task needs a visible test"
    assert all(s.failed for s in stub.task_scores()), "the stub passes a task's visible tests"
