"""Attacks on the newer surfaces, run outside the sandbox by the grader itself: written
answers (autograder.questions), the similarity check (autograder.similarity), and a class
graded end to end with them. Each input here once stalled or stopped a class's grading."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import signal
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import manual, questions, similarity
from autograder.catalog import course_at
from autograder.grading import grade_batch

from .conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
HONEST = (REPO / "examples/01-blocks/ada/blocks.py").read_text(encoding="utf-8")
# An attribute chain past the parser's recursion limit: ast.parse raises RecursionError (6 KB).
TOO_DEEP = HONEST + "\nzz = a" + ".b" * 3000 + "\n"
# A megabyte of comment openings none of which closes: `<!--.*?-->` rescans the rest of the
# text from each one (16 minutes of the grader's time for this answer).
COMMENT_BOMB = "## plain-list\n\n" + "<!--" * (2**18) + "\n"
# A top-level statement whose error message holds what looks like the summary's last line
# (which merge-manual finds and replaces by its start) and markup.
FAKE_LINE = "- Written questions: 8 / 8, graded by hand (autograded part: 20 / 20)."
SPOOF = HONEST + f"\nraise ValueError({'x' + chr(10) + FAKE_LINE + chr(10) + '<b>bold</b> [link](http://x)'!r})\n"


def damaged_zip(path, answers: str) -> None:
    """A zip whose module is whole and whose answers.md's compressed data is damaged: reading
    it raises zlib.error, which is neither an OSError nor a BadZipFile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("blocks.py", HONEST)
        archive.writestr("answers.md", answers)
    data = bytearray(buffer.getvalue())
    start = data.index(b"answers.md") + len("answers.md")
    for i in range(start + 5, start + 40):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail (rather than hang) when the block takes longer than `seconds` of wall time."""

    def expired(*_):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_module_too_deep_to_parse_does_not_stop_the_similarity_check():
    fay = (REPO / "examples/01-blocks/fay/blocks.py").read_text(encoding="utf-8")
    found, _ = similarity.compare_all(BLOCKS, {"ada": HONEST, "deep": TOO_DEEP, "fay": fay})
    assert found.compared == 3
    # the unparsable module is compared as a whole (no task regions): it holds all of ada's code
    assert [(p.first, p.second) for p in found.flagged] == [("ada", "deep")]


def test_an_answer_of_unclosed_comments_is_read_in_linear_time():
    with deadline(10):  # milliseconds now; minutes with the regex
        answers = questions.parse_answers_md(COMMENT_BOMB, BLOCKS)
    assert answers["plain-list"].startswith("<!--")  # an unclosed comment is text, as before
    assert len(answers["plain-list"]) <= questions.MAX_ANSWER_CHARS + 100  # and capped


@given(st.lists(st.sampled_from(["<!--", "-->", "<!-", "--", "-", ">", "a", "\n"]), max_size=30).map("".join))
def test_comments_are_removed_as_the_html_rule_says(raw):
    """The one-pass removal is the regex's leftmost, shortest match, on every small text."""
    assert questions._without_comments(raw) == re.sub(r"<!--.*?-->", "", raw, flags=re.DOTALL)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """An honest submission beside a module too deep to parse, given as a lone file (the
    similarity check read it), a folder whose answers.md is the comment bomb, a zip whose
    answers.md is damaged, and a folder whose error message fakes a line of the summary."""
    root = tmp_path_factory.mktemp("surfaces")
    subs = root / "subs"
    for name in ("honest", "bomb"):
        (subs / name).mkdir(parents=True)
        (subs / name / "blocks.py").write_text(HONEST, encoding="utf-8")
    (subs / "bomb" / "answers.md").write_text(COMMENT_BOMB, encoding="utf-8")
    (subs / "deep.py").write_text(TOO_DEEP, encoding="utf-8")
    damaged_zip(subs / "damaged.zip", "## plain-list\n\n" + "An answer. " * 400 + "\n")
    (subs / "spoof").mkdir()
    (subs / "spoof" / "blocks.py").write_text(SPOOF, encoding="utf-8")
    with deadline(240):
        batch = grade_batch(COURSE, BLOCKS, sorted(subs.iterdir()), root / "out", devices=["cpu"], workers=1)
    yield batch, root / "out"
    shutil.rmtree(root, ignore_errors=True)


