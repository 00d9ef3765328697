"""A batch killed before its own clean-up (SIGKILL, as the OOM killer would; a default
SIGTERM) leaves nothing running: its grading workers end with it, each closing its sandbox
host, instead of waiting forever for shares that never come (holding the batch's stdout and
stderr, a host, and its children's memory cgroups). Found by a verification pass."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, namespace_modes_here, skip_unless_the_sandbox_starts


def _processes_with(tmpdir) -> list[int]:
    """Processes whose environment names `tmpdir` as TMPDIR: the batch's, whoever their parent now is."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as env:
                    if f"TMPDIR={tmpdir}\0".encode() in env.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("mode", namespace_modes_here())
def test_a_killed_batch_leaves_no_worker_running(mode, signum, tmp_path):
    skip_unless_the_sandbox_starts(mode)
    solution = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    subs = []
    for i in range(12):
        (tmp_path / "subs" / f"s{i:02d}").mkdir(parents=True)
        # slow to import: the workers are mid-share when the batch is killed
        (tmp_path / "subs" / f"s{i:02d}" / "blocks.py").write_text("import time\ntime.sleep(1)\n" + solution)
        subs.append(str(tmp_path / "subs" / f"s{i:02d}"))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", "--root", str(REPO), "-a", "blocks", "-o", str(out)]
    command += ["-j", "2", "--sandbox", mode, "--memory-mb", "1024", *subs]
    batch = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(private_tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and batch.poll() is None:
            book = out / "gradebook.csv"
            if book.exists() and len(list(csv.DictReader(book.open()))) >= 1:
                break
            time.sleep(0.1)
        assert batch.poll() is None, "the batch finished before it could be killed"
        workers = _processes_with(private_tmp)
        os.kill(batch.pid, signum)  # the batch's process alone, not its group
        batch.wait(timeout=30)
        assert len(workers) > 1  # (a worker at least, beside the batch)
        deadline = time.monotonic() + 20
        while _processes_with(private_tmp) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_with(private_tmp)
    finally:
        for pid in _processes_with(private_tmp):  # what a failure leaves: killed, not left to run on
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert left == [], left
