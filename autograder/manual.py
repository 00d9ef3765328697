"""Written questions graded by hand: pending after `grade`, a sheet to fill, and the merge.

`grade` leaves an assignment's written questions pending: the gradebook's `written` column
says `pending` and its question columns are empty, each `results.json` holds the questions
and where the answers are (`extra_data.written`), the totals are the autograded part, and
`feedback.md` ends with a "Written questions" section saying so. It writes beside them

- `DIR/<submission>/answers/<question>.md`: each answer found (autograder.questions);
- `DIR/manual.csv`: one row per question and submission (`submission, question, points,
  answer, rubric, score, comment`), question by question; `answer` is the answer's file (empty
  when there is none: such a row comes with score 0 and a comment saying so);
- `DIR/manual/<question>.html`: every submission's answer to one question, one below the other,
  with the question, its rubric (numbered as the sheet's `rubric` column counts them) and each
  answer's line in the sheet;
- `DIR/manual/batch.json`: the language the feedback was written in, which `merge` keeps
  (unless `--lang` says another).

Graders fill `score` (or `rubric`, the numbers of the items an answer meets: the score is then
their sum) and `comment`, and `merge` puts the sheet into the gradebook, each `results.json`
(one Gradescope test per question, its output the rubric and the comment), each `feedback.md`
and `report.html`. It checks the whole sheet first (an unknown submission or question, a score
above the question's points or below 0, a row missing or given twice) and writes nothing
unless every row is right; merging again (a corrected sheet) replaces the earlier marks.

nbgrader: `nbgrader export --exporter=autograder.nbgrader_manual.ManualScores` writes the
scores and comments given in formgrader as such a sheet (`student_id` and `assignment` name
the submission), which `merge` takes as well.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import text
from autograder.catalog import Assignment, Course
from autograder.errors import BlockgradeError
from autograder.i18n import N_
from autograder.questions import Answer, Mark

PENDING = "pending"  # the gradebook's `written` column and extra_data.written.status
GRADED = "graded"
WRITTEN_COLUMN = "written"
WRITTEN_TAG = "written"  # the tag of a written question's test in results.json
SHEET = "manual.csv"
SHEET_NEW = "manual.new.csv"  # where a fresh sheet goes when graders already filled manual.csv
PAGES_DIR = "manual"
# what `grade` records for `merge`: DIR/manual/batch.json, {"language": "es"} (the feedback's language)
BATCH_FILE = f"{PAGES_DIR}/batch.json"
ANSWERS_DIR = "answers"
SHEET_COLUMNS = ("submission", "question", "points", "answer", "rubric", "score", "comment")
NO_ANSWER = N_("No answer was submitted.")  # the sheet's comment where there is no answer
MARKER = "<!-- blockgrade: written questions -->"
SECTION_START = f"## Written questions\n{MARKER}\n"  # where feedback.md's written section starts (it is last)
SUMMARY_PREFIX = "- Written questions"  # results.json's output: its last line (in English)
# translated where feedback.md is written; merge-manual replaces what follows the title's last ": "
PENDING_SUFFIX = N_(" (autograded part; written questions pending)")
MAX_COMMENT_CHARS = 4000
MAX_ERRORS = 20


class ManualError(BlockgradeError):
    """The sheet or the gradebook folder cannot be merged; the message lists every problem."""


def fmt(value: float) -> str:
    from autograder.outputs import fmt_points

    return fmt_points(value)


def _number(value: float) -> float | int:
    return int(round(value)) if abs(value - round(value)) < 1e-9 else round(value, 6)


# ------------------------------------------------------------------ what `grade` writes: hooks


def gradebook_columns(assignment: Assignment) -> list[str]:
    """The gradebook's written columns: one per question, then `written` (none without questions)."""
    return [*assignment.question_ids, WRITTEN_COLUMN] if assignment.questions else []


def has_written_part(result) -> bool:
    """Whether `result` has a written part: the batch read its answers (autograder.questions).
    Elsewhere (`check`, Gradescope's runner, where the platform grades written questions
    itself) a result has none, and nothing here adds to it."""
    return bool(result.assignment.questions and result.answers)


