"""What leaves the instructor's repository for students: a release zip, a GitHub Classroom
starter repository (an nbgrader course folder: `autograder.nbgrader_export`).

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

from autograder import __version__, i18n
from autograder.catalog import Assignment, CatalogError
from autograder.generate import BEGIN, END, build_assignment, stub_source

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


RELEASE_README = i18n.N_("""\
# {title}

This folder holds your assignment, `{slug}/` (work in `{module}` or in `{notebook}`), and
`kit/`, the course's autograder, to check your work before you submit.

## Install the kit (once; Python 3.10 or newer)

In this folder, make a virtual environment and install the kit into it (a system that manages
its own Python, such as Debian, Ubuntu or Homebrew, refuses a bare `pip install`):

    python3 -m venv .venv
    .venv/bin/python -m pip install --index-url {torch_index} torch=={torch_version}
    .venv/bin/python -m pip install -c kit/constraints.txt ./kit

On Windows, write `py -m venv .venv`, and `.venv\\Scripts\\python` for `.venv/bin/python`. In
each new terminal, activate it: `source .venv/bin/activate` (Windows: `.venv\\Scripts\\activate`).

In Jupyter or Colab, where torch is there already, install the kit into the notebook's own
kernel instead, from a cell: `%cd` to this folder, then `%pip install ./kit`.

## Check and submit

In `{slug}/`:

    blockgrade check            # the visible tests, task by task
    blockgrade submit {id}      # packs {id}-submission.zip to upload

or, in the notebook, run the check cell that ends each task.
""")
# The one folder a release zip unpacks into.
RELEASE_FOLDER = "{id}-student"


def release_zip(assignment: Assignment, target: Path, language: str | None = None) -> Path:
    """What students get, in one folder (`<id>-student/`): `<slug>/` (stub module, notebook,
    handout, visible tests), the kit to check it with in `kit/` (constraints for the runtime
    only), and a README saying how to install it in a venv; in `language` (default: the
    assignment's, autograder.i18n)."""
    language = i18n.resolve(language, assignment, environment=False)
    with tempfile.TemporaryDirectory(prefix="blockgrade-release-") as tmp:
        root = Path(tmp) / "release" / RELEASE_FOLDER.format(id=assignment.id)
        build_assignment(assignment, root / assignment.slug, language)
        _assert_no_solution(assignment, root / assignment.slug)
        copy_kit(root / "kit")  # the engine: no assignment's code in it
        with i18n.using(language):
            readme = i18n._(
                RELEASE_README,
                title=i18n.localize(assignment.title, assignment),
                slug=assignment.slug,
                module=assignment.module,
                notebook=assignment.notebook,
                id=assignment.id,
                torch_index=TORCH_CPU_INDEX,
                torch_version=pinned("torch"),
            )
        (root / "README.md").write_text(readme, encoding="utf-8")
        return zip_folder(root.parent, target)


# --------------------------------------------------------------------------- grading suites


def copy_grading_suites(assignment: Assignment, target: Path) -> Path:
    """The assignment as a grader needs it, for a course folder graded elsewhere (Gradescope's
    bundle, an nbgrader course): toml, handout and both suites, no solution. The toml loses
    its `[audit]` table, whose equivalent mutants quote solution lines (a grader needs the rest,
    the written questions' rubrics included)."""
    from autograder.generate import _TABLE_HEADER

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(assignment.folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    toml = target / "assignment.toml"
    kept, skipping = [], False
    for line in toml.read_text(encoding="utf-8").splitlines(keepends=True):
        header = _TABLE_HEADER.match(line)
        if header:
            skipping = header.group(1).split(".")[0].strip() == "audit"
        if not skipping:
            kept.append(line)
    from autograder.generate import with_language  # the language its feedback is in (--lang, or its own)

    toml.write_text(with_language("".join(kept), i18n.resolve(None, assignment, environment=False)), encoding="utf-8")
    return target


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


# Where a student's install may run: a requirement whose marker holds on none of these is left out.
STUDENT_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
STUDENT_PLATFORMS = (("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt"))


def _may_apply(marker) -> bool:
    """Whether a requirement's marker holds for some student (any Python and system above), no
    extra asked for."""
    for python in STUDENT_PYTHONS:
        for sys_platform, system, os_name in STUDENT_PLATFORMS:
            environment = {
                "python_version": python,
                "python_full_version": f"{python}.0",
                "sys_platform": sys_platform,
                "platform_system": system,
                "os_name": os_name,
                "extra": "",
            }
            if marker.evaluate(environment):
                return True
    return False


def runtime_packages() -> set[str]:
    """The distributions `pip install ./kit` brings, with no extra: the kit's `dependencies`
    (pyproject.toml) and theirs in turn, as this environment's metadata says, on any Python or
    system a student may have (a package not installed here counts without its own)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from autograder.catalog import tomllib

    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo, found = list(project["dependencies"]), set()
    while todo:
        requirement = Requirement(todo.pop())
        name = canonicalize_name(requirement.name)
        if name in found or (requirement.marker is not None and not _may_apply(requirement.marker)):
            continue
        found.add(name)
        try:
            todo += metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            pass
    return found


def runtime_constraints() -> str:
    """The kit's constraints.txt cut to what a student installs (`runtime_packages`): the
    instructor tools' pins stay home."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    wanted = runtime_packages()
    lines = [
        "# Exact versions of what `pip install -c constraints.txt ./kit` installs: the kit's runtime",
        "# (check, submit, the notebook check, grading), cut from the course's constraints.txt.",
    ]
    for line in (KIT_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            if canonicalize_name(Requirement(line.split(" #")[0]).name) in wanted:
                lines.append(line)
    return "\n".join(lines) + "\n"


def copy_kit(target: Path) -> None:
    """The kit's engine and packaging, no more: what `pip install` needs to install `blockgrade`,
    with the constraints of its runtime only (a release, a Classroom repository and Gradescope's
    bundle install no instructor tool)."""
    if not (KIT_ROOT / "pyproject.toml").is_file():
        raise CatalogError(f"the kit's sources are not at {KIT_ROOT}: run this from a checkout of the kit")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "LICENSE"):
        if (KIT_ROOT / name).is_file():
            shutil.copyfile(KIT_ROOT / name, target / name)
    (target / "constraints.txt").write_text(runtime_constraints(), encoding="utf-8")
    shutil.copytree(
        KIT_ROOT / "autograder", target / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    (target / "README.md").write_text("blockgrade: the engine of the course's autograder.\n", encoding="utf-8")


def classroom_repository(assignment: Assignment, target: Path, language: str | None = None) -> Path:
    """A starter repository for GitHub Classroom: the assignment's student folder at its root
    (in `language`, default the assignment's), the kit in `.github/blockgrade/` and the
    autograding workflow."""
    if target.exists() and any(target.iterdir()):
        raise CatalogError(f"{target} exists and is not empty")
    with tempfile.TemporaryDirectory(prefix="blockgrade-classroom-") as tmp:
        folder = Path(tmp) / "repo"
        build_assignment(assignment, folder, language)
        _assert_no_solution(assignment, folder)
        copy_kit(folder / ".github" / "blockgrade")
        workflow = folder / ".github" / "workflows" / "classroom.yml"
        workflow.parent.mkdir(parents=True)
        workflow.write_text(classroom_workflow(assignment), encoding="utf-8")
        (folder / ".gitignore").write_text("__pycache__/\n*.pyc\n.ipynb_checkpoints/\n*-submission.zip\n")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, target, dirs_exist_ok=True)
    return target
