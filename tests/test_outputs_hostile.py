"""Student-controlled text in every output: bounded, normalized, and escaped for its medium.

The helpers of `autograder.text` are checked one by one, then the outputs they protect:
feedback.md read back by a real CommonMark parser (markdown-it-py, which rich depends on),
gradebook.csv by the csv module, results.json by json, the CLI's table by rich itself.
"""

import csv
import io
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.console import Console

from autograder import text
from autograder.judge_runner import FAILED, NOT_RUN, PASSED, JudgeTest
from autograder.judge_runner import TestResult as Outcome
from autograder.outputs import Gradebook, feedback_markdown, results_json
from autograder.results import SubmissionResult

BREAKS = ["\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]
# Characters a hostile string is made of: Markdown, HTML, every break, control and bidi mark.
HOSTILE_CHARS = st.sampled_from(
    ["`", "~", "#", "*", "_", "[", "]", "(", ")", "<", ">", "&", "!", "|", "\\", "-", "=", "+", "@", " ", "\t",
     "\n", "a", "é", "\x00", "\x1b", "\x07", "\x7f", "\x9b", "\ud800", *BREAKS, *BIDI]
)  # fmt: skip
HOSTILE_TEXT = st.lists(HOSTILE_CHARS, max_size=40).map("".join)
MD = MarkdownIt("commonmark")


# ---------------------------------------------------------------------------------- clean


@pytest.mark.parametrize("brk", BREAKS)
def test_every_line_break_becomes_a_newline(brk):
    assert text.clean(f"one{brk}# 20 / 20") == "one\n# 20 / 20"


def test_terminal_escapes_controls_bidi_and_surrogates_are_removed():
    hostile = "a\x1b[31mred\x1b[0m \x1b]8;;https://x\x07link\x1b]8;;\x07 \x9b2J\x00\x07\x7f\u202egnp.exe \ud800!"
    mark = "\ufffd"  # each thing taken out leaves one, so that nothing is joined that was apart
    assert text.clean(hostile) == f"a{mark}red{mark} {mark}link{mark} {mark}{mark}{mark}{mark}{mark}gnp.exe {mark}!"
    assert text.clean("hidden te\x00st line") == f"hidden te{mark}st line"
    assert text.clean("tab\tkept\nline kept") == "tab\tkept\nline kept"


def test_a_cap_says_how_much_was_left_out():
    assert text.clean("x" * 50, 10) == "x" * 10 + " [… 40 more characters left out …]"
    huge = text.clean("y" * 12_000_000, 100)  # a 12 MB exception name keeps 100 characters
    assert huge.startswith("y" * 100) and "11999900 more characters" in huge and len(huge) < 200


def test_one_line_and_non_strings():
    assert text.one_line("a\nb\tc\u2028d") == "a b c d"
    assert text.clean(None) == "" and text.clean(12) == "12"


@given(HOSTILE_TEXT)
def test_clean_leaves_no_break_control_or_bidi_but_newline_and_tab(value):
    cleaned = text.clean(value)
    assert all(c in "\n\t" or (ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F) for c in cleaned)
    assert not any(c in cleaned for c in BREAKS + BIDI)
    cleaned.encode("utf-8")  # no lone surrogate: always writable
    assert text.clean(cleaned) == cleaned  # idempotent


# ------------------------------------------------------------------------------- Markdown


def inline_tokens(markdown: str) -> list:
    tokens = MD.parse(markdown)
    return [child for t in tokens if t.type == "inline" for child in t.children]


@given(HOSTILE_TEXT)
def test_a_code_span_holds_any_text_whole(value):
    children = inline_tokens(f"note: {text.code_span(value)}")
    spans = [c for c in children if c.type == "code_inline"]
    assert len(spans) == 1, children
    assert spans[0].content == (text.one_line(value) or " ")
    assert [c.type for c in children] == ["text", "code_inline"]


@given(HOSTILE_TEXT, st.sampled_from(["", "  "]))
def test_a_fence_holds_any_text_whole(value, indent):
    markdown = ("- " if indent else "") + text.fenced(value, indent=indent) + "\n\n# after\n"
    tokens = MD.parse(markdown)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    assert fences[0].content == text.clean(value) + "\n"
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["after"]  # nothing inside made a heading, and the fence closed
    assert not [t for t in tokens if t.type.startswith("html")]


# ------------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    "cell, written",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "' =1"),
        ("\r=1", "' =1"),
        ("  =1", "'  =1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-1.5", "-1.5"),
        ("+2", "+2"),
        ("1e-3", "1e-3"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("", ""),
    ],
)
def test_csv_cells_that_would_be_formulas_are_neutralized(cell, written):
    assert text.csv_cell(cell) == written


# --------------------------------------------------------------------------- whole outputs


