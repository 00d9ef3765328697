"""Written questions as assignment data, and where students answer them: the strict schema, the
template's answers.md and notebook answer cells, reading answers back from every kind of
submission, `check` listing what is unanswered and `submit` packing the answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.catalog import CatalogError, course_at
from autograder.generate import student_toml
from autograder.packing import pack
from autograder.questions import (
    ANSWER_STUB,
    ANSWERS_FILE,
    answers_template,
    check_lines,
    collect,
    notebook_answers,
    parse_answers_md,
    working_answers,
)

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
TEMPLATE = REPO / "student_template" / BLOCKS.slug

DEMO = """\
id = "demo"
module = "demo.py"

[[tasks]]
id = "f"
points = 2

[[questions]]
id = "why-f"
points = 3
prompt = "Why f?"

[[questions.rubric]]
text = "says why"
points = 2

[[questions.rubric]]
text = "gives an example"
points = 1
"""


def demo(tmp_path, text: str, layout: str = "source"):
    folder = tmp_path / ("assignments/01-demo" if layout == "source" else "01-demo")
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    return course_at(tmp_path)


def test_every_assignment_asks_written_questions_with_a_rubric():
    for a in COURSE.assignments:
        assert 2 <= len(a.questions) <= 3, a.id
        for q in a.questions:
            assert len(q.prompt.split()) >= 15 and "?" in q.prompt, (a.id, q.id)
            assert len(q.rubric) >= 2 and sum(r.points for r in q.rubric) == q.points, (a.id, q.id)
        assert a.written_points == sum(q.points for q in a.questions) > 0
        assert a.max_score == sum(t.points for t in a.tasks)  # the autograded part is unchanged


def test_a_valid_question_loads(tmp_path):
    a = demo(tmp_path, DEMO).get("demo")
    (q,) = a.questions
    assert (q.id, q.prompt, q.points) == ("why-f", "Why f?", 3)
    assert [(r.text, r.points) for r in q.rubric] == [("says why", 2), ("gives an example", 1)]
    assert a.question_ids == ["why-f"] and a.written_points == 3


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "points = 3\nprompt",
            "pionts = 3\npoints = 3\nprompt",
            "unknown key 'questions[0].pionts'; did you mean 'questions[0].points'",
        ),
        ('text = "says why"', 'txt = "says why"\ntext = "says why"', "unknown key 'questions[0].rubric[0].txt'"),
        ("points = 3\n", 'points = "3"\n', "questions[0].points must be a number"),
        ("points = 3\n", "points = 4\n", "its rubric items add up to 3 points, not the question's 4"),
        ('id = "why-f"', 'id = "Why F"', "must be lower-case words joined by '-'"),
        ('id = "why-f"', 'id = "check-f"', "not starting with about-, check-, given-, prompt-"),
        ('id = "why-f"', 'id = "score"', "not one of"),
        ('id = "why-f"', 'id = "f"', "is also a task's name"),
        ('prompt = "Why f?"', 'prompt = "  "', "prompt is empty"),
        ('prompt = "Why f?"\n', "", "questions[0].prompt is missing"),
    ],
)
def test_a_mistaken_question_is_an_error_naming_it(tmp_path, old, new, message):
    assert DEMO.count(old) == 1
    with pytest.raises(CatalogError) as caught:
        demo(tmp_path, DEMO.replace(old, new, 1))
    assert message in str(caught.value) and "assignment.toml" in str(caught.value)


def test_repeated_ids_and_a_missing_rubric_are_errors(tmp_path):
    question = DEMO[DEMO.index("[[questions]]") :]
    with pytest.raises(CatalogError, match="question ids repeat"):
        demo(tmp_path / "a", DEMO + "\n" + question)
    no_rubric = DEMO[: DEMO.index("[[questions.rubric]]")]
    with pytest.raises(CatalogError, match="needs a rubric"):
        demo(tmp_path / "b", no_rubric)
    # the student template leaves the rubric out: there it is not needed
    assert demo(tmp_path / "c", no_rubric, layout="student").get("demo").questions[0].rubric == ()


def test_students_get_the_questions_but_not_the_rubrics():
    for a in COURSE.assignments:
        source = (a.folder / "assignment.toml").read_text(encoding="utf-8")
        student = (REPO / "student_template" / a.slug / "assignment.toml").read_text(encoding="utf-8")
        assert student == student_toml(source) and "[[questions.rubric]]" not in student
        for q in a.questions:
            assert all(r.text not in student for r in q.rubric)
        mine = course_at(REPO / "student_template").get(a.id)
        assert [(q.id, q.prompt, q.points) for q in mine.questions] == [(q.id, q.prompt, q.points) for q in a.questions]
        answers = (REPO / "student_template" / a.slug / ANSWERS_FILE).read_text(encoding="utf-8")
        assert answers == answers_template(a)
        assert [line[3:] for line in answers.splitlines() if line.startswith("## ")] == a.question_ids


def test_the_notebook_has_a_manually_graded_answer_cell_per_question():
    for a in COURSE.assignments:
        notebook = nbformat.read(REPO / "student_template" / a.slug / a.notebook, as_version=4)
        nbformat.validate(notebook)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
        for q in a.questions:
            answer, prompt = cells[q.id], cells[f"prompt-{q.id}"]
            meta = answer.metadata.nbgrader
            assert answer.cell_type == "markdown" and answer.source.strip() == ANSWER_STUB
            assert (meta.solution, meta.grade, meta.locked, meta.points) == (True, True, False, q.points)
            assert prompt.cell_type == "markdown" and prompt.metadata.nbgrader.locked
            assert q.prompt.strip() in prompt.source
            assert notebook.cells.index(prompt) + 1 == notebook.cells.index(answer)
        assert notebook_answers(notebook, a) == {q: "" for q in a.question_ids}  # nothing answered yet


def test_an_answer_typed_in_a_cell_the_student_added_under_the_question_is_read():
    """A student who adds a markdown cell under a question (below its prompt, or below its
    answer cell) and answers there has answered: the manual grader sees that text."""
    a = COURSE.get("blocks")
    notebook = nbformat.read(REPO / "student_template" / a.slug / a.notebook, as_version=4)
    first, second, third = a.question_ids
    at = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(notebook.cells)}
    notebook.cells[at[second]].source = "They are registered."  # answered in its cell, and more below
    notebook.cells.insert(at[second] + 1, nbformat.v4.new_markdown_cell("And they move with .to()."))
    notebook.cells.insert(at[f"prompt-{first}"] + 1, nbformat.v4.new_markdown_cell("A list hides them."))
    notebook.cells.insert(at[f"prompt-{first}"] + 2, nbformat.v4.new_code_cell("x = 1  # not an answer"))
    answers = notebook_answers(json.loads(nbformat.writes(notebook)), a)
    assert answers[first] == "A list hides them."
    assert answers[second] == "They are registered.\n\nAnd they move with .to()."
    assert answers[third] == ""


def answered(text: str, **answers: str) -> str:
    """The template's answers.md with answers written under some headings."""
    for qid, answer in answers.items():
        heading = f"## {qid.replace('_', '-')}\n"
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        end = len(text) if end == -1 else end
        text = text[:end].rstrip("\n") + f"\n\n{answer}\n" + text[end:]
    return text


