"""Written questions graded by hand, as an instructor does it on the sample class: `grade` leaves
them pending and writes the sheet and a page of answers per question; the filled sheet merges
into the gradebook, every results.json and feedback.md and the report; a wrong sheet changes
nothing; nbgrader's formgrader scores come through nbgrader's export into the same merge. The
report's "Similar submissions" flags the sample class's copied pair, and its side-by-side page
marks what they share. Pages are opened in a real headless browser (tests/test_report.py)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_report import Dom, run_browser

from autograder.catalog import course_at
from autograder.grading import grade_batch
from autograder.manual import NO_ANSWER, PENDING, merge

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
SAMPLES = sorted((REPO / "examples" / "01-blocks").iterdir())
HOSTILE = "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, table: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)


def blockgrade(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The sample class, and mallory, whose answer is markup, graded once."""
    root = tmp_path_factory.mktemp("manual")
    mallory = root / "mallory"
    mallory.mkdir()
    shutil.copyfile(REPO / "examples/01-blocks/ada/blocks.py", mallory / "blocks.py")
    (mallory / "answers.md").write_text(f"## plain-list\n\n{HOSTILE}\n", encoding="utf-8")
    batch = grade_batch(COURSE, BLOCKS, [*SAMPLES, mallory], root / "out", devices=["cpu"], workers=1)
    return batch, root / "out"


@pytest.fixture
def out(graded, tmp_path):
    """A fresh copy of the graded folder, to merge into."""
    _, folder = graded
    copy = tmp_path / "out"
    shutil.copytree(folder, copy)
    return copy


def example_answer(name: str, question: str) -> str:
    from autograder.questions import collect

    path = next(p for p in SAMPLES if p.name in (name, f"{name}.zip"))
    return next(a.text for a in collect(BLOCKS, path) if a.question == question)


def test_grade_leaves_the_written_questions_pending(graded):
    batch, folder = graded
    book = rows(folder / "gradebook.csv")
    assert list(book[0])[4 + len(BLOCKS.tasks) :][: len(BLOCKS.questions) + 1] == [*BLOCKS.question_ids, "written"]
    for row in book:
        assert row["written"] == PENDING and all(row[q] == "" for q in BLOCKS.question_ids)
        assert row["max_score"] == "20"  # the autograded part, until the merge
        data = json.loads((folder / row["submission"] / "results.json").read_text(encoding="utf-8"))
        written = data["extra_data"]["written"]
        assert written["status"] == PENDING and written["autograded"]["score"] == data["score"]
        assert data["output"].splitlines()[-1].startswith("- Written questions (8 points): pending")
        assert not [t for t in data["tests"] if "written" in t["tags"]]
        feedback = (folder / row["submission"] / "feedback.md").read_text(encoding="utf-8")
        assert feedback.splitlines()[0].endswith("(autograded part; written questions pending)")
        assert "## Written questions" in feedback and "not graded yet" in feedback
    # the sheet: every submission and question, question by question; no answer means 0 already
    sheet = rows(folder / "manual.csv")
    assert [(r["question"], r["submission"]) for r in sheet] == [
        (q, r.name) for q in BLOCKS.question_ids for r in sorted(batch.results, key=lambda r: r.name)
    ]
    for r in sheet:
        answer = example_answer(r["submission"], r["question"]) if r["submission"] != "mallory" else None
        if r["answer"]:
            text = (folder / r["answer"]).read_text(encoding="utf-8")
            assert answer is None or text.strip() == answer.strip()
            assert (r["score"], r["comment"]) == ("", "")
        else:
            assert not answer and (r["score"], r["comment"]) == ("0", NO_ANSWER)
    assert sum(1 for r in sheet if r["answer"]) >= 12  # the sample class answers most questions


def test_a_page_lists_every_answer_to_a_question(graded, tmp_path):
    _, folder = graded
    sheet = rows(folder / "manual.csv")
    for question in BLOCKS.questions:
        page = folder / "manual" / f"{question.id}.html"
        dom = Dom(run_browser(tmp_path, "--dump-dom", page.as_uri()).stdout)
        assert not dom.find("script") and not dom.find("img")  # mallory's answer is text
        entries = dom.find("section", class_="entry")
        mine = [(n, r) for n, r in enumerate(sheet, start=2) if r["question"] == question.id and r["answer"]]
        assert [e["attrs"]["data-submission"] for e in entries] == [r["submission"] for _, r in mine]
        assert [int(e["attrs"]["data-line"]) for e in entries] == [n for n, _ in mine]
        answers = [e for e in dom.elements if e["tag"] == "div" and e["attrs"].get("class") == "answer"]
        for element, (_, r) in zip(answers, mine):
            assert element["text"].strip() == (folder / r["answer"]).read_text(encoding="utf-8").strip()
        rubric = [
            e["text"].split(" (")[0].strip() for e in dom.find("li") if e["parent"]["attrs"].get("id") == "rubric"
        ]
        assert rubric == [r.text.split(" (")[0] for r in question.rubric]
        assert question.prompt.split()[2] in next(e["text"] for e in dom.elements if e["attrs"].get("id") == "prompt")
    hostile = (folder / "manual" / "plain-list.html").read_text(encoding="utf-8")
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def fill(sheet: Path, scores: dict | None = None) -> list[dict]:
    """Every answered row scored: by the rubric's first items for some, a number for others."""
    table = rows(sheet)
    for i, r in enumerate(table):
        if r["answer"]:
            if i % 2:
                r["rubric"] = "1 2" if r["question"] != "factory" else "1"
            else:
                r["score"] = "1.5"
                r["comment"] = f"Comment for {r['submission']}: say more."
        if scores and (r["submission"], r["question"]) in scores:
            r["score"], r["rubric"] = scores[(r["submission"], r["question"])], ""
    write_rows(sheet, table)
    return table


