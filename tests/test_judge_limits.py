"""Judging cannot hang or exhaust the grader: judges run in a forked child under a time and
memory cap (`autograder.limited`), and a submission whose data makes them overrun gets the
status `judging stopped` while the batch goes on.

The course here is built for the purpose: its judge is naive on purpose (it loops and
allocates by what the probe reports), as a careless author's judge would be."""

import os
import textwrap

import pytest

from autograder import limited
from autograder.catalog import course_at
from autograder.grading import grade_batch

TOML = """\
id = "tiny"
title = "Tiny"
module = "tiny.py"

[limits]
judge_seconds = 3
judge_memory_mb = 256

[[tasks]]
id = "value"
points = 2
summary = "value() returns a number below 1."
"""

PROBES = """
from autograder.contract import Attempt, Float, Int, Record
from autograder.probing import attempt, probe


@probe(task="value", returns=Record(x=Attempt(Float()), n=Attempt(Int(min=0))))
def reported(sub):
    return {"x": attempt(sub.value), "n": attempt(sub.size)}
"""

JUDGES = """
from autograder.judging import task, unwrap


@task("value", points=1)
def test_halving(reported):
    "halving reaches the value"
    x = unwrap(reported["x"], "value()")
    steps = 0
    while x > 1:  # naive: never ends for inf
        x /= 2
        steps += 1
    assert steps == 0, "value() should be below 1"


@task("value", points=1)
def test_size(reported):
    "size allocates"
    n = unwrap(reported["n"], "size()")
    buffer = bytearray(n)  # naive: allocates whatever was reported
    assert len(buffer) < 100, "size() should be small"
"""

SUBMISSIONS = {
    "honest": "def value():\n    return 0.5\n\ndef size():\n    return 10\n",
    "infinite": "def value():\n    return float('inf')\n\ndef size():\n    return 10\n",
    "huge": "def value():\n    return 0.5\n\ndef size():\n    return 2**34\n",
    "zz-honest": "def value():\n    return 0.25\n\ndef size():\n    return 1\n",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-course")
    suite = root / "assignments" / "01-tiny" / "tests" / "hidden"
    suite.mkdir(parents=True)
    (root / "assignments" / "01-tiny" / "assignment.toml").write_text(TOML)
    (root / "assignments" / "01-tiny" / "README.md").write_text("# Tiny\n")
    (suite / "probes.py").write_text(PROBES)
    (suite / "test_tiny.py").write_text(JUDGES)
    (root / "solutions" / "01-tiny").mkdir(parents=True)
    (root / "solutions" / "01-tiny" / "tiny.py").write_text(SUBMISSIONS["honest"])
    subs = root / "subs"
    for name, source in SUBMISSIONS.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "tiny.py").write_text(source)
    course = course_at(root)
    assignment = course.get("tiny")
    batch = grade_batch(
        course, assignment, sorted(subs.iterdir()), root / "out", sandbox="root" if os.geteuid() == 0 else "auto"
    )
    return {r.name: r for r in batch.results}, batch


def test_a_judge_that_loops_is_stopped_and_the_batch_goes_on(tiny):
    results, batch = tiny
    assert batch.count == 4 and len(results) == 4 and not batch.interrupted
    result = results["infinite"]
    assert result.status == "judging stopped" and result.score == 0, result.notes
    assert any("took longer than 3 s" in note for note in result.notes), result.notes
    assert all("stopped" in t.message for t in result.tests)


def test_a_judge_that_allocates_by_reported_size_is_capped(tiny):
    results, _ = tiny
    result = results["huge"]
    assert result.status == "judging stopped", result.status
    by_title = {t.test.title: t for t in result.tests}
    assert by_title["halving reaches the value"].outcome == "passed"  # the other check still counts
    assert "more than 256 MB" in by_title["size allocates"].message


def test_honest_submissions_around_them_keep_their_marks(tiny):
    results, _ = tiny
    for name in ("honest", "zz-honest"):
        assert (results[name].score, results[name].status) == (2, "graded"), results[name].notes


def test_the_judging_process_returns_values_and_stops_overruns():
    def run(fn, **limits):
        server = limited.Server(lambda data: fn())
        try:
            return server.run(b"", **limits)
        finally:
            server.close()

    assert run(lambda: {"a": [1, 2]}, seconds=5, memory_mb=64).value == {"a": [1, 2]}

    def forever():
        while True:
            pass

    assert run(forever, seconds=1, memory_mb=64).status == limited.TIMED_OUT

    def hog():
        blocks = []
        while True:
            blocks.append(bytearray(64 * 2**20))

    assert run(hog, seconds=20, memory_mb=128).status == limited.OUT_OF_MEMORY

    def broken():
        raise KeyError("x")

    outcome = run(broken, seconds=5, memory_mb=64)
    assert outcome.status == limited.FAILED and "KeyError" in outcome.detail


