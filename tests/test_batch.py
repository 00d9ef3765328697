"""Batches as an instructor runs them: a Gradescope export as input, the same answer twice,
and a Ctrl-C that leaves a valid gradebook behind."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.catalog import course_at
from autograder.grading import grade_batch
from autograder.inputs import expand

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
SAMPLES = sorted((REPO / "examples" / "01-blocks").iterdir())

# As Gradescope writes it: Ruby symbols as keys, a Ruby-tagged score, a group submission, and
# one submission listed whose folder is missing from the export.
METADATA = """\
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.2e2
submission_102:
  :submitters:
  - :name: Ben Bitdiddle
    :sid: '1002'
    :email: ben@example.edu
  - :name: Cy D. Fect
    :sid: '1003'
    :email: cy@example.edu
  :created_at: 2026-11-20 11:00:00.000000000 -08:00
submission_103:
  :submitters:
  - :name: Eva Lu Ator
    :sid: '1004'
    :email: eva@example.edu
"""


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def export_zip(tmp_path: Path) -> Path:
    """An export of ada (a folder), ben (a zip Gradescope unpacked) and eva (listed, no files)."""
    target = tmp_path / "assignment_4242_export.zip"
    root = "assignment_4242_export/"
    with zipfile.ZipFile(target, "w") as z:
        z.writestr(root + "submission_metadata.yml", METADATA)
        z.write(REPO / "examples/01-blocks/ada/blocks.py", root + "submission_101/blocks.py")
        with zipfile.ZipFile(REPO / "examples/01-blocks/ben.zip") as ben:
            for info in ben.infolist():
                if not info.is_dir():
                    z.writestr(root + "submission_102/" + info.filename, ben.read(info))
    return target


def test_a_gradescope_export_is_graded_with_student_columns(tmp_path):
    export = export_zip(tmp_path)
    batch = grade_batch(COURSE, BLOCKS, [export], tmp_path / "out", devices=["cpu"], workers=1)
    plain = grade_batch(
        COURSE,
        BLOCKS,
        [REPO / "examples/01-blocks/ada", REPO / "examples/01-blocks/ben.zip"],
        tmp_path / "plain",
        devices=["cpu"],
        workers=1,
    )
    with open(batch.gradebook, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == [
        *("submission", "score", "max_score", "status", *BLOCKS.task_ids),
        *(*BLOCKS.question_ids, "written"),  # the written questions, graded by hand (test_manual.py)
        *("name", "email", "sid", "flags"),
    ]
    book = {r["submission"]: r for r in rows(batch.gradebook)}
    assert set(book) == {"submission_101", "submission_102", "submission_103"}
    assert (book["submission_101"]["name"], book["submission_101"]["email"]) == ("Ada Lovelace", "ada@example.edu")
    assert book["submission_102"]["name"] == "Ben Bitdiddle; Cy D. Fect"
    assert book["submission_102"]["email"] == "ben@example.edu; cy@example.edu"
    assert book["submission_103"]["status"] == "missing file" and book["submission_103"]["score"] == "0"
    # the same files graded from the export and as plain inputs earn the same
    by_name = {r["submission"]: r for r in rows(plain.gradebook)}
    for export_name, plain_name in (("submission_101", "ada"), ("submission_102", "ben")):
        columns = ["score", "status", *BLOCKS.task_ids]
        assert [book[export_name][c] for c in columns] == [by_name[plain_name][c] for c in columns]


def test_an_unpacked_export_folder_is_read_the_same_way(tmp_path):
    folder = tmp_path / "export"
    with zipfile.ZipFile(export_zip(tmp_path)) as z:
        z.extractall(folder)
    inputs = expand([folder / "assignment_4242_export"])
    assert [i.name for i in inputs] == ["submission_101", "submission_102", "submission_103"]
    assert inputs[1].columns["sid"] == "1002; 1003"
    assert inputs[0].member is None and Path(inputs[0].path).is_dir()


def test_a_broken_export_metadata_is_a_clear_error(tmp_path):
    target = tmp_path / "export.zip"
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("export/submission_metadata.yml", "submission_1: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "-a", "blocks", "-o", str(tmp_path / "out"), str(target)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "is not valid YAML" in result.stderr and "Traceback" not in result.stderr


def _comparable(folder: Path) -> dict:
    """Every file a batch wrote, with the one field allowed to differ (timings) removed."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "results.json":
            data = json.loads(text)
            assert isinstance(data.pop("execution_time"), (int, float))
            text = json.dumps(data, sort_keys=True)
        out[str(path.relative_to(folder))] = text
    return out


