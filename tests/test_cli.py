"""The `blockgrade` command as a user meets it: output, files written, and exit status."""

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.cli import main

from conftest import REPO


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's copy of the template, with the current directory in assignment 1."""
    shutil.copytree(REPO / "student_template", tmp_path / "template")
    folder = tmp_path / "template" / "01-blocks"
    monkeypatch.chdir(folder)
    return folder


def solve(folder):
    shutil.copyfile(REPO / "solutions" / "01-blocks" / "blocks.py", folder / "blocks.py")


def test_list_shows_tasks_and_points(monkeypatch):
    monkeypatch.chdir(REPO)
    result = invoke("list")
    assert result.exit_code == 0
    for text in ("01-blocks", "MySequential", "20 points", "replicate"):
        assert text in result.output


def test_check_fails_on_the_stub_and_passes_on_the_solution(student):
    stub = invoke("check")
    assert stub.exit_code == 1
    # every task fails all its visible checks (their number differs by task: some also run on cuda:0)
    counts = re.findall(r"failed \((\d+) of (\d+)\)", stub.output)
    assert len(counts) == 6 and all(a == b for a, b in counts), stub.output
    assert "0 of 6 tasks pass" in stub.output
    solve(student)
    solved = invoke("check", "blocks")
    assert solved.exit_code == 0 and "6 of 6 tasks pass" in solved.output


def test_check_heads_each_column_by_what_it_holds(student):
    """The points column holds what a task is worth (not what this run earned: a failing task
    shows them too), the last one the first line of the task's first failure."""
    result = invoke("check", "blocks", "--task", "MLP")
    header = next(line for line in result.output.splitlines() if "task" in line and "result" in line)
    assert "worth" in header and "first failure" in header and "hint" not in header, header
    row = next(line for line in result.output.splitlines() if line.strip("│┃ ").startswith("MLP"))
    assert "3" in row and "failed" in row  # worth 3 points, none of them earned
    assert "NotImplementedError" in row


def test_check_one_task(student):
    result = invoke("check", "blocks", "--task", "MySequential")
    assert result.exit_code == 1
    assert "MySequential" in result.output and "FixedHiddenMLP" not in result.output


def test_check_tells_what_is_wrong_when_it_cannot_start(student, tmp_path, monkeypatch):
    unknown = invoke("check", "blocks", "--task", "Nope")
    assert unknown.exit_code == 2 and "no task 'Nope'" in unknown.output
    (student / "blocks.py").unlink()
    (student / "blocks.ipynb").unlink()
    missing = invoke("check", "blocks")
    assert missing.exit_code == 2 and "no blocks.py or blocks.ipynb" in missing.output
    monkeypatch.chdir(tmp_path)
    nowhere = invoke("check")
    assert nowhere.exit_code == 2 and "no assignments found" in nowhere.output