def gradebook_cells(result) -> dict[str, str]:
    if not has_written_part(result):
        return {}
    marks = {m.question: m for m in result.marks}
    cells = {q: fmt(marks[q].score) if q in marks else "" for q in result.assignment.question_ids}
    cells[WRITTEN_COLUMN] = GRADED if len(marks) == len(result.assignment.questions) else PENDING
    return cells


def answer_path(name: str, question: str) -> str:
    """Where a submission's answer is written, relative to the gradebook folder."""
    return f"{name}/{ANSWERS_DIR}/{question}.md"


def written_info(result) -> dict:
    """`extra_data.written` of a results.json: the questions, where the answers are, the marks."""
    a = result.assignment
    answers = {x.question: x for x in result.answers}
    marks = {m.question: m for m in result.marks}
    tests_score = sum(t.score for t in result.tests)
    tests_max = sum(t.max_score for t in result.tests)
    questions = []
    for q in a.questions:
        answer = answers.get(q.id, Answer(q.id, ""))
        mark = marks.get(q.id)
        questions.append(
            {
                "id": q.id,
                "prompt": q.prompt.strip(),
                "points": _number(q.points),
                "rubric": [{"text": r.text, "points": _number(r.points)} for r in q.rubric],
                "answered": answer.answered,
                "origin": answer.origin,
                "answer": answer_path(result.name, q.id) if answer.answered else "",
                "score": None if mark is None else _number(mark.score),
                "comment": "" if mark is None else mark.comment,
                "rubric_met": [] if mark is None else list(mark.rubric),
            }
        )
    return {
        "status": GRADED if len(marks) == len(a.questions) else PENDING,
        "title": a.title,
        "visibility": a.hidden_visibility,
        "points": _number(a.written_points),
        "autograded": {"score": _number(tests_score), "max_score": _number(tests_max)},
        "questions": questions,
    }


def results_extra(result) -> dict:
    """What results.json's extra_data gains: `{"written": ...}` when there are questions."""
    return {"written": written_info(result)} if has_written_part(result) else {}


def _points_text(value: float) -> str:
    """`8 points`, in the active language."""
    from autograder.i18n import ngettext

    return ngettext("{points} point", "{points} points", 1 if value == 1 else 2, points=fmt(value))


def summary_prefixes() -> tuple[str, ...]:
    """How the summary line starts (`- Written questions`) in each language: merge-manual finds
    the line of a results.json written in any of them."""
    from autograder.i18n import LANGUAGES, translations

    translated = ("- " + translations(lang).gettext("Written questions") for lang in LANGUAGES)
    return tuple(dict.fromkeys([SUMMARY_PREFIX, *translated]))


def summary_lines(info: dict) -> list[str]:
    """The last line of results.json's output: pending, or the written score (in the active
    language)."""
    from autograder.i18n import _

    prefix = "- " + _("Written questions")
    if info["status"] == PENDING:
        return [
            _(
                "{prefix} ({points}): pending, graded by hand; the score above is the autograded part.",
                prefix=prefix,
                points=_points_text(info["points"]),
            )
        ]
    written = sum(q["score"] for q in info["questions"])
    auto = info["autograded"]
    return [
        _(
            "{prefix}: {written} / {points}, graded by hand (autograded part: {score} / {max_score}).",
            prefix=prefix,
            written=fmt(written),
            points=fmt(info["points"]),
            score=fmt(auto["score"]),
            max_score=fmt(auto["max_score"]),
        )
    ]


def result_summary_lines(result) -> list[str]:
    return summary_lines(written_info(result)) if has_written_part(result) else []


def title_suffix(result) -> str:
    """What feedback.md's title line ends with: the autograded part while questions are pending."""
    if has_written_part(result) and len(result.marks) < len(result.assignment.questions):
        return PENDING_SUFFIX
    return ""