@pytest.fixture
def blocks(course):
    return course.get("blocks")


def judge(task: str, title: str, device=None) -> JudgeTest:
    runs = device is None
    return JudgeTest(f"test_x.py::{title}", f"test_x.py::{title}", task, 1.0 if runs else 0.0, title, device, runs, ())


def submission(blocks, message: str, note: str, name="mallory", count=3, **extra) -> SubmissionResult:
    task = blocks.tasks[0].id
    tests = [Outcome(judge(task, f"check {i}"), FAILED, 0.0, message) for i in range(count)]
    tests.append(Outcome(judge(task, "passes"), PASSED, 1.0))
    tests.append(Outcome(judge(task, "gpu", "cuda:0"), NOT_RUN, 0.0, "Not run: " + note))
    return SubmissionResult(name, blocks, "hidden", "graded", tests, notes=[note], **extra)


FORGED = "fine\r# 20 / 20\r[full marks](https://evil.example)\u2028<img src=x onerror=alert(1)>\r```\r# more"


def test_feedback_keeps_student_text_in_code(blocks):
    origin = "x.zip:a\u2028# 20 / 20/blocks.py"
    result = submission(blocks, FORGED + "\n``````\n# forged heading", FORGED, origin=origin)
    markdown = feedback_markdown(result)
    tokens = MD.parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [f"{blocks.title}: 1 / 4", "Notes", "What to fix", blocks.tasks[0].id, "Not run"]
    children = [c for t in tokens if t.type == "inline" for c in t.children]
    assert not [c for c in children if c.type in ("link_open", "html_inline", "image")]
    assert not [t for t in tokens if t.type == "html_block"]
    fences = [t for t in tokens if t.type == "fence"]
    assert [f.content for f in fences] == [text.clean(FORGED) + "\n"] + [text.clean(result.tests[0].message) + "\n"] * 3
    assert "\r" not in markdown and "\u2028" not in markdown


def test_a_multi_line_note_stays_inside_its_list_item(blocks):
    result = submission(blocks, "x", "first line\n# 20 / 20\nthird")
    tokens = MD.parse(feedback_markdown(result))
    fence = next(t for t in tokens if t.type == "fence")
    opened = [t.type for t in tokens[: tokens.index(fence)]]
    assert opened.count("list_item_open") - opened.count("list_item_close") == 1  # the fence is in the item
    assert fence.content == "first line\n# 20 / 20\nthird\n"


def test_results_json_stays_valid_and_small_under_huge_strings(blocks):
    huge_type = "E" * 12_000_000
    message = f"Your code raised {huge_type}: boom"
    result = submission(blocks, message, "n" * 5_000_000, count=20, output="o" * 9_000_000)
    written = json.dumps(results_json(result), indent=2)
    assert len(written) < 400_000, len(written)
    data = json.loads(written)
    assert all(len(t["output"]) <= text.MAX_MESSAGE_CHARS + 80 for t in data["tests"])
    assert len(feedback_markdown(result)) < 200_000
    assert len(result.output) <= text.MAX_OUTPUT_CHARS + 80


def test_one_budget_for_a_whole_submission(blocks):
    result = submission(blocks, "m" * 100_000, "n", count=40)
    kept = [len(t.message) for t in result.tests if t.outcome == FAILED]
    assert sum(kept) < text.SUBMISSION_TEXT_BUDGET + text.MAX_MESSAGE_CHARS + 40 * (text.STUB_CHARS + 80)
    assert kept[0] > text.STUB_CHARS + 80 and kept[-1] <= text.STUB_CHARS + 80  # later ones are stubs
    many = SubmissionResult("x", blocks, "hidden", "graded", [], notes=[f"note {i}" for i in range(500)])
    assert len(many.notes) == text.MAX_NOTES + 1 and "460 more note(s)" in many.notes[-1]


def test_gradebook_cells_cannot_run_as_formulas(blocks, tmp_path):
    rows = [
        {"submission": "=cmd", "score": 1.5, "max_score": 20, "status": "graded", "tasks": {},
         "name": "=HYPERLINK(\"http://evil\",\"x\")", "email": "@evil", "sid": "-12", "flags": "+1"},
        {"submission": "ada", "score": 0, "max_score": 20, "status": "graded", "tasks": {},
         "name": "Ada\r\nLovelace", "email": "ada@example.org", "sid": "-1.5"},
    ]  # fmt: skip
    path = tmp_path / "gradebook.csv"
    gradebook = Gradebook(path, [t.id for t in blocks.tasks], ["name", "email", "sid"])
    for row in rows:
        gradebook.add(row)
    gradebook.write()
    with open(path, newline="", encoding="utf-8") as f:
        book = list(csv.DictReader(f))
    assert book[0]["name"].startswith("'=") and book[0]["email"] == "'@evil" and book[0]["submission"] == "'=cmd"
    assert book[0]["sid"] == "-12"  # a number: no spreadsheet runs it
    assert book[0]["flags"] == "+1" and book[0]["score"] == "1.5"
    assert book[1]["name"] == "Ada Lovelace" and book[1]["sid"] == "-1.5"
    for row in book:
        for cell in row.values():
            first = cell[:1]
            assert first not in ("=", "@", "\t", "\r") and (first not in ("+", "-") or text._NUMBER.fullmatch(cell))


