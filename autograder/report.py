"""DIR/report.html: the class at a glance, for the instructor.

One self-contained page (no script, no fetched asset): score histogram, pass rate per task and
per test, the most common failure messages with counts, the submissions that did not grade
cleanly, the lines the integrity scan flagged ("Review these"), and every submission's row. It
is rendered from the results in memory, so it holds what the gradebook holds; it carries no
timestamp, so the same batch gives the same page.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2

from autograder import __version__, i18n
from autograder.catalog import Assignment
from autograder.i18n import localize
from autograder.outputs import NOT_RUN_DEVICES, atomic_write, fmt_points
from autograder.results import (
    FAILED,
    GRADED,
    NOT_GRADED,
    NOT_RUN,
    PASSED,
    SubmissionResult,
    status_counts,
    status_label,
    task_summaries,
    whose_code_was_read,
)

TOP_FAILURES = 15
EXAMPLES_PER_FAILURE = 5
MAX_BINS = 25
REVIEW_LINES = 25  # flagged lines shown per submission
HTML_LANG = {"zh": "zh-CN"}  # the page's lang attribute: picks the reader's CJK glyph forms


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    height: float


def histogram(scores: list[float], max_score: float) -> list[Bar]:
    """Bars of the score distribution: one per point when that is few enough, else equal bins."""
    if max_score <= 0:
        return []
    step = 1.0 if max_score <= MAX_BINS else max_score / MAX_BINS
    edges = int(round(max_score / step)) + 1
    counts = [0] * edges
    for score in scores:
        counts[min(edges - 1, max(0, int(score / step + 1e-9)))] += 1
    tallest = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        low = i * step
        label = fmt_points(low) if step == 1.0 else f"{fmt_points(round(low, 1))}–{fmt_points(round(low + step, 1))}"
        bars.append(Bar(label, count, i, count / tallest))
    return bars


def _message_key(message: str) -> str:
    """A failure message's first line with its numbers masked, so that one mistake made by
    many students with different values counts as one."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "(no message)")
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", first)[:300]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def context(
    assignment: Assignment, results: list[SubmissionResult], count: int, interrupted: bool, similarity=None
) -> dict:
    # the written questions' and the similar submissions' sections
    from autograder import manual
    from autograder import similarity as similar

    everyone = sorted(results, key=lambda r: r.name)
    # The statistics (scores, tasks, tests, failures) are about the submissions whose code was
    # read: a missing file or a bad archive has its own section and is no test's failure.
    results = whose_code_was_read(everyone)
    scores = [r.score for r in results]
    # once written questions are merged (autograder.manual), scores are out of the whole assignment
    out_of = assignment.max_score + (assignment.written_points if any(r.marks for r in everyone) else 0)
    tasks = [
        {
            "id": t.task,
            "points": fmt_points(t.points),
            "mean": fmt_points(round(t.mean, 2)) if t.count else "–",
            "rate": _rate(t.full, t.count),
            "full": t.full,
            "count": t.count,
        }
        for t in task_summaries(assignment, results)
    ]
    per_test: dict[str, dict] = {}
    failures: dict[tuple[str, str], list] = defaultdict(list)
    for r in results:
        for t in r.tests:
            row = per_test.setdefault(
                t.test.name,
                {
                    "name": _shown_name(assignment, t.test),
                    "task": t.test.task,
                    "device": t.test.device,
                    "passed": 0,
                    "failed": 0,
                    "not_run": 0,
                },
            )
            row[{PASSED: "passed", FAILED: "failed", NOT_RUN: "not_run"}.get(t.outcome, "failed")] += 1
            if t.outcome == FAILED:
                failures[(_shown_name(assignment, t.test), _message_key(t.message))].append((r.name, t.message))
    tests = list(per_test.values())
    for row in tests:
        row["ran"] = row["passed"] + row["failed"]
        row["rate"] = _rate(row["passed"], row["ran"])
    # a device this runner lacks: its checks ran for no one, one note instead of a row each
    unrun = [row for row in tests if not row["ran"] and row["device"]]
    tests = [row for row in tests if row not in unrun]
    common = sorted(failures.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP_FAILURES]
    return {
        "assignment": assignment,
        "title": localize(assignment.title, assignment),
        "lang": HTML_LANG.get(i18n.current(), i18n.current()),
        "version": __version__,
        "count": count,
        "graded": len(everyone),
        "counted": len(results),  # the statistics' denominator: graded, less the not graded
        "interrupted": interrupted,
        "max_score": fmt_points(out_of),
        "summary": {
            "mean": fmt_points(round(statistics.fmean(scores), 2)) if scores else "–",
            "median": fmt_points(round(statistics.median(scores), 2)) if scores else "–",
            "min": fmt_points(min(scores)) if scores else "–",
            "max": fmt_points(max(scores)) if scores else "–",
        },
        "statuses": [(status_label(status), n) for status, n in status_counts(everyone)],
        "bars": histogram(scores, out_of),
        "tasks": tasks,
        "tests": tests,
        "not_run": i18n._(NOT_RUN_DEVICES, count=len(unrun), devices=", ".join(sorted({r["device"] for r in unrun})))
        if unrun
        else "",
        "failures": [
            {
                "test": test,
                "count": len(hits),
                "message": localize(hits[0][1], assignment),
                "who": [name for name, _ in hits[:EXAMPLES_PER_FAILURE]],
                "more": max(0, len(hits) - EXAMPLES_PER_FAILURE),
            }
            for (test, _), hits in common
        ],
        # the integrity scan's flags (autograder.integrity): code to read, not a verdict
        "review": [
            {
                "name": r.name,
                "score": fmt_points(r.score),
                "flags": r.integrity_flags[:REVIEW_LINES],
                "more": max(0, len(r.integrity_flags) - REVIEW_LINES),
            }
            for r in everyone
            if r.integrity_flags
        ],
        "not_graded": [
            {
                "name": r.name,
                "status": status_label(r.status),
                "note": localize(r.notes[0], assignment) if r.notes else "",
            }
            for r in everyone
            if r.status in NOT_GRADED
        ],
        "problems": [
            {
                "name": r.name,
                "status": status_label(r.status),
                "note": localize(r.notes[0], assignment) if r.notes else "",
            }
            for r in everyone
            if r.status != GRADED and r.status not in NOT_GRADED
        ],
        "rows": [
            {
                "name": r.name,
                "score": fmt_points(r.score),
                "status": r.status,
                "status_label": status_label(r.status),
                "tasks": [fmt_points(s.score) for s in r.task_scores()],
            }
            for r in everyone
        ],
        "task_ids": assignment.task_ids,
        "written": manual.report_section(assignment, everyone),
        "similarity": similar.report_section(similarity),
    }


