"""A batch graded by one worker overlaps its submissions (`Grader.grade_many`): the sandbox
runs the next submission while the grader judges the one before, and the host cleans up the
last child of the submission before while the next one runs. Found by an attacker's pass on
the overlap: what that clean-up still holds (the last child's memory cgroup) must not be
readable by the next submission, and a batch stopped in the middle (Ctrl-C) must end its host
through the host's own clean-up, leaving no child's cgroup behind."""

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_warm_path import tiny_course

from autograder.catalog import Limits
from autograder.grading import Grader
from autograder.inputs import expand
from autograder.results import GRADED
from autograder.sandbox import cgroups
from autograder.sandbox.client import Submission

from .conftest import namespace_modes_here, ready_host, skip_unless_the_sandbox_starts

PROBES = Path(__file__).resolve().parents[1] / "sandbox_probes.py"
LIMITS = Limits(probe_seconds=5, submission_seconds=30, memory_mb=1024)
VICTIM_MB = 300  # what the first submission holds: far more than any sandbox child alone

VICTIM = f"""
held = bytearray({VICTIM_MB} * 2**20)
for i in range(0, len(held), 4096):
    held[i] = 1


def f():
    return 'the answer of A'
"""

# every memory count of a sandbox's cgroup that /sys shows this child, in bytes (the largest
# seen), read from the start of its import for a second: the last child's clean-up runs then
SPY = """
import os
import time

KEYS = ("memory.max_usage_in_bytes", "memory.usage_in_bytes", "memory.peak", "memory.current")
seen = {}
until = time.monotonic() + 1
while time.monotonic() < until:
    for top, folders, _ in os.walk("/sys/fs/cgroup"):
        for name in folders:
            if name.startswith("blockgrade-"):
                for key in KEYS:
                    try:
                        with open(os.path.join(top, name, key)) as counts:
                            count = int(counts.read().split()[0])
                    except (OSError, ValueError, IndexError):
                        continue
                    path = os.path.join(top, name, key)
                    seen[path] = max(count, seen.get(path, 0))
        folders[:] = [d for d in folders if not d.startswith("blockgrade-")]


def f():
    return seen
"""


def submission(source: str) -> Submission:
    return Submission("student", "student.py", textwrap.dedent(source), ("f", "g"))


@pytest.mark.parametrize("mode", namespace_modes_here())
def test_the_next_submission_reads_nothing_of_the_last_ones_cgroup(mode):
    jobs = [("first", None)]
    seen = {}
    with ready_host([PROBES], mode, warm_up=True, memory_mb=LIMITS.memory_mb) as host:
        for _ in range(2):  # (the first pair of a fresh host, and one of a host that has served)
            victim = host.answer(host.send(submission(VICTIM), jobs, LIMITS, more=True))
            assert victim.outcomes[("first", None)].data == "the answer of A"
            spy = host.answer(host.send(submission(SPY), jobs, LIMITS, more=True)).outcomes[("first", None)]
            assert spy.status == "ok", spy.error
            seen.update({path: count for path, count in spy.data.items() if count >= VICTIM_MB * 2**20})
    assert not seen, seen


def memory_parents() -> list[str]:
    """Where a host would make its children's memory cgroups (cgroups.detect's candidates),
    found without detect itself: it removes the cgroups of hosts that are gone, which is what
    this test looks for."""
    own, mounts = cgroups._own_cgroups(), cgroups._mounts()
    found = []
    if "memory" in own and mounts.get("memory"):
        found.append(os.path.join(mounts["memory"], own["memory"].lstrip("/")))
    if "" in own and mounts.get("unified"):
        found.append(os.path.join(mounts["unified"], own[""].lstrip("/")))
    if os.environ.get(cgroups.ENV_V2):
        found.append(os.environ[cgroups.ENV_V2])
    return [p for p in found if os.path.isdir(p)]


def cgroups_of(host_pid: int) -> list[str]:
    prefix = f"blockgrade-{host_pid}-"
    return [name for parent in memory_parents() for name in os.listdir(parent) if name.startswith(prefix)]


@pytest.mark.skipif(sys.platform != "linux", reason="cgroups")
@pytest.mark.parametrize("mode", namespace_modes_here())
def test_a_batch_stopped_while_the_next_submission_runs_leaves_no_cgroup(mode, tmp_path, monkeypatch):
    skip_unless_the_sandbox_starts(mode)
    monkeypatch.setenv("TINY_COLLECTED", str(tmp_path / "collected.log"))
    tiny = tiny_course(tmp_path / "course").get("tiny")
    paths = []
    for i, body in enumerate(["return 0.5", "import time\n    time.sleep(1)\n    return 0.5", "return 0.5"]):
        (tmp_path / f"s{i}").mkdir()
        (tmp_path / f"s{i}" / "tiny.py").write_text(f"def value():\n    {body}\n")
        paths.append(tmp_path / f"s{i}")
    with Grader(tiny, devices=["cpu"], sandbox=mode, warm_up=True) as grader:
        graded = grader.grade_many(expand(paths))
        first = next(graded)  # s1 runs in the sandbox now (its probe sleeps a second)
        host = grader.host._proc.pid
        if not cgroups_of(host):
            graded.close()
            pytest.skip("no memory cgroups here: nothing to leave behind")
        graded.close()  # what Ctrl-C does (grade_batch closes the iterator)
        deadline = time.monotonic() + 15
        while os.path.exists(f"/proc/{host}") and time.monotonic() < deadline:
            time.sleep(0.05)
        # (no other host starts before this look: a host's start removes a dead one's cgroups)
        left = cgroups_of(host)
    assert (first.status, first.score) == (GRADED, 4)
    assert left == [], left
