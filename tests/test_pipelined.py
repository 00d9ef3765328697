"""A batch's one worker overlaps its submissions (`Grader.grade_many`): the sandbox runs each
submission while the grader judges the one before it, and the host starts a request that came
before its chores (forking spares, cleaning up the last child) and does them meanwhile. What
that saves is for benchmarks/speed.py to say; these check that it changes no grade, that a
failure of the grader's own on one submission costs no other, that stopping early leaves the
host in step, and that nothing of one submission reaches the next."""

import contextlib
import json
import os
from pathlib import Path

import pytest
from test_warm_path import tiny_course

from autograder import grading
from autograder.grading import Grader
from autograder.inputs import expand
from autograder.outputs import results_json
from autograder.results import GRADED, INTERNAL_ERROR

SANDBOX = "root" if os.geteuid() == 0 else "auto"
VALUES = [0.5, 0.25, 2.0, "1 +", 0.75, "__import__('os')._exit(3)", 0.125]


def submissions(folder: Path, values=VALUES) -> list:
    """One tiny submission per value (`def value(): return <value>`; a string is the body's
    expression as written, right or not), a folder with no module, and a zip that is not one."""
    paths = []
    for i, value in enumerate(values):
        path = folder / f"s{i}"
        path.mkdir(parents=True)
        (path / "tiny.py").write_text(f"def value():\n    return {value}\n")
        paths.append(path)
    (folder / "s_empty").mkdir()
    (folder / "s_bad.zip").write_bytes(b"PK\x03\x04 not a zip")
    return expand([*paths, folder / "s_empty", folder / "s_bad.zip"])


def comparable(result) -> str:
    data = results_json(result)
    data.pop("execution_time", None)
    return json.dumps(data, sort_keys=True) + result.status + repr(result.integrity_flags)


def one_by_one(grader, inputs) -> list:
    return [grader.grade(Path(i.path), i.name, i.member, i.problem) for i in inputs]


def overlapped(grader, inputs) -> list:
    with contextlib.closing(grader.grade_many(inputs)) as graded:
        return list(graded)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_course(tmp_path_factory.mktemp("course")).get("tiny")


def test_overlapped_grading_gives_each_submission_what_grading_it_alone_gives(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_COLLECTED", str(tmp_path / "collected.log"))
    inputs = submissions(tmp_path / "subs")
    with Grader(tiny, devices=["cpu"], sandbox=SANDBOX, warm_up=True) as grader:
        alone = one_by_one(grader, inputs)
        together = overlapped(grader, inputs)
    assert [r.name for r in together] == [i.name for i in inputs]
    assert [comparable(r) for r in together] == [comparable(r) for r in alone]
    # (what the submissions are: right, right, wrong, a syntax error, right, a crash, right,
    # no module, a bad zip; each scored as such, so the comparison above compares grades)
    assert [r.score for r in together] == [4, 4, 2, 0, 4, 0, 4, 0, 0]
    assert [r.status for r in together][5:] == ["crashed", GRADED, "missing file", "bad archive"]


def test_the_grader_failing_on_one_submission_costs_no_other_its_grade(tiny, tmp_path, monkeypatch):
    """The grader's own work on a submission raises while the host runs it (here, the static
    read of its source, made to fail on one): that submission is an internal error; its answer
    is still read, so the next submissions' answers are theirs."""
    monkeypatch.setenv("TINY_COLLECTED", str(tmp_path / "collected.log"))
    inputs = submissions(tmp_path / "subs", [0.5, 2.0, "0.25  # poison", 3.0, 0.75])
    scan = grading.scan_integrity

    def failing_scan(source, allowed):
        if "poison" in source:
            raise RuntimeError("the scan failed")
        return scan(source, allowed)

    monkeypatch.setattr(grading, "scan_integrity", failing_scan)
    with Grader(tiny, devices=["cpu"], sandbox=SANDBOX, warm_up=True) as grader:
        results = overlapped(grader, inputs)
    assert [r.name for r in results] == [i.name for i in inputs]
    assert results[2].status == INTERNAL_ERROR and "the scan failed" in results[2].notes[0]
    others = results[:2] + results[3:5]
    assert [(r.status, r.score) for r in others] == [(GRADED, 4), (GRADED, 2), (GRADED, 2), (GRADED, 4)]


def test_stopping_early_leaves_the_grader_in_step(tiny, tmp_path, monkeypatch):
    """A batch stopped after its first result (Ctrl-C) has the second submission running in the
    sandbox: its answer is never read, and the grader's next request gets its own answer."""
    monkeypatch.setenv("TINY_COLLECTED", str(tmp_path / "collected.log"))
    inputs = submissions(tmp_path / "subs", [0.5, 2.0, 3.0])
    with Grader(tiny, devices=["cpu"], sandbox=SANDBOX, warm_up=True) as grader:
        graded = grader.grade_many(inputs[:3])
        first = next(graded)
        graded.close()
        after = grader.grade(Path(inputs[0].path), "again")
        also = overlapped(grader, inputs[1:3])
    assert (first.status, first.score) == (GRADED, 4)
    assert (after.status, after.score) == (GRADED, 4)
    assert [(r.status, r.score) for r in also] == [(GRADED, 2), (GRADED, 2)]