def feedback_section(info: dict, assignment: Assignment | None = None) -> list[str]:
    """feedback.md's last section, from `extra_data.written`: what was found, or the marks
    (the rubric's items in the active language, from `assignment`'s catalogs)."""
    from autograder.i18n import _, localize
    from autograder.text import code_span, fenced

    points = _points_text
    out = ["## " + _("Written questions"), MARKER, ""]  # merge-manual finds the section by its MARKER
    auto = info["autograded"]
    if info["status"] == PENDING:
        out += [
            _(
                "These are graded by hand ({points}): not graded yet. The score above is the autograded part "
                "({score} / {max_score}).",
                points=points(info["points"]),
                score=fmt(auto["score"]),
                max_score=fmt(auto["max_score"]),
            ),
            "",
            "| " + " | ".join((_("Question"), _("Points"), _("Your answer"))) + " |",
            "|---|---|---|",
        ]
        for q in info["questions"]:
            found = _("found in {where}", where=code_span(q["origin"])) if q["answered"] else _("none found")
            out.append(f"| `{q['id']}` | {fmt(q['points'])} | {found} |")
        out.append("")
        return out
    written = sum(q["score"] for q in info["questions"])
    out += [
        _(
            "Graded by hand: {written} / {points}. Autograded part: {score} / {max_score}. In all: {total} / {most}.",
            written=fmt(written),
            points=fmt(info["points"]),
            score=fmt(auto["score"]),
            max_score=fmt(auto["max_score"]),
            total=fmt(auto["score"] + written),
            most=fmt(auto["max_score"] + info["points"]),
        ),
        "",
    ]
    for q in info["questions"]:
        out += [f"### `{q['id']}`: {fmt(q['score'])} / {fmt(q['points'])}", ""]
        if not q["answered"]:
            out += [_("No answer was found in your submission."), ""]
        if q["rubric"]:
            met = set(q["rubric_met"])
            for number, item in enumerate(q["rubric"], start=1):
                box = ("[x] " if number in met else "[ ] ") if met else ""
                out.append(f"- {box}{localize(item['text'], assignment)} ({points(item['points'])})")
            out.append("")
        if q["comment"]:
            out += [_("Comment:"), "", fenced(_comment(q["comment"]), MAX_COMMENT_CHARS), ""]
    return out


def result_feedback_section(result) -> list[str]:
    return feedback_section(written_info(result), result.assignment) if has_written_part(result) else []


def write_answers(folder: Path, result) -> None:
    """DIR/<submission>/answers/<question>.md for each answer found (a stale one is removed)."""
    from autograder.outputs import atomic_write

    for answer in result.answers:
        path = folder / ANSWERS_DIR / f"{answer.question}.md"
        if answer.answered:
            atomic_write(path, answer.text.rstrip("\n") + "\n")
        elif path.is_file():
            path.unlink()


# ------------------------------------------------------------------- the sheet and the pages


def sheet_rows(assignment: Assignment, results: list) -> list[dict]:
    """One row per question and submission, question by question, submissions by name."""
    rows = []
    for q in assignment.questions:
        for result in sorted(results, key=lambda r: r.name):
            answer = next((a for a in result.answers if a.question == q.id), Answer(q.id, ""))
            rows.append(
                {
                    "submission": result.name,
                    "question": q.id,
                    "points": fmt(q.points),
                    "answer": answer_path(result.name, q.id) if answer.answered else "",
                    "rubric": "",
                    "score": "" if answer.answered else "0",
                    "comment": "" if answer.answered else NO_ANSWER,
                    "_answer": answer,
                }
            )
    return rows


def _sheet_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for row in rows:
        writer.writerow([text.csv_cell(row[c]) if c in ("submission", "comment") else row[c] for c in SHEET_COLUMNS])
    return buffer.getvalue()


def _filled(path: Path) -> bool:
    """Whether graders have put anything into the sheet at `path` (a score or comment of theirs)."""
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return True  # unreadable: not ours to overwrite
    return any(
        (r.get("score") or "").strip() not in ("", "0")
        or (r.get("comment") or "").strip() not in ("", NO_ANSWER)
        or (r.get("rubric") or "").strip()
        for r in rows
    )


