"""Where courses run the kit: a release zip, Gradescope's autograder, GitHub Classroom's
workflow, nbgrader's course folder, and a notebook's check cells in a real Jupyter kernel."""

import csv
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
            if i.filename.endswith((".py", ".ipynb", ".md", ".toml", ".sh", "run_autograder", ".txt", ".po"))
        }


# ------------------------------------------------------------------------------ release


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.id)
def test_release_holds_what_students_need_and_nothing_hidden(assignment, tmp_path):
    target = tmp_path / "student.zip"
    blockgrade("release", assignment.id, "-o", target)
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
    top = f"{assignment.id}-student/"
    assert all(n.startswith(top) for n in names), "the zip unpacks into one folder"
    names = [n[len(top) :] for n in names]
    root = f"{assignment.slug}/"
    for needed in (assignment.module, assignment.notebook, "assignment.toml", "README.md"):
        assert root + needed in names
    assert any(n.startswith(root + "tests/test_") for n in names) and any("probes" in n for n in names)
    assert "README.md" in names and "kit/pyproject.toml" in names and "kit/autograder/cli.py" in names
    assert not [n for n in names if "hidden" in n or "solution" in n]
    assert not [n for n in names if n.startswith("kit/") and "assignments" in n]  # the engine only
    texts = {n[len(top) :]: t for n, t in zip_texts(target).items()}
    students = {n: t for n, t in texts.items() if not n.startswith("kit/")}
    assert_no_solution(assignment, students)
    hidden = assignment.suite_dir("hidden")
    judges = "".join(p.read_text(encoding="utf-8") for p in hidden.glob("test_*.py"))
    visible = {n for n in texts if n.endswith(".py") and "/tests/" in n}
    for name in visible:  # the visible tests are not the hidden ones under another name
        assert texts[name] not in judges or not texts[name].strip()
    # no text a student reads names a file the release does not hold (the course's EXERCISES.md)
    present = {n.rsplit("/", 1)[-1] for n in names}
    for name, text in students.items():
        named = set(re.findall(r"[\w./-]*\w\.(?:md|toml|txt|ipynb|po|csv)\b", text))
        missing = sorted(f for f in named if f.rsplit("/", 1)[-1] not in present)
        assert not missing, f"{name} names files students do not have: {missing}"


def test_the_release_pins_only_the_runtime(tmp_path):
    """kit/constraints.txt in a release pins what `pip install ./kit` brings, and none of the
    instructor tools (the `instructor` extra) unless the runtime needs them anyway."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from autograder.catalog import tomllib
    from autograder.release import runtime_packages

    target = tmp_path / "student.zip"
    blockgrade("release", "blocks", "-o", target)
    with zipfile.ZipFile(target) as z:
        text = z.read("blocks-student/kit/constraints.txt").decode()
    pinned = {canonicalize_name(Requirement(line).name) for line in text.splitlines() if line and line[0] != "#"}
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    instructor = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["instructor"]}
    assert runtime <= pinned and pinned <= runtime_packages()
    instructor_only = instructor - runtime_packages()  # jinja2 is torch's requirement too
    assert {"nbgrader", "nbformat", "pyyaml"} <= instructor_only and instructor_only.isdisjoint(pinned)
    assert {"jupyter-server", "nbconvert", "sqlalchemy"}.isdisjoint(pinned)  # what nbgrader brings


def test_a_released_folder_checks_as_the_template_does(tmp_path):
    target = tmp_path / "student.zip"
    blockgrade("release", "blocks", "-o", target)
    with zipfile.ZipFile(target) as z:
        z.extractall(tmp_path)
    top = tmp_path / "blocks-student"
    readme = (top / "README.md").read_text()
    assert "python3 -m venv .venv" in readme and "-m pip install -c kit/constraints.txt ./kit" in readme
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
            top / "kit",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(next((tmp_path / "wheel").glob("blockgrade-*.whl"))) as wheel:
        assert {"autograder/cli.py", "autograder/templates/report.html.j2"} <= set(wheel.namelist())
    folder = top / BLOCKS.slug
    assert blockgrade("check", cwd=folder, check=False).returncode == 1
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, folder / BLOCKS.module)
    result = blockgrade("check", cwd=folder, check=False)
    assert result.returncode == 0, result.stdout
    assert f"{len(BLOCKS.tasks)} of {len(BLOCKS.tasks)} tasks pass" in result.stdout


def readme_commands(readme: str) -> list[str]:
    """The shell lines of the README's install section, as written (indented code)."""
    section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


