"""A student who works in the notebook, on every platform: Gradescope's autograder, a GitHub
Classroom clone and an nbgrader collection grade the notebook beside the untouched stub; in a
real Jupyter kernel the template's first cell finds the assignment's folder, a helper defined
in an added cell counts in the check as in grading, and errors cite the notebook's cells."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

from autograder.catalog import course_at
from autograder.grading import Grader
from autograder.notebooks import SETUP_ID, notebook_from_module, notebook_module, setup_cell_source
from autograder.results import FAILED, PASSED

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
TEMPLATE = REPO / "student_template" / BLOCKS.slug
SOLUTION = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
STUB = (TEMPLATE / BLOCKS.module).read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def blockgrade(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def clone_times(*paths: Path) -> None:
    """As `git clone` leaves files: one time for all (so no file time can pick the work)."""
    for path in paths:
        os.utime(path, (1_700_000_000, 1_700_000_000))


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def solved_cells(notebook) -> None:
    """Each solution cell of `notebook` (nbformat) filled in with the solution's code."""
    solved = {grade_id(c): c.source for c in nbformat.reads(notebook_from_module(BLOCKS, SOLUTION), as_version=4).cells}
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solved[grade_id(cell)]


def outputs_text(cell) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append(output.get("text", ""))
        texts.append(output.get("data", {}).get("text/plain", ""))
        texts += output.get("traceback", [])
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join(texts))


def run_notebook(notebook, folder: Path) -> list:
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return notebook.cells


# ------------------------------------------------------------------------------ platforms


