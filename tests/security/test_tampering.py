"""Tampering from inside the probe's interpreter, made useless where it can be and visible
where it cannot: code that walks the frames to the probe runner's channel can send a result
with the run's nonce and the next sequence number, but it must then stop the real runner from
answering too, and a child that ends right after a result loses that result (it runs again,
once, in a fresh child). The integrity scan flags the code for review in the gradebook,
results.json and the report. The README's threat model says what remains possible."""

import csv
import json
import os
import shutil

import pytest

from autograder.grading import grade_batch

from .conftest import REPO, honest_partial, skip_unless_the_sandbox_starts

FORGER = """
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        import sys
        frame, sender, index, given = sys._getframe(), None, None, None
        while frame is not None:
            here = frame.f_locals
            if "channel" in here and "index" in here:
                sender, index = here["channel"], here["index"]
            if isinstance(here.get("given"), dict) and {"layers", "X"} <= set(here["given"]):
                given = here["given"]
            frame = frame.f_back
        if sender is not None and given is not None:
            from autograder import wire
            X = given["X"]
            text, blob = wire.encode({"X": X, "Y": {"value": nn.Sequential(*given["layers"])(X)}})
            sender.result(index, text, blob, 0.0)
            AFTER
        raise NotImplementedError
"""
# What the forger does once its result is sent, so that the real probe runner's own answer
# does not give it away: stop the process, or announce the next probe itself and carry on.
AFTERS = {
    "exit": "import os; os._exit(0)",
    "announce-next": "sender.event('start', job=index + 1); return",
}


def modes() -> list[str]:
    return (["root"] if os.geteuid() == 0 else []) + ["user"]


@pytest.mark.parametrize("after", sorted(AFTERS))
@pytest.mark.parametrize("mode", modes())
def test_a_forged_result_is_voided_and_flagged(course, tmp_path, mode, after):
    skip_unless_the_sandbox_starts(mode)
    a = course.get("blocks")
    subs = tmp_path / "subs"
    (subs / "honest").mkdir(parents=True)
    shutil.copyfile(a.solution_dir / a.module, subs / "honest" / a.module)
    (subs / "forger").mkdir()
    (subs / "forger" / a.module).write_text(honest_partial(a) + "\n\n" + FORGER.replace("AFTER", AFTERS[after]))
    out = tmp_path / "out"
    batch = grade_batch(course, a, sorted(subs.iterdir()), out, sandbox=mode, devices=["cpu"])
    results = {r.name: r for r in batch.results}
    assert (results["honest"].score, results["honest"].status, results["honest"].integrity_flags) == (20, "graded", [])

    forger = results["forger"]
    passed = {t.test.title for t in forger.tests if t.outcome == "passed" and t.test.task == "MySequential"}
    # its honest work at most: a child whose channel was written out of order loses all it reported
    assert not passed and forger.score <= 3, (forger.score, passed)
    voided = [t.message for t in forger.tests if "not trusted" in t.message or "did not send" in t.message]
    assert voided, [t.message for t in forger.tests if t.test.task == "MySequential"]
    kinds = {f["kind"] for f in forger.integrity_flags}
    assert "frame access" in kinds, forger.integrity_flags
    row = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}["forger"]
    assert "frame access" in row["flags"]
    written = json.loads((out / "forger" / "results.json").read_text())
    assert any(f["kind"] == "frame access" for f in written["extra_data"]["integrity_flags"])
    assert "forger" in (out / "report.html").read_text()


def test_the_threat_model_says_so():
    readme = (REPO / "README.md").read_text()
    assert "same interpreter" in readme and "integrity" in readme.lower()


# A reply the grader could not parse (a probe's time nested some 950 lists deep: the host,
# near the bottom of its stack, reads and writes it back; the grader's worker, some frames
# deeper, cannot) used to leave the rest of that answer in the pipe, read as the next
# submission's: every later submission on that worker got another's results. Job by job
# the depth grows, so that one lands between the two stacks' limits wherever they are.
DESYNC = """
import sys as _sys


def _desync():
    from autograder import frames

    frame = _sys._getframe()
    while frame is not None and type(frame.f_locals.get("channel")).__name__ != "Sender":
        frame = frame.f_back
    if frame is None:
        return
    channel = frame.f_locals["channel"]
    if RAW == "frame":  # a frame of JSON deeper than any parser's stack
        channel._write(frames.pack_frame(b"[" * 100_000))
        return
    def huge(self, job, text, blob, seconds):  # a time no float holds
        self._event("done", {"job": job, "ok": False, "seconds": 10**400, "error": {"type": "E"}})

    def result(self, job, text, blob, seconds):
        depth = min(900 + 5 * job, 975)  # (past the host's own limit it would refuse the event)
        event = '{"e":"done","n":"%s","s":%d,"job":%d,"ok":true,"seconds":%s,"sizes":[%d,%d]}' % (
            self._nonce, self._seq, job, "[" * depth + "]" * depth, len(text), len(blob)
        )
        self._seq += 1
        self._write(frames.pack_frame(event.encode()) + frames.pack_frame(text) + frames.pack_frame(blob))

    type(channel).result = huge if RAW == "huge" else result


_desync()
"""


@pytest.mark.parametrize("raw", ["", "frame", "huge"], ids=["nested time", "nested frame", "huge time"])
@pytest.mark.parametrize("mode", modes())
def test_a_reply_the_grader_cannot_read_costs_no_later_submission_its_grade(course, tmp_path, mode, raw):
    skip_unless_the_sandbox_starts(mode)
    a = course.get("blocks")
    subs = tmp_path / "subs"
    solution = (a.solution_dir / a.module).read_text()
    for name, source in [
        ("a-attacker", solution + DESYNC.replace("RAW", repr(raw))),
        ("b-honest", solution),
        ("c-partial", honest_partial(a)),
        ("d-honest", solution),
    ]:
        (subs / name).mkdir(parents=True)
        (subs / name / a.module).write_text(source)
    batch = grade_batch(course, a, sorted(subs.iterdir()), tmp_path / "out", sandbox=mode, devices=["cpu"], workers=1)
    results = {r.name: r for r in batch.results}
    scores = {name: (r.score, r.status) for name, r in results.items()}
    assert scores["b-honest"] == scores["d-honest"] == (20, "graded"), scores
    assert scores["c-partial"] == (3, "graded"), scores
    assert results["a-attacker"].status != "internal error", scores  # its own doing, not the grader's
    assert all("host.py" not in t.message for t in results["a-attacker"].tests)  # no grader paths shown