def test_a_judging_process_that_overran_leaves_no_process(tmp_path):
    before = set(os.listdir("/proc"))

    def sleeper(data):
        import time

        time.sleep(60)

    assert limited.Server(sleeper).run(b"", seconds=1, memory_mb=64).status == limited.TIMED_OUT
    children = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
    alive = []
    for pid in children:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[3] == str(os.getpid()):
                    alive.append(pid)
        except OSError:
            pass
    assert not alive, textwrap.shorten(str(alive), 200)


def test_probes_and_judges_import_helpers_beside_them_per_suite(tmp_path):
    """A helper module beside the probes and judges (`import inputs`) is theirs: a visible and a
    hidden suite may each have one of the same name, and each sees its own."""
    from autograder.judge_runner import JudgeSuite

    root = tmp_path / "course"
    base = root / "assignments" / "01-tiny"
    for suite, bound in (("visible", 1.0), ("hidden", 0.5)):
        folder = base / "tests" / suite
        folder.mkdir(parents=True)
        (folder / "inputs.py").write_text(f"BOUND = {bound}\n")
        (folder / "probes.py").write_text(
            PROBES.replace("from autograder.probing", "import inputs\nfrom autograder.probing")
        )
        (folder / "test_tiny.py").write_text(
            "import inputs\nfrom autograder.judging import task, unwrap\n\n\n"
            "@task('value', points=2)\ndef test_bound(reported):\n"
            "    x = unwrap(reported['x'], 'value()')\n"
            "    assert x < inputs.BOUND, f'value() should be below {inputs.BOUND}'\n"
        )
    (base / "assignment.toml").write_text(TOML)
    (base / "README.md").write_text("# Tiny\n")
    (root / "solutions" / "01-tiny").mkdir(parents=True)
    (root / "solutions" / "01-tiny" / "tiny.py").write_text(
        "def value():\n    return 0.75\n\ndef size():\n    return 1\n"
    )
    assignment = course_at(root).get("tiny")
    from autograder.grading import Grader

    outcomes = {}
    for suite in ("visible", "hidden"):
        JudgeSuite(assignment, suite)  # collects with its own helper
        with Grader(assignment, suite, sandbox="root" if os.geteuid() == 0 else "auto") as grader:
            result = grader.grade(root / "solutions" / "01-tiny")
        outcomes[suite] = (result.score, [t.message for t in result.tests])
    assert outcomes["visible"][0] == 2, outcomes
    assert outcomes["hidden"][0] == 0 and "below 0.5" in outcomes["hidden"][1][0], outcomes


@pytest.mark.parametrize(
    "parameter, says",
    [("reportd", "did you mean 'reported'?"), ("nothing_like_it", "the probes are: reported")],
)
def test_a_judge_parameter_that_names_no_probe_is_refused_when_the_suite_loads(tmp_path, parameter, says):
    """A misspelled probe name in a judge's parameters would fail every submission's check of
    it at run time (pytest's FixtureLookupError, shown to students); the suite refuses it
    when it loads instead, naming the judge and the closest probe, and `grade` stops before
    grading anyone."""
    from click.testing import CliRunner

    from autograder.cli import main
    from autograder.judge_runner import ConfigurationError, JudgeSuite

    suite = tmp_path / "assignments" / "01-tiny" / "tests" / "hidden"
    suite.mkdir(parents=True)
    (tmp_path / "assignments" / "01-tiny" / "assignment.toml").write_text(TOML)
    (tmp_path / "assignments" / "01-tiny" / "README.md").write_text("# Tiny\n")
    (suite / "probes.py").write_text(PROBES)
    (suite / "test_tiny.py").write_text(
        JUDGES.replace("def test_size(reported):", f"def test_size({parameter}):").replace(
            'unwrap(reported["n"]', f'unwrap({parameter}["n"]'
        )
    )
    assignment = course_at(tmp_path).get("tiny")
    with pytest.raises(ConfigurationError) as raised:
        JudgeSuite(assignment, "hidden")
    assert "test_size" in str(raised.value) and repr(parameter) in str(raised.value) and says in str(raised.value)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "tiny.py").write_text(SUBMISSIONS["honest"])
    out = tmp_path / "graded"
    result = CliRunner().invoke(
        main, ["grade", "--root", str(tmp_path), "--assignment", "tiny", "--out", str(out), str(tmp_path / "alice")]
    )
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output
    assert not (out / "alice" / "results.json").exists()