@pytest.mark.install
def test_a_student_installs_the_release_into_a_venv_with_the_runtime_only(tmp_path):
    """The release's README followed in a fresh venv (no system site packages): the kit installs
    with its runtime only, everything installed is pinned and nothing else is, `check` and
    `submit` work, an instructor command says what to install, and Gradescope's runner grades
    with that same runtime."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    target = tmp_path / "blocks.zip"
    blockgrade("release", "blocks", "-o", target)
    with zipfile.ZipFile(target) as z:
        z.extractall(tmp_path)
    top = tmp_path / "blocks-student"
    venv = top / ".venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CI")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin"

    def run(*command, cwd=top, timeout=900):
        return subprocess.run(
            [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )

    commands = readme_commands((top / "README.md").read_text(encoding="utf-8"))
    assert commands[0] == "python3 -m venv .venv" and len(commands) == 3, commands
    made = run(sys.executable, "-m", "venv", venv)  # the README's python3, here the tests' interpreter
    assert made.returncode == 0, made.stderr
    # torch as the README pins it, from pip's configured sources (PyTorch's CPU index is not
    # reached from here); then the kit exactly as the README says
    torch_line = commands[1].split()
    assert torch_line[:4] == [".venv/bin/python", "-m", "pip", "install"] and "--index-url" in torch_line
    for command in (
        [".venv/bin/python", "-m", "pip", "install", "-q", torch_line[-1]],
        [*commands[2].split(), "-q"],
    ):
        done = run(*command)
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])

    listed = run(venv / "bin" / "python", "-m", "pip", "list", "--format=json")
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    here = default_environment()
    pins = {}
    for line in (top / "kit" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(here):
                pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    brought = set(installed) - {"pip", "setuptools", "blockgrade"}  # what the venv and the kit are
    assert brought <= set(pins), f"installed but not pinned: {sorted(brought - set(pins))}"
    assert set(pins) - {"setuptools"} <= brought, f"pinned but not installed: {sorted(set(pins) - brought)}"
    for name in brought:
        assert installed[name].split("+")[0] == pins[name], name
    assert {"nbgrader", "nbformat", "pyyaml", "jupyter-core"}.isdisjoint(installed)

    folder = top / BLOCKS.slug
    blockgrade_bin = venv / "bin" / "blockgrade"
    stub = run(blockgrade_bin, "check", cwd=folder)
    assert stub.returncode == 1 and "0 of" in stub.stdout, stub.stdout + stub.stderr
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, folder / BLOCKS.module)
    solved = run(blockgrade_bin, "check", cwd=folder)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert f"{len(BLOCKS.tasks)} of {len(BLOCKS.tasks)} tasks pass" in solved.stdout
    submitted = run(blockgrade_bin, "submit", "blocks", cwd=folder)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert zipfile.ZipFile(folder / "blocks-submission.zip").namelist()
    # an instructor's command names the extra instead of a traceback
    graded = run(blockgrade_bin, "grade", "--assignment", "blocks", "--out", tmp_path / "out", folder, cwd=folder)
    assert graded.returncode == 2 and "Traceback" not in graded.stderr, graded.stderr
    assert "[instructor]" in graded.stderr, graded.stderr

    # Gradescope's runner, whose setup.sh installs the same runtime into the bundle's .venv
    bundle = tmp_path / "autograder.zip"
    blockgrade("gradescope", "blocks", "-o", bundle)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "source" / ".venv").symlink_to(venv)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copyfile(BLOCKS.solution_dir / BLOCKS.module, root / "submission" / BLOCKS.module)
    ran = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={**env, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == BLOCKS.max_score, results.get("output")


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
    # into a venv (PEP 668 images refuse a bare pip install), which run_autograder then runs
    assert "python3 -m venv .venv" in setup
    installs = [line for line in setup.splitlines() if "pip install" in line and not line.startswith("#")]
    assert len(installs) == 2 and all(line.startswith(".venv/bin/python -m pip install") for line in installs)
    assert "source/.venv/bin/python" in (root / "source" / "run_autograder").read_text()
    assert (root / "source" / "course" / "assignments" / BLOCKS.slug / "tests" / "hidden").is_dir()
    assert not list((root / "source").rglob("solutions"))
    assert_no_solution(BLOCKS, zip_texts(bundle))


def test_run_autograder_grades_a_correct_and_a_stub_submission(gradescope_root):
    root, _, _ = gradescope_root
    solved = run_autograder(root, {BLOCKS.module: (BLOCKS.solution_dir / BLOCKS.module).read_bytes()})
    stub = run_autograder(root, {BLOCKS.module: (REPO / "student_template" / BLOCKS.slug / BLOCKS.module).read_bytes()})
    assert solved["score"] == BLOCKS.max_score and solved["extra_data"]["status"] == "graded"
    assert stub["score"] == 0
    graded = [t for t in solved["tests"] if t["extra_data"].get("suite") != "visible"]
    assert {t["visibility"] for t in graded} == {BLOCKS.hidden_visibility}
    assert {t["tags"][0] for t in graded} == set(BLOCKS.task_ids)
    assert sum(t["max_score"] for t in graded) == BLOCKS.max_score


def test_gradescope_shows_the_visible_tests_at_once_while_the_hidden_ones_wait(gradescope_root):
    """blocks holds its hidden tests' results back until grades are published; the visible
    suite's result, task by task, is shown at once (worth no points), as `check` would show it,
    and the summary every student sees gives no score away."""
    from autograder.checking import run_check

    from corpus import cases, compose

    assert BLOCKS.hidden_visibility == "after_published"
    root, _, _ = gradescope_root
    case = next(c for c in cases(BLOCKS.slug) if c.name == "mlp_no_relu")
    source = compose((BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8"), case)
    data = run_autograder(root, {BLOCKS.module: source.encode()})
    shown = [t for t in data["tests"] if t["extra_data"].get("suite") == "visible"]
    graded = [t for t in data["tests"] if t["extra_data"].get("suite") != "visible"]
    assert [t["tags"] for t in shown] == [[task] for task in BLOCKS.task_ids]
    assert {t["visibility"] for t in shown} == {"visible"} and {t["max_score"] for t in shown} == {0}
    assert {t["visibility"] for t in graded} == {"after_published"}
    assert data["score"] == sum(t["score"] for t in graded) < BLOCKS.max_score
    folder = root.parent / "check"
    folder.mkdir(exist_ok=True)
    (folder / BLOCKS.module).write_text(source, encoding="utf-8")
    checked = run_check(BLOCKS, folder / BLOCKS.module)
    for entry, score in zip(shown, checked.task_scores()):
        assert entry["status"] == ("failed" if score.failed else "passed"), entry
    assert next(t for t in shown if t["tags"] == ["MLP"])["status"] == "failed"
    failed = next(t for t in checked.tests if t.test.task == "MLP" and t.outcome == "failed")
    assert failed.message.splitlines()[0] in next(t for t in shown if t["tags"] == ["MLP"])["output"]
    from autograder.gradescope import SCORE_WAITS

    assert SCORE_WAITS["after_published"] in data["output"] and f"/ {BLOCKS.max_score:g}" not in data["output"]


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


def nbgrader(*args, cwd: Path) -> subprocess.CompletedProcess:
    """A real nbgrader command; what it prints must hold no warning (the export quiets them)."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if "warning" in line.lower()]
    assert not warnings, f"nbgrader {args[0]} warned:\n" + "\n".join(warnings)
    return result


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    """`blockgrade export nbgrader`, then nbgrader's own `generate_assignment blocks`."""
    course_dir = tmp_path_factory.mktemp("nbgrader") / "course"
    blockgrade("export", "nbgrader", course_dir)
    nbgrader("generate_assignment", "blocks", cwd=course_dir)
    return course_dir


