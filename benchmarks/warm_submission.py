"""What one submission costs once a grader is warm: the figure the hardening must not blow up.

    .venv/bin/python benchmarks/warm_submission.py                 # blocks, 30 gradings
    .venv/bin/python benchmarks/warm_submission.py --assignment fileio --repeat 20

Starts one `Grader` (hidden suite, the best sandbox this machine offers, torch warmed up as a
batch worker does), grades the reference solution once to warm it, then `--repeat` more times,
and prints the median, the quartiles and the mode of the sandbox. It uses only the library API
that every version of the kit has, so the same script measures an older checkout for a
before/after figure: `PYTHONPATH=<checkout> python <this file> --repo <checkout>`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="blocks")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()

    from autograder.catalog import course_at
    from autograder.grading import Grader

    assignment = course_at(args.repo).get(args.assignment)
    solution = assignment.solution_dir
    with Grader(assignment, "hidden", warm_up=True, devices=["cpu"]) as grader:
        first = grader.grade(solution)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = grader.grade(solution)
            times.append(time.perf_counter() - started)
        assert result.score == first.score == assignment.max_score, (result.score, result.notes)
    q1, median, q3 = statistics.quantiles(times, n=4)
    print(
        f"{assignment.id}: warm submission {median * 1000:.0f} ms median "
        f"(quartiles {q1 * 1000:.0f}-{q3 * 1000:.0f} ms, {args.repeat} gradings, sandbox {result.sandbox})"
    )


if __name__ == "__main__":
    main()
