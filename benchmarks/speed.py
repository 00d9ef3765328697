"""What grading costs, side by side with `import torch` measured in the same run.

    .venv/bin/python benchmarks/speed.py                      # blocks: 20 and 400, .py and .ipynb
    .venv/bin/python benchmarks/speed.py --counts 20 --json figures.json
    .venv/bin/python benchmarks/speed.py --assignment parameters --counts 20 --formats py
    .venv/bin/python benchmarks/speed.py --counts 100 --formats py --no-warm --lang zh

Measures, on this machine:
  import torch   a fresh `python -c "import torch"` (median of --repeat, at least 3): the unit
                 of every goal below, taken in this run so that both see the same machine;
  grade          `blockgrade grade` of N submissions (the reference solution, the generated
                 stub and the corpus's mistaken and correct variants, repeated), as module
                 files (.py) and as notebooks (.ipynb, made from the same sources), with the
                 default worker count ("auto") and, for the smallest N, with the count auto did
                 not choose (`-j 1`, or `-j 2` where auto chose one worker): wall time
                 in all and per submission, CPU time of the whole process tree, and its memory
                 (the proportional set size of every process of the tree, summed, sampled
                 every 0.2 s: the peak); and when the gradebook had every row (the rest is the
                 end of the batch: the report, the similarity check, the final rewrite);
  warm           one submission on a warm grader (benchmarks/warm_submission.py's measure):
                 the median, and how much of it the sandbox's run takes; again as a large
                 batch's grader has it (its children forked from huge pages);
  check          `blockgrade check` of the solution in a student's copy (median of --repeat).

Goals (issue 15), each against `import torch` of the same run:
  20 submissions in all       <= 1.5 x import torch
  per submission at 400       <= 0.03 x import torch
  warm submission             <= 60 ms (on an idle machine)
  check                       <= 1 x import torch
  -j auto never slower than -j 1, nor than -j 2 where it chose one worker (at the smallest N)
CPU times are given too: on a machine that other work shares, wall times move with its load,
CPU times much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from autograder.catalog import course_at  # noqa: E402
from autograder.grading import HUGE_PAGES_FROM, default_workers  # noqa: E402
from autograder.notebooks import notebook_from_module  # noqa: E402

import corpus  # noqa: E402

BLOCKGRADE = [sys.executable, "-m", "autograder"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class TreeCpu:
    """The CPU time a command's whole process tree uses: counted by a cpuacct cgroup (v1) of
    its own where this process may make one (as root), which sees every process of the tree,
    waited for or not; elsewhere the CPU time of the children this process waited for
    (getrusage), which misses a process killed before its parent waited for it."""

    def __init__(self) -> None:
        self.group = None
        if CPUACCT.is_dir() and os.access(CPUACCT, os.W_OK):
            try:
                self.group = Path(tempfile.mkdtemp(prefix="blockgrade-bench-", dir=CPUACCT))
            except OSError:
                self.group = None
        self.start = children_cpu()

    def join(self) -> None:  # in the command's process, before it runs (preexec_fn)
        if self.group is not None:
            (self.group / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        if self.group is None:
            return children_cpu() - self.start
        used = int((self.group / "cpuacct.usage").read_text()) / 1e9
        try:
            self.group.rmdir()
        except OSError:
            pass
        return used


def tree_pss(root: int) -> int:
    """The summed proportional set size of `root` and every process below it, in bytes."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier and p not in tree}
        tree |= frontier
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
        except (OSError, StopIteration, ValueError):
            continue
    return total


def graded_rows(gradebook: Path) -> int:
    try:
        return max(0, len(gradebook.read_text(encoding="utf-8").splitlines()) - 1)
    except OSError:
        return 0


