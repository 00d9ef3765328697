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