def test_nbgrader_generate_assignment_accepts_the_export(nbgrader_course):
    course_dir = nbgrader_course
    for a in COURSE.assignments:
        assert (course_dir / "source" / a.id / a.notebook).is_file()
    released = course_dir / "release" / "blocks"
    notebook = nbformat.read(released / BLOCKS.notebook, as_version=4)
    assert_no_solution(BLOCKS, {"released notebook": nbformat.writes(notebook)})
    solution_cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    solution_cells = [c for c in solution_cells if c.cell_type == "code"]
    assert {c.metadata.nbgrader.grade_id for c in solution_cells} >= set(BLOCKS.task_ids)
    assert all("NotImplementedError" in c.source for c in solution_cells)
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("check-")]
    assert len(checks) == len(BLOCKS.tasks)
    assert (released / "assignment.toml").is_file() and (released / "tests").is_dir()


def hidden_names(assignment) -> set[str]:
    """The names of the hidden suite's judges and probes that the visible suite does not use."""

    def names(suite):
        found = set()
        for path in assignment.suite_dir(suite).glob("*.py"):
            found |= set(re.findall(r"^def (\w+)", path.read_text(encoding="utf-8"), re.MULTILINE))
        return found

    return names("hidden") - names("visible")


def test_the_autograded_cells_are_worth_each_task_and_release_no_hidden_test(nbgrader_course):
    released = nbgrader_course / "release" / "blocks"
    notebook = nbformat.read(released / BLOCKS.notebook, as_version=4)
    tests = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert [c.metadata.nbgrader.grade_id for c in tests] == [f"test-{t}" for t in BLOCKS.task_ids]
    assert [c.metadata.nbgrader.points for c in tests] == [t.points for t in BLOCKS.tasks]
    assert all(c.metadata.nbgrader.locked and not c.metadata.nbgrader.solution for c in tests)
    secrets = hidden_names(BLOCKS)
    assert secrets, "the hidden suite has no names of its own to look for"
    for path in released.rglob("*"):
        parts = path.relative_to(released).parts
        assert "hidden" not in parts and "blockgrade" not in parts, path
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = sorted(name for name in secrets if re.search(rf"\b{name}\b", text))
            assert not leaked, f"{path.name} names hidden tests or probes: {leaked[:5]}"


