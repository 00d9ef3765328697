"""Batch grading against the naive way, on the same submissions, in one run.

    .venv/bin/python benchmarks/batch_vs_naive.py            # 60 submissions of assignment 1
    .venv/bin/python benchmarks/batch_vs_naive.py --count 20 --assignment parameters

Measures, on this machine:
  import torch   a fresh `python -c "import torch"` (median of 3): the unit of the goals;
  batch          one `blockgrade grade` of all submissions (workers on every core, each keeping
                 torch and the suite imported, each submission's sandbox forked from a
                 preloaded host), wall time per submission;
  naive          a fresh interpreter per submission running the same suite through the same
                 sandbox (`blockgrade grade` of that one submission), as many at once as there
                 are cores, wall time per submission;
  check          `blockgrade check` of one assignment in a student's copy (median of 3).
Goals (issue 5): batch per submission <= 0.25 x import torch; check <= 2 x import torch.
The submissions are the reference solution, the generated stub and the mistaken and correct
variants of the kit's corpus (tests/corpus; those that time out left out), repeated up to --count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from autograder.catalog import course_at  # noqa: E402

import corpus  # noqa: E402

BLOCKGRADE = [sys.executable, "-m", "autograder"]


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):  # check exits 1 when something fails; that is fine here
        raise SystemExit(f"{' '.join(command[:6])}... failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def without_timing(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("execution_time")
    return data


def make_submissions(assignment, count: int, folder: Path) -> list[Path]:
    solution = (assignment.solution_dir / assignment.module).read_text(encoding="utf-8")
    stub = (REPO / "student_template" / assignment.slug / assignment.module).read_text(encoding="utf-8")
    # Cases that time out are left out: they cost their time limit whichever way they are
    # graded, and would measure the limit rather than the grader.
    cases = [c for c in corpus.cases(assignment.slug) if c.status != "timed out"]
    sources = [solution, stub] + [corpus.compose(solution, case) for case in cases]
    paths = []
    for i in range(count):
        path = folder / f"student{i:03d}"
        path.mkdir(parents=True)
        (path / assignment.module).write_text(sources[i % len(sources)], encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="blocks")
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    course = course_at(REPO)
    assignment = course.get(args.assignment)
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="blockgrade-bench-") as tmp:
        tmp = Path(tmp)
        paths = make_submissions(assignment, args.count, tmp / "subs")
        print(f"{args.count} submissions of {assignment.id}, {cores} core(s), python {sys.version.split()[0]}")

        imports = [timed([sys.executable, "-c", "import torch"]) for _ in range(3)]
        import_torch = statistics.median(imports)
        print(f"import torch   {import_torch:6.2f} s")

        batch = timed([*BLOCKGRADE, "grade", "-a", assignment.id, "-o", str(tmp / "batch"), *map(str, paths)])
        print(f"batch          {batch:6.2f} s in all, {batch / args.count:.3f} s per submission")

        def naive_one(item: tuple[int, Path]) -> float:
            i, path = item
            out = tmp / f"naive{i}"
            return timed([*BLOCKGRADE, "grade", "-a", assignment.id, "-j", "1", "-o", str(out), str(path)])

        started = time.perf_counter()
        with ThreadPoolExecutor(cores) as pool:
            singles = list(pool.map(naive_one, enumerate(paths)))
        naive = time.perf_counter() - started
        print(
            f"naive          {naive:6.2f} s in all, {naive / args.count:.3f} s per submission "
            f"({statistics.median(singles):.2f} s each, {cores} at once)"
        )
        same = all(
            without_timing(tmp / "batch" / p.name / "results.json")
            == without_timing(tmp / f"naive{i}" / p.name / "results.json")
            for i, p in enumerate(paths)
        )

        student = tmp / "student"
        shutil.copytree(REPO / "student_template", student)
        shutil.copyfile(assignment.solution_dir / assignment.module, student / assignment.slug / assignment.module)
        checks = [timed([*BLOCKGRADE, "check", assignment.id], cwd=student / assignment.slug) for _ in range(3)]
        check = statistics.median(checks)
        print(f"check          {check:6.2f} s")

    figures = {
        "assignment": assignment.id,
        "submissions": args.count,
        "cores": cores,
        "import_torch_s": round(import_torch, 3),
        "batch_s": round(batch, 2),
        "batch_per_submission_s": round(batch / args.count, 3),
        "naive_s": round(naive, 2),
        "naive_per_submission_s": round(naive / args.count, 3),
        "speedup": round(naive / batch, 1),
        "batch_per_submission_over_import": round(batch / args.count / import_torch, 3),
        "check_s": round(check, 2),
        "check_over_import": round(check / import_torch, 2),
        "same_results": same,
    }
    print()
    print(f"batch is {figures['speedup']}x faster than naive; same results: {same}")
    goal = figures["batch_per_submission_over_import"]
    print(f"batch per submission = {goal:.3f} x import torch (goal <= 0.25): {'met' if goal <= 0.25 else 'NOT met'}")
    goal = figures["check_over_import"]
    print(f"check = {goal:.2f} x import torch (goal <= 2): {'met' if goal <= 2 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
