"""Where courses run the kit: a release zip, Gradescope's autograder, GitHub Classroom's
workflow, nbgrader's course folder, and a notebook's check cells in a real Jupyter kernel."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from autograder.catalog import course_at
from autograder.notebooks import notebook_from_module
from autograder.release import solution_lines

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def blockgrade(*args, cwd=REPO, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "autograder", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def assert_no_solution(assignment, files: dict[str, str]) -> None:
    secrets = solution_lines(assignment)
    assert secrets, "the solution has no telling lines to look for"
    for name, text in files.items():
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{name} holds solution code: {leaked[:3]}"


def zip_texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {
            i.filename: z.read(i).decode("utf-8", "replace")
            for i in z.infolist()
            if i.filename.endswith((".py", ".ipynb", ".md", ".toml", ".sh", "run_autograder", ".txt"))
        }


# ------------------------------------------------------------------------------ release


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.id)
def test_release_holds_what_students_need_and_nothing_hidden(assignment, tmp_path):
    target = tmp_path / "student.zip"
    blockgrade("release", assignment.id, "-o", target)
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
    root = f"{assignment.slug}/"
    for needed in (assignment.module, assignment.notebook, "assignment.toml", "README.md"):
        assert root + needed in names
    assert any(n.startswith(root + "tests/test_") for n in names) and any("probes" in n for n in names)
    assert "README.md" in names and "kit/pyproject.toml" in names and "kit/autograder/cli.py" in names
    assert not [n for n in names if "hidden" in n or "solution" in n]
    assert not [n for n in names if n.startswith("kit/") and "assignments" in n]  # the engine only
    assert_no_solution(assignment, {n: t for n, t in zip_texts(target).items() if not n.startswith("kit/")})
    hidden = assignment.suite_dir("hidden")
    judges = "".join(p.read_text(encoding="utf-8") for p in hidden.glob("test_*.py"))
    visible = {n for n, t in zip_texts(target).items() if n.endswith(".py") and "/tests/" in n}
    for name in visible:  # the visible tests are not the hidden ones under another name
        assert zip_texts(target)[name] not in judges or not zip_texts(target)[name].strip()


def test_a_released_folder_checks_as_the_template_does(tmp_path):
    target = tmp_path / "student.zip"
    blockgrade("release", "blocks", "-o", target)
    with zipfile.ZipFile(target) as z:
        z.extractall(tmp_path)
    assert "pip install -c kit/constraints.txt ./kit" in (tmp_path / "README.md").read_text()
    # the kit inside builds into an installable wheel, its report template included
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            tmp_path / "wheel",
            tmp_path / "kit",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(next((tmp_path / "wheel").glob("blockgrade-*.whl"))) as wheel:
        assert {"autograder/cli.py", "autograder/templates/report.html.j2"} <= set(wheel.namelist())
    folder = tmp_path / BLOCKS.slug
    assert blockgrade("check", cwd=folder, check=False).returncode == 1
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, folder / BLOCKS.module)
    result = blockgrade("check", cwd=folder, check=False)
    assert result.returncode == 0, result.stdout
    assert f"{len(BLOCKS.tasks)} of {len(BLOCKS.tasks)} tasks pass" in result.stdout


# ------------------------------------------------------------------------------ Gradescope


@pytest.fixture(scope="module")
def gradescope_root(tmp_path_factory):
    """A temporary copy of Gradescope's layout with the bundle unpacked into source/."""
    tmp = tmp_path_factory.mktemp("gradescope")
    bundle = tmp / "autograder.zip"
    blockgrade("gradescope", "blocks", "-o", bundle)
    root = tmp / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    return root, bundle, modes