def student_notebook(course_dir: Path, changes: dict[str, str | None]) -> nbformat.NotebookNode:
    """The released notebook with every solution cell solved, but the definitions in `changes`
    (a corpus case's code, or None to leave the stub)."""
    source = nbformat.read(course_dir / "source" / "blocks" / BLOCKS.notebook, as_version=4)
    solved = {
        c.metadata.nbgrader.grade_id: "\n".join(line for line in c.source.splitlines() if "### " not in line)
        for c in source.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    }
    notebook = nbformat.read(course_dir / "release" / "blocks" / BLOCKS.notebook, as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            change = changes.get(meta["grade_id"], solved[meta["grade_id"]])
            cell.source = cell.source if change is None else change
    return notebook


def corpus_code(name: str) -> str:
    path = REPO / "tests" / "corpus" / BLOCKS.slug / f"{name}.py"
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))


def test_nbgrader_autograde_gives_each_student_the_points_of_blockgrade_grade(nbgrader_course, tmp_path):
    """A solved notebook and a mistaken one go through nbgrader's own autograde and export: its
    gradebook holds, per student and per task, what `blockgrade grade` gives the same notebook."""
    course_dir = nbgrader_course
    students = {
        "alice": {},
        # partial credit within tasks (MLP, MySequential) and a task left as its stub
        "bob": {"MLP": corpus_code("mlp_no_relu"), "MySequential": corpus_code("seq_plain_list"), "replicate": None},
    }
    for student, changes in students.items():
        folder = course_dir / "submitted" / student / "blocks"
        shutil.copytree(course_dir / "release" / "blocks", folder)  # what a student submits: the whole folder
        nbformat.write(student_notebook(course_dir, changes), folder / BLOCKS.notebook)
    nbgrader("autograde", "blocks", cwd=course_dir)
    nbgrader("export", cwd=course_dir)

    from nbgrader.api import Gradebook

    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as f:
        totals = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        per_task = {
            student: {t: gb.find_grade(f"test-{t}", "blocks", "blocks", student).score for t in BLOCKS.task_ids}
            for student in students
        }
    # `blockgrade grade` on the collected folders (the notebook beside the release's stub module)
    out = tmp_path / "out"
    blockgrade("grade", "--assignment", "blocks", "--out", out, *(course_dir / "submitted" / s for s in students))
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(students)
    for student, row in rows.items():
        assert row["status"] == "graded", row
        assert totals[student] == pytest.approx(float(row["score"]), abs=1e-6), student
        assert per_task[student] == pytest.approx({t: float(row[t]) for t in BLOCKS.task_ids}, abs=1e-6), student
    assert totals["alice"] == BLOCKS.max_score
    assert 0 < per_task["bob"]["MLP"] < BLOCKS.task("MLP").points and per_task["bob"]["replicate"] == 0


def test_nbgrader_validate_names_the_tasks_whose_visible_tests_fail(nbgrader_course, tmp_path):
    """What a student's "Validate" runs: each test cell checks its task with the visible suite
    released with the notebook, and fails where that suite fails."""
    from nbgrader.validator import Validator

    folder = tmp_path / "blocks"
    shutil.copytree(nbgrader_course / "release" / "blocks", folder)
    notebook = student_notebook(nbgrader_course, {"MLP": corpus_code("mlp_no_relu"), "replicate": None})
    nbformat.write(notebook, folder / BLOCKS.notebook)
    results = Validator().validate(str(folder / BLOCKS.notebook))
    failed = [cell["source"] for cell in results.get("failed", [])]
    assert {t for t in BLOCKS.task_ids if any(f"grade({t!r}" in source for source in failed)} == {"MLP", "replicate"}


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