def _shown_name(assignment: Assignment, test) -> str:
    """A test's `task: title [device]`, its title in the active language."""
    return f"{test.task}: {localize(test.title, assignment)}" + (f" [{test.device}]" if test.device else "")


@functools.cache
def environment() -> jinja2.Environment:
    """The one jinja2 environment of the instructor's pages (the report, each written question's
    page, each similar pair's page): a template is compiled once per process, not once a page."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("autograder", "templates"),
        autoescape=True,  # names, notes, answers and messages come from submissions
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = lambda rate: "–" if rate is None else f"{100 * rate:.0f}%"
    env.globals["_"] = i18n._  # labels in the active language: {{ _("mean") }}, fields by name
    return env


@i18n.speaks_assignment
def render_report(
    assignment: Assignment, results: list[SubmissionResult], count: int, interrupted: bool, similarity=None
) -> str:
    return (
        environment()
        .get_template("report.html.j2")
        .render(context(assignment, results, count, interrupted, similarity))
    )


def write_report(
    path: Path,
    assignment: Assignment,
    results: list[SubmissionResult],
    count: int,
    interrupted: bool = False,
    similarity=None,  # autograder.similarity.Similarity: the report's "Similar submissions"
) -> Path:
    atomic_write(path, render_report(assignment, results, count, interrupted, similarity))
    return path