def test_answers_md_is_read_by_its_headings():
    template = answers_template(BLOCKS)
    assert parse_answers_md(template, BLOCKS) == {q: "" for q in BLOCKS.question_ids}
    text = answered(template, plain_list="Not registered.\n\n> a quote of my own\n<!-- a note to myself -->")
    text = text.replace("## factory", "### `factory` (my heading)") + "\nBecause one instance is shared.\n"
    found = parse_answers_md(text, BLOCKS)
    assert found["plain-list"] == "Not registered.\n\n> a quote of my own"
    assert found["factory"] == "Because one instance is shared."
    assert found["buffer-or-parameter"] == ""


def make_student(tmp_path, md: dict | None = None, notebook: dict | None = None):
    folder = tmp_path / "student"
    shutil.copytree(TEMPLATE, folder)
    if md is not None:
        (folder / ANSWERS_FILE).write_text(answered(answers_template(BLOCKS), **md), encoding="utf-8")
    if notebook is not None:
        nb = json.loads((folder / BLOCKS.notebook).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in notebook:
                cell["source"] = notebook[grade_id]
        (folder / BLOCKS.notebook).write_text(json.dumps(nb), encoding="utf-8")
    return folder


def test_answers_are_collected_from_folders_zips_and_notebooks(tmp_path):
    folder = make_student(
        tmp_path,
        md={"plain_list": "From the file."},
        notebook={"plain-list": "From the notebook.", "factory": "Fresh instances."},
    )
    answers = {a.question: a for a in collect(BLOCKS, folder)}
    assert (answers["plain-list"].text, answers["plain-list"].origin) == ("From the file.", ANSWERS_FILE)
    assert (answers["factory"].text, answers["factory"].origin) == ("Fresh instances.", BLOCKS.notebook)
    assert not answers["buffer-or-parameter"].answered
    # the same folder zipped, and inside an export's zip as one submission's folder
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, "export/submission_7/" + str(path.relative_to(folder)))
    zipped = collect(BLOCKS, archive, "export/submission_7/")
    assert [(a.question, a.text) for a in zipped] == [(a.question, a.text) for a in answers.values()]
    assert [a.text for a in collect(BLOCKS, folder / BLOCKS.notebook)] == ["From the notebook.", "", "Fresh instances."]


