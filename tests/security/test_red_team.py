"""Hostile submissions graded in one batch beside honest ones: each earns no more than its
honest work, leaves the others untouched, and the batch finishes."""

import json

import pytest

from autograder.outputs import feedback_markdown, results_json

from .attacks import attacks
from .conftest import HONEST, REPO

ATTACK_NAMES = [a.name for a in attacks("marker", 0)]


def running_with(marker: str) -> list[int]:
    import os

    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_an_attack_earns_its_honest_work_only(red_team, name):
    attack = red_team.attacks.get(name)
    if attack is None:
        pytest.skip(f"not run in the {red_team.mode} sandbox: it would harm this machine if it got through")
    result = red_team.results[name]
    failing = "\n".join(f"  {t.test.name}: {t.message[:160]}" for t in result.tests if t.outcome == "failed")
    assert result.score == attack.score, f"{name} earned {result.score}, expected {attack.score}\n{failing}"
    status = attack.status if isinstance(attack.status, str) else attack.status[red_team.mode]
    assert result.status == status, f"{name}: status {result.status!r}, expected {status!r}"
    assert result.sandbox == red_team.mode


def test_honest_submissions_are_unaffected(red_team):
    for name in HONEST:
        result = red_team.results[name]
        assert (result.score, result.status) == (20, "graded"), f"{name}: {result.score} {result.status}"


def test_every_output_is_what_the_grader_decided(red_team):
    """No forgery survives, now or from a daemon that outlived its run."""
    for name, result in red_team.results.items():
        written = json.loads((red_team.out / name / "results.json").read_text())
        expected = results_json(result)
        written.pop("execution_time")
        expected.pop("execution_time")
        assert written == expected, f"{name}/results.json was changed"
        assert (red_team.out / name / "feedback.md").read_text() == feedback_markdown(result)
    lines = (red_team.out / "gradebook.csv").read_text().splitlines()
    assert len(lines) == len(red_team.results) + 1 and not any("forged" in line for line in lines)
    for row in lines[1:]:
        name, score = row.split(",")[:2]
        assert float(score) == red_team.results[name].score


def test_nothing_the_batch_started_is_still_running(red_team):
    assert running_with(red_team.marker) == []


def test_no_feedback_repeats_hidden_test_source(red_team):
    hidden = (REPO / "assignments/01-blocks/tests/hidden/test_blocks.py").read_text().splitlines()
    secret = [line.strip() for line in hidden if len(line.strip()) >= 24]
    for name in red_team.results:
        for file in ("results.json", "feedback.md"):
            text = (red_team.out / name / file).read_text()
            leaked = [line for line in secret if line in text or json.dumps(line)[1:-1] in text]
            assert not leaked, f"{name}/{file} repeats hidden test source: {leaked[:2]}"


def test_outputs_stay_small_under_a_flood(red_team):
    size = (red_team.out / "output-flood" / "results.json").stat().st_size
    assert size < 100_000, f"results.json of the flood is {size} bytes"


def test_no_network(red_team):
    if red_team.mode == "basic":
        pytest.skip("the basic sandbox has no network namespace (README: what the sandbox guarantees)")
    assert red_team.listener.received == [], "a submission reached a socket on the grading machine"


def test_the_kit_itself_is_unchanged(red_team):
    before, after = red_team.fingerprints
    assert before == after, "a submission changed the kit's or torch's files"


def test_bad_archives_are_refused_and_write_nothing(red_team):
    for name in red_team.archives:
        result = red_team.results[name]
        assert (result.score, result.status) == (0, "bad archive"), f"{name}: {result.score} {result.status}"
        assert result.notes, f"{name} has no explanation"
    outside = list(red_team.outside.parent.rglob("escaped*.py")) + list(red_team.outside.glob("../escaped*"))
    assert not outside, f"an archive wrote {outside}"
    assert not __import__("os").path.exists("/tmp/escaped-absolute.py")