def question_page(assignment: Assignment, question, rows: list[dict]) -> str:
    """Every answer to one question, one below the other, with the rubric and sheet lines (in
    the active language, as the report)."""
    from autograder.i18n import current, localize
    from autograder.report import HTML_LANG, environment  # (jinja2: an instructor tool, imported here)

    entries = []
    for line, row in rows:
        answer: Answer = row["_answer"]
        entries.append(
            {
                "name": row["submission"],
                "line": line,
                "answered": answer.answered,
                "origin": answer.origin,
                "text": answer.text,
                "words": len(answer.text.split()),
            }
        )
    return (
        environment()
        .get_template("manual_question.html.j2")
        .render(
            lang=HTML_LANG.get(current(), current()),
            title=localize(assignment.title, assignment),
            question=question,
            prompt=localize(question.prompt.strip(), assignment),
            points_text=_points_text(question.points),
            rubric=[
                {"text": localize(r.text, assignment), "points_text": _points_text(r.points)} for r in question.rubric
            ],
            answered=[e for e in entries if e["answered"]],
            unanswered=[e for e in entries if not e["answered"]],
            sheet=SHEET,
        )
    )


@dataclass
class SheetReport:
    sheet: Path
    pages: list[Path]
    kept: Path | None = None  # an already filled manual.csv left as it was


def write_sheet(out_dir: Path, assignment: Assignment, results: list) -> SheetReport | None:
    """DIR/manual.csv and DIR/manual/<question>.html; a manual.csv graders have filled is kept,
    and the fresh sheet goes to manual.new.csv."""
    from autograder.outputs import atomic_write

    if not assignment.questions:
        return None
    rows = sheet_rows(assignment, results)
    target, kept = out_dir / SHEET, None
    if target.is_file() and _filled(target):
        kept, target = target, out_dir / SHEET_NEW
    atomic_write(target, _sheet_text(rows))
    write_batch_language(out_dir)
    pages = []
    numbered = list(enumerate(rows, start=2))  # line 1 is the header
    for q in assignment.questions:
        mine = [(line, row) for line, row in numbered if row["question"] == q.id]
        page = out_dir / PAGES_DIR / f"{q.id}.html"
        atomic_write(page, question_page(assignment, q, mine))
        pages.append(page)
    return SheetReport(sheet=target, pages=pages, kept=kept)


def write_batch_language(out_dir: Path) -> None:
    """DIR/manual/batch.json: the language the batch's feedback is in (the active one, as
    `grade_batch` writes it), which `merge` keeps unless it is told another."""
    from autograder.i18n import current
    from autograder.outputs import atomic_write

    atomic_write(out_dir / BATCH_FILE, json.dumps({"language": current()}) + "\n")


def batch_language(out_dir: Path) -> str | None:
    """The language `grade` recorded in DIR/manual/batch.json, checked; None where it recorded
    none (a folder graded before it did)."""
    from autograder.i18n import LANGUAGES

    path = out_dir / BATCH_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ManualError(f"{path} cannot be read ({type(exc).__name__}: {exc}): give --lang, or grade again") from None
    language = data.get("language") if isinstance(data, dict) else None
    if language not in LANGUAGES:
        raise ManualError(
            f"{path}: unknown language {text.one_line(str(language), 40)!r} (one of {', '.join(LANGUAGES)}): "
            "give --lang, or grade again"
        )
    return language


# ------------------------------------------------------------------------------- the merge


@dataclass
class _Submission:
    name: str
    folder: Path
    data: dict  # results.json
    feedback: str
    info: dict  # data["extra_data"]["written"]


@dataclass
class MergeReport:
    submissions: int
    questions: int
    written: list[Path] = field(default_factory=list)


def _read_csv(path: Path, what: str) -> tuple[list[str], list[tuple[int, dict]]]:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManualError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManualError(f"{path} cannot be read as UTF-8 text: {exc}") from None
    first = raw.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    try:
        reader = csv.reader(io.StringIO(raw), delimiter=delimiter)
        header = [h.strip().lower() for h in next(reader, [])]
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append((reader.line_num, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}))
    except csv.Error as exc:
        raise ManualError(f"{path} is not a readable {what}: {exc}") from None
    return header, rows