def test_a_renamed_notebooks_answers_are_read_as_its_code_is_graded(tmp_path):
    # an LMS's `blocks (1).ipynb`, a student's `blocks 王小明.ipynb`: staging grades its code
    # (autograder.choosing), so check, submit and the batch read its answer cells too
    folder = make_student(tmp_path, notebook={"plain-list": "Not registered.", "factory": "Fresh instances."})
    renamed = folder / "blocks (1) 王小明 Peña.ipynb"
    (folder / BLOCKS.notebook).rename(renamed)
    expected = ["Not registered.", "", "Fresh instances."]
    assert [a.text for a in collect(BLOCKS, folder)] == expected
    assert [a.text for a in working_answers(BLOCKS, renamed).answers] == expected
    archive = tmp_path / "张 三.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(renamed, "submission_7/" + renamed.name)
    assert [a.text for a in collect(BLOCKS, archive)] == expected
    assert [a.text for a in collect(BLOCKS, archive, "submission_7/")] == expected
    # a notebook named after no assignment is not this one's
    renamed.rename(folder / "notes.ipynb")
    assert not any(a.answered for a in collect(BLOCKS, folder))


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe not text", b"{not json", b"[]", json.dumps({"cells": "x"}).encode(), b"x" * (21 * 2**20)],
)
def test_an_unreadable_answer_file_is_no_answer_never_an_error(tmp_path, content):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / BLOCKS.notebook).write_bytes(content)
    (folder / ANSWERS_FILE).write_bytes(content[:100])
    assert [a.answered for a in collect(BLOCKS, folder)] == [False] * len(BLOCKS.questions)


def test_answers_are_student_text_cleaned_and_capped(tmp_path):
    folder = make_student(tmp_path, md={"plain_list": "\x1b[2Jtrick\u202e" + "y" * 50_000})
    (answer, *_) = collect(BLOCKS, folder)
    assert "\x1b" not in answer.text and "\u202e" not in answer.text
    assert len(answer.text) < 21_000 and "more characters left out" in answer.text


def test_check_and_submit_say_which_questions_are_unanswered(tmp_path):
    folder = make_student(tmp_path, md={"plain_list": "Not registered."}, notebook={"factory": "Fresh instances."})
    work = working_answers(BLOCKS, folder / BLOCKS.module)  # the module is submitted: the notebook's answer is not
    assert [a.question for a in work.answers if a.answered] == ["plain-list"]
    assert any("answers factory, but you submit blocks.py" in w for w in work.warnings)
    assert any("not answered yet: buffer-or-parameter, factory" in w for w in work.warnings)
    lines = check_lines(BLOCKS, folder / BLOCKS.notebook)
    assert lines[0].startswith("Written questions (graded by hand, 8 points): 2 of 3 answered")
    assert lines[1] == f"Still unanswered: buffer-or-parameter (in {ANSWERS_FILE} or the notebook's answer cells)."


def test_submit_packs_answers_md_beside_the_module(tmp_path):
    folder = make_student(tmp_path, md={"plain_list": "Not registered."})
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, folder / BLOCKS.module)
    report = pack(BLOCKS, folder / BLOCKS.module, tmp_path / "out.zip")
    with zipfile.ZipFile(report.zip_path) as z:
        assert sorted(z.namelist()) == sorted([BLOCKS.module, ANSWERS_FILE, "manifest.json"])
        manifest = json.loads(z.read("manifest.json"))
        assert set(manifest["files"]) == {BLOCKS.module, ANSWERS_FILE}
        assert "Not registered." in z.read(ANSWERS_FILE).decode()
    assert any("not answered yet: buffer-or-parameter, factory" in w for w in report.warnings)
    # and what was packed is what grading reads
    assert [a.text for a in collect(BLOCKS, report.zip_path)][0] == "Not registered."


def test_check_prints_the_written_questions_left(tmp_path):
    folder = make_student(tmp_path, md={"plain_list": "Not registered."})
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "check", "blocks", "--file", str(folder / BLOCKS.module)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr  # the stub fails its tasks; unanswered questions fail nothing
    assert "1 of 3 answered" in result.stdout and "Still unanswered: buffer-or-parameter, factory" in result.stdout
