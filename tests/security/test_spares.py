"""A batch's sandbox host forks its next children (spares) as soon as it has sent an answer:
nothing of the submission it answered may be reachable in them, since the next submissions'
code runs there (it can walk its stack up to the host's frames, or ask the collector)."""

import textwrap
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
