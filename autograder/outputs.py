"""Where results are written: results.json (Gradescope's schema), feedback.md, gradebook.csv.

Everything written is deterministic for the same submission and suite, apart from the
`execution_time` field: no temporary paths, no timestamps, no captured output of the
student's code in hidden feedback.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

from autograder import __version__, manual
from autograder.i18n import N_, _, localize, speaks_assignment
from autograder.integrity import summary as integrity_summary
from autograder.results import NOT_RUN, PASSED, SubmissionResult, status_label
from autograder.text import code_span, csv_cell, fenced

# checks of a device this runner lacks, said once (the summary, the feedback, the report)
NOT_RUN_DEVICES = N_("{count} device check(s) were not run: this runner has no {devices}.")


def fmt_points(value: float) -> str:
    """20 -> '20', 2.5 -> '2.5', 1/3 -> '0.3333'."""
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _points_json(value: float) -> float | int:
    return int(round(value)) if abs(value - round(value)) < 1e-9 else round(value, 6)


def test_visibility(result: SubmissionResult) -> str:
    if result.suite != "hidden":
        return "visible"
    return result.assignment.hidden_visibility


def shown_test_name(result: SubmissionResult, test) -> str:
    """`task: title [device]` with the title in the active language."""
    title = localize(test.title, result.assignment)
    return f"{test.task}: {title}" + (f" [{test.device}]" if test.device else "")


@speaks_assignment
def summary_text(result: SubmissionResult) -> str:
    a = result.assignment
    lines = [
        f"{localize(a.title, a)}: {fmt_points(result.score)} / {fmt_points(result.max_score)} "
        f"({status_label(result.status)})"
    ]
    # a note's further lines (an exception's message) are indented: none can pass for a line of
    # ours, such as the written questions' score that merge-manual finds by its "- " start
    lines += ["- " + localize(note, a).replace("\n", "\n  ") for note in result.notes]
    not_run = [t for t in result.tests if t.outcome == NOT_RUN]
    if not_run:
        devices = sorted({t.test.device for t in not_run if t.test.device})
        lines.append("- " + _(NOT_RUN_DEVICES, count=len(not_run), devices=", ".join(devices)))
    lines += manual.result_summary_lines(result)  # written questions: pending, or their score
    return "\n".join(lines)


@speaks_assignment
def results_json(result: SubmissionResult) -> dict:
    """Gradescope's results.json for one submission; each test's tags carry its task id."""
    visibility = test_visibility(result)
    tests = []
    for number, r in enumerate(result.tests, start=1):
        entry = {
            "name": shown_test_name(result, r.test) + (_(" (not run)") if r.outcome == NOT_RUN else ""),
            "number": str(number),
            "score": _points_json(r.score),
            "max_score": _points_json(r.max_score),
            "output": localize(r.message, result.assignment),
            "output_format": "text",
            "tags": [r.test.task],
            "visibility": visibility,
            "extra_data": {"task": r.test.task, "outcome": r.outcome, "device": r.test.device},
        }
        if r.outcome != NOT_RUN:  # Gradescope knows only passed and failed; not run is neither
            entry["status"] = "passed" if r.outcome == PASSED else "failed"
        tests.append(entry)
    return {
        "score": _points_json(result.score),
        "execution_time": round(result.seconds, 2),
        "output": summary_text(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment.id,
            "suite": result.suite,
            "status": result.status,
            "max_score": _points_json(result.max_score),
            "task_scores": {s.task: _points_json(s.score) for s in result.task_scores()},
            "sandbox": result.sandbox,
            "kit_version": __version__,
            # what the integrity scan flagged, for the instructor: never in the student's feedback
            "integrity_flags": result.integrity_flags,
            **manual.results_extra(result),  # written questions: extra_data.written (autograder.manual)
        },
    }


@speaks_assignment
def feedback_markdown(result: SubmissionResult) -> str:
    """The student's feedback.md, in the active language."""
    a = result.assignment
    out = [
        f"# {localize(a.title, a)}: {fmt_points(result.score)} / {fmt_points(result.max_score)}"
        + localize(manual.title_suffix(result), a),  # "(autograded part; ...)" while questions are pending
        "",
    ]
    origin = _(" ({module} from {origin})", module=a.module, origin=code_span(result.origin)) if result.origin else ""
    out.append(_("Status: **{status}**", status=status_label(result.status)) + origin)
    out.append("")
    if result.notes:
        out += [_("## Notes"), ""]
        notes = [localize(n, a) for n in result.notes]
        # student text sits in code it cannot close: a note may quote an exception's message
        out += [f"- {fenced(n, indent='  ') if chr(10) in n else code_span(n)}" for n in notes]
        out.append("")
    out += [_("| Task | Points | Result |"), "|---|---|---|"]
    for s in result.task_scores():
        if s.failed:
            verdict = _("{failed} of {checks} checks failed", failed=s.failed, checks=s.passed + s.failed)
        elif s.passed:
            verdict = _("passed")
        else:
            verdict = _("not run")
        out.append(f"| {s.task} | {fmt_points(s.score)} / {fmt_points(s.max_score)} | {verdict} |")
    out.append("")
    failing = [r for r in result.tests if r.outcome not in (PASSED, NOT_RUN)]
    if failing:
        out += [_("## What to fix"), ""]
        for task in a.tasks:
            mine = [r for r in failing if r.test.task == task.id]
            if not mine:
                continue
            out += [f"### {task.id}", ""]
            for r in mine:
                out.append(
                    f"- **{localize(r.test.title, a)}**"
                    + (f" [{r.test.device}]" if r.test.device else "")
                    + _(" ({points} pt)", points=fmt_points(r.max_score))
                )
                out.append("")
                out.append(fenced(localize(r.message, a)))
                out.append("")
    not_run = [r for r in result.tests if r.outcome == NOT_RUN]
    if not_run:
        out += [_("## Not run"), ""]
        # a device this runner lacks: one line for all its checks, not one per check
        devices = sorted({r.test.device for r in not_run if r.test.device})
        if devices:
            count = sum(1 for r in not_run if r.test.device)
            out.append("- " + _(NOT_RUN_DEVICES, count=count, devices=", ".join(devices)))
        out += [
            f"- {shown_test_name(result, r.test)}: {code_span(localize(r.message, a))}"
            for r in not_run
            if not r.test.device
        ]
        out.append("")
    out += manual.result_feedback_section(result)  # written questions, last (autograder.manual)
    return "\n".join(out)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def write_submission(out_dir: Path, result: SubmissionResult) -> Path:
    """DIR/<submission>/results.json and feedback.md."""
    folder = out_dir / result.name
    # a tree results_json made afresh, without cycles: json's pure-Python (indented) encoder
    # need not track every container it enters, a third of its time
    atomic_write(folder / "results.json", json.dumps(results_json(result), indent=2, check_circular=False) + "\n")
    atomic_write(folder / "feedback.md", feedback_markdown(result))
    manual.write_answers(folder, result)  # answers/<question>.md (autograder.manual)
    return folder


