"""What leaves the instructor's repository for students: a release zip, an nbgrader course
folder, a GitHub Classroom starter repository.

Each is built from the generator's own output (`generate.build_assignment`: stubs, notebook,
handout, visible tests), never by copying from `solutions/` or `tests/hidden/`, and each is
checked for solution text before it is written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from autograder import __version__
from autograder.catalog import Assignment, CatalogError, Course
from autograder.generate import BEGIN, END, build_assignment, stub_source
from autograder.notebooks import notebook_from_module

KIT_ROOT = Path(__file__).resolve().parent.parent
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Fixed zip timestamps: the same assignment gives the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def zip_folder(folder: Path, target: Path) -> Path:
    """`folder`'s files in a zip at `target`, in order, with fixed timestamps and modes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(folder)), _EPOCH)
                info.external_attr = (0o755 if path.stat().st_mode & 0o100 else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())
    tmp.replace(target)
    return target


def solution_lines(assignment: Assignment) -> list[str]:
    """The lines inside the solution's marked regions that are long enough to be telling and
    that students get anyway: in the stub (a docstring may quote one), the handout or the
    visible tests."""
    path = assignment.solution_dir / assignment.module
    source = path.read_text(encoding="utf-8")
    given = stub_source(source, str(path))
    if assignment.handout.is_file():
        given += assignment.handout.read_text(encoding="utf-8")
    for test in sorted(assignment.suite_dir("visible").rglob("*.py")):
        given += test.read_text(encoding="utf-8")
    inside, found = False, []
    for line in source.splitlines():
        text = line.strip()
        if text == BEGIN:
            inside = True
        elif text == END:
            inside = False
        elif inside and len(text) >= 20 and not text.startswith("#") and text not in given:
            found.append(text)
    return found


def _assert_no_solution(assignment: Assignment, folder: Path) -> None:
    """A last look before anything is written: no solution text, no hidden test."""
    secrets = solution_lines(assignment)
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if "hidden" in path.relative_to(folder).parts:
            raise CatalogError(f"refusing to release {path.name}: it belongs to the hidden tests")
        if path.suffix in (".py", ".ipynb", ".md", ".toml"):
            text = path.read_text(encoding="utf-8")
            leaked = next((line for line in secrets if line in text), None)
            if leaked is not None:
                raise CatalogError(f"refusing to release {path.name}: it holds solution code ({leaked[:60]!r})")


RELEASE_README = """\
# {title}

`{slug}/` is your assignment: work in `{module}` or `{notebook}`. `kit/` is the course's
autograder, to check your work before you submit. Install it once (Python 3.10 or newer):

    python -m pip install --index-url {torch_index} torch=={torch_version}
    python -m pip install -c kit/constraints.txt ./kit

(in Colab or Jupyter, the same lines with `!` in front). Then, in `{slug}/`:

    blockgrade check            # the visible tests, task by task
    blockgrade submit {id}      # packs {id}-submission.zip to upload

or, in the notebook, run the check cell that ends each task.
"""


def release_zip(assignment: Assignment, target: Path) -> Path:
    """What students get: `<slug>/` (stub module, notebook, handout, visible tests), the kit
    to check it with in `kit/`, and a README saying how to install it."""
    with tempfile.TemporaryDirectory(prefix="blockgrade-release-") as tmp:
        root = Path(tmp) / "release"
        build_assignment(assignment, root / assignment.slug)
        _assert_no_solution(assignment, root / assignment.slug)
        copy_kit(root / "kit")  # the engine: no assignment's code in it
        readme = RELEASE_README.format(
            title=assignment.title,
            slug=assignment.slug,
            module=assignment.module,
            notebook=assignment.notebook,
            id=assignment.id,
            torch_index=TORCH_CPU_INDEX,
            torch_version=pinned("torch"),
        )
        (root / "README.md").write_text(readme, encoding="utf-8")
        return zip_folder(root, target)


# --------------------------------------------------------------------------- nbgrader


NBGRADER_CONFIG = """\
# Written by `blockgrade export nbgrader`; nbgrader reads it from the course folder.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
"""