def test_grading_twice_gives_identical_results(tmp_path):
    # the samples, plus submissions whose outcome could depend on timing or randomness
    extra = tmp_path / "extra"
    for name, source in {
        "random": "import random, torch\nrandom.seed(); torch.seed()\n"
        + (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8"),
        "loops": "while True:\n    pass\n",
        "prints": "print('hello ' * 1000)\n" + (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8"),
    }.items():
        (extra / name).mkdir(parents=True)
        (extra / name / "blocks.py").write_text(source, encoding="utf-8")
    paths = SAMPLES + sorted(extra.iterdir())
    limits = BLOCKS.limits.replace(probe_seconds=2, submission_seconds=6)
    first = grade_batch(COURSE, BLOCKS, paths, tmp_path / "first", devices=["cpu"], limits=limits, workers=2)
    grade_batch(COURSE, BLOCKS, paths, tmp_path / "second", devices=["cpu"], limits=limits, workers=1)
    assert {r.name: r.status for r in first.results}["loops"] == "timed out"
    a, b = _comparable(tmp_path / "first"), _comparable(tmp_path / "second")
    # results + feedback each, the answers found, a page per question and per similar pair; gradebook, report,
    # manual.csv and similarity.csv
    answers = [n for n in a if "/answers/" in n]
    pages = [n for n in a if n.startswith(("manual/", "similarity/"))]
    assert a.keys() == b.keys() and len(a) == 2 * len(paths) + len(answers) + len(pages) + 4
    assert len(answers) >= 10 and len(pages) > len(BLOCKS.questions)
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"these differ between two gradings: {different}"


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory lies under `folder` (the kit's hosts and children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(folder)):
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_leaves_a_valid_gradebook_of_what_was_graded(tmp_path):
    subs = tmp_path / "subs"
    solution = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    for i in range(12):
        (subs / f"s{i:02d}").mkdir(parents=True)
        # slow to import, so that the batch is still running when Ctrl-C comes
        (subs / f"s{i:02d}" / "blocks.py").write_text("import time\ntime.sleep(1.5)\n" + solution, encoding="utf-8")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", "-a", "blocks", "-o", str(out), "-j", "2"]
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    grader = subprocess.Popen(
        command + sorted(str(p) for p in subs.iterdir()),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal: a shell's background job (CI's, say) hands down SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    gradebook = out / "gradebook.csv"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and grader.poll() is None:
        if gradebook.exists() and len(rows(gradebook)) >= 2:
            break
        time.sleep(0.1)
    assert grader.poll() is None, "the batch finished before it could be interrupted"
    os.killpg(grader.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole foreground group
    stdout, stderr = grader.communicate(timeout=60)
    assert grader.returncode == 130, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    graded = rows(gradebook)
    assert 2 <= len(graded) < 12
    assert all(r["score"] == "20" and r["status"] == "graded" for r in graded), graded
    pages = {"manual", "similarity"}  # the written questions' and the similar pairs' pages
    assert {r["submission"] for r in graded} == {p.name for p in out.iterdir() if p.is_dir()} - pages
    assert "interrupted" in (out / "report.html").read_text(encoding="utf-8")
    # nothing the batch started is left behind: no process, no temporary folder
    deadline = time.monotonic() + 10
    while _processes_in(private_tmp) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_in(private_tmp)
    assert not [p.name for p in private_tmp.iterdir() if p.name.startswith("blockgrade-")]
    shutil.rmtree(private_tmp)


def test_ctrl_c_while_a_result_is_recorded_takes_effect_once_it_is_whole():
    """A submission's folder, its gradebook row and its place in the results are written
    together or not at all: Ctrl-C in the middle waits for the end (found as a folder without a
    row after an interrupted batch)."""
    from autograder.grading import _whole_on_ctrl_c

    done = []
    # as from a terminal: a test run as a shell's background job (CI's, say) has SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with _whole_on_ctrl_c():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # Python runs the handler between two bytecodes: long before this ends
                done.append("the rest of the block")
        assert done == ["the rest of the block"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C is back to normal
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_slow_submission_holds_back_no_other_row_and_ctrl_c_keeps_them(tmp_path):
    """Two workers, one of them on a submission that runs to its import's 10 s limit: the
    others' rows are in the gradebook as each is graded, and Ctrl-C then keeps them all
    (workers given several submissions at a time returned them together, after the slow one)."""
    subs = tmp_path / "subs"
    solution = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    names = ["a1", "slow", "a2", "a3", "a4", "a5"]
    for name in names:
        (subs / name).mkdir(parents=True)
        slow = "import time\ntime.sleep(30)\n" if name == "slow" else ""  # (stopped at 10 s)
        (subs / name / "blocks.py").write_text(slow + solution, encoding="utf-8")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", "-a", "blocks", "-o", str(out), "-j", "2"]
    grader = subprocess.Popen(
        command + [str(subs / name) for name in names],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(private_tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    gradebook = out / "gradebook.csv"
    deadline = time.monotonic() + 8  # before the slow one's limit
    while time.monotonic() < deadline and not (gradebook.exists() and len(rows(gradebook)) >= 5):
        time.sleep(0.1)
    seen = sorted(r["submission"] for r in rows(gradebook)) if gradebook.exists() else []
    os.killpg(grader.pid, signal.SIGINT)
    grader.communicate(timeout=60)
    assert seen == ["a1", "a2", "a3", "a4", "a5"], seen
    assert grader.returncode == 130
    assert sorted(r["submission"] for r in rows(gradebook)) == seen