def test_submit_packs_the_file_with_a_manifest(student):
    solve(student)
    result = invoke("submit", "blocks", "-o", student / "out.zip")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(student / "out.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read("blocks.py")
    assert manifest["assignment"] == "blocks" and manifest["kit_version"]
    assert manifest["files"]["blocks.py"] == hashlib.sha256(data).hexdigest()
    assert data == (student / "blocks.py").read_bytes()


def test_submit_warns_about_stubs_and_refuses_what_cannot_be_graded(student):
    stub = invoke("submit", "blocks", "-o", student / "stub.zip")
    assert stub.exit_code == 0 and "still raising NotImplementedError" in stub.output
    (student / "blocks.py").write_text("def MLP(:\n    pass\n")
    broken = invoke("submit", "blocks", "-o", student / "broken.zip")
    assert broken.exit_code == 2 and "line 1" in broken.output and not (student / "broken.zip").exists()
    forced = invoke("submit", "blocks", "--force", "-o", student / "forced.zip")
    assert forced.exit_code == 0 and (student / "forced.zip").exists()
    (student / "blocks.py").write_text("import d2l\n")
    assert "No module named 'd2l'" in invoke("submit", "blocks", "-o", student / "x.zip").output


def test_build_check_reports_drift(tmp_path, monkeypatch):
    for part in ("assignments", "solutions", "student_template"):
        shutil.copytree(REPO / part, tmp_path / part)
    monkeypatch.chdir(tmp_path)
    assert invoke("build", "--check").exit_code == 0
    (tmp_path / "student_template" / "01-blocks" / "blocks.py").write_text("edited by hand\n")
    drift = invoke("build", "--check")
    assert drift.exit_code == 1 and "01-blocks/blocks.py" in drift.output
    assert invoke("build").exit_code == 0 and invoke("build", "--check").exit_code == 0


def test_grade_a_batch_with_malformed_submissions(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    subs = tmp_path / "subs"
    (subs / "solution").mkdir(parents=True)
    shutil.copyfile(REPO / "solutions/01-blocks/blocks.py", subs / "solution/blocks.py")
    (subs / "stub").mkdir()
    shutil.copyfile(REPO / "student_template/01-blocks/blocks.py", subs / "stub/blocks.py")
    (subs / "nothing").mkdir()
    (subs / "nothing/readme.txt").write_text("forgot the file")
    (subs / "garbled").mkdir()
    (subs / "garbled/blocks.py").write_text("class (((:\n")
    (subs / "corrupt.zip").write_bytes(b"not a zip at all")
    (subs / "wrong_names").mkdir()
    (subs / "wrong_names/blocks.py").write_text("class Mlp:\n    pass\n")
    out = tmp_path / "out"
    result = invoke("grade", "--assignment", "blocks", "--out", out, *sorted(subs.iterdir()))
    assert result.exit_code == 0, result.output
    assert "grading ━" not in result.output and "\x1b[" not in result.output  # no progress bar when captured
    assert "summary" in result.output and "status: " in result.output
    # "nothing" and "corrupt.zip" were not graded: the class summary counts the other four
    total = next(line for line in result.output.splitlines() if line.strip("│┃ ").startswith("total"))
    assert "summary (graded submissions only)" in result.output and total.rstrip(" │┃").endswith("/4"), total
    assert (out / "report.html").is_file()
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "submission",
        "score",
        "max_score",
        "status",
        "MLP",
        "MySequential",
        "FixedHiddenMLP",
        "NestMLP",
        "Parallel",
        "replicate",
        *("plain-list", "buffer-or-parameter", "factory", "written"),  # written questions (test_manual.py)
        "flags",
    ]
    table = {row[0]: row for row in rows[1:]}
    assert set(table) == {"solution", "stub", "nothing", "garbled", "corrupt", "wrong_names"}
    assert table["solution"][1:4] == ["20", "20", "graded"] and table["stub"][1:4] == ["0", "20", "graded"]
    assert table["nothing"][3] == "missing file" and table["corrupt"][3] == "bad archive"
    assert table["garbled"][3] == "import error" and table["wrong_names"][1:4] == ["0", "20", "graded"]
    for name in table:
        results = json.loads((out / name / "results.json").read_text())
        assert results["extra_data"]["status"] == table[name][3]
        assert all(test["tags"] for test in results["tests"])
    assert "has no blocks.py" in (out / "nothing" / "feedback.md").read_text()
    assert "`MLP` is not defined in blocks.py" in (out / "wrong_names" / "feedback.md").read_text()


def test_the_installed_command(tmp_path):
    command = shutil.which("blockgrade") or str(Path(sys.executable).with_name("blockgrade"))
    version = subprocess.run([command, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "blockgrade, version" in version.stdout
    bad = subprocess.run(
        [command, "grade", "--assignment", "nope", "--out", tmp_path, REPO], capture_output=True, text=True, cwd=REPO
    )
    assert bad.returncode == 2 and "no assignment 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def catalog_msgids(*modules) -> set:
    """The messages Babel extracts from `modules` for the catalogs (as `blockgrade i18n update` does)."""
    from babel.messages.extract import extract_from_file

    from autograder.i18n_tools import KEYWORDS

    return {
        message
        for module in modules
        for _line, message, _comments, _context in extract_from_file("python", module.__file__, keywords=KEYWORDS)
    }


def test_what_stops_a_student_is_a_catalog_message(student, tmp_path, monkeypatch):
    """Each message a Spanish or Chinese student meets here is in the catalogs (shown through
    them, in the student's language once translated), never an English f-string."""
    from autograder import catalog, packing

    ids = catalog_msgids(catalog, packing)
    course = catalog.course_at(student.parent)
    tasks = ", ".join(course.get("blocks").task_ids)
    no_task = "{assignment}: no task {task!r} (tasks: {tasks})"
    unknown = invoke("check", "blocks", "--task", "MLPX")
    assert unknown.exit_code == 2 and no_task in ids
    assert no_task.format(assignment="blocks", task="MLPX", tasks=tasks) in unknown.output
    no_assignment = "no assignment {key!r} here (known: {known})"
    named = invoke("check", "bloques")
    assert named.exit_code == 2 and no_assignment in ids
    known = ", ".join(a.id for a in catalog.find_course(student, prefer_student=True).assignments)
    assert no_assignment.format(key="bloques", known=known) in named.output
    nowhere_id = (
        "no assignments found in {folder} or above: run this inside the kit's repository, "
        "the student template, or one of its assignment folders"
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    nowhere = invoke("check")
    assert nowhere.exit_code == 2 and nowhere_id in ids
    assert nowhere_id.format(folder=tmp_path / "elsewhere") in " ".join(nowhere.output.split())
    # the stub submitted beside a notebook with the work in it
    monkeypatch.chdir(student)
    (student / "blocks.ipynb").unlink()
    from autograder.notebooks import notebook_from_module

    source = catalog.course_at(REPO).get("blocks")
    solved = notebook_from_module(source, (source.solution_dir / source.module).read_text(encoding="utf-8"))
    (student / "blocks (1).ipynb").write_text(solved, encoding="utf-8")
    warned = invoke("submit", "blocks", "--file", "blocks.py", "-o", student / "stub.zip")
    other_id = (
        "you are submitting {file}, but {other} beside it holds more of your work: {why}. Submit it instead: {command}"
    )
    assert warned.exit_code == 0 and other_id in ids
    said = " ".join(warned.output.split())
    assert "you are submitting blocks.py, but blocks (1).ipynb beside it holds more of your work: " in said
    assert 'Submit it instead: blockgrade submit blocks --file "blocks (1).ipynb"' in said


def test_submit_cites_a_notebooks_cell_in_the_students_language(student):
    """A syntax error in a notebook is refused citing its cell as the check does, in the
    student's language: `blocks.ipynb, celda 5 (MLP), línea 15`, not `cell 5 (MLP),, línea`."""
    from autograder import i18n
    from autograder.catalog import course_at
    from autograder.notebooks import CELL_PLACES
    from autograder.packing import SubmitRefused, pack

    notebook = json.loads((student / "blocks.ipynb").read_text(encoding="utf-8"))
    number = next(
        i for i, c in enumerate(notebook["cells"], 1) if c["metadata"].get("nbgrader", {}).get("grade_id") == "MLP"
    )
    cell = notebook["cells"][number - 1]
    cell["source"] = "class MLP(nn.Module):\n    def forward(self, X)\n        return X\n"
    (student / "blocks.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    refused = {}
    for language in ("es", "zh"):
        result = invoke("submit", "blocks", "--lang", language, "--file", "blocks.ipynb", "-o", student / "x.zip")
        assert result.exit_code == 2 and not (student / "x.zip").exists(), result.output
        refused[language] = result.output
    assignment = course_at(student.parent).get("blocks")
    for language, output in refused.items():
        with i18n.using(language):
            place = i18n._(CELL_PLACES[0], file="blocks.ipynb", number=number, name="MLP")
            line = i18n._("{file} line {line}: {message}", file=place, line=2, message="expected ':'")
        assert line in output, (language, output)
        assert " cell " not in output and ",," not in output, output
    with pytest.raises(SubmitRefused) as english:
        pack(assignment, student / "blocks.ipynb", student / "x.zip")
    assert f"blocks.ipynb cell {number} (MLP), line 2: expected ':'" in str(english.value)
