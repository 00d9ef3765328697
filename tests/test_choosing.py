"""Which file is graded: the one the student worked in, by one rule everywhere (a folder, a
zip, a loose renamed file, `check`, `submit`), never by file times; and a path that names
nothing is an error, never a row of zeros."""

import ast
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import i18n
from autograder.catalog import CatalogError, course_at
from autograder.choosing import VERBS, Candidate, ModuleFiles, choose, progress, working_file
from autograder.cli import main
from autograder.notebooks import notebook_from_module, notebook_module
from autograder.staging import BAD_ARCHIVE, IMPORT_ERROR, MISSING_FILE, StagingError, read_candidate, stage

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
TEMPLATE = REPO / "student_template" / BLOCKS.slug
SOLUTION = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
STUB = (TEMPLATE / BLOCKS.module).read_text(encoding="utf-8")
TASKS = len(BLOCKS.tasks)


def solved_notebook() -> str:
    """The template's notebook with every solution cell filled in (as a student would)."""
    return notebook_from_module(BLOCKS, SOLUTION)


def opened_and_saved(text: str) -> str:
    """A notebook as Jupyter saves it once it ran: outputs, execution counts, metadata."""
    data = json.loads(text)
    for number, cell in enumerate(data["cells"], start=1):
        cell["metadata"]["collapsed"] = False
        if cell["cell_type"] == "code":
            cell["execution_count"] = number
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]}]
    data["metadata"]["language_info"]["version"] = "3.11.7"
    data["metadata"]["widgets"] = {"state": {}}
    return json.dumps(data, indent=1)


def with_tasks(source: str, tasks: set[str]) -> str:
    """`source` (the stub) with the solution's definitions of `tasks`' names."""
    names = {n for t in BLOCKS.tasks if t.id in tasks for n in t.names}
    solution = ast.parse(SOLUTION)
    lines = SOLUTION.splitlines(keepends=True)
    wanted = {
        node.name: "".join(lines[node.lineno - 1 - len(node.decorator_list) : node.end_lineno])
        for node in solution.body
        if getattr(node, "name", None) in names
    }
    stub_lines = source.splitlines(keepends=True)
    out, i = [], 0
    for node in ast.parse(source).body:
        name = getattr(node, "name", None)
        if name in wanted:
            start = node.lineno - 1 - len(node.decorator_list)
            out += stub_lines[i:start] + [wanted[name]]
            i = node.end_lineno
    return "".join(out + stub_lines[i:])


def same_times(*paths: Path, newer: Path | None = None) -> None:
    """As after a `git clone`: every file has the same time (or `newer` a later one)."""
    for path in paths:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    if newer is not None:
        os.utime(newer, (1_700_000_900, 1_700_000_900))