def gradebook_header(task_ids: list[str], extra: list[str] = ()) -> list[str]:
    return ["submission", "score", "max_score", "status", *task_ids, *extra, "flags"]


class Gradebook:
    """A batch's gradebook.csv: each row made into its line once, when added; `write` replaces
    the whole file atomically (sorted by submission; valid after a Ctrl-C), so a rewrite while
    hundreds are graded is a sort and a join, not every row's cells again."""

    def __init__(self, path: Path, task_ids: list[str], extra: list[str] = ()) -> None:
        import io

        self.path, self.task_ids, self.extra = path, list(task_ids), list(extra)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")
        self.header = self._line(gradebook_header(self.task_ids, self.extra))
        self.lines: list[tuple[str, str]] = []  # (submission, its line), in the order added

    def _line(self, cells: list[str]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow(cells)
        return self.buffer.getvalue()

    def add(self, row: dict) -> None:
        cells = (
            # points are the grader's own numbers; every text cell is neutralized (autograder.text)
            [csv_cell(row["submission"]), fmt_points(row["score"]), fmt_points(row["max_score"])]
            + [csv_cell(row["status"])]
            + [fmt_points(row["tasks"].get(t, 0.0)) for t in self.task_ids]
            + [csv_cell(row.get(e, "")) for e in self.extra]
            + [csv_cell(row.get("flags", ""))]
        )
        self.lines.append((row["submission"], self._line(cells)))

    def write(self) -> None:
        ordered = sorted(self.lines, key=lambda line: line[0])  # stable: equal names stay in order
        atomic_write(self.path, self.header + "".join(line for _, line in ordered))


def gradebook_row(result: SubmissionResult, columns: dict[str, str] | None = None) -> dict:
    return {
        **(columns or {}),
        "submission": result.name,
        "score": result.score,
        "max_score": result.max_score,
        "status": result.status,
        "tasks": {s.task: s.score for s in result.task_scores()},
        "flags": integrity_summary(result.integrity_flags),  # '2: frame access, fd write'
        **manual.gradebook_cells(result),  # one column per written question, then `written`
    }