def run(command: list[str], sample_memory: bool = False, gradebook: Path | None = None, count: int = 0, **kwargs):
    """Run `command`; its wall time, the CPU time of its whole tree, (optionally) its peak PSS
    and, for a batch, when its gradebook had every row (what follows is the end-of-batch work)."""
    cpu = TreeCpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=cpu.join, **kwargs
    )
    peak = [0]
    all_graded = [None]
    if sample_memory and sys.platform.startswith("linux"):

        def sample() -> None:
            while process.poll() is None:
                peak[0] = max(peak[0], tree_pss(process.pid))
                if gradebook is not None and all_graded[0] is None and graded_rows(gradebook) >= count:
                    all_graded[0] = time.perf_counter() - started
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):  # check exits 1 when something fails; that is fine here
        raise SystemExit(f"{' '.join(command[:6])}... failed ({process.returncode}):\n{err[-2000:]}")
    figure = {"seconds": seconds, "cpu_seconds": cpu.seconds(), "pss_peak_mb": peak[0] / 2**20}
    if gradebook is not None:
        figure["all_graded_s"] = all_graded[0] if all_graded[0] is not None else seconds
    return figure


def as_notebook(assignment, source: str) -> str:
    """The notebook a student would hand in with this code: the template's cells, each task's
    cells holding its code; a source that does not parse goes in one code cell (a notebook
    without nbgrader metadata: all its code cells are the module)."""
    try:
        return notebook_from_module(assignment, source)
    except SyntaxError:
        cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
        return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def make_submissions(assignment, count: int, folder: Path, notebook: bool) -> list[Path]:
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
        source = sources[i % len(sources)]
        if notebook:
            (path / assignment.notebook).write_text(as_notebook(assignment, source), encoding="utf-8")
        else:
            (path / assignment.module).write_text(source, encoding="utf-8")
        paths.append(path)
    return paths