def run_autograder(root: Path, submission: dict[str, bytes]) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, data in submission.items():
        (root / "submission" / name).write_bytes(data)
    result = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={**ENV, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_the_gradescope_bundle_has_its_scripts_and_no_solution(gradescope_root):
    root, bundle, modes = gradescope_root
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")]).returncode == 0
    setup = (root / "source" / "setup.sh").read_text()
    assert "download.pytorch.org/whl/cpu" in setup and "-c kit/constraints.txt" in setup
    assert (root / "source" / "course" / "assignments" / BLOCKS.slug / "tests" / "hidden").is_dir()
    assert not list((root / "source").rglob("solutions"))
    assert_no_solution(BLOCKS, zip_texts(bundle))


def test_run_autograder_grades_a_correct_and_a_stub_submission(gradescope_root):
    root, _, _ = gradescope_root
    solved = run_autograder(root, {BLOCKS.module: (BLOCKS.solution_dir / BLOCKS.module).read_bytes()})
    stub = run_autograder(root, {BLOCKS.module: (REPO / "student_template" / BLOCKS.slug / BLOCKS.module).read_bytes()})
    assert solved["score"] == BLOCKS.max_score and solved["extra_data"]["status"] == "graded"
    assert stub["score"] == 0
    visibility = BLOCKS.settings["gradescope"]["hidden_visibility"]
    assert {t["visibility"] for t in solved["tests"]} == {visibility}
    assert {t["tags"][0] for t in solved["tests"]} == set(BLOCKS.task_ids)


def test_run_autograder_reports_a_missing_file(gradescope_root):
    root, _, _ = gradescope_root
    data = run_autograder(root, {"notes.txt": b"I forgot the file"})
    assert data["score"] == 0 and data["extra_data"]["status"] == "missing file"
    assert "blocks.py" in data["output"]


# ------------------------------------------------------------------------------ GitHub Classroom


def test_the_classroom_workflow_awards_each_task_its_points(tmp_path):
    repo = tmp_path / "repo"
    blockgrade("classroom", "blocks", "-o", repo)
    workflow = yaml.safe_load((repo / ".github/workflows/classroom.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    assert [s["name"] for s in graders] == BLOCKS.task_ids
    assert sum(s["with"]["max-score"] for s in graders) == BLOCKS.max_score
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    for s in graders:
        assert reporter["env"][f"{s['id'].upper()}_RESULTS"] == f"${{{{steps.{s['id']}.outputs.result}}}}"
    assert (repo / ".github/blockgrade/pyproject.toml").is_file() and (repo / "assignment.toml").is_file()
    students_files = {str(p): p.read_text(encoding="utf-8") for p in repo.rglob("*.py") if "blockgrade" not in p.parts}
    assert_no_solution(BLOCKS, students_files)
    # each step's command, run as the workflow runs it: the stub fails, the solution passes
    first = graders[0]["with"]["command"].split()
    assert blockgrade(*first[1:], cwd=repo, check=False).returncode == 1
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, repo / BLOCKS.module)
    for s in graders:
        command = s["with"]["command"].split()
        assert command[0] == "blockgrade"
        assert blockgrade(*command[1:], cwd=repo, check=False).returncode == 0, s["name"]


# ------------------------------------------------------------------------------ nbgrader


def test_nbgrader_generate_assignment_accepts_the_export(tmp_path):
    course_dir = tmp_path / "course"
    blockgrade("export", "nbgrader", course_dir)
    for a in COURSE.assignments:
        assert (course_dir / "source" / a.id / a.notebook).is_file()
    result = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", "blocks", "--force"],
        cwd=course_dir,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    released = course_dir / "release" / "blocks"
    notebook = nbformat.read(released / BLOCKS.notebook, as_version=4)
    assert_no_solution(BLOCKS, {"released notebook": nbformat.writes(notebook)})
    solution_cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert {c.metadata.nbgrader.grade_id for c in solution_cells} >= set(BLOCKS.task_ids)
    assert all("NotImplementedError" in c.source for c in solution_cells)
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("check-")]
    assert len(checks) == len(BLOCKS.tasks)
    assert (released / "assignment.toml").is_file() and (released / "tests").is_dir()


# ------------------------------------------------------------------------------ notebooks


def run_notebook(node, folder: Path) -> list:
    NotebookClient(node, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return node.cells


def outputs_text(cell) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append(output.get("text", ""))
        texts.append(output.get("data", {}).get("text/plain", ""))
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join(texts))  # without the terminal colours


@pytest.mark.skipif(not shutil.which("python3") and not sys.executable, reason="needs a Python kernel")
def test_check_cells_show_the_task_table_in_a_real_kernel(tmp_path):
    folder = tmp_path / BLOCKS.slug
    shutil.copytree(REPO / "student_template" / BLOCKS.slug, folder)
    solution = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
    notebook = nbformat.reads(notebook_from_module(BLOCKS, solution), as_version=4)
    for cell in notebook.cells:  # what students add: magics, shell lines, warnings, a stray cell
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "MLP":
            cell.source = "%precision 3\n!echo hello\nimport warnings\nwarnings.warn('careful')\n" + cell.source
    notebook.cells.insert(1, nbformat.v4.new_code_cell("import sys\nprint('noise', file=sys.stderr)"))
    cells = run_notebook(notebook, folder)
    checks = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("check-")]
    assert len(checks) == len(BLOCKS.tasks)
    for cell, task in zip(checks, BLOCKS.tasks):
        text = outputs_text(cell)
        assert task.id in text and "passed" in text and "failed" not in text, text
        assert not [o for o in cell.outputs if o.output_type == "error"]


def test_check_cells_name_the_failure_of_a_wrong_answer(tmp_path):
    folder = tmp_path / BLOCKS.slug
    shutil.copytree(REPO / "student_template" / BLOCKS.slug, folder)
    notebook = nbformat.read(folder / BLOCKS.notebook, as_version=4)
    mlp = "\n".join(
        [
            "class MLP(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            "        self.hidden = nn.Linear(20, 256)",
            "        self.out = nn.Linear(256, 10)",
            "",
            "    def forward(self, X):",
            "        return self.out(self.hidden(X))  # no ReLU",
        ]
    )
    keep = []
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id == "MLP":
            cell.source = mlp
        if grade_id.startswith("check-") and grade_id != "check-MLP":
            continue  # one check is enough here
        keep.append(cell)
    notebook.cells = keep
    cells = run_notebook(notebook, folder)
    check = next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check-MLP")
    text = outputs_text(check)
    assert "MLP" in text and "failed" in text, text
    assert "0 of 1 tasks pass" in text


def test_instructor_commands_refuse_to_run_from_a_student_copy(tmp_path):
    for args in (("release", "blocks"), ("gradescope", "blocks"), ("classroom", "blocks"), ("export", "nbgrader", "x")):
        result = blockgrade(*args, cwd=REPO / "student_template" / BLOCKS.slug, check=False)
        assert result.returncode == 2 and "instructor's repository" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
