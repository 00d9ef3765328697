"""A batch's sandbox host forks its next children (spares) as soon as it has sent an answer:
nothing of the submission it answered may be reachable in them, since the next submissions'
code runs there (it can walk its stack up to the host's frames, or ask the collector)."""

import textwrap
import time
from pathlib import Path

from autograder.catalog import Limits
from autograder.sandbox.client import SandboxHost, Submission
from autograder.sandbox.host import SPARES

PROBES = Path(__file__).resolve().parents[1] / "sandbox_probes.py"
LIMITS = Limits(probe_seconds=5, submission_seconds=30, memory_mb=1024)
SECRET = "student A's secret: 4711"

SPY = """
import gc
import sys


def _held(obj):
    # what a supervisor of the host holds of a submission: what it printed, its results
    return repr([getattr(obj, name, None) for name in ("output", "payloads", "results", "frame")])


def f():
    found = []
    frame = sys._getframe()
    while frame is not None:  # up to the host's own frames, forked with this child
        found += [_held(v) for v in list(frame.f_locals.values()) if type(v).__name__ == "Supervisor"]
        frame = frame.f_back
    found += [_held(o) for o in gc.get_objects() if type(o).__name__ == "Supervisor"]
    found += [repr(o.summary()) for o in gc.get_objects() if type(o).__name__ == "OutputCapture"]
    return found
"""


def submission(source: str) -> Submission:
    return Submission("student", "student.py", textwrap.dedent(source), ("f", "g"))


def test_nothing_of_a_submission_is_reachable_in_the_spares_forked_after_its_answer():
    with SandboxHost([PROBES], warm_up=True, memory_mb=LIMITS.memory_mb) as host:
        host.ready()
        victim = submission(f"def f():\n    print({SECRET!r})\n    return 'the answer of A'\n")
        assert host.run(victim, [("first", None)], LIMITS).outcomes[("first", None)].data == "the answer of A"
        for _ in range(SPARES + 1):  # each spare forked after A's answer runs one of them
            found = host.run(submission(SPY), [("first", None)], LIMITS).outcomes[("first", None)].data
            assert not any(SECRET in text or "the answer of A" in text for text in found), found


def test_nothing_of_a_submission_is_reachable_in_the_spares_forked_while_the_next_one_runs():
    """A batch's one worker sends the next request as soon as it has read an answer (`more`):
    the host starts it first and forks its spares while it runs. Those spares hold nothing of
    the submission answered before."""
    jobs = [("first", None)]
    with SandboxHost([PROBES], warm_up=True, memory_mb=LIMITS.memory_mb) as host:
        host.ready()
        victim = submission(f"def f():\n    print({SECRET!r})\n    return 'the answer of A'\n")
        answered = host.answer(host.send(victim, jobs, LIMITS, more=True))
        assert answered.outcomes[("first", None)].data == "the answer of A"
        for _ in range(SPARES + 2):
            found = host.answer(host.send(submission(SPY), jobs, LIMITS, more=True)).outcomes[("first", None)].data
            assert not any(SECRET in text or "the answer of A" in text for text in found), found


def test_the_chores_put_off_for_the_next_request_are_done():
    """Each answered submission's last child is cleaned up (its folder, its cgroup) whether the
    host did that at once or while the next request ran: after a run of overlapped requests,
    only the spares' folders are left; and the clean-up done meanwhile leaves the child then
    running alone (each submission here still runs when the chores are done)."""
    jobs = [("first", None)]
    with SandboxHost([PROBES], warm_up=True, memory_mb=LIMITS.memory_mb) as host:
        host.ready()
        for value in range(6):
            source = f"import time\n\ndef f():\n    time.sleep(0.3)\n    return {value}\n"
            sent = host.send(submission(source), jobs, LIMITS, more=True)
            assert host.answer(sent).outcomes[("first", None)].data == value
        home = Path(host._home)
        deadline = time.monotonic() + 10
        while len(list(home.glob("blockgrade-run-*"))) > SPARES and time.monotonic() < deadline:
            time.sleep(0.05)  # the last answer's chores: done once no request came within MORE_WAIT_SECONDS
        assert len(list(home.glob("blockgrade-run-*"))) == SPARES
