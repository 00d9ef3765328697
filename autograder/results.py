"""The result of grading one submission, and how its status is decided."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field, replace

from autograder import text
from autograder.catalog import Assignment
from autograder.i18n import N_, _
from autograder.judge_runner import FAILED, NOT_RUN, PASSED, TestResult
from autograder.questions import Answer, Mark

# N_ marks each for the catalogs: files keep these values, readers see `status_label(status)`
GRADED = N_("graded")
IMPORT_ERROR = N_("import error")
TIMED_OUT = N_("timed out")
CRASHED = N_("crashed")
BAD_ARCHIVE = N_("bad archive")
MISSING_FILE = N_("missing file")
INTERNAL_ERROR = N_("internal error")
JUDGING_STOPPED = N_("judging stopped")  # checking the submission's data overran the judging limits
# When several apply, the gradebook shows the first of these.
STATUS_ORDER = (INTERNAL_ERROR, BAD_ARCHIVE, MISSING_FILE, JUDGING_STOPPED, TIMED_OUT, CRASHED, IMPORT_ERROR, GRADED)
# No code of the submission was read: it scores 0, and the class's statistics leave it out.
NOT_GRADED = (MISSING_FILE, BAD_ARCHIVE)

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
    # what the integrity scan found (autograder.integrity): for the instructor, never the student
    integrity_flags: list[dict] = field(default_factory=list)
    # written questions (autograder.questions): the answers found, and their scores once merged
    answers: list[Answer] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    source: str = ""  # the module source graded: the batch compares submissions (autograder.similarity)

    def __post_init__(self) -> None:
        bound_text(self)

    @property
    def score(self) -> float:
        """The tests' points, and the written questions' once graded by hand (autograder.manual)."""
        return sum(t.score for t in self.tests) + sum(m.score for m in self.marks)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests) + sum(m.points for m in self.marks)

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


def bound_text(result: SubmissionResult) -> None:
    """What a submission can make the grader write, bounded where its result is made: each note
    and each test's message normalized and capped (autograder.text), and all of them together
    held to one budget, past which each keeps a short stub. The name and origin are one line."""
    budget = text.SUBMISSION_TEXT_BUDGET

    def spend(value: str, limit: int) -> str:
        nonlocal budget
        kept = text.clean(value, limit if budget > 0 else text.STUB_CHARS)
        budget -= len(kept)
        return kept

    notes = [spend(n, text.MAX_NOTE_CHARS) for n in result.notes[: text.MAX_NOTES]]
    if len(result.notes) > text.MAX_NOTES:
        notes.append(N_("[… {count} more note(s) left out …]", count=len(result.notes) - text.MAX_NOTES))
    result.notes = notes
    result.tests = [
        t if not t.message else replace(t, message=spend(t.message, text.MAX_MESSAGE_CHARS)) for t in result.tests
    ]
    result.output = text.clean(result.output, text.MAX_OUTPUT_CHARS)
    # flagged lines quote the submission's source: no bidi override may reorder them for the reader
    result.integrity_flags = [
        {k: text.one_line(v, text.MAX_NOTE_CHARS) if isinstance(v, str) else v for k, v in f.items()}
        if isinstance(f, dict)
        else f
        for f in result.integrity_flags
    ]
    result.origin = text.one_line(result.origin, 300)
    result.name = text.one_line(result.name, 300)


def status_label(status: str) -> str:
    """A status as a reader sees it, in the active language; results.json and the gradebook
    keep the value itself."""
    return _(status)


def worst_status(statuses) -> str:
    present = set(statuses)
    for status in STATUS_ORDER:
        if status in present:
            return status
    return GRADED


@dataclass(frozen=True)
class TaskSummary:
    """One task across a batch: mean points and how many submissions earned them all."""

    task: str
    points: float
    mean: float  # 0 when `count` is 0
    full: int
    count: int


def task_summaries(assignment: Assignment, results: list[SubmissionResult]) -> list[TaskSummary]:
    """Per task, in catalog order, for the CLI's summary and the report alike."""
    earned: dict[str, list[TaskScore]] = {t.id: [] for t in assignment.tasks}
    for result in results:
        for score in result.task_scores():
            earned[score.task].append(score)
    return [
        TaskSummary(
            task=t.id,
            points=t.points,
            mean=statistics.fmean(s.score for s in earned[t.id]) if earned[t.id] else 0.0,
            full=sum(1 for s in earned[t.id] if s.max_score and s.score >= s.max_score - 1e-9),
            count=len(earned[t.id]),
        )
        for t in assignment.tasks
    ]


def whose_code_was_read(results: list[SubmissionResult]) -> list[SubmissionResult]:
    """The submissions class statistics are about: not those with no module or a bad archive
    (the report and `grade`'s summary list them apart)."""
    return [r for r in results if r.status not in NOT_GRADED]


def status_counts(results: list[SubmissionResult]) -> list[tuple[str, int]]:
    """How many submissions have each status, `graded` first, the statuses present only."""
    counts = Counter(r.status for r in results)
    return [(status, counts[status]) for status in reversed(STATUS_ORDER) if counts[status]]