def test_gradescope_grades_the_notebook_beside_the_untouched_stub(tmp_path):
    bundle = tmp_path / "autograder.zip"
    assert blockgrade("gradescope", "blocks", "-o", bundle).returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    (root / "submission" / BLOCKS.module).write_text(STUB)
    (root / "submission" / BLOCKS.notebook).write_text(notebook_from_module(BLOCKS, SOLUTION))
    clone_times(*(root / "submission").iterdir())
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={**ENV, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == BLOCKS.max_score and data["extra_data"]["status"] == "graded"
    assert f"{BLOCKS.notebook} was graded, not {BLOCKS.module}" in data["output"]


def test_every_classroom_step_checks_the_notebook_of_a_fresh_clone(tmp_path):
    repo = tmp_path / "repo"
    assert blockgrade("classroom", "blocks", "-o", repo).returncode == 0
    notebook = nbformat.read(repo / BLOCKS.notebook, as_version=4)
    solved_cells(notebook)
    nbformat.write(notebook, repo / BLOCKS.notebook)
    clone_times(repo / BLOCKS.module, repo / BLOCKS.notebook)
    steps = yaml.safe_load((repo / ".github/workflows/classroom.yml").read_text())["jobs"]["run-autograding-tests"]
    commands = [s["with"]["command"] for s in steps["steps"] if "command" in s.get("with", {})]
    assert len(commands) == len(BLOCKS.tasks)
    for command in commands[:1] + commands[-1:]:  # the first and the last step, as Classroom runs them
        words = command.split()
        assert words[0] == "blockgrade"
        result = blockgrade(*words[1:], cwd=repo)
        assert result.returncode == 0, command + "\n" + result.stdout + result.stderr
        assert f"visible tests on {BLOCKS.notebook}" in result.stdout


def test_an_nbgrader_collection_grades_the_notebook_the_student_filled_in(tmp_path):
    course = tmp_path / "course"
    assert blockgrade("export", "nbgrader", course).returncode == 0
    made = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", "blocks", "--force"],
        cwd=course,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    # what `nbgrader collect` leaves: the student's whole folder, the released stub module in it
    submitted = course / "submitted" / "alice" / "blocks"
    shutil.copytree(course / "release" / "blocks", submitted)
    notebook = nbformat.read(submitted / BLOCKS.notebook, as_version=4)
    solved_cells(notebook)
    nbformat.write(notebook, submitted / BLOCKS.notebook)
    clone_times(*submitted.iterdir())
    assert (submitted / BLOCKS.module).read_text() == STUB
    out = tmp_path / "out"
    result = blockgrade("grade", "--assignment", "blocks", "-j", "1", "--out", out, submitted)
    assert result.returncode == 0, result.stdout + result.stderr
    row = (out / "gradebook.csv").read_text().splitlines()[1].split(",")
    assert row[:4] == ["blocks", f"{BLOCKS.max_score:g}", f"{BLOCKS.max_score:g}", "graded"], row
    assert f"{BLOCKS.notebook} was graded, not {BLOCKS.module}" in (out / "blocks" / "feedback.md").read_text()


# ------------------------------------------------------------------------------ the setup cell


def test_the_setup_cell_moves_a_kernel_started_elsewhere_to_the_assignment(tmp_path):
    shutil.copytree(REPO / "student_template", tmp_path / "unpacked" / "student")
    folder = tmp_path / "unpacked" / "student" / BLOCKS.slug
    notebook = nbformat.read(folder / BLOCKS.notebook, as_version=4)
    assert notebook.cells[1].source == setup_cell_source(BLOCKS) and grade_id(notebook.cells[1]) == SETUP_ID
    solved_cells(notebook)
    keep = [c for c in notebook.cells if not grade_id(c).startswith("check-") or grade_id(c) == "check-MLP"]
    where = nbformat.v4.new_code_cell("import os\nprint('cwd=' + os.getcwd())")
    notebook.cells = keep[:2] + [where] + keep[2:]
    cells = run_notebook(notebook, tmp_path)  # the kernel starts two folders above the assignment
    assert f"Working in {folder}" in outputs_text(cells[1])
    assert f"cwd={folder}" in outputs_text(cells[2])
    check = next(c for c in cells if grade_id(c) == "check-MLP")
    assert "passed" in outputs_text(check) and "failed" not in outputs_text(check), outputs_text(check)


def test_the_setup_cell_says_how_to_install_a_missing_kit(tmp_path):
    """Run without the kit (`python -S`: no site-packages) from the folder a release unpacks to."""
    release = tmp_path / "release"
    shutil.copytree(TEMPLATE, release / BLOCKS.slug)
    kit = release / "kit"
    (kit / "autograder").mkdir(parents=True)
    (kit / "pyproject.toml").write_text("[project]\nname = 'blockgrade'\n")
    (kit / "constraints.txt").write_text("torch==2.4.0\n")
    source = setup_cell_source(BLOCKS)
    plain = subprocess.run([sys.executable, "-S", "-c", source], cwd=release, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    assert f"The assignment is in {release / BLOCKS.slug}" in plain.stdout
    assert f'%pip install -c "{kit / "constraints.txt"}" "{kit}"' in plain.stdout
    colab = subprocess.run(
        [sys.executable, "-S", "-c", source],
        cwd=release / BLOCKS.slug,
        env={**os.environ, "COLAB_RELEASE_TAG": "release-colab-test"},
        capture_output=True,
        text=True,
    )
    assert f"Working in {release / BLOCKS.slug}." in colab.stdout
    assert f'%pip install -q "{kit}"' in colab.stdout  # Colab keeps its own torch: no pins
    lost = subprocess.run([sys.executable, "-S", "-c", source], cwd=tmp_path / "release" / "kit", capture_output=True)
    assert b"is not under" in lost.stdout and b"%cd" in lost.stdout


def test_the_setup_cell_is_never_graded(tmp_path):
    notebook = json.loads((TEMPLATE / BLOCKS.notebook).read_text())
    for cell in notebook["cells"]:
        cell["metadata"] = {}  # a notebook whose metadata a tool dropped: every code cell counts
    made = notebook_module(notebook, BLOCKS.notebook)
    assert "_blockgrade_setup" not in made.source and "class MLP" in made.source
    assert "_blockgrade_setup" not in notebook_module(json.loads((TEMPLATE / BLOCKS.notebook).read_text())).source


def test_the_student_readme_says_how_to_work_in_colab():
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Working in the notebook") :]
    for needed in ("%pip install", f"%cd {BLOCKS.slug}", "Colab", "!unzip", BLOCKS.notebook, "first code cell"):
        assert needed in section, needed


# ------------------------------------------------------------------------------ added cells


HELPER_CELL = """\
HIDDEN = 256


def activation(X):
    return squash(X)


def squash(X):
    return F.relu(X)


net = MLP()  # a student's experiment: not a definition the task needs
print(net)
"""

MLP_WITH_HELPERS = """\
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=None, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden or HIDDEN)
        self.out = nn.Linear(hidden or HIDDEN, out_features)

    def forward(self, X):
        return self.out(activation(self.hidden(X)))
"""


def notebook_with_helper(helper: str):
    """The template notebook with MLP written using helpers from a cell added after it, and
    only MLP's check cell."""
    notebook = nbformat.read(TEMPLATE / BLOCKS.notebook, as_version=4)
    cells = []
    for cell in notebook.cells:
        if grade_id(cell).startswith("check-") and grade_id(cell) != "check-MLP":
            continue
        if grade_id(cell) == "MLP":
            cell.source = MLP_WITH_HELPERS
            cells += [cell, nbformat.v4.new_code_cell(helper)]
            continue
        cells.append(cell)
    notebook.cells = cells
    return notebook


def graded(notebook, tmp_path: Path, tasks: list[str]):
    path = tmp_path / "graded" / BLOCKS.notebook
    path.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, path)
    with Grader(BLOCKS, "hidden", tasks=tasks) as grader:
        return grader.grade(path.parent, name="graded")


def test_helpers_in_an_added_cell_count_in_the_check_and_in_grading_alike(tmp_path):
    folder = tmp_path / BLOCKS.slug
    shutil.copytree(TEMPLATE, folder)
    notebook = notebook_with_helper(HELPER_CELL)
    cells = run_notebook(notebook, folder)
    check = outputs_text(next(c for c in cells if grade_id(c) == "check-MLP"))
    assert "passed" in check and "failed" not in check, check
    assert "HIDDEN, activation, squash" in " ".join(check.split())
    result = graded(notebook, tmp_path, ["MLP"])  # the notebook as the kernel ran it, outputs and all
    mlp = [t for t in result.tests if t.test.task == "MLP"]
    assert mlp and all(t.outcome != FAILED for t in mlp) and any(t.outcome == PASSED for t in mlp), [
        t.message for t in mlp
    ]
    note = next(n for n in result.notes if "that you added define" in n)
    assert "HIDDEN, activation, squash" in note and "net" not in note.split(":")[0]


def test_errors_cite_the_notebooks_cell_and_line(tmp_path):
    broken = HELPER_CELL.replace("return F.relu(X)", "return X.no_such_method()")
    notebook = notebook_with_helper(broken)
    for cell in notebook.cells:
        if grade_id(cell) == "NestMLP":
            cell.source = "class NestMLP(nn.Module)\n    pass\n"  # a syntax error in the task's cell
    added = next(i for i, c in enumerate(notebook.cells) if c.source == broken) + 1
    nest = next(i for i, c in enumerate(notebook.cells) if grade_id(c) == "NestMLP") + 1
    line = broken.splitlines().index("    return X.no_such_method()") + 1
    # in grading: the notebook's cell numbers and the lines in them
    result = graded(notebook, tmp_path, ["MLP", "NestMLP"])
    message = next(t.message for t in result.tests if t.test.task == "MLP" and t.outcome == FAILED)
    assert f'File "{BLOCKS.notebook}", cell {added}, line {line}, in squash' in message, message
    assert f'File "{BLOCKS.module}"' not in message
    assert any(n.startswith(f"{BLOCKS.notebook} cell {nest} (NestMLP), line 1:") for n in result.notes), result.notes
    # in the check: the kernel's own cell names, as Jupyter shows them in a traceback
    folder = tmp_path / BLOCKS.slug
    shutil.copytree(TEMPLATE, folder)
    notebook = notebook_with_helper(broken)
    cells = run_notebook(notebook, folder)
    ran = next(c for c in cells if c.source == broken).execution_count
    check = outputs_text(next(c for c in cells if grade_id(c) == "check-MLP"))
    assert f"Cell In[{ran}], line {line}, in squash" in check, check


def test_a_check_run_before_the_setup_cell_says_to_run_it(tmp_path):
    """The kernel started where the course is not (Colab's /content, a Downloads folder) and
    the first cell not run: the check cell says what to do, not "run this inside the kit"."""
    notebook = nbformat.read(TEMPLATE / BLOCKS.notebook, as_version=4)
    check = next(c for c in notebook.cells if grade_id(c) == "check-MLP")
    notebook.cells = [nbformat.v4.new_code_cell("import os\nos.environ.pop('BLOCKGRADE_ROOT', None)"), check]
    (tmp_path / "Downloads").mkdir()
    cells = run_notebook(notebook, tmp_path / "Downloads")
    said = " ".join(outputs_text(cells[1]).split())
    assert f"no assignments found in {tmp_path / 'Downloads'} or above" in said, said
    assert "run the notebook's first cell (the blockgrade setup cell)" in said and "kit's repository" not in said
