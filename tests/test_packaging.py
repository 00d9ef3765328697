"""The distribution: one wheel with the engine only, never a solution or a hidden test."""

import subprocess
import sys
import zipfile

from conftest import REPO


def test_the_wheel_carries_the_engine_and_nothing_secret(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("blockgrade-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    code = [n for n in names if not n.startswith("blockgrade-")]
    assert code and all(n.startswith("autograder/") for n in code), code
    assert "autograder/sandbox/host.py" in names and "autograder/cli.py" in names
    for secret in ("solution", "hidden", "probes.py", "test_"):
        assert not [n for n in code if secret in n], f"the wheel holds {secret!r}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "blockgrade = autograder.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


# What a student's install lacks: the `instructor` extra (pyproject.toml) and what only it brings.
INSTRUCTOR_ONLY = ("nbformat", "nbgrader", "jinja2", "markupsafe", "yaml", "babel", "copydetect")
WITHOUT_INSTRUCTOR_TOOLS = (
    "import sys\n"
    f"for name in {INSTRUCTOR_ONLY!r}:\n"
    "    sys.modules[name] = None  # `import name` now fails as on an install without them\n"
)


def run_without_instructor_tools(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_INSTRUCTOR_TOOLS + code], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def cli(*args: str) -> str:
    return f"from autograder.cli import run\nsys.argv = ['blockgrade', *{list(args)!r}]\nrun()\n"


def test_check_submit_and_the_notebook_check_need_no_instructor_tool(tmp_path):
    """The student's commands import none of the instructor's packages (the real install of a
    release is tests/test_platforms.py's venv test); an instructor's command names the extra."""
    import shutil

    from autograder.catalog import course_at

    blocks = course_at(REPO).get("blocks")
    folder = tmp_path / blocks.slug
    shutil.copytree(REPO / "student_template" / blocks.slug, folder)
    solution = (blocks.solution_dir / blocks.module).read_text(encoding="utf-8")
    (folder / blocks.module).write_text(solution, encoding="utf-8")

    checked = run_without_instructor_tools(cli("check"), folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(blocks.tasks)} of {len(blocks.tasks)} tasks pass" in checked.stdout
    submitted = run_without_instructor_tools(cli("submit", "blocks"), folder)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert (folder / "blocks-submission.zip").is_file()

    # the notebook's check cell, in a real IPython shell that ran the solution as cells
    notebook = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        f"shell.run_cell({solution!r}, store_history=True)\n"
        "shell.run_cell(\"from autograder.notebook_check import check\\ncheck('MLP', assignment='blocks')\","
        " store_history=True)\n"
    )
    ran = run_without_instructor_tools(notebook, folder)
    assert ran.returncode == 0 and "MLP" in ran.stdout and "passed" in ran.stdout, ran.stdout + ran.stderr
    assert "blockgrade:" not in ran.stdout, ran.stdout

    graded = run_without_instructor_tools(cli("grade", "--assignment", "blocks", "--out", "out", "."), folder)
    assert graded.returncode == 2 and "Traceback" not in graded.stderr, graded.stderr
    assert "'.[instructor]'" in graded.stderr, graded.stderr