def expected_written(table: list[dict]) -> dict[str, float]:
    points = {(q.id, i + 1): r.points for q in BLOCKS.questions for i, r in enumerate(q.rubric)}
    total: dict[str, float] = {}
    for r in table:
        score = float(r["score"]) if r["score"] else sum(points[(r["question"], int(n))] for n in r["rubric"].split())
        total[r["submission"]] = total.get(r["submission"], 0.0) + score
    return total


def test_the_filled_sheet_merges_into_gradebook_results_feedback_and_report(out, tmp_path):
    before = {r["submission"]: r for r in rows(out / "gradebook.csv")}
    table = fill(out / "manual.csv")
    result = blockgrade("merge-manual", out, out / "manual.csv")
    assert result.returncode == 0, result.stderr
    written = expected_written(table)
    for row in rows(out / "gradebook.csv"):
        name = row["submission"]
        assert float(row["score"]) == pytest.approx(float(before[name]["score"]) + written[name])
        assert row["max_score"] == "28" and row["written"] == "graded"
        assert [row[t] for t in BLOCKS.task_ids] == [before[name][t] for t in BLOCKS.task_ids]
        data = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        assert data["score"] == pytest.approx(float(row["score"]))
        tests = [t for t in data["tests"] if "written" in t["tags"]]
        assert [t["tags"][1] for t in tests] == BLOCKS.question_ids
        assert sum(t["score"] for t in tests) == pytest.approx(written[name])
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])  # Gradescope adds them up
        assert all(BLOCKS.question(t["tags"][1]).rubric[0].text in t["output"] for t in tests)
        feedback = (out / name / "feedback.md").read_text(encoding="utf-8")
        assert feedback.splitlines()[0].endswith(f": {row['score']} / 28")
        assert "Graded by hand: " in feedback and "pending" not in feedback
        assert feedback.count("<!-- blockgrade: written questions -->") == 1
    ada = (out / "ada" / "feedback.md").read_text(encoding="utf-8")
    marks = dict((r["question"], r) for r in table if r["submission"] == "ada")
    for qid, r in marks.items():
        if r["comment"]:
            assert r["comment"] in ada
        if r["rubric"]:
            assert "- [x] " + BLOCKS.question(qid).rubric[0].text in ada
    # the report: scores out of 28, the written questions merged, every link a page of the folder
    dom = Dom(run_browser(tmp_path, "--dump-dom", (out / "report.html").as_uri()).stdout)
    book = rows(out / "gradebook.csv")
    assert [dom.cells(r)[:2] for r in dom.find("tr", "submissions")[1:]] == [
        [r["submission"], r["score"]] for r in book
    ]
    assert "out of 28 points" in dom.find("p", class_="sub")[0]["text"]
    assert "merged" in dom.find("p", "written")[0]["text"]
    html = (out / "report.html").read_text(encoding="utf-8")
    for link in re.findall(r'href="([^"]*)"', html):
        assert not re.match(r"[a-z]+:|/", link) and (out / link).is_file(), link