def export_nbgrader(course: Course, course_dir: Path) -> list[Path]:
    """`course_dir/source/<id>/`: the solution notebook in nbgrader's source format (solution
    regions between `### BEGIN SOLUTION` and `### END SOLUTION`, which `nbgrader
    generate_assignment` replaces by stubs) with the handout, the template module (the given
    code `check()` builds on) and the visible tests beside it, for every assignment."""
    written = []
    for assignment in course.assignments:
        target = course_dir / "source" / assignment.id
        solution = (assignment.solution_dir / assignment.module).read_text(encoding="utf-8")
        notebook = notebook_from_module(assignment, solution)
        _check_markers_only_in_solution_cells(assignment, notebook)
        with tempfile.TemporaryDirectory(prefix="blockgrade-nbgrader-") as tmp:
            folder = Path(tmp) / assignment.id
            build_assignment(assignment, folder)
            (folder / assignment.notebook).unlink()
            _assert_no_solution(assignment, folder)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)
        (target / assignment.notebook).write_text(notebook, encoding="utf-8")
        written.append(target / assignment.notebook)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        course_id = re.sub(r"[^A-Za-z0-9_-]", "-", course.root.name) or "course"
        config.write_text(NBGRADER_CONFIG.format(course_id=course_id), encoding="utf-8")
    return written


def _check_markers_only_in_solution_cells(assignment: Assignment, notebook_text: str) -> None:
    import json

    for cell in json.loads(notebook_text)["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        if source.count(BEGIN) != source.count(END):
            raise CatalogError(f"{assignment.id}: cell {meta.get('grade_id')!r} has unbalanced solution markers")
        if BEGIN in source and not meta.get("solution"):
            raise CatalogError(
                f"{assignment.id}: a solution region lies outside every task's definition "
                f"(cell {meta.get('grade_id')!r}); nbgrader would release it as is"
            )


# --------------------------------------------------------------------------- GitHub Classroom


def _step_id(task_id: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", task_id.lower())


def pinned(package: str) -> str:
    """The version of `package` in the kit's constraints file (torch comes from the CPU index:
    an unpinned, default-index torch is gigabytes of CUDA packages)."""
    text = (KIT_ROOT / "constraints.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==([^\s;]+)", text, re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise CatalogError(f"constraints.txt pins no {package}")
    return match.group(1)


def classroom_workflow(assignment: Assignment, python: str = "3.11") -> str:
    """`.github/workflows/classroom.yml`: one autograding step per task, worth its points when
    the task's visible tests pass, and the reporter that hands the points to Classroom."""
    steps = [
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        f'          python-version: "{python}"',
        "      - name: Install blockgrade",
        "        run: |",
        f"          python -m pip install --index-url {TORCH_CPU_INDEX} torch=={pinned('torch')}",
        "          python -m pip install -c .github/blockgrade/constraints.txt ./.github/blockgrade",
    ]
    ids = []
    for task in assignment.tasks:
        step = _step_id(task.id)
        ids.append(step)
        steps += [
            f"      - name: {task.id}",
            f"        id: {step}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {task.id}",
            f"          command: blockgrade check {assignment.id} --task {task.id}",
            "          timeout: 10",
            f"          max-score: {task.points:g}",
        ]
    steps += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *[f'          {step.upper()}_RESULTS: "${{{{steps.{step}.outputs.result}}}}"' for step in ids],
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    header = [
        f"# Written by `blockgrade classroom {assignment.id}` (blockgrade {__version__}).",
        "# Each task earns its points when its visible tests pass; the hidden tests are graded elsewhere.",
        "name: Autograding Tests",
        '"on": [push, repository_dispatch, workflow_dispatch]',
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
    ]
    return "\n".join(header + steps) + "\n"


def copy_kit(target: Path) -> None:
    """The kit's engine and packaging, no more: what `pip install` needs to install `blockgrade`."""
    if not (KIT_ROOT / "pyproject.toml").is_file():
        raise CatalogError(f"the kit's sources are not at {KIT_ROOT}: run this from a checkout of the kit")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "constraints.txt", "LICENSE"):
        if (KIT_ROOT / name).is_file():
            shutil.copyfile(KIT_ROOT / name, target / name)
    shutil.copytree(
        KIT_ROOT / "autograder", target / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    (target / "README.md").write_text("blockgrade: the engine of the course's autograder.\n", encoding="utf-8")


def classroom_repository(assignment: Assignment, target: Path) -> Path:
    """A starter repository for GitHub Classroom: the assignment's student folder at its root,
    the kit in `.github/blockgrade/` and the autograding workflow."""
    if target.exists() and any(target.iterdir()):
        raise CatalogError(f"{target} exists and is not empty")
    with tempfile.TemporaryDirectory(prefix="blockgrade-classroom-") as tmp:
        folder = Path(tmp) / "repo"
        build_assignment(assignment, folder)
        _assert_no_solution(assignment, folder)
        copy_kit(folder / ".github" / "blockgrade")
        workflow = folder / ".github" / "workflows" / "classroom.yml"
        workflow.parent.mkdir(parents=True)
        workflow.write_text(classroom_workflow(assignment), encoding="utf-8")
        (folder / ".gitignore").write_text("__pycache__/\n*.pyc\n.ipynb_checkpoints/\n*-submission.zip\n")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, target, dirs_exist_ok=True)
    return target
