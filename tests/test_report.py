"""DIR/report.html opened in a real headless browser (Debian's chromium): it renders, says what
the gradebook says, fetches nothing, and shows what a submission raised as text, not markup."""

import csv
import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.catalog import course_at
from autograder.grading import Grader, grade_batch
from autograder.judge_runner import JudgeSuite
from autograder.outputs import NOT_RUN_DEVICES, feedback_markdown
from autograder.report import write_report
from autograder.results import NOT_GRADED, NOT_RUN

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
HOSTILE = "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>"
TRICKS = "trudy\u202egnp.exe\x1b[2J\x1b]0;owned\x07\u2028second line\u2066"


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("BLOCKGRADE_REQUIRE_BROWSER"):
        pytest.fail("no chromium on this machine; .ci/run installs Debian's chromium package")
    pytest.skip("no chromium here (.ci/run installs it): the report is not opened in a browser")


def run_browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    command = [browser(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


class Dom(HTMLParser):
    """The elements of a page with their attributes, text and enclosing section."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[dict] = []
        self.stack: list[dict] = []
        self.section = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs.get("id")
        parent = self.stack[-1] if self.stack else None
        element = {"tag": tag, "attrs": attrs, "text": "", "section": self.section, "parent": parent}
        self.elements.append(element)
        if tag not in ("meta", "br", "img", "line", "rect", "link", "input"):
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def cells(self, row: dict) -> list[str]:
        return [e["text"].strip() for e in self.elements if e["parent"] is row and e["tag"] in ("td", "th")]

    def title(self) -> list[str]:
        return [e["text"] for e in self.elements if e["tag"] == "title" and e["parent"]["tag"] == "head"]

    def find(self, tag, section=None, **attrs):
        return [
            e
            for e in self.elements
            if e["tag"] == tag
            and (section is None or e["section"] == section)
            and all(e["attrs"].get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    source = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    source += f"\n\ndef replicate(block, n):\n    raise ValueError({HOSTILE!r})\n"
    hostile = [root / f"mallory{i}" for i in range(3)]  # three of them: the most common failure
    for folder in hostile:
        folder.mkdir()
        (folder / "blocks.py").write_text(source, encoding="utf-8")
    trudy = root / "trudy"  # a message that would reorder or repaint what the reader sees
    trudy.mkdir()
    (trudy / "blocks.py").write_text(
        (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
        + f"\n\nraise ValueError({TRICKS!r})\n",  # a top-level error: its note is in the problems
        encoding="utf-8",
    )
    zed = root / "zed.zip"  # with eve's missing file, a submission that is not graded
    zed.write_bytes(b"this is not a zip archive")
    paths = sorted((REPO / "examples" / "01-blocks").iterdir()) + hostile + [trudy, zed]
    batch = grade_batch(COURSE, BLOCKS, paths, root / "out", devices=["cpu"], workers=1)
    with open(batch.gradebook, newline="", encoding="utf-8") as f:
        book = list(csv.DictReader(f))
    return batch, book, root


@pytest.fixture(scope="module")
def dom(graded, tmp_path_factory):
    batch, _, _ = graded
    result = run_browser(tmp_path_factory.mktemp("browser"), "--dump-dom", batch.report.as_uri())
    return Dom(result.stdout)


def test_the_page_renders_what_the_gradebook_says(graded, dom):
    """Every submission is in the gradebook's rows; the statistics are those of the submissions
    whose file was read, with their denominator, and the others have their own section."""
    _, book, _ = graded
    read = [r for r in book if r["status"] not in NOT_GRADED]
    assert {r["status"] for r in book} >= set(NOT_GRADED) and read
    assert dom.title() == [f"{BLOCKS.title}: class report"]
    bins = dom.find("g", class_="bin")
    counts = {b["attrs"]["data-label"]: int(b["attrs"]["data-count"]) for b in bins}
    assert sum(counts.values()) == len(read)
    # one bar per point (20 points): a score falls in the bar of its whole part
    assert {label: n for label, n in counts.items() if n} == Counter(str(int(float(r["score"]))) for r in read)
    (counted,) = dom.find("p", "summary", id="counted")
    assert f" {len(read)} " in counted["text"] and f" {len(book) - len(read)} " in counted["text"]
    rows = dom.find("tr", "submissions")[1:]
    assert [dom.cells(r)[:3] for r in rows] == [[r["submission"], r["score"], r["status"]] for r in book]
    not_graded = [dom.cells(r)[:2] for r in dom.find("tr", "not-graded")[1:]]
    assert not_graded == [[r["submission"], r["status"]] for r in book if r["status"] in NOT_GRADED]
    problems = [dom.cells(r)[0] for r in dom.find("tr", "problems")[1:]]
    assert problems == [r["submission"] for r in book if r["status"] not in ("graded", *NOT_GRADED)]
    for task in BLOCKS.tasks:
        row = next(r for r in dom.find("tr", "tasks") if dom.cells(r)[0] == task.id)
        full = sum(float(r[task.id]) == task.points for r in read)
        assert f"{100 * full / len(read):.0f}% ({full}/{len(read)})" in " ".join(row["text"].split())


def test_common_failures_are_counted(graded, dom):
    """Real mistakes only: a submission that was not graded fails no test here, and each pass
    rate says over how many submissions it was taken."""
    batch, book, _ = graded
    read = [r for r in batch.results if r.status not in NOT_GRADED]
    failed = Counter(t.test.name for r in read for t in r.tests if t.outcome == "failed")
    unread = {r.name for r in batch.results if r.status in NOT_GRADED}
    assert unread
    for row in dom.find("tr", "failures")[1:]:
        assert not unread & {name.strip() for name in dom.cells(row)[3].split(",")}, dom.cells(row)
    for row in dom.find("tr", "tests")[1:]:
        passed, failures = int(dom.cells(row)[2]), int(dom.cells(row)[3])
        assert passed + failures <= len(read) and f"({passed}/{passed + failures})" in dom.cells(row)[5]
    listed = [r for r in dom.find("tr", "failures")[1:]]
    assert listed, "failures were made but none is listed"
    counts = [int(dom.cells(r)[0]) for r in listed]
    assert counts == sorted(counts, reverse=True)
    for row in listed:
        count, test = dom.cells(row)[:2]
        assert 1 <= int(count) <= failed[test]


def test_what_a_submission_raised_is_text_not_markup(dom):
    assert not dom.find("script") and not dom.find("img")
    assert dom.title() == [f"{BLOCKS.title}: class report"]
    assert any(HOSTILE in e["text"] for e in dom.find("pre", "failures"))


def test_student_text_cannot_reorder_or_repaint_the_page(graded, dom):
    batch, _, _ = graded
    html = batch.report.read_text(encoding="utf-8")
    assert any("trudy\ufffdgnp.exe" in e["text"] for e in dom.find("td", "problems"))  # shown, marked
    for char in ("\u202e", "\u2066", "\u2028", "\x1b", "\x07"):
        assert char not in html


def test_the_page_is_self_contained(graded):
    batch, _, _ = graded
    html = batch.report.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html
    assert " src=" not in html.replace(" src=x", "")
    # links lead only to pages the batch wrote beside it (each written question's answers, similar pairs)
    for link in re.findall(r'href="([^"]*)"', html):
        assert not re.match(r"[a-z]+:|/", link) and (batch.report.parent / link).is_file(), link
    assert "url(" not in html


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_page_paints(graded, tmp_path):
    batch, _, _ = graded
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    shots = {}
    for name, page in (("report", batch.report), ("blank", blank)):
        shots[name] = tmp_path / f"{name}.png"
        run_browser(tmp_path, f"--screenshot={shots[name]}", "--window-size=1200,1600", page.as_uri())
        assert png_size(shots[name]) == (1200, 1600)
    # a painted page compresses far worse than an empty one of the same size
    assert shots["report"].stat().st_size > 5 * shots["blank"].stat().st_size


@pytest.fixture(scope="module")
def cpu_only(tmp_path_factory):
    """A runner with no GPU and no stand-in for one: every cuda:0 check is not run."""
    root = tmp_path_factory.mktemp("cpu-only")
    judges = JudgeSuite(BLOCKS, "hidden", ["cpu"], stand_in=False)
    with Grader(BLOCKS, "hidden", judges=judges) as grader:
        results = [
            grader.grade(REPO / "solutions" / "01-blocks" / "blocks.py", name="ada"),
            grader.grade(REPO / "student_template" / "01-blocks" / "blocks.py", name="stub"),
        ]
    report = write_report(root / "report.html", BLOCKS, results, len(results))
    return results, report, root


def test_checks_of_a_missing_device_make_one_note_not_a_row_each(cpu_only):
    results, report, root = cpu_only
    unrun = {t.test.name for t in results[0].tests if t.outcome == NOT_RUN and t.test.device == "cuda:0"}
    assert len(unrun) > 1, "the runner was to leave the cuda:0 checks out"
    dom = Dom(run_browser(root, "--dump-dom", report.as_uri()).stdout)
    rows = dom.find("tr", "tests")[1:]
    assert rows and not [r for r in rows if "cuda:0" in r["text"]]
    (note,) = dom.find("p", "tests", id="not-run")
    assert note["text"] == NOT_RUN_DEVICES.format(count=len(unrun), devices="cuda:0")
    # the student's feedback, likewise: one line for the device, not one per check
    feedback = feedback_markdown(results[1])
    section = feedback.split("## Not run", 1)[1].split("\n#", 1)[0].strip().splitlines()
    assert section == ["- " + NOT_RUN_DEVICES.format(count=len(unrun), devices="cuda:0")]


def test_why_a_submission_crashed_is_the_note_beside_it(tmp_path):
    """A probe whose data overruns the data budget crashes the submission (an INVALID probe):
    the report's "why" says so, not the first note of another kind (which file was graded)."""
    from dataclasses import replace

    greedy = tmp_path / "greedy"
    greedy.mkdir()
    source = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    forward = "return self.out(F.relu(self.hidden(X)))"
    assert forward in source
    # hw.py: its only Python file, graded as blocks.py, a note that says so comes first
    (greedy / "hw.py").write_text(source.replace(forward, "return torch.zeros(2**20)", 1), encoding="utf-8")
    limits = replace(BLOCKS.limits, data_mb=1)
    batch = grade_batch(COURSE, BLOCKS, [greedy], tmp_path / "out", devices=["cpu"], workers=1, limits=limits)
    (result,) = batch.results
    assert result.status == "crashed", (result.status, result.notes)
    over = [t.message for t in result.tests if t.test.task == "MLP" and t.outcome == "failed"]
    assert over and len(result.notes) > 1, (over, result.notes)
    dom = Dom(run_browser(tmp_path, "--dump-dom", batch.report.as_uri()).stdout)
    (row,) = [r for r in dom.find("tr", "problems")[1:] if dom.cells(r)[0] == "greedy"]
    name, status, why = dom.cells(row)
    assert status == "crashed" and why, dom.cells(row)
    assert all(why in message for message in over), (why, over)  # the failing check's own words
    assert "hw.py" not in why, why


def test_why_a_submission_loaded_in_part_is_the_import_note(tmp_path):
    """A submission whose module loaded in part (an import error): the report's "why" is what
    was left out and why, not which file was graded."""
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    forward = "return self.out(F.relu(self.hidden(X)))"
    assert forward in source
    unclosed = source.replace(forward, "return self.out(F.relu(self.hidden(X))", 1)  # a syntax error in one task
    (broken / "hw.py").write_text(unclosed, encoding="utf-8")
    batch = grade_batch(COURSE, BLOCKS, [broken], tmp_path / "out", devices=["cpu"], workers=1)
    (result,) = batch.results
    assert result.status == "import error" and len(result.notes) > 1, (result.status, result.notes)
    dom = Dom(run_browser(tmp_path, "--dump-dom", batch.report.as_uri()).stdout)
    (row,) = [r for r in dom.find("tr", "problems")[1:] if dom.cells(r)[0] == "broken"]
    name, status, why = dom.cells(row)
    assert status == "import error" and "left out" in why and "was graded as" not in why, dom.cells(row)
