"""How well the similarity check tells copies from independent work, and what it costs.

    .venv/bin/python benchmarks/similarity.py            # every assignment, seeds 0-4
    .venv/bin/python benchmarks/similarity.py --seeds 1 --class-size 300

Cases (tests/similarity_cases.py): each original (the reference solution, and submissions
made of the kit's independent correct implementations) against the same code disguised as a
copier would (renamed, reordered, recommented, re-laid-out, all at once) must be flagged; the
originals against one another must not. Prints, for thresholds around the kit's, the share of
copies flagged and of independent pairs flagged, the lowest copy and highest independent
similarity, and the time to compare a class of `--class-size` submissions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the kit, installed or not, and the cases

import similarity_cases  # noqa: E402

from autograder import similarity  # noqa: E402
from autograder.catalog import course_at  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="disguises drawn with seeds 0 .. N-1")
    parser.add_argument("--class-size", type=int, default=300, help="submissions in the timed class")
    args = parser.parse_args()
    course = course_at(REPO)
    copies, independent = [], []  # (class, pair)
    for seed in range(args.seeds):
        for klass in similarity_cases.classes(list(course.assignments), seed):
            pairs, _, _ = similarity.compare_class(klass.assignment, klass.sources)
            for pair in pairs:
                is_copy = similarity_cases.is_copy(klass, pair.first, pair.second)
                (copies if is_copy else independent).append((klass, pair))
    # an independent pair is in the class of every copy of its assignment: count it once per seed
    independent = list({(k.assignment.id, k.kind, p.first, p.second): (k, p) for k, p in independent}.values())
    print(
        f"{len(copies)} copies ({len(course.assignments)} assignments, {len(similarity_cases.COPY_KINDS)} "
        f"disguises, {args.seeds} seed(s)), each in a class with the originals; {len(independent)} independent "
        "pairs (the same pair counted once per disguise and seed)"
    )
    small = [(k, p) for k, p in copies if p.shared < similarity.MIN_SHARED]
    originals = ", ".join(sorted({f"{k.assignment.id}/{p.first}" for k, p in small}))
    print(
        f"{len(small)} of the copies share less than {similarity.MIN_SHARED} weighed characters (their originals "
        f"hold that little code of their own): {originals}"
    )
    print(
        f"flagged when similarity >= threshold and shared >= {similarity.MIN_SHARED} "
        f"(the kit's threshold: {similarity.THRESHOLD})"
    )
    print("threshold  copies flagged        independent flagged")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9):
        hit = sum(p.similarity >= threshold and p.shared >= similarity.MIN_SHARED for _, p in copies)
        false = sum(p.similarity >= threshold and p.shared >= similarity.MIN_SHARED for _, p in independent)
        mark = "  <- the kit's" if abs(threshold - similarity.THRESHOLD) < 1e-9 else ""
        print(
            f"  {threshold:.2f}     {hit:4d}/{len(copies)} {100 * hit / len(copies):5.1f}%"
            f"   {false:4d}/{len(independent)} {100 * false / len(independent):5.1f}%{mark}"
        )
    lowest = min(copies, key=lambda cp: cp[1].similarity)
    highest = max(independent, key=lambda cp: cp[1].similarity)
    print(
        f"lowest copy: {lowest[1].similarity:.3f} ({lowest[0].assignment.id}: {lowest[1].first} / "
        f"{lowest[1].second}, shared {lowest[1].shared:.0f})"
    )
    print(
        f"highest independent: {highest[1].similarity:.3f} ({highest[0].assignment.id}: "
        f"{highest[1].first} / {highest[1].second}, shared {highest[1].shared:.0f})"
    )
    for kind in similarity_cases.COPY_KINDS:
        values = [p.similarity for k, p in copies if k.kind == kind]
        print(f"  {kind:10s} copies: median {statistics.median(values):.3f}, min {min(values):.3f}")
    for a in course.assignments:
        values = [p.similarity for k, p in independent if k.assignment.id == a.id]
        print(
            f"  {a.id:15s} independent pairs: {len(values):3d}, median {statistics.median(values):.3f}, "
            f"max {max(values):.3f}"
        )

    # cost: a class of disguised copies of assignment 1's originals, compared pair by pair
    blocks = course.get("blocks")
    pool = [s for k in similarity_cases.classes([blocks], 0) for s in k.sources.values()]
    sources = {f"s{i:03d}": pool[i % len(pool)] for i in range(args.class_size)}
    started, cpu = time.perf_counter(), time.process_time()
    similarity.compare_all(blocks, sources)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    pairs = args.class_size * (args.class_size - 1) // 2
    print(
        f"a class of {args.class_size} ({pairs} pairs, every submission a copy of another): {seconds:.1f} s "
        f"wall, {cpu:.1f} s CPU ({1e6 * cpu / pairs:.0f} µs CPU a pair, tokenizing included)"
    )


if __name__ == "__main__":
    main()
