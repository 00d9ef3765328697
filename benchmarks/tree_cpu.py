"""Where a command's CPU goes, process by process: a before/after figure that the machine's load
moves less than wall time.

    .venv/bin/python benchmarks/tree_cpu.py -- .venv/bin/blockgrade grade --assignment blocks --out OUT SUBS/*
    PYTHONPATH=<checkout> .venv/bin/python benchmarks/tree_cpu.py -- ...   # an older checkout, same command

Runs the command, reads /proc every 20 ms while it runs (Linux), and prints its process tree,
each process with its own CPU time and that of the children it waited for, as last seen, and
the whole tree's CPU time (the command's own and all it waited for, from wait4, and what the
processes that outlived their parent had used when last seen). Processes that live less than
20 ms are seen through their parent's count only.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, CPU seconds of the children it waited for)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def main() -> None:
    command = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    if not command:
        sys.exit(__doc__)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    seen: dict[int, tuple[int, float, float]] = {}
    parents: dict[int, int] = {}  # each process's parent when first seen (an orphan's changes)
    while True:
        done, status, usage = os.wait4(process.pid, os.WNOHANG)  # (its own and all it waited for)
        if done:
            break
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                seen[int(entry)] = stat
                parents.setdefault(int(entry), stat[0])
        time.sleep(0.02)
    wall = time.perf_counter() - started
    children = collections.defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    tree, frontier = set(), [process.pid]
    while frontier:
        tree.update(frontier)
        frontier = [child for pid in frontier for child in children.get(pid, [])]

    def show(pid: int, depth: int) -> None:
        below = children.get(pid, [])
        _, own, waited = seen[pid]
        if depth < 3 or below:  # (the short-lived leaves, a sandbox's children, are counted above them)
            print(f"{'  ' * depth}{pid}: own {own:.2f} s, waited for {waited:.2f} s, {len(below)} children seen")
        for child in sorted(below):
            show(child, depth + 1)

    # what wait4 counts, and the processes that outlived their parent and were reaped outside
    # the tree (their parent was another, last seen), as last seen
    cpu = usage.ru_utime + usage.ru_stime
    cpu += sum(seen[pid][1] + seen[pid][2] for pid in tree if seen[pid][0] != parents[pid] and seen[pid][0] not in tree)
    print(f"wall {wall:.2f} s, CPU of the whole tree {cpu:.2f} s (exit status {os.waitstatus_to_exitcode(status)})")
    if process.pid in seen:
        show(process.pid, 0)


if __name__ == "__main__":
    main()
