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
import sys
import tempfile
import traceback
from pathlib import Path

from autograder import __version__
from autograder.catalog import Assignment, CatalogError
from autograder.i18n import N_, _, localize, speaks_assignment

# The venv where setup.sh installs the kit, inside the bundle's folder (/autograder/source):
# Ubuntu's Python, like any PEP 668 system, refuses a bare `pip install`.
VENV = ".venv"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built: the kit's runtime goes into a
# venv beside this script (PEP 668 systems refuse a bare `pip install`).
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
python3 -m venv {venv}
# torch from PyTorch's CPU index: the default index's torch is gigabytes of CUDA packages.
# BLOCKGRADE_TORCH_INDEX picks another (a CUDA build's, for a GPU runner).
{venv}/bin/python -m pip install --index-url "${{BLOCKGRADE_TORCH_INDEX:-{torch_index}}}" torch=={torch_version}
{venv}/bin/python -m pip install -c kit/constraints.txt ./kit
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission with the hidden
# tests and writes /autograder/results/results.json. AUTOGRADER_ROOT moves /autograder (tests).
root="${{AUTOGRADER_ROOT:-/autograder}}"
python="$root/source/{venv}/bin/python"  # where setup.sh installed the kit
if [[ ! -x "$python" ]]; then
    python=python3  # a machine where setup.sh did not run: the kit installed otherwise
fi
cd "$root"
exec "$python" -m autograder.gradescope --assignment {assignment} --root "$root"
"""


def build_bundle(assignment: Assignment, target: Path) -> Path:
    """The autograder zip of one assignment."""
    from autograder.release import TORCH_CPU_INDEX, copy_grading_suites, copy_kit, pinned, zip_folder

    if assignment.layout != "source":
        raise CatalogError("the Gradescope bundle is built from the instructor's repository (assignments/)")
    with tempfile.TemporaryDirectory(prefix="blockgrade-gradescope-") as tmp:
        folder = Path(tmp) / "bundle"
        copy_kit(folder / "kit")
        copy_grading_suites(assignment, folder / "course" / "assignments" / assignment.slug)
        setup = folder / "setup.sh"
        setup.write_text(SETUP_SH.format(venv=VENV, torch_index=TORCH_CPU_INDEX, torch_version=pinned("torch")))
        run = folder / "run_autograder"
        run.write_text(RUN_AUTOGRADER.format(venv=VENV, assignment=assignment.id))
        for script in (setup, run):
            script.chmod(0o755)
        return zip_folder(folder, target)


def failure_results(message: str) -> dict:
    """What Gradescope shows when grading itself could not run: a score of 0 and why."""
    return {
        "score": 0,
        "output": _("The autograder could not grade this submission (not your doing): {message}", message=message),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"status": "internal error", "kit_version": __version__},
    }


# When the score and the hidden tests' results reach students (Gradescope shows no total while
# a test that counts waits; a `hidden` test counts for nothing there, so the total shows).
SCORE_WAITS = {
    "after_due_date": N_("after the due date"),
    "after_published": N_("once your instructor publishes the grades"),
}


def _visible_result(assignment: Assignment, submission: Path, hidden):
    """The visible suite's result on the submission, or None where there is nothing to add (a
    submission that could not be read says so already) or it could not be had."""
    from autograder.grading import Grader
    from autograder.results import BAD_ARCHIVE, MISSING_FILE

    if hidden.status in (MISSING_FILE, BAD_ARCHIVE):
        return None
    try:
        with Grader(assignment, "visible") as grader:
            return grader.grade(submission, name="submission")
    except Exception:  # the hidden suite's results stand without it
        traceback.print_exc(file=sys.stderr)
        return None


@speaks_assignment
def immediate_feedback(data: dict, hidden, visible) -> dict:
    """results.json for an assignment whose hidden tests' results wait (`[gradescope]
    hidden_visibility` other than `visible`): the hidden tests keep that visibility and the
    score, and before them comes one entry per task with the visible suite's result (what
    `blockgrade check` shows), visible at once and worth no points. While the score waits, the
    summary, which students always see, holds no score either."""
    from autograder.outputs import shown_test_name, summary_text
    from autograder.results import FAILED, NOT_RUN, PASSED

    a = hidden.assignment
    entries = []
    for number, task in enumerate(a.tasks if visible is not None else (), start=1):
        tests = [t for t in visible.tests if t.test.task == task.id]
        failed = [t for t in tests if t.outcome == FAILED]
        ran = [t for t in tests if t.outcome != NOT_RUN]
        lines = []
        for t in tests:
            verdict = {PASSED: _("passed"), NOT_RUN: _("not run")}.get(t.outcome, _("failed"))
            lines.append(f"{verdict}: {shown_test_name(visible, t.test)}")
            if t.outcome == FAILED:
                lines += [f"    {line}" for line in localize(t.message, a).splitlines()]
        entry = {
            "name": _("{task}: visible tests", task=task.id),
            "number": f"0.{number}",
            "score": 0,
            "max_score": 0,
            "output": "\n".join(lines),
            "output_format": "text",
            "tags": [task.id],
            "visibility": "visible",
            "extra_data": {
                "task": task.id,
                "suite": "visible",
                "passed": len(ran) - len(failed),
                "failed": len(failed),
            },
        }
        if ran:
            entry["status"] = "failed" if failed else "passed"
        entries.append(entry)
    data = {**data, "tests": entries + data["tests"]}
    waits = SCORE_WAITS.get(a.hidden_visibility)
    if waits is not None:
        head = _(
            "{title}: your score and the graded tests' results are shown {when}.",
            title=localize(a.title, a),
            when=_(waits),
        )
        if visible is not None:
            passing = sum(1 for e in entries if e.get("status") == "passed")
            head += "\n" + _(
                "Below, task by task, the visible tests (those `blockgrade check` runs): {passed} of {count} "
                "task(s) pass them.",
                passed=passing,
                count=len(entries),
            )
        data["output"] = "\n".join([head, *summary_text(hidden).split("\n")[1:]])
    return data


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
        if assignment.hidden_visibility != "visible":  # the hidden results wait: show the visible ones now
            data = immediate_feedback(data, result, _visible_result(assignment, root / "submission", result))
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
