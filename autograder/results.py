"""The result of grading one submission, and how its status is decided."""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.catalog import Assignment
from autograder.judge_runner import FAILED, NOT_RUN, PASSED, TestResult

GRADED = "graded"
IMPORT_ERROR = "import error"
TIMED_OUT = "timed out"
CRASHED = "crashed"
BAD_ARCHIVE = "bad archive"
MISSING_FILE = "missing file"
INTERNAL_ERROR = "internal error"
# When several apply, the gradebook shows the first of these.
STATUS_ORDER = (INTERNAL_ERROR, BAD_ARCHIVE, MISSING_FILE, TIMED_OUT, CRASHED, IMPORT_ERROR, GRADED)

__all__ = ["SubmissionResult", "TaskScore", "PASSED", "FAILED", "NOT_RUN", *STATUS_ORDER]


@dataclass(frozen=True)
class TaskScore:
    task: str
    score: float
    max_score: float
    passed: int
    failed: int
    not_run: int


@dataclass
class SubmissionResult:
    name: str
    assignment: Assignment
    suite: str
    status: str
    tests: list[TestResult]
    notes: list[str] = field(default_factory=list)  # sentences for the student, in order
    output: str = ""  # what the submission printed (capped); never put in hidden feedback
    seconds: float = 0.0
    origin: str = ""
    sandbox: str = ""  # the isolation the submission ran under: root, user or basic

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def task_scores(self) -> list[TaskScore]:
        scores = []
        for task in self.assignment.tasks:
            tests = [t for t in self.tests if t.test.task == task.id]
            scores.append(
                TaskScore(
                    task=task.id,
                    score=sum(t.score for t in tests),
                    max_score=sum(t.max_score for t in tests),
                    passed=sum(t.outcome == PASSED for t in tests),
                    failed=sum(t.outcome == FAILED for t in tests),
                    not_run=sum(t.outcome == NOT_RUN for t in tests),
                )
            )
        return scores


def worst_status(statuses) -> str:
    present = set(statuses)
    for status in STATUS_ORDER:
        if status in present:
            return status
    return GRADED