def test_merging_again_replaces_the_marks(out):
    fill(out / "manual.csv")
    merge(out, out / "manual.csv", COURSE)
    first = {r["submission"]: float(r["score"]) for r in rows(out / "gradebook.csv")}
    table = rows(out / "manual.csv")
    for r in table:
        if r["submission"] == "ada":
            r["score"], r["rubric"] = "0", ""
    write_rows(out / "manual.csv", table)
    merge(out, out / "manual.csv", COURSE)
    again = {r["submission"]: float(r["score"]) for r in rows(out / "gradebook.csv")}
    assert again["ada"] == 20 and {k: v for k, v in again.items() if k != "ada"} == {
        k: v for k, v in first.items() if k != "ada"
    }
    data = json.loads((out / "ada" / "results.json").read_text(encoding="utf-8"))
    assert len([t for t in data["tests"] if "written" in t["tags"]]) == len(BLOCKS.questions)
    assert data["output"].count("- Written questions") == 1


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t[0].update(submission="zed"), "unknown submission 'zed'"),
        (lambda t: t[0].update(question="why-not"), "unknown question 'why-not'"),
        (lambda t: t[0].update(score="4", rubric=""), "score 4 for ada / plain-list is above the question's 3 points"),
        (lambda t: t[0].update(score="-1", rubric=""), "is below 0"),
        (lambda t: t[0].update(score="lots", rubric=""), "score 'lots' for ada / plain-list is not a number"),
        (lambda t: t[0].update(score="", rubric=""), "no score for ada / plain-list"),
        (lambda t: t[0].update(score="", rubric="1 7"), "must list item numbers from 1 to 3"),
        # a digit str.isdigit accepts and int() refuses (a superscript two)
        (lambda t: t[0].update(score="", rubric="1 \u00b2"), "must list item numbers from 1 to 3"),
        (lambda t: t.append(dict(t[1])), "is given a second time"),
        (lambda t: t.pop(1), "no row for 1 answer(s): ben / plain-list"),
    ],
)
def test_a_wrong_sheet_is_refused_and_nothing_is_written(out, change, message):
    table = fill(out / "manual.csv")
    table[0]["score"] = "2"
    change(table)
    write_rows(out / "manual.csv", table)
    before = snapshot(out)
    result = blockgrade("merge-manual", out, out / "manual.csv")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(out) == before