def test_the_terminal_table_prints_no_escape(blocks):
    from autograder.cli import _print_batch

    hostile = "eve\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e"
    result = submission(blocks, "x", "y", name=hostile)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False, color_system=None)
    _print_batch(console, blocks, SimpleNamespace(results=[result], count=1, seconds=1.0))
    printed = buffer.getvalue()
    assert "eve" in printed and "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed


@pytest.mark.parametrize("width", [100, 50])
def test_a_long_name_never_hides_a_score_in_the_terminal_table(blocks, width):
    """A name as long as staging keeps (100 characters; Chinese ones take two cells each) is
    cut with an ellipsis; every score and status stays whole, within the terminal's width."""
    from autograder.cli import _print_batch

    names = ["王小明" * 12 + "-Pérez-García-de-la-Fuente", "Maria-" * 16, "ada"]
    results = [submission(blocks, "x", "y", name=n) for n in names]
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    _print_batch(console, blocks, SimpleNamespace(results=results, count=3, seconds=1.0))
    printed = buffer.getvalue()
    rows = [line for line in printed.split("┡")[1].split("└")[0].splitlines() if line.startswith("│")]
    assert len(rows) == 3, printed
    score = f"{results[0].score:g}/{results[0].max_score:g}"
    for row in rows:
        assert score in row and "graded" in row and cell_len(row) <= width, row
    assert sorted("…" in row for row in rows) == [False, True, True]  # the long names cut, ada whole
    assert any(row.startswith("│ ada ") for row in rows)


# ------------------------------------------------- what the grader receives from the sandbox


@pytest.mark.parametrize("error", ["a string", ["a", "list"], 7, {"type": ["x"], "message": {"a": 1}}, {}])
def test_a_forged_error_description_is_read_as_plain_text(error):
    from autograder.judge_runner import probe_failure_text
    from autograder.sandbox.client import ProbeOutcome, received_error

    received = received_error(error)
    assert set(received) == {"type", "message", "traceback"} and all(isinstance(v, str) for v in received.values())
    assert probe_failure_text(ProbeOutcome("p", None, "error", error=received)).startswith("Your code raised ")


def test_an_error_is_capped_where_it_is_received():
    from autograder.sandbox.client import received_error

    received = received_error({"type": "E" * 12_000_000, "message": "\r# 20 / 20" * 1_000_000, "traceback": None})
    assert len(received["type"]) < text.MAX_NAME_CHARS + 80 and "\n" not in received["type"]
    assert len(received["message"]) < text.MAX_MESSAGE_CHARS + 80 and "\r" not in received["message"]


@pytest.mark.parametrize(
    "info",
    [
        "nonsense",
        {"notes": "x", "present": "MLP"},
        {"notes": [1, {"kind": "syntax"}, {"kind": "runtime", "error": "boom", "line": "7"}, {"kind": "evil"}]},
        {"failed": ["x"], "message": {"a": 1}},
        {"present": ["MLP", 3, "not a name", "x" * 10], "notes": [{"kind": "unparsable"}] * 1000},
    ],
)
def test_a_forged_import_report_makes_notes_not_errors(info):
    from autograder.grading import _status, import_notes
    from autograder.sandbox.client import SandboxRun, received_import

    received = received_import(info)
    run = SandboxRun(outcomes={}, import_info=received)
    notes = import_notes(run, "blocks.py")
    assert all(isinstance(n, str) for n in notes) and len(notes) <= text.MAX_NOTES
    assert _status(run) in ("graded", "import error", "crashed", "timed out")
    assert all(isinstance(n, str) and n.isidentifier() for n in received["present"])


def test_flagged_source_lines_cannot_reorder_what_the_instructor_reads(blocks):
    source = "os.write(1, b'x')  # \u202e\u2066 }\u2066if (admin)\x1b[2J"
    flag = {"kind": "fd write", "line": 3, "source": source, "detail": "os.write"}
    result = SubmissionResult("x", blocks, "hidden", "graded", [], integrity_flags=[flag])
    kept = result.integrity_flags[0]
    assert kept["line"] == 3 and kept["detail"] == "os.write"
    assert kept["source"] == "os.write(1, b'x')  # \ufffd\ufffd }\ufffdif (admin)\ufffd"