def _load_submissions(out_dir: Path) -> tuple[list[str], list[list[str]], list[_Submission]]:
    gradebook = out_dir / "gradebook.csv"
    if not gradebook.is_file():
        raise ManualError(f"{out_dir} holds no gradebook.csv: give the folder `blockgrade grade --out` wrote")
    with open(gradebook, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    if not table:
        raise ManualError(f"{gradebook} is empty")
    header = table[0]
    body = [cells for cells in table[1:] if any(c.strip() for c in cells)]  # blank lines an editor left
    for column in ("submission", "score", "max_score", WRITTEN_COLUMN):
        if column not in header:
            if column == WRITTEN_COLUMN:
                raise ManualError(f"{gradebook} has no written questions (no `{WRITTEN_COLUMN}` column)")
            raise ManualError(f"{gradebook} has no `{column}` column")
    for cells in body:
        if len(cells) != len(header):
            raise ManualError(
                f"{gradebook}: the row {text.one_line(','.join(cells), 80)!r} has {len(cells)} cell(s), "
                f"the header {len(header)}: give the gradebook.csv `grade` wrote"
            )
    submissions = []
    for cells in body:
        name = cells[header.index("submission")]
        folder = out_dir / name
        try:
            data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
            feedback = (folder / "feedback.md").read_text(encoding="utf-8")
            info = data["extra_data"]["written"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ManualError(
                f"{folder} does not hold the results.json and feedback.md `grade` wrote ({type(exc).__name__}: {exc})"
            ) from None
        if MARKER not in feedback:
            raise ManualError(f"{folder / 'feedback.md'} has no written questions section")
        submissions.append(_Submission(name, folder, data, feedback, info))
    return header, body, submissions


def _parse_score(raw: str) -> float | None:
    value = raw.strip().lstrip("'")
    if re.fullmatch(r"[+-]?\d+,\d+", value):
        value = value.replace(",", ".")  # a decimal comma, as spreadsheets in many locales write
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_rubric(raw: str) -> list[int] | None:
    items = [p for p in re.split(r"[\s,;]+", raw.strip()) if p]
    if not all(p.isdecimal() for p in items):  # isdigit() takes '²', which int() refuses
        return None
    return sorted({int(p) for p in items})


def _resolve(row: dict, names: dict[str, str]) -> str | None:
    """The gradebook's submission a row names: `submission`, or nbgrader's `student_id` (as is,
    or `<student_id>_<assignment>`: what `grade` names nbgrader's `submitted/<student>/<id>`)."""
    from autograder.staging import safe_name

    wanted = (row.get("submission") or "").strip().lstrip("'")
    candidates = [wanted] if wanted else []
    student = (row.get("student_id") or "").strip()
    if student:
        assignment = (row.get("assignment") or "").strip()
        candidates += [student, f"{student}_{assignment}"] if assignment else [student]
    for candidate in candidates:
        for form in (candidate, safe_name(candidate)):
            if form.lower() in names:
                return names[form.lower()]
    return None


def read_marks(sheet: Path, submissions: list[_Submission]) -> dict[str, dict[str, Mark]]:
    """The sheet's marks, submission by submission, checked against what was graded: every
    problem is collected, and a ManualError lists them."""
    header, rows = _read_csv(sheet, "sheet")
    if "question" not in header or "score" not in header or not {"submission", "student_id"} & set(header):
        raise ManualError(
            f"{sheet} needs the columns submission (or nbgrader's student_id), question and score; "
            f"it has: {', '.join(h for h in header if h) or 'none'}"
        )
    names = {s.name.lower(): s.name for s in submissions}
    points = {s.name: {q["id"]: q for q in s.info["questions"]} for s in submissions}
    errors: list[str] = []
    marks: dict[str, dict[str, Mark]] = {s.name: {} for s in submissions}
    for line, row in rows:
        where = f"{sheet.name} line {line}"
        name = _resolve(row, names)
        label = (row.get("submission") or row.get("student_id") or "").strip()
        if name is None:
            known = ", ".join(sorted(s.name for s in submissions)[:8])
            errors.append(f"{where}: unknown submission {text.one_line(label, 80)!r} (the gradebook has {known}, …)")
            continue
        qid = (row.get("question") or "").strip()
        question = points[name].get(qid)
        if question is None:
            errors.append(
                f"{where}: unknown question {text.one_line(qid, 80)!r} (questions: {', '.join(points[name])})"
            )
            continue
        if qid in marks[name]:
            errors.append(f"{where}: {name} / {qid} is given a second time")
            continue
        rubric: list[int] = []
        raw_rubric = (row.get("rubric") or "").strip()
        if raw_rubric:
            parsed = _parse_rubric(raw_rubric)
            count = len(question["rubric"])
            if parsed is None or any(not 1 <= n <= count for n in parsed):
                errors.append(
                    f"{where}: rubric {text.one_line(raw_rubric, 40)!r} for {qid} must list item numbers "
                    f"from 1 to {count}, like '1 3'"
                )
                continue
            rubric = parsed
        raw_score = (row.get("score") or "").strip()
        if not raw_score and rubric:
            score = sum(question["rubric"][n - 1]["points"] for n in rubric)
        elif not raw_score:
            errors.append(f"{where}: no score for {name} / {qid}")
            continue
        else:
            score = _parse_score(raw_score)
            if score is None:
                errors.append(f"{where}: score {text.one_line(raw_score, 40)!r} for {name} / {qid} is not a number")
                continue
        if score < 0:
            errors.append(f"{where}: score {fmt(score)} for {name} / {qid} is below 0")
            continue
        if score > question["points"] + 1e-9:
            errors.append(
                f"{where}: score {fmt(score)} for {name} / {qid} is above the question's "
                f"{fmt(question['points'])} points"
            )
            continue
        comment = text.clean((row.get("comment") or "").strip(), MAX_COMMENT_CHARS)
        marks[name][qid] = Mark(qid, score, float(question["points"]), comment, tuple(rubric))
    missing = [f"{s.name} / {q}" for s in submissions for q in points[s.name] if q not in marks[s.name]]
    if missing:
        errors.append(
            f"{sheet.name}: no row for {len(missing)} answer(s): {', '.join(missing[:10])}"
            + (", …" if len(missing) > 10 else "")
        )
    if errors:
        shown = errors[:MAX_ERRORS] + ([f"… and {len(errors) - MAX_ERRORS} more"] if len(errors) > MAX_ERRORS else [])
        raise ManualError(f"{sheet} was not merged; nothing was written:\n  " + "\n  ".join(shown))
    return marks


def _merged_info(info: dict, marks: dict[str, Mark]) -> dict:
    questions = []
    for q in info["questions"]:
        mark = marks[q["id"]]
        questions.append({**q, "score": _number(mark.score), "comment": mark.comment, "rubric_met": list(mark.rubric)})
    return {**info, "status": GRADED, "questions": questions}


def _comment(text: str) -> str:
    """A grader's comment as the student reads it: the sheet's own prefilled one translated."""
    from autograder.i18n import _

    return _(NO_ANSWER) if text.strip() == NO_ANSWER else text


def _merged_results(data: dict, info: dict, assignment: Assignment | None = None) -> dict:
    """results.json with one test per question (replacing earlier ones) and the totals, its
    texts in the active language (the rubric's items from `assignment`'s catalogs)."""
    from autograder.i18n import _, localize

    tests = [t for t in data.get("tests", []) if WRITTEN_TAG not in (t.get("tags") or [])]
    auto = info["autograded"]
    for q in info["questions"]:
        met = set(q["rubric_met"])
        lines = [
            f"{'[x]' if i in met else '[ ]' if met else '-'} {localize(r['text'], assignment)} "
            f"({_points_text(r['points'])})"
            for i, r in enumerate(q["rubric"], start=1)
        ]
        if q["comment"]:
            lines += ["", _("Comment: {comment}", comment=_comment(q["comment"]))]
        if not q["answered"]:
            lines = [_("No answer was found in your submission."), *lines]
        tests.append(
            {
                "name": _("Written question {id}", id=q["id"]),
                "number": str(len(tests) + 1),
                "score": q["score"],
                "max_score": q["points"],
                "output": "\n".join(lines),
                "output_format": "text",
                "tags": [WRITTEN_TAG, q["id"]],
                "visibility": info.get("visibility", "after_published"),
                "extra_data": {"question": q["id"], "rubric_met": q["rubric_met"], "graded_by": "hand"},
            }
        )
    written = sum(q["score"] for q in info["questions"])
    total, total_max = auto["score"] + written, auto["max_score"] + info["points"]
    extra = {**data.get("extra_data", {}), "written": info, "max_score": _number(total_max)}
    # the summary's first line gets the new totals, its last line (ours) the written score
    head, *rest = data.get("output", "").split("\n")
    head = re.sub(r": [^ ]+ / [^ ]+ (\([^()]*\))$", lambda m: f": {fmt(total)} / {fmt(total_max)} {m.group(1)}", head)
    ours = [i for i, line in enumerate(rest) if line.startswith(summary_prefixes())]
    rest = rest[: ours[-1]] if ours else rest
    output = "\n".join([head, *rest, *summary_lines(info)])
    return {**data, "score": _number(total), "tests": tests, "output": output, "extra_data": extra}


def _merged_feedback(feedback: str, info: dict, assignment: Assignment | None = None) -> str:
    auto = info["autograded"]
    written = sum(q["score"] for q in info["questions"])
    first, _, rest = feedback.partition("\n")
    first = first.removesuffix(PENDING_SUFFIX)
    title, sep, _ = first.rpartition(": ")
    if sep:
        first = f"{title}: {fmt(auto['score'] + written)} / {fmt(auto['max_score'] + info['points'])}"
    whole = first + "\n" + rest
    marker = whole.rfind(f"\n{MARKER}\n")  # the section: its heading (in any language), then the MARKER
    head = whole[: whole.rfind("\n", 0, marker) + 1] if marker >= 0 else ""
    return head + "\n".join(feedback_section(info, assignment))


def _merged_gradebook(header: list[str], body: list[list[str]], infos: dict[str, dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    at = {column: i for i, column in enumerate(header)}
    for cells in body:
        cells = list(cells)
        info = infos[cells[at["submission"]]]
        written = sum(q["score"] for q in info["questions"])
        cells[at["score"]] = fmt(info["autograded"]["score"] + written)
        cells[at["max_score"]] = fmt(info["autograded"]["max_score"] + info["points"])
        for q in info["questions"]:
            if q["id"] in at:
                cells[at[q["id"]]] = fmt(q["score"])
        cells[at[WRITTEN_COLUMN]] = GRADED
        writer.writerow(cells)
    return buffer.getvalue()


def _replace_all(files: dict[Path, str]) -> None:
    """Every file written beside its target first, then each moved into place: a failure while
    writing leaves every target as it was."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in files.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            staged.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(content)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)


def merge(out_dir: Path, sheet: Path, course: Course, language: str | None = None) -> MergeReport:
    """Merge a filled sheet (manual.csv, or nbgrader's export of the same) into the gradebook
    folder `out_dir`: gradebook.csv, every results.json and feedback.md, and report.html, their
    texts in `language` (default: the one chosen by name for this process, `--lang`; else the
    one the batch was graded in, DIR/manual/batch.json; else autograder.i18n's choice for the
    assignment)."""
    from autograder import i18n

    header, body, submissions = _load_submissions(out_dir)
    if not submissions:
        raise ManualError(f"{out_dir / 'gradebook.csv'} lists no submission")
    ids = {s.data.get("extra_data", {}).get("assignment") for s in submissions}
    if len(ids) != 1:
        raise ManualError(f"{out_dir} holds results of several assignments: {', '.join(sorted(map(str, ids)))}")
    assignment = course.get(ids.pop())
    marks = read_marks(sheet, submissions)
    if language is None and i18n.chosen() is None:
        language = batch_language(out_dir)  # the feedback's own language, whatever $BLOCKGRADE_LANG says now
    with i18n.using(i18n.resolve(language, assignment)):
        files = _merged_files(out_dir, header, body, submissions, assignment, marks)
    _replace_all(files)
    return MergeReport(submissions=len(submissions), questions=len(assignment.questions), written=list(files))


def _merged_files(out_dir: Path, header, body, submissions, assignment: Assignment, marks) -> dict[Path, str]:
    from autograder import similarity
    from autograder.report import render_report

    infos = {s.name: _merged_info(s.info, marks[s.name]) for s in submissions}
    files: dict[Path, str] = {out_dir / "gradebook.csv": _merged_gradebook(header, body, infos)}
    results = []
    for s in submissions:
        merged = _merged_results(s.data, infos[s.name], assignment)
        files[s.folder / "results.json"] = json.dumps(merged, indent=2) + "\n"
        files[s.folder / "feedback.md"] = _merged_feedback(s.feedback, infos[s.name], assignment)
        results.append(result_from_json(assignment, s.name, merged, marks[s.name]))
    files[out_dir / "report.html"] = render_report(
        assignment, results, len(results), False, similarity=similarity.load(out_dir)
    )
    return files


def result_from_json(assignment: Assignment, name: str, data: dict, marks: dict[str, Mark]):
    """A SubmissionResult rebuilt from its results.json, for the class report: its tests (the
    written ones left out: they are the marks), status, notes' first line, flags and marks."""
    from autograder.judge_runner import NOT_RUN, JudgeTest, TestResult
    from autograder.results import SubmissionResult

    extra = data.get("extra_data", {})
    tests = []
    for t in data.get("tests", []):
        if WRITTEN_TAG in (t.get("tags") or []):
            continue
        info = t.get("extra_data", {})
        task, device, outcome = info.get("task", ""), info.get("device"), info.get("outcome", "failed")
        title = t.get("name", "").removesuffix(" (not run)")
        title = title.removesuffix(f" [{device}]") if device else title
        title = title.removeprefix(f"{task}: ")
        test = JudgeTest(
            nodeid=t.get("name", ""),
            function=t.get("name", ""),
            task=task,
            points=float(t.get("max_score", 0)),
            title=title,
            device=device,
            runs=outcome != NOT_RUN,
            probes=(),
        )
        score = float(t.get("score", 0))
        tests.append(TestResult(test=test, outcome=outcome, score=score, message=t.get("output", "")))
    notes = [line[2:] for line in data.get("output", "").split("\n")[1:] if line.startswith("- ")]
    notes = [n for n in notes if not n.startswith(tuple(p[2:] for p in summary_prefixes()))]
    return SubmissionResult(
        name=name,
        assignment=assignment,
        suite=extra.get("suite", "hidden"),
        status=extra.get("status", "graded"),
        tests=tests,
        notes=notes,
        seconds=float(data.get("execution_time", 0) or 0),
        sandbox=extra.get("sandbox", ""),
        integrity_flags=extra.get("integrity_flags", []),
        answers=[
            Answer(q["id"], "(answered)" if q.get("answered") else "", q.get("origin", ""))
            for q in extra.get("written", {}).get("questions", [])
        ],
        marks=[marks[q] for q in assignment.question_ids if q in marks],
    )


# ------------------------------------------------------------------------------ the report


def report_section(assignment: Assignment, results: list) -> dict | None:
    """The report's "Written questions": per question, how many answered, the mean mark once
    graded, and its page of answers."""
    if not assignment.questions:
        return None
    rows = []
    for q in assignment.questions:
        answered = sum(1 for r in results for a in r.answers if a.question == q.id and a.answered)
        scores = [m.score for r in results for m in r.marks if m.question == q.id]
        rows.append(
            {
                "id": q.id,
                "points": fmt(q.points),
                "answered": answered,
                "mean": fmt(round(sum(scores) / len(scores), 2)) if scores else "–",
                "page": f"{PAGES_DIR}/{q.id}.html",
            }
        )
    graded = sum(1 for r in results if len(r.marks) == len(assignment.questions))
    return {
        "points": fmt(assignment.written_points),
        "questions": rows,
        "graded": graded,
        "pending": len(results) - graded,
        "sheet": SHEET,
    }


def next_steps(out_dir: Path, assignment: Assignment) -> list[str]:
    """What `grade` says after the gradebook: the written questions to grade, the similar pairs."""
    from autograder import similarity

    lines = []
    if assignment.questions:
        sheet = out_dir / (SHEET_NEW if (out_dir / SHEET_NEW).is_file() else SHEET)
        if sheet.name == SHEET_NEW:
            lines.append(f"kept {out_dir / SHEET} (graders have filled it): the fresh sheet is {sheet}")
        lines.append(
            f"written questions ({len(assignment.questions)}, {fmt(assignment.written_points)} points): pending; "
            f"scores above are the autograded part. Fill {sheet} (every answer to a question: "
            f"{out_dir / PAGES_DIR}/<question>.html), then: blockgrade merge-manual {out_dir} {sheet}"
        )
    found = similarity.load(out_dir)
    if found is not None and found.flagged:
        lines.append(
            f"similarity: {len(found.flagged)} pair(s) of submissions flagged for review (report.html, "
            f"{similarity.CSV_FILE}); a flag changes no score"
        )
    return lines
