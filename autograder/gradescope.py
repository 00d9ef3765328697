"""Gradescope: the autograder bundle, and what runs inside it for each submission.

`build_bundle` writes the zip Gradescope takes: `setup.sh` and `run_autograder` at its root,
the kit in `kit/`, and the one assignment (hidden and visible suites, no solution) in
`course/assignments/<slug>/`. `run_autograder` calls `main` below, which grades
`/autograder/submission` with the same `Grader` as every other path and writes
`/autograder/results/results.json`. Test visibility comes from `assignment.toml`
(`[gradescope] hidden_visibility`).

    python -m autograder.gradescope --assignment blocks [--root /autograder]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from autograder import __version__
from autograder.catalog import Assignment, CatalogError

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-pip
fi
# torch from PyTorch's CPU index: the default index's torch is gigabytes of CUDA packages.
python3 -m pip install --index-url {torch_index} torch=={torch_version}
python3 -m pip install -c kit/constraints.txt ./kit
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission with the hidden
# tests and writes /autograder/results/results.json. AUTOGRADER_ROOT moves /autograder (tests).
cd "$(dirname "$0")"
exec python3 -m autograder.gradescope --assignment {assignment} --root "${{AUTOGRADER_ROOT:-/autograder}}"
"""


def build_bundle(assignment: Assignment, target: Path) -> Path:
    """The autograder zip of one assignment."""
    from autograder.generate import student_toml
    from autograder.release import TORCH_CPU_INDEX, copy_kit, pinned, zip_folder

    if assignment.layout != "source":
        raise CatalogError("the Gradescope bundle is built from the instructor's repository (assignments/)")
    with tempfile.TemporaryDirectory(prefix="blockgrade-gradescope-") as tmp:
        folder = Path(tmp) / "bundle"
        copy_kit(folder / "kit")
        course = folder / "course" / "assignments" / assignment.slug
        shutil.copytree(assignment.folder, course, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        # the grader needs no [audit] table, and its equivalent mutants quote solution lines
        toml = course / "assignment.toml"
        toml.write_text(student_toml(toml.read_text(encoding="utf-8")), encoding="utf-8")
        setup = folder / "setup.sh"
        setup.write_text(SETUP_SH.format(torch_index=TORCH_CPU_INDEX, torch_version=pinned("torch")))
        run = folder / "run_autograder"
        run.write_text(RUN_AUTOGRADER.format(assignment=assignment.id))
        for script in (setup, run):
            script.chmod(0o755)
        return zip_folder(folder, target)


def failure_results(message: str) -> dict:
    """What Gradescope shows when grading itself could not run: a score of 0 and why."""
    return {
        "score": 0,
        "output": f"The autograder could not grade this submission (not your doing): {message}",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"status": "internal error", "kit_version": __version__},
    }


def run(assignment_id: str, root: Path) -> dict:
    """Grade `root/submission` and write `root/results/results.json`; returns what it wrote."""
    from autograder.catalog import course_at
    from autograder.grading import Grader
    from autograder.outputs import atomic_write, results_json

    results = root / "results" / "results.json"
    try:
        course = course_at(root / "source" / "course")
        if course is None:
            raise CatalogError(f"no course in {root / 'source' / 'course'}")
        assignment = course.get(assignment_id)
        with Grader(assignment, "hidden") as grader:
            result = grader.grade(root / "submission", name="submission")
        data = results_json(result)
    except Exception as exc:  # Gradescope must get a results.json whatever happened
        traceback.print_exc(file=sys.stderr)
        data = failure_results(f"{type(exc).__name__}: {exc}")
    atomic_write(results, json.dumps(data, indent=2) + "\n")
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    args = parser.parse_args(argv)
    data = run(args.assignment, args.root)
    print(f"score {data['score']}: {data['extra_data'].get('status', '')}")
    sys.stdout.flush()
    os._exit(0)  # as the CLI: skip torch's teardown; everything is written


if __name__ == "__main__":
    main()
