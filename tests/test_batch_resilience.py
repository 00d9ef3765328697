"""A batch no dying worker can stop: when a grading worker is killed mid-batch (as the kernel's
OOM killer would), the submissions it held are graded again and every submission gets its row."""

import os
import signal
import tempfile
import threading

from autograder.grading import grade_batch


def _worker_pids() -> list[int]:
    """Our grading workers: children of this process forked from it (on Linux, where the batch
    forks them; so their command line is ours) or running multiprocessing's spawn (elsewhere)."""
    with open("/proc/self/cmdline", "rb") as f:
        own = f.read()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and (command == own or b"spawn_main" in command):
            found.append(int(entry))
    return found


def _scratch() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith(("blockgrade-batch-", "blockgrade-host-"))}


def test_a_killed_worker_costs_no_submission_its_grade(course, tmp_path):
    a = course.get("blocks")
    paths = []
    count = 16
    solution = (a.solution_dir / a.module).read_text()
    for i in range(count):
        folder = tmp_path / "subs" / f"s{i}"
        folder.mkdir(parents=True)
        # the second worker's first share is slower: it is in the middle of it when the first
        # worker's results come in, and the workers are killed
        slow = "import time\ntime.sleep(0.4)\n" if 4 <= i < 8 else ""
        (folder / a.module).write_text(slow + solution)
        paths.append(folder)
    scratch_before = _scratch()
    first = threading.Event()
    killed: list[int] = []

    def on_result(result):
        if not first.is_set():
            first.set()
            for worker in _worker_pids():
                os.kill(worker, signal.SIGKILL)
                killed.append(worker)

    batch = grade_batch(course, a, paths, tmp_path / "out", workers=2, devices=["cpu"], on_result=on_result)
    assert killed, "no worker was found to kill"
    assert not batch.interrupted and batch.count == count
    assert sorted(r.name for r in batch.results) == sorted(f"s{i}" for i in range(count))
    assert all((r.score, r.status) == (20, "graded") for r in batch.results), [
        (r.name, r.score, r.status, r.notes) for r in batch.results
    ]
    rows = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()
    assert len(rows) == count + 1
    assert not _worker_pids()  # nothing left running
    # the killed worker's sandbox host could not remove its folder: the batch removed it
    assert not (_scratch() - scratch_before), _scratch() - scratch_before