def results_of(folder: Path) -> dict:
    found = {}
    for path in sorted(folder.glob("*/results.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("execution_time", None)
        found[path.parent.name] = data
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="blocks")
    parser.add_argument("--counts", type=int, nargs="+", default=[20, 400])
    parser.add_argument("--formats", nargs="+", choices=["py", "ipynb"], default=["py", "ipynb"])
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each small measurement (median).")
    parser.add_argument("--no-warm", action="store_true", help="Leave out the warm submission.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument(
        "--lang", choices=["en", "es", "zh"], help="Grade with feedback and report in this language (grade's --lang)."
    )
    args = parser.parse_args()
    course = course_at(REPO)
    assignment = course.get(args.assignment)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    language = f", feedback in {args.lang}" if args.lang else ""
    python = sys.version.split()[0]
    print(f"{assignment.id}{language}, {cores} core(s), python {python}, load average {load:.2f} at the start")
    figures: dict = {
        "assignment": assignment.id,
        "language": args.lang,
        "cores": cores,
        "load_at_start": round(load, 2),
        "grade": [],
    }

    def import_torch() -> float:
        runs = [run([sys.executable, "-c", "import torch"]) for _ in range(max(3, args.repeat))]
        return statistics.median(r["seconds"] for r in runs)

    unit = import_torch()
    figures["import_torch_s"] = round(unit, 3)
    print(f"import torch                 {unit:7.2f} s")

    with tempfile.TemporaryDirectory(prefix="blockgrade-bench-") as tmp:
        tmp = Path(tmp)
        smallest = min(args.counts)
        for kind in args.formats:
            for count in sorted(args.counts):
                paths = make_submissions(assignment, count, tmp / f"subs-{kind}-{count}", kind == "ipynb")
                # at the smallest N, the worker count auto did not choose too: was its choice right?
                other = "2" if default_workers(count) == 1 else "1"
                for workers in ("auto", other) if count == smallest else ("auto",):
                    out = tmp / f"out-{kind}-{count}-{workers}"
                    command = [*BLOCKGRADE, "grade", "-a", assignment.id, "-o", str(out)]
                    command += ["--lang", args.lang] if args.lang else []
                    command += [] if workers == "auto" else ["-j", workers]
                    figure = run(command + [str(p) for p in paths], True, out / "gradebook.csv", count)
                    figure.update(format=kind, count=count, workers=workers)
                    figure["per_submission_s"] = figure["seconds"] / count
                    figure["over_import"] = figure["seconds"] / unit
                    figure["per_submission_over_import"] = figure["per_submission_s"] / unit
                    figures["grade"].append(figure)
                    print(
                        f"grade {count:4d} .{kind:5s} -j {workers:4s} {figure['seconds']:7.2f} s"
                        f" ({figure['over_import']:5.2f} x import torch; {figure['per_submission_s'] * 1000:5.0f} ms"
                        f" = {figure['per_submission_over_import']:.3f} x per submission),"
                        f" CPU {figure['cpu_seconds']:6.1f} s, peak PSS {figure['pss_peak_mb']:6.0f} MB;"
                        f" all graded at {figure['all_graded_s']:.2f} s"
                    )
                if count == smallest:
                    outs = [results_of(tmp / f"out-{kind}-{count}-{w}") for w in ("auto", other)]
                    same = figures[f"same_results_{kind}"] = outs[0] == outs[1]
                    chosen = default_workers(count)
                    print(f"  -j auto ({chosen}) and -j {other} give the same results.json files: {same}")

        student = tmp / "student"
        shutil.copytree(REPO / "student_template", student)
        shutil.copyfile(assignment.solution_dir / assignment.module, student / assignment.slug / assignment.module)
        checks = [run([*BLOCKGRADE, "check", assignment.id], cwd=student / assignment.slug) for _ in range(args.repeat)]
        check = statistics.median(r["seconds"] for r in checks)
        figures["check_s"] = round(check, 3)
        print(f"check                        {check:7.2f} s ({check / unit:.2f} x import torch)")

    if not args.no_warm:
        from warm_submission import measure

        warm = measure(assignment, 30)
        figures["warm"] = warm
        print(
            f"warm submission              {warm['median_ms']:7.0f} ms median (sandbox run {warm['sandbox_ms']:.0f} ms,"
            f" the rest judging and bookkeeping; CPU {warm['cpu_ms']:.0f} ms of every process)"
        )
        huge = measure(assignment, 30, huge_pages=True)  # as in a batch of grading.HUGE_PAGES_FROM or more
        figures["warm_huge_pages"] = huge
        print(
            f"  with huge pages            {huge['median_ms']:7.0f} ms median (sandbox run {huge['sandbox_ms']:.0f} ms;"
            f" CPU {huge['cpu_ms']:.0f} ms of every process): a batch of {HUGE_PAGES_FROM} or more"
        )

    figures["import_torch_after_s"] = round(import_torch(), 3)
    again = figures["import_torch_after_s"]
    moved = abs(again - unit) / unit
    verdict = (
        "close to the first: the machine's load held"
        if moved <= 0.1
        else f"{moved:.0%} off the first: the machine's load moved, and every ratio above with it"
    )
    print(f"import torch, again          {again:7.2f} s ({verdict})")
    print()
    small = [g for g in figures["grade"] if g["count"] == smallest and g["format"] == "py"]
    auto = next(g for g in small if g["workers"] == "auto")
    goals = [("check <= 1 x import torch", check / unit, 1.0)]
    if smallest <= 20:  # the goal is of a small class: 20 submissions (fewer is easier still)
        goals.insert(0, (f"{smallest} submissions in all <= 1.5 x import torch", auto["over_import"], 1.5))
    for g in figures["grade"]:
        if g["count"] >= 400 and g["workers"] == "auto":
            text = f"per submission at {g['count']} (.{g['format']}) <= 0.03 x import torch"
            goals.append((text, g["per_submission_over_import"], 0.03))
    if "warm" in figures:
        goals.append(("warm submission <= 60 ms", figures["warm"]["median_ms"], 60))
    other = next((g for g in small if g["workers"] != "auto"), None)
    if other is not None:  # (-j 1 where auto chose more; -j 2 where it chose one)
        goals.append((f"-j auto / -j {other['workers']} <= 1", auto["seconds"] / other["seconds"], 1.0))
    figures["goals"] = []
    for text, value, limit in goals:
        met = value <= limit
        figures["goals"].append({"goal": text, "value": round(value, 3), "met": met})
        print(f"{text:58s} {value:8.3f}  {'met' if met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