def test_bad_folders_and_sheets_are_clear_errors(out, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "notes.csv").write_text("name,mark\nada,3\n", encoding="utf-8")
    cases = [
        ((empty, out / "manual.csv"), "holds no gradebook.csv"),
        ((out, tmp_path / "notes.csv"), "needs the columns submission (or nbgrader's student_id), question and score"),
    ]
    for args, message in cases:
        result = blockgrade("merge-manual", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_gradebook_saved_with_blank_lines_merges_and_a_cut_row_is_a_clear_error(out):
    """An editor or spreadsheet may leave a blank line at the end of gradebook.csv, or cut a row."""
    fill(out / "manual.csv")
    with open(out / "gradebook.csv", "a", encoding="utf-8") as f:
        f.write("\n,,\n")
    result = blockgrade("merge-manual", out, out / "manual.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(r["written"] == "graded" for r in rows(out / "gradebook.csv"))
    lines = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    (out / "gradebook.csv").write_text("\n".join([*lines[:-1], lines[-1].split(",")[0]]) + "\n", encoding="utf-8")
    result = blockgrade("merge-manual", out, out / "manual.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "has 1 cell(s)" in result.stderr, result.stderr


def test_a_filled_sheet_is_never_overwritten_by_grading_again(out):
    table = fill(out / "manual.csv")
    batch = grade_batch(COURSE, BLOCKS, [REPO / "examples/01-blocks/ada"], out, devices=["cpu"], workers=1)
    assert batch.results and rows(out / "manual.csv") == table
    assert [r["submission"] for r in rows(out / "manual.new.csv")] == ["ada"] * len(BLOCKS.questions)


# ------------------------------------------------------------------------------- similarity


def test_the_copied_pair_is_flagged_and_the_independent_ones_are_not(graded, tmp_path):
    batch, folder = graded
    flagged = [r for r in rows(folder / "similarity.csv") if r["flagged"] == "yes"]
    pairs = {(r["first"], r["second"]) for r in flagged}
    # gus copied fay; mallory handed in ada's code as her own
    assert pairs == {("fay", "gus"), ("ada", "mallory")}
    scores = {r.name: r.score for r in batch.results}
    assert scores["gus"] == scores["fay"] == 20  # a flag changes no score
    dom = Dom(run_browser(tmp_path, "--dump-dom", (folder / "report.html").as_uri()).stdout)
    listed = {
        (e["attrs"]["data-first"], e["attrs"]["data-second"]) for e in dom.find("tr", "similarity", class_="pair")
    }
    assert listed == pairs
    page = folder / next(r["view"] for r in flagged if r["first"] == "fay")
    side = Dom(run_browser(tmp_path, "--dump-dom", page.as_uri()).stdout)
    marks = {
        side_id: [m["text"] for m in side.elements if m["tag"] == "mark" and m["parent"]["attrs"].get("id") == side_id]
        for side_id in ("first", "second")
    }
    fay, gus = ((REPO / f"examples/01-blocks/{n}/blocks.py").read_text(encoding="utf-8") for n in ("fay", "gus"))
    assert marks["first"] and marks["second"]
    assert all(m in fay for m in marks["first"]) and all(m in gus for m in marks["second"])
    assert "self.register_buffer" in "".join(marks["first"])  # shared code is marked
    assert not any("Replace each `raise NotImplementedError" in m for m in marks["first"])  # given code is not


def test_the_report_keeps_its_similar_pairs_after_a_merge(out, tmp_path):
    fill(out / "manual.csv")
    merge(out, out / "manual.csv", COURSE)
    dom = Dom(run_browser(tmp_path, "--dump-dom", (out / "report.html").as_uri()).stdout)
    assert {
        (e["attrs"]["data-first"], e["attrs"]["data-second"]) for e in dom.find("tr", "similarity", class_="pair")
    } == {
        ("fay", "gus"),
        ("ada", "mallory"),
    }


# ------------------------------------------------------------------------------ nbgrader


def nbgrader(*args, cwd) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_scores_given_in_nbgrader_come_through_its_export_into_the_merge(tmp_path):
    course_dir = tmp_path / "course"
    assert blockgrade("export", "nbgrader", course_dir).returncode == 0
    nbgrader("generate_assignment", "blocks", "--force", cwd=course_dir)
    released = nbformat.read(course_dir / "release/blocks" / BLOCKS.notebook, as_version=4)
    written = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") in BLOCKS.question_ids]
    assert [c.metadata.nbgrader.grade_id for c in written] == BLOCKS.question_ids
    assert all(
        c.cell_type == "markdown" and c.metadata.nbgrader.grade and c.metadata.nbgrader.solution for c in written
    )
    answers = {
        "ada": {"plain-list": "Not registered, so parameters() misses them.", "factory": "One shared instance."},
        "ben": {"plain-list": "It breaks."},
    }
    for student, mine in answers.items():
        notebook = nbformat.read(course_dir / "release/blocks" / BLOCKS.notebook, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in mine:
                cell.source = mine[grade_id]
        folder = course_dir / "submitted" / student / "blocks"
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / BLOCKS.notebook)
    # nbgrader's own autograde (its kernel run left out: the written cells are what matters here)
    nbgrader("autograde", "blocks", "--force", "--Execute.enabled=False", cwd=course_dir)
    from nbgrader.api import Gradebook

    given = {
        ("ada", "plain-list"): (2.5, "Name a second consequence."),
        ("ada", "factory"): (2, ""),
        ("ben", "plain-list"): (0.5, "Why does it break?"),
    }
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:  # as formgrader saves a grade
        for (student, question), (score, comment) in given.items():
            gradebook.find_grade(question, "blocks", "blocks", student).manual_score = score
            if comment:
                gradebook.find_comment(question, "blocks", "blocks", student).manual_comment = comment
        gradebook.db.commit()
    nbgrader("export", "--exporter=autograder.nbgrader_manual.ManualScores", "--to", "written.csv", cwd=course_dir)
    exported = rows(course_dir / "written.csv")
    assert {(r["student_id"], r["question"]): float(r["score"]) for r in exported} == {
        **{(s, q): 0.0 for s in answers for q in BLOCKS.question_ids},  # nbgrader gives a blank answer 0
        **{k: v[0] for k, v in given.items()},
    }
    out = tmp_path / "out"
    result = blockgrade("grade", "-a", "blocks", "-o", out, *sorted((course_dir / "submitted").glob("*/blocks")))
    assert result.returncode == 0, result.stderr
    result = blockgrade("merge-manual", out, course_dir / "written.csv")
    assert result.returncode == 0, result.stderr
    book = {r["submission"]: r for r in rows(out / "gradebook.csv")}
    assert set(book) == {"ada_blocks", "ben_blocks"}
    assert (book["ada_blocks"]["plain-list"], book["ada_blocks"]["factory"], book["ben_blocks"]["plain-list"]) == (
        "2.5",
        "2",
        "0.5",
    )
    assert float(book["ada_blocks"]["score"]) == 4.5  # the stubs earn no autograded points
    assert "Name a second consequence." in (out / "ada_blocks" / "feedback.md").read_text(encoding="utf-8")


def test_no_submission_takes_the_name_of_a_page_folder_or_sheet():
    from autograder.staging import safe_name

    for name in ("manual", "Manual.csv", "similarity", "similarity.csv", "manual.new.csv"):
        assert safe_name(name) == "_" + name


def test_a_result_graded_outside_a_batch_has_no_written_part():
    """Gradescope's runner and `check` grade through the Grader alone: the platform grades
    written questions itself, so their results.json says nothing of them."""
    from autograder.grading import Grader
    from autograder.outputs import feedback_markdown, results_json

    with Grader(BLOCKS, "hidden", devices=["cpu"]) as grader:
        result = grader.grade(REPO / "examples/01-blocks/ada")
    data = results_json(result)
    assert "written" not in data["extra_data"] and "Written questions" not in data["output"]
    assert "Written questions" not in feedback_markdown(result) and data["score"] == 20