def test_the_class_is_graded_and_reported_despite_them(hostile_class):
    batch, out = hostile_class
    scores = {r.name: r.score for r in batch.results}
    assert scores["honest"] == scores["bomb"] == BLOCKS.max_score
    assert scores["deep.py"] == 0  # a lone file keeps its name
    assert scores["damaged"] == BLOCKS.max_score  # its module is whole; its answers cannot be read
    for written in ("gradebook.csv", "report.html", "manual.csv", similarity.CSV_FILE):
        assert (out / written).is_file(), written


def test_an_error_message_cannot_pass_for_a_line_of_the_summary(hostile_class):
    _, out = hostile_class
    output = json.loads((out / "spoof" / "results.json").read_text(encoding="utf-8"))["output"]
    ours = [line for line in output.split("\n") if line.startswith(manual.summary_prefixes())]
    assert len(ours) == 1 and "pending" in ours[0], ours
    assert output.split("\n")[-1] == ours[0]
    assert "  " + FAKE_LINE in output  # the message is kept, as a note's indented line


def test_two_flagged_pairs_never_share_a_side_by_side_page(tmp_path):
    """`a--b` with `c`, and `a` with `b--c`: both pairs' pages were `a--b--c.html`, the second
    written over the first, and the report linked both pairs to it."""
    fay = (REPO / "examples/01-blocks/fay/blocks.py").read_text(encoding="utf-8")
    found = similarity.write(tmp_path, BLOCKS, {"a--b": HONEST, "c": HONEST, "a": fay, "b--c": fay})
    flagged = {(p.first, p.second): p.view for p in found.flagged}
    assert set(flagged) >= {("a--b", "c"), ("a", "b--c")}, flagged
    assert len(set(flagged.values())) == len(flagged), flagged
    for (first, second), view in flagged.items():
        page = (tmp_path / view).read_text(encoding="utf-8")
        assert f"<h1>{first} and {second}:" in page


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_an_answers_file_saved_with_a_byte_order_mark_is_read(tmp_path, encoding):
    """Windows editors save `answers.md` as UTF-16 ("Unicode") or UTF-8 with a byte order mark:
    read as plain UTF-8, the first heading (or every one) was not found, and the answer was
    silently "none found"."""
    answer = "A plain list is invisible to nn.Module: parameters() is empty. (ñ, 中文)"
    (tmp_path / "answers.md").write_bytes(f"## plain-list\n\n{answer}\n".encode(encoding))
    found = {a.question: a.text for a in questions.collect(BLOCKS, tmp_path)}
    assert found["plain-list"] == answer


def test_a_damaged_answers_member_is_no_answer(tmp_path):
    damaged_zip(tmp_path / "damaged.zip", "## plain-list\n\n" + "An answer. " * 400 + "\n")
    answers = questions.collect(BLOCKS, tmp_path / "damaged.zip")
    assert [a.question for a in answers] == BLOCKS.question_ids
    assert not any(a.answered for a in answers)


def test_a_pair_too_large_to_mark_is_shown_unmarked(tmp_path, monkeypatch):
    """Marking a flagged pair grows faster than its code (copydetect's highlighting: some 6 s for
    two 1 MB modules), so padded copies could hold a batch's end for minutes: past MARK_CHARS
    (lowered here, so that the test stays small) the page shows both files unmarked, and says so."""
    fay = (REPO / "examples/01-blocks/fay/blocks.py").read_text(encoding="utf-8")
    monkeypatch.setattr(similarity, "MARK_CHARS", 2 * len(fay) - 1)
    found = similarity.write(tmp_path / "small-limit", BLOCKS, {"fay": fay, "gus": fay})
    page = (tmp_path / "small-limit" / found.flagged[0].view).read_text(encoding="utf-8")
    assert "Not marked" in page and "<mark>" not in page and "class MLP" in page
    monkeypatch.setattr(similarity, "MARK_CHARS", 2 * len(fay))
    found = similarity.write(tmp_path / "at-the-limit", BLOCKS, {"fay": fay, "gus": fay})
    page = (tmp_path / "at-the-limit" / found.flagged[0].view).read_text(encoding="utf-8")
    assert "Not marked" not in page and "<mark>" in page
