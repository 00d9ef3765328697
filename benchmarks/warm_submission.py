"""What one submission costs once a grader is warm: the figure the hardening must not blow up.

    .venv/bin/python benchmarks/warm_submission.py                 # blocks, 30 gradings
    .venv/bin/python benchmarks/warm_submission.py --assignment fileio --repeat 20

Starts one `Grader` (hidden suite, the best sandbox this machine offers, as a batch worker's:
spare children, torch warmed up where the suite needs it), grades the reference solution once
to warm it, then `--repeat` more times, and prints the median, the quartiles, how much of the
median the sandbox's run takes (the host's own count, from the request to the answer), and the
CPU time of every process involved (the grader, its judging forks, the sandbox host, its
template and their children) per submission. It uses only the library API that every version
of the kit has, so the same script measures an older checkout for a before/after figure:
`PYTHONPATH=<checkout> python <this file> --repo <checkout>`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path


def _own_cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _process_cpu(pid: int) -> float:
    """A process's CPU time and that of the children it waited for (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def _host_cpu(pid: int) -> float:
    """A sandbox host's CPU time with that of its live children (its template, which forks and
    waits for the sandbox children, where it has one) and of the children each waited for."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(child) for child in f.read().split()]
    except OSError:
        children = []
    return _process_cpu(pid) + sum(_process_cpu(child) for child in children)


def measure(assignment, repeat: int = 30, huge_pages: bool = False) -> dict:
    from autograder.grading import Grader

    solution = assignment.solution_dir
    # as a large batch's grader (grading.HUGE_PAGES_FROM); asked only where wanted, so that an
    # older checkout, which has no such argument, is measured the same way
    extra = {"huge_pages": True} if huge_pages else {}
    with Grader(assignment, "hidden", warm_up=True, devices=["cpu"], **extra) as grader:
        sandbox: list[float] = []
        # the run the host answers (`answer`; an older checkout's grader calls `run`)
        step = "answer" if hasattr(grader.host, "answer") else "run"
        run = getattr(grader.host, step)

        def timed_run(*args, **kwargs):
            result = run(*args, **kwargs)
            sandbox.append(result.seconds)
            return result

        setattr(grader.host, step, timed_run)
        first = grader.grade(solution)
        process = getattr(grader.host, "_proc", None)
        host_pid = process.pid if process is not None else 0

        def judging_pid() -> int:  # the judging process kept between submissions, where there is one
            return getattr(getattr(grader.judges, "_judging", None), "_pid", 0)

        judging = judging_pid()
        cpu = _own_cpu() + _host_cpu(host_pid) + _process_cpu(judging)
        times = []
        sandbox.clear()
        for _ in range(repeat):
            started = time.perf_counter()
            result = grader.grade(solution)
            times.append(time.perf_counter() - started)
        # (a judging process that was replaced meanwhile was waited for: RUSAGE_CHILDREN has it)
        cpu = _own_cpu() + _host_cpu(host_pid) + _process_cpu(judging_pid()) - cpu
        assert result.score == first.score == assignment.max_score, (result.score, result.notes)
    q1, median, q3 = statistics.quantiles(times, n=4)
    return {
        "median_ms": round(median * 1000, 1),
        "quartiles_ms": [round(q1 * 1000, 1), round(q3 * 1000, 1)],
        "sandbox_ms": round(statistics.median(sandbox) * 1000, 1),
        "cpu_ms": round(cpu / repeat * 1000, 1),
        "repeat": repeat,
        "sandbox": result.sandbox,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="blocks")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument(
        "--huge-pages", action="store_true", help="As a large batch's grader: its children forked from huge pages."
    )
    args = parser.parse_args()

    from autograder.catalog import course_at

    assignment = course_at(args.repo).get(args.assignment)
    figures = measure(assignment, args.repeat, args.huge_pages)
    print(
        f"{assignment.id}: warm submission {figures['median_ms']:.0f} ms median "
        f"(quartiles {figures['quartiles_ms'][0]:.0f}-{figures['quartiles_ms'][1]:.0f} ms, {args.repeat} gradings, "
        f"sandbox {figures['sandbox']}); the sandbox's run {figures['sandbox_ms']:.0f} ms of it; "
        f"CPU {figures['cpu_ms']:.0f} ms per submission, every process counted"
    )


if __name__ == "__main__":
    main()