def folder_with(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ progress


def test_progress_counts_the_tasks_written():
    stub, solved = progress(BLOCKS, STUB), progress(BLOCKS, SOLUTION)
    assert stub.written == () and stub.untouched and stub.stubs >= TASKS
    assert set(solved.written) == set(BLOCKS.task_ids) and solved.stubs == 0 and not solved.untouched
    partial = progress(BLOCKS, with_tasks(STUB, {"MLP", "replicate"}))
    assert set(partial.written) == {"MLP", "replicate"} and stub.stubs > partial.stubs > 0
    # a notebook's code is its graded cells: an untouched one is the template, outputs or not
    untouched = notebook_module(json.loads(opened_and_saved((TEMPLATE / BLOCKS.notebook).read_text())))
    assert progress(BLOCKS, untouched.source).untouched


# ------------------------------------------------------------------------------ module or notebook


@pytest.mark.parametrize("stub_is_newer", [False, True], ids=["same time", "stub saved later"])
def test_the_solved_notebook_is_graded_beside_the_untouched_stub(tmp_path, stub_is_newer):
    folder = folder_with(tmp_path, {BLOCKS.module: STUB, BLOCKS.notebook: solved_notebook()})
    same_times(
        folder / BLOCKS.module, folder / BLOCKS.notebook, newer=folder / BLOCKS.module if stub_is_newer else None
    )
    staged = stage(folder, BLOCKS)
    assert staged.origin == BLOCKS.notebook
    assert set(progress(BLOCKS, staged.submission.source).written) == set(BLOCKS.task_ids)
    reason = staged.notes[0]
    assert reason.startswith(f"{BLOCKS.notebook} was graded, not {BLOCKS.module}")
    assert f"{TASKS} of {TASKS} tasks written" in reason and "still the template" in reason


def test_the_solved_module_is_graded_beside_a_notebook_that_was_only_run(tmp_path):
    saved = opened_and_saved((TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8"))
    folder = folder_with(tmp_path, {BLOCKS.module: SOLUTION, BLOCKS.notebook: saved})
    same_times(folder / BLOCKS.module, folder / BLOCKS.notebook, newer=folder / BLOCKS.notebook)
    staged = stage(folder, BLOCKS)
    assert staged.origin == BLOCKS.module and staged.submission.source == SOLUTION
    assert staged.notes[0].startswith(f"{BLOCKS.module} was graded, not {BLOCKS.notebook}")


def test_when_both_changed_the_one_with_more_tasks_written_is_graded(tmp_path):
    three = with_tasks(STUB, {"MLP", "MySequential", "NestMLP"})
    one = notebook_from_module(BLOCKS, with_tasks(STUB, {"replicate"}))
    folder = folder_with(tmp_path, {BLOCKS.module: three, BLOCKS.notebook: one})
    staged = stage(folder, BLOCKS)
    assert staged.origin == BLOCKS.module
    assert f"3 of {TASKS} tasks written, {BLOCKS.notebook} 1" in staged.notes[0]
    (folder / BLOCKS.notebook).write_text(
        notebook_from_module(BLOCKS, with_tasks(STUB, set(BLOCKS.task_ids) - {"MLP"}))
    )
    assert stage(folder, BLOCKS).origin == BLOCKS.notebook


def test_equal_work_keeps_the_module_and_says_so():
    both = choose(BLOCKS, [Candidate("blocks.py", STUB), Candidate("blocks.ipynb", STUB)])
    assert both.index == 0 and "both are still the template" in both.reason
    solved = choose(BLOCKS, [Candidate("blocks.py", SOLUTION), Candidate("blocks.ipynb", SOLUTION)])
    assert solved.index == 0 and "same code" in solved.reason
    mlp = with_tasks(STUB, {"MLP"})
    other = mlp.replace("self.out(F.relu(self.hidden(X)))", "self.out(torch.relu(self.hidden(X)))")
    assert other != mlp, "the solution's MLP changed: update this test's edit"
    differ = choose(BLOCKS, [Candidate("blocks.py", mlp), Candidate("blocks.ipynb", other)])
    assert differ.index == 0 and "both differ from the template" in differ.reason
    one_more = choose(BLOCKS, [Candidate("blocks.py", STUB), Candidate("blocks.ipynb", mlp)])
    assert one_more.index == 1 and f"1 of {TASKS} tasks written" in one_more.reason


def test_an_unreadable_file_is_named_and_never_beats_written_work(tmp_path):
    folder = folder_with(tmp_path, {BLOCKS.module: SOLUTION, BLOCKS.notebook: "{not json"})
    staged = stage(folder, BLOCKS)
    assert staged.origin == BLOCKS.module and "could not be read" in staged.notes[0]
    # beside the untouched stub, the broken notebook is the student's work: its error is shown
    (folder / BLOCKS.module).write_text(STUB)
    with pytest.raises(StagingError) as caught:
        stage(folder, BLOCKS)
    assert caught.value.status == IMPORT_ERROR and "not a readable notebook" in caught.value.message
    assert f"{BLOCKS.notebook} was graded, not {BLOCKS.module}" in caught.value.message


def test_a_zip_holding_both_is_graded_by_the_same_rule(tmp_path):
    path = tmp_path / "carol.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"carol/{BLOCKS.module}", STUB)
        z.writestr(f"carol/{BLOCKS.notebook}", solved_notebook())
    staged = stage(path, BLOCKS)
    assert staged.origin == f"carol.zip:carol/{BLOCKS.notebook}"
    assert staged.notes[0].startswith(f"{BLOCKS.notebook} was graded, not {BLOCKS.module}")


def test_working_file_ignores_times_in_a_students_folder(tmp_path):
    folder = folder_with(tmp_path, {BLOCKS.module: STUB, BLOCKS.notebook: solved_notebook()})
    same_times(folder / BLOCKS.module, folder / BLOCKS.notebook, newer=folder / BLOCKS.module)
    work = working_file(BLOCKS, folder)
    assert work.path == folder / BLOCKS.notebook and work.reason.startswith(f"{BLOCKS.notebook} was checked")
    (folder / BLOCKS.notebook).unlink()
    assert working_file(BLOCKS, folder) == type(work)(folder / BLOCKS.module, "")


# ------------------------------------------------------------------------------ file names


@pytest.mark.parametrize("name", ["alice_blocks.py", "blocks (1).py", "Blocks-final.py", "frank.py"])
def test_a_loose_module_of_any_name_is_graded(tmp_path, name):
    path = tmp_path / name
    path.write_text(SOLUTION, encoding="utf-8")
    staged = stage(path, BLOCKS)
    assert staged.submission.source == SOLUTION and staged.origin == name
    assert staged.notes[0].startswith(f"{name} was graded as {BLOCKS.module}")


@pytest.mark.parametrize("name", ["frank.ipynb", "blocks (2).ipynb"])
def test_a_loose_notebook_of_any_name_is_graded_and_cites_its_own_name(tmp_path, name):
    path = tmp_path / name
    path.write_text(solved_notebook(), encoding="utf-8")
    staged = stage(path, BLOCKS)
    assert set(progress(BLOCKS, staged.submission.source).written) == set(BLOCKS.task_ids)
    assert staged.notes[0].startswith(f"{name} was graded as {BLOCKS.notebook}")
    assert {span.file for span in staged.lines.spans} == {name}


def test_another_assignments_module_is_not_graded_as_this_one(tmp_path):
    path = tmp_path / "alice_parameters.py"
    path.write_text(SOLUTION, encoding="utf-8")
    with pytest.raises(StagingError) as caught:
        stage(path, BLOCKS)
    assert caught.value.status == MISSING_FILE and "another assignment" in caught.value.message
    assert "--module-name" in caught.value.message
    staged = stage(path, BLOCKS, files=ModuleFiles.of(BLOCKS, "*_parameters.py"))
    assert staged.submission.source == SOLUTION


def test_module_name_names_the_files_of_a_submission(tmp_path):
    folder = folder_with(tmp_path, {"hw1.py": SOLUTION, "util.py": "X = 1\n"})
    with pytest.raises(StagingError) as caught:
        stage(folder, BLOCKS)
    assert caught.value.status == MISSING_FILE and "hw1.py, util.py" in caught.value.message
    assert "--module-name" in caught.value.message
    staged = stage(folder, BLOCKS, files=ModuleFiles.of(BLOCKS, "HW*.py"))
    assert staged.origin == "hw1.py" and staged.submission.source == SOLUTION
    with pytest.raises(StagingError) as missed:
        stage(folder, BLOCKS, files=ModuleFiles.of(BLOCKS, "*.ipynb"))
    assert "no file matching --module-name '*.ipynb'" in missed.value.message
    with pytest.raises(StagingError) as loose:
        stage(folder / "util.py", BLOCKS, files=ModuleFiles.of(BLOCKS, "hw*.py"))
    assert "does not match --module-name" in loose.value.message


def test_a_renamed_module_beside_the_untouched_notebook_is_graded(tmp_path):
    folder = folder_with(tmp_path, {"alice_blocks.py": SOLUTION, BLOCKS.notebook: solved_notebook()})
    (folder / BLOCKS.notebook).write_text((TEMPLATE / BLOCKS.notebook).read_text())
    staged = stage(folder, BLOCKS)
    assert staged.origin == "alice_blocks.py"
    assert staged.notes[:2] == [
        f"alice_blocks.py was graded as {BLOCKS.module} (its name says it is that file).",
        staged.notes[1],
    ] and staged.notes[1].startswith(f"alice_blocks.py was graded, not {BLOCKS.notebook}")


def test_the_only_code_file_is_graded_when_it_defines_a_task(tmp_path):
    path = tmp_path / "dan.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("dan/hw.py", SOLUTION)
        z.writestr("dan/notes.txt", "done")
    staged = stage(path, BLOCKS)
    assert staged.origin == "dan.zip:dan/hw.py"
    assert staged.notes[0] == f"dan/hw.py was graded as {BLOCKS.module}: it is the only Python file there."
    with zipfile.ZipFile(tmp_path / "erin.zip", "w") as z:
        z.writestr("utils.py", "def helper():\n    return 1\n")
    with pytest.raises(StagingError) as caught:
        stage(tmp_path / "erin.zip", BLOCKS)
    assert caught.value.status == MISSING_FILE and "utils.py, defines none of" in caught.value.message


def test_a_zip_without_the_module_says_what_it_holds(tmp_path):
    path = tmp_path / "gus.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in ("report.pdf", "data/train.csv", "hw1/a.py", "hw1/b.py"):
            z.writestr(name, "x = 1\n")
    with pytest.raises(StagingError) as caught:
        stage(path, BLOCKS)
    message = caught.value.message
    assert caught.value.status == MISSING_FILE and message.startswith("gus.zip holds no blocks.py")
    for name in ("report.pdf", "data/train.csv", "hw1/a.py", "hw1/b.py"):
        assert name in message
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("v1/alice_blocks.py", SOLUTION)
        z.writestr("v2/alice_blocks.py", SOLUTION)
    with pytest.raises(StagingError) as several:
        stage(two, BLOCKS)
    assert several.value.status == BAD_ARCHIVE and "v1/alice_blocks.py, v2/alice_blocks.py" in several.value.message


# ------------------------------------------------------------------------------ the command


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_grade_refuses_a_path_that_names_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    real = tmp_path / "ada"
    real.mkdir()
    (real / BLOCKS.module).write_text(SOLUTION)
    out = tmp_path / "out"
    result = invoke("grade", "--assignment", "blocks", "--out", out, real, tmp_path / "ben", tmp_path / "subs/*.zip")
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'ben'}: no such file or folder" in result.output
    assert f"{tmp_path / 'subs/*.zip'}: no file matches this pattern" in result.output
    assert "Traceback" not in result.output and not out.exists()  # nothing graded, no row of zeros


def test_grade_a_class_of_notebooks_renamed_files_and_modules(tmp_path, monkeypatch):
    """The issue's class: a `.py` student, notebook students with the stub beside (a folder and
    a zip), renamed loose files, and a zip that holds no module."""
    monkeypatch.chdir(REPO)
    subs = tmp_path / "subs"
    (subs / "ada").mkdir(parents=True)
    (subs / "ada" / BLOCKS.module).write_text(SOLUTION)
    (subs / "nina").mkdir()
    (subs / "nina" / BLOCKS.module).write_text(STUB)
    (subs / "nina" / BLOCKS.notebook).write_text(opened_and_saved(solved_notebook()))
    same_times(subs / "nina" / BLOCKS.module, subs / "nina" / BLOCKS.notebook)
    with zipfile.ZipFile(subs / "zoe.zip", "w") as z:
        z.writestr(BLOCKS.module, STUB)
        z.writestr(BLOCKS.notebook, solved_notebook())
    (subs / "alice_blocks.py").write_text(SOLUTION)
    (subs / "frank.ipynb").write_text(solved_notebook())
    with zipfile.ZipFile(subs / "gus.zip", "w") as z:
        z.writestr("essay.txt", "no code")
    out = tmp_path / "out"
    result = invoke("grade", "--assignment", "blocks", "-j", "1", "--out", out, *sorted(subs.iterdir()))
    assert result.exit_code == 0, result.output
    rows = {line.split(",")[0]: line.split(",") for line in (out / "gradebook.csv").read_text().splitlines()[1:]}
    full = f"{BLOCKS.max_score:g}"
    for name in ("ada", "nina", "zoe", "alice_blocks.py", "frank.ipynb"):
        assert rows[name][1:4] == [full, full, "graded"], (name, rows[name])
    assert rows["gus"][3] == "missing file"
    nina = json.loads((out / "nina" / "results.json").read_text())
    assert f"{BLOCKS.notebook} was graded, not {BLOCKS.module}" in nina["output"]
    feedback = (out / "nina" / "feedback.md").read_text()
    assert f"from `{BLOCKS.notebook}`" in feedback and "still the template" in feedback
    assert "was graded as blocks.ipynb" in (out / "frank.ipynb" / "feedback.md").read_text()
    assert "essay.txt" in (out / "gus" / "feedback.md").read_text()


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's clone of the template: the stub untouched beside a solved notebook, all files
    with one time (as `git clone` leaves them), the stub's a little later to be sure."""
    shutil.copytree(REPO / "student_template", tmp_path / "template")
    folder = tmp_path / "template" / BLOCKS.slug
    (folder / BLOCKS.notebook).write_text(solved_notebook(), encoding="utf-8")
    same_times(folder / BLOCKS.module, folder / BLOCKS.notebook, newer=folder / BLOCKS.module)
    monkeypatch.chdir(folder)
    return folder


def test_check_says_which_file_it_checked_and_why(student):
    result = invoke("check", "--task", "MLP")
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0]
    assert header.endswith(f"visible tests on {BLOCKS.notebook}")
    assert f"{BLOCKS.notebook} was checked, not {BLOCKS.module}" in " ".join(result.output.split())


def test_submit_packs_the_work_and_warns_about_the_stub(student):
    packed = invoke("submit", "blocks", "-o", student / "work.zip")
    assert packed.exit_code == 0, packed.output
    with zipfile.ZipFile(student / "work.zip") as z:
        assert BLOCKS.notebook in z.namelist() and BLOCKS.module not in z.namelist()
    assert f"{BLOCKS.notebook} is packed, not {BLOCKS.module}" in packed.output
    assert "you are submitting" not in packed.output
    stub = invoke("submit", "blocks", "--file", BLOCKS.module, "-o", student / "stub.zip")
    assert stub.exit_code == 0, stub.output
    warning = " ".join(stub.output.split())
    assert f"you are submitting {BLOCKS.module}, but {BLOCKS.notebook} beside it holds more of your work" in warning
    assert f"blockgrade submit blocks --file {BLOCKS.notebook}" in warning


def test_a_module_nested_past_the_parsers_limits_is_weighed_as_nothing_written():
    """Code the parser cannot hold (an expression nested a hundred thousand deep) is the
    sandbox's to report when it runs it; choosing between it and another file must not fail."""
    solution = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
    deep = solution + "\nzz = a" + ".b" * 100_000 + "\n"
    assert progress(BLOCKS, deep).written == ()
    stub = (REPO / "student_template" / "01-blocks" / "blocks.py").read_text(encoding="utf-8")
    choice = choose(BLOCKS, [Candidate("blocks.py", deep), Candidate("blocks.ipynb", stub)])
    assert choice.index == 0 and "blocks.py" in choice.reason  # unreadable to us, but changed: not the stub


# ------------------------------------------------------------------------------ check, submit and grade agree

COLAB_COPY = "Copia de blocks.ipynb"  # what Colab's Spanish "Save a copy" names the notebook


def layouts() -> dict[str, dict[str, str]]:
    """Students' folders, as `check`, `submit` and grading all meet them (relative name -> text)."""
    untouched = (TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8")
    return {
        "Colab's copy beside the stub": {BLOCKS.module: STUB, COLAB_COPY: solved_notebook()},
        "Colab's copy beside the untouched notebook": {
            BLOCKS.module: STUB,
            BLOCKS.notebook: untouched,
            COLAB_COPY: solved_notebook(),
        },
        "two copies beside the untouched notebook": {
            BLOCKS.module: STUB,
            BLOCKS.notebook: untouched,
            COLAB_COPY: untouched,
            "blocks (1).ipynb": solved_notebook(),
        },
        "a renamed module beside the notebook": {"alice_blocks.py": SOLUTION, BLOCKS.notebook: untouched},
        "the notebook in a subfolder": {BLOCKS.module: STUB, f"colab/{BLOCKS.notebook}": solved_notebook()},
        "the only other Python file": {"hw.py": SOLUTION, BLOCKS.notebook: untouched},
    }


@pytest.mark.parametrize("layout", list(layouts()))
def test_check_and_submit_choose_in_a_folder_as_grading_does(tmp_path, layout):
    folder = tmp_path / "sub"
    for name, text in layouts()[layout].items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    same_times(*(p for p in folder.rglob("*") if p.is_file()))
    graded = stage(folder, BLOCKS)
    work = working_file(BLOCKS, folder)
    assert work.path.relative_to(folder).as_posix() == graded.origin
    assert set(progress(BLOCKS, graded.submission.source).written) == set(BLOCKS.task_ids)
    # the choice is said, with the verb of the command; a guess (the only Python file) and a
    # file found in a subfolder too, as grading says them
    said = work.reason.splitlines()
    assert any(line.startswith(f"{work.path.name} was checked, not ") for line in said), said
    if layout == "the only other Python file":
        assert said[0] == f"hw.py was graded as {BLOCKS.module}: it is the only Python file there." == graded.notes[0]
    if layout == "the notebook in a subfolder":
        assert said[-1] == f"{BLOCKS.notebook} was found in colab/." == graded.notes[-1]


def test_the_answers_come_from_colabs_copy_beside_the_untouched_notebook(tmp_path):
    """The copy a student worked in, beside the template's untouched notebook, is graded (its
    code weighed against the original's) and its written answers are read, not the original's
    empty answer cells; the original with the work in it still wins over an untouched copy."""
    from autograder.questions import collect

    solved = json.loads(solved_notebook())
    question = BLOCKS.question_ids[0]
    cell = next(c for c in solved["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == question)
    cell["source"] = "A plain list registers nothing."
    untouched = (TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8")
    for case, (original, copy) in enumerate(((untouched, json.dumps(solved)), (json.dumps(solved), untouched))):
        (tmp_path / str(case)).mkdir()
        folder = folder_with(tmp_path / str(case), {BLOCKS.notebook: original, COLAB_COPY: copy})
        graded = stage(folder, BLOCKS)
        worked = BLOCKS.notebook if original != untouched else COLAB_COPY
        assert graded.origin == worked and set(progress(BLOCKS, graded.submission.source).written) == set(
            BLOCKS.task_ids
        )
        answers = {a.question: a for a in collect(BLOCKS, folder)}
        assert (answers[question].text, answers[question].origin) == ("A plain list registers nothing.", worked)


def test_several_copies_of_the_notebook_are_refused_by_check_as_by_grading(tmp_path):
    folder = folder_with(tmp_path, {BLOCKS.module: STUB, COLAB_COPY: solved_notebook(), "blocks (1).ipynb": STUB})
    with pytest.raises(StagingError) as graded:
        stage(folder, BLOCKS)
    with pytest.raises(CatalogError) as checked:
        working_file(BLOCKS, folder)
    assert graded.value.status == BAD_ARCHIVE
    assert str(checked.value) == f"{graded.value.message}; or name the file with --file"
    assert f"{COLAB_COPY}, blocks (1).ipynb" in str(checked.value)


@pytest.fixture
def colab_student(tmp_path, monkeypatch):
    """A student's clone whose notebook went through Colab: downloaded back as `Copia de
    blocks.ipynb` (the original gone), solved, beside the untouched stub."""
    shutil.copytree(REPO / "student_template", tmp_path / "template")
    folder = tmp_path / "template" / BLOCKS.slug
    (folder / BLOCKS.notebook).unlink()
    (folder / COLAB_COPY).write_text(solved_notebook(), encoding="utf-8")
    same_times(folder / BLOCKS.module, folder / COLAB_COPY, newer=folder / BLOCKS.module)
    monkeypatch.chdir(folder)
    return folder


def test_check_and_submit_take_colabs_copy_of_the_notebook_as_grading_does(colab_student):
    assert stage(colab_student, BLOCKS).origin == COLAB_COPY  # what grading the folder takes
    checked = invoke("check", "--task", "MLP")
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[0].endswith(f"visible tests on {COLAB_COPY}")
    said = " ".join(checked.output.split())
    assert f"{COLAB_COPY} was checked, not {BLOCKS.module}" in said
    assert f"{COLAB_COPY} was graded as {BLOCKS.notebook} (its name says it is that file)" in said
    packed = invoke("submit", "blocks", "-o", colab_student / "work.zip")
    assert packed.exit_code == 0, packed.output
    with zipfile.ZipFile(colab_student / "work.zip") as z:
        assert COLAB_COPY in z.namelist() and BLOCKS.module not in z.namelist()
    assert f"{COLAB_COPY} is packed, not {BLOCKS.module}" in " ".join(packed.output.split())
    assert "still raising NotImplementedError" not in packed.output
    # the zip uploaded is graded as the notebook
    assert stage(colab_student / "work.zip", BLOCKS).origin == f"work.zip:{COLAB_COPY}"
    stub = invoke("submit", "blocks", "--file", BLOCKS.module, "-o", colab_student / "stub.zip")
    assert stub.exit_code == 0, stub.output
    warning = " ".join(stub.output.split())
    assert f"you are submitting {BLOCKS.module}, but {COLAB_COPY} beside it holds more of your work" in warning
    assert f'blockgrade submit blocks --file "{COLAB_COPY}"' in warning


# ------------------------------------------------------------------------------ the reason, translated


# words of the English sentences that a translation writes the same: code, and Spanish's "no"
SAME_WORDS = {"es": {"NotImplementedError", "no"}, "zh": {"NotImplementedError"}}


def kept_out(text: str, kept: list[str], by: str = " ") -> str:
    for name in sorted(kept, key=len, reverse=True):  # `Copia de blocks.ipynb` before `blocks.ipynb`
        text = text.replace(name, by)
    return text


def english_left(english: str, shown: str, kept: list[str], language: str) -> list[str]:
    """The words of the English sentence `english` still in its translation `shown`, once the
    text kept as it is (file names, a parser's message) is taken out of both."""
    english, shown = kept_out(english, kept), kept_out(shown, kept)
    words = set(re.findall(r"[A-Za-z]{2,}", english)) - SAME_WORDS[language]
    return sorted(w for w in words if re.search(rf"\b{w}\b", shown))


def reason_cases(tmp_path: Path) -> tuple[dict[str, list[Candidate]], list[str]]:
    """Candidates giving each kind of reason (`choosing._why`), two or three of them, with names
    holding spaces (Colab's copy) chosen or not; and the text their reasons keep as it is."""
    broken = tmp_path / COLAB_COPY
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(StagingError) as unreadable:
        read_candidate(BLOCKS, broken)
    with pytest.raises(json.JSONDecodeError) as parser:
        json.loads("{not json")
    mlp = with_tasks(STUB, {"MLP"})
    other = mlp.replace("self.out(F.relu(self.hidden(X)))", "self.out(torch.relu(self.hidden(X)))")
    fewer = re.sub(r"^( +)raise NotImplementedError\b.*$", r"\1pass", STUB, count=1, flags=re.M)  # a stub done
    replicate, replicate_fewer = with_tasks(STUB, {"replicate"}), with_tasks(fewer, {"replicate"})
    # what each case relies on, so that the cases keep giving their kind of reason
    assert other != mlp and progress(BLOCKS, fewer).written == ()
    assert progress(BLOCKS, fewer).stubs == progress(BLOCKS, STUB).stubs - 1
    assert progress(BLOCKS, replicate_fewer).written == progress(BLOCKS, replicate).written == ("replicate",)
    problem = unreadable.value.message
    cases = {
        "more written, beside the template": [Candidate(BLOCKS.module, STUB), Candidate(COLAB_COPY, SOLUTION)],
        "more written, three": [
            Candidate(COLAB_COPY, STUB),
            Candidate(BLOCKS.notebook, mlp),
            Candidate(BLOCKS.module, SOLUTION),
        ],
        "fewer stubs, beside the template": [Candidate(BLOCKS.module, STUB), Candidate(COLAB_COPY, fewer)],
        "fewer stubs": [Candidate(COLAB_COPY, replicate), Candidate(BLOCKS.notebook, replicate_fewer)],
        "the other unreadable": [Candidate(BLOCKS.module, SOLUTION), Candidate(COLAB_COPY, None, problem)],
        "the chosen unreadable, three": [
            Candidate(BLOCKS.module, STUB),
            Candidate(BLOCKS.notebook, STUB),
            Candidate(COLAB_COPY, None, problem),
        ],
        "all the template, three": [
            Candidate(BLOCKS.module, STUB),
            Candidate(COLAB_COPY, STUB),
            Candidate(BLOCKS.notebook, STUB),
        ],
        "the same code": [Candidate(COLAB_COPY, SOLUTION), Candidate(BLOCKS.module, SOLUTION)],
        "different code": [Candidate(COLAB_COPY, mlp), Candidate(BLOCKS.module, other)],
    }
    return cases, [BLOCKS.module, BLOCKS.notebook, COLAB_COPY, str(parser.value)]


@pytest.mark.parametrize("language", ["es", "zh"])
def test_the_reason_is_translated_whole_whatever_the_files(tmp_path, language):
    """Which file was graded, checked or packed, and why, reads wholly in the student's language
    for two files or three, whichever reason, a name with spaces (Colab's copy) included: no
    English word of the sentence left, each file's name as it is."""
    cases, kept = reason_cases(tmp_path)
    kinds = set()
    for case, candidates in cases.items():
        for verb in VERBS:
            choice = choose(BLOCKS, candidates, verb)
            shown = i18n.localize(choice.reason, BLOCKS, language)
            said = f"{case}, {verb}: {shown!r}"
            assert len(choice.reason.splitlines()) == len(candidates) - 1 == len(shown.splitlines()), said
            assert not english_left(choice.reason, shown, kept, language), said
            assert not any(v in shown for v in VERBS) and " or " not in shown and "; " not in shown, said
            for candidate in candidates:  # each name as it is, as often as in English
                assert shown.count(candidate.name) == choice.reason.count(candidate.name) > 0, said
            for i, why in enumerate(choice.whys):  # the explanation alone (the warning of `submit`)
                assert (why == "") == (i == choice.index), said
                assert not english_left(why, i18n.localize(why, BLOCKS, language), kept, language), said
            kinds |= {re.sub(r"[0-9]+", "N", kept_out(why, kept, "X")) for why in choice.whys if why}
    assert len(kinds) == 9, kinds  # each of the nine messages of `choosing._why` was met


@pytest.mark.parametrize("language", ["es", "zh"])
def test_check_says_in_the_students_language_which_of_three_files_it_checked(tmp_path, language):
    """Colab's copy beside the untouched notebook and the stub: what `check` and `submit` say
    (the choice, and why each other file was not taken) has no English left."""
    untouched = (TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8")
    folder = folder_with(tmp_path, {BLOCKS.module: STUB, BLOCKS.notebook: untouched, COLAB_COPY: solved_notebook()})
    work = working_file(BLOCKS, folder)
    assert work.path == folder / COLAB_COPY and len(work.compared) == 3
    shown = i18n.localize(work.reason, BLOCKS, language)
    kept = [BLOCKS.module, BLOCKS.notebook, COLAB_COPY]
    assert not english_left(work.reason, shown, kept, language), shown
    assert shown.count(COLAB_COPY) == work.reason.count(COLAB_COPY) > 0, shown
    assert work.why_not(folder / COLAB_COPY) == ""
    for path in (folder / BLOCKS.module, folder / BLOCKS.notebook):
        why = work.why_not(path)
        assert path.name in why and not english_left(why, i18n.localize(why, BLOCKS, language), kept, language), why
