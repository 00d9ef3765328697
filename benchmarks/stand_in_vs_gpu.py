"""Does the stand-in GPU grade as a real one does? Run on a machine with a GPU.

    .venv/bin/python benchmarks/stand_in_vs_gpu.py                  # every assignment
    .venv/bin/python benchmarks/stand_in_vs_gpu.py devices blocks   # some

Grades the reference solution and every corpus case (tests/corpus/NN-id/) with the hidden
suite twice: on this machine's devices (`cuda:0` is the real GPU) and as a CPU-only runner
would (`devices=["cpu"]`: `cuda:0` is the sandbox's stand-in). Prints, per assignment, how many
submissions were graded and every one whose points differ by task, with the failing checks of
each side; it exits 1 when any differs. On a machine without a GPU both sides use the stand-in,
and it says so.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--sandbox", default="auto", help="sandbox mode (default: auto)")
    parser.add_argument(
        "--unsafe-basic-as-root",
        action="store_true",
        help="where namespaces are unavailable and this runs as root: the corpus is the kit's own code",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    from autograder.catalog import course_at
    from autograder.grading import Grader
    from autograder.judge_runner import available_devices

    import corpus

    devices = available_devices()
    if not any(d.startswith("cuda") for d in devices):
        print("this machine has no GPU: both sides would use the stand-in; run it where there is one")
        return 0
    course = course_at(REPO)
    chosen = [course.get(a) for a in args.assignments] if args.assignments else course.assignments
    differ = 0
    with tempfile.TemporaryDirectory(prefix="stand-in-vs-gpu-") as tmp:
        for assignment in chosen:
            solution = (assignment.solution_dir / assignment.module).read_text(encoding="utf-8")
            sources = {"reference-solution": solution}
            sources.update({case.name: corpus.compose(solution, case) for case in corpus.cases(assignment.slug)})
            results = {}
            for side, present in (("gpu", devices), ("stand-in", ["cpu"])):
                sandbox = {"sandbox": args.sandbox, "unsafe_basic_as_root": args.unsafe_basic_as_root}
                with Grader(assignment, "hidden", devices=present, **sandbox) as grader:
                    for name, source in sources.items():
                        folder = Path(tmp) / assignment.slug / name
                        folder.mkdir(parents=True, exist_ok=True)
                        (folder / assignment.module).write_text(source, encoding="utf-8")
                        results[side, name] = grader.grade(folder, name=name)
            mine = 0
            for name in sources:
                gpu, stand_in = results["gpu", name], results["stand-in", name]
                scores = [{s.task: round(s.score, 6) for s in r.task_scores()} for r in (gpu, stand_in)]
                if scores[0] == scores[1] and gpu.status == stand_in.status:
                    continue
                mine += 1
                print(f"{assignment.id}/{name}: gpu {scores[0]} ({gpu.status}),", end=" ")
                print(f"stand-in {scores[1]} ({stand_in.status})")
                for side, result in (("gpu", gpu), ("stand-in", stand_in)):
                    for t in result.tests:
                        if t.outcome == "failed":
                            print(f"    {side}: {t.test.name}: {t.message.splitlines()[0][:200]}")
            print(f"{assignment.id}: {len(sources)} submissions, {mine} graded differently")
            differ += mine
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
