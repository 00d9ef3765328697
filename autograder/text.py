"""Student-controlled text: bounded, normalized, and escaped for the medium it is written to.

Everything a submission can influence (exception type names and messages, what it printed,
file names inside its archive, names and emails of a Gradescope export) is untrusted text.
It is normalized where the grader receives it (`clean`: one kind of line break; control
characters, terminal escapes, bidirectional overrides and lone surrogates each become U+FFFD;
a length cap) and escaped again where it is written: Markdown (`code_span`, `fenced`), CSV (`csv_cell`), the
terminal (`terminal`). HTML is escaped by jinja2's autoescaping (report.py).

No library is used for these few rules: markupsafe/jinja2 escape HTML only; `defusedcsv`
prefixes every cell that starts with `-` (negative numbers included) and rewrites `|`, and
rich strips only a handful of control codes; each rule here is a line or two with its test.
"""

from __future__ import annotations

import re

# Per item: an exception's type name, a single message, a note, one name of the export.
MAX_NAME_CHARS = 200
MAX_MESSAGE_CHARS = 4000
MAX_NOTE_CHARS = 1500
MAX_NOTES = 40
MAX_OUTPUT_CHARS = 64 * 1024
# Per submission: all messages and notes together; past it each further item keeps a stub.
SUBMISSION_TEXT_BUDGET = 40_000
STUB_CHARS = 300

# ESC-introduced sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes) and the 8-bit CSI.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI ... final
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC ... terminator
    r"|\x1b[ -/]*[0-~]?"  # two-byte and nF escapes
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
)
# Every line break Python's str.splitlines or a Markdown/HTML/terminal reader honours.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Bidirectional embeddings, overrides, isolates and marks: they reorder what a reader sees.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# The C0 and C1 control characters but tab and line feed (the others are line breaks, above).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted text, normalized: `\\n` the only line break, tabs kept, every other control
    character, terminal escape, bidirectional control and lone surrogate replaced by U+FFFD;
    capped."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    original = len(text)
    keep = 8 * limit + 1024  # never normalize megabytes to keep a few thousand characters
    text = text[:keep]
    text = _SURROGATES.sub("\ufffd", text)
    # what is taken out leaves a mark: removing it could join the halves of a hidden test's
    # line that the grader's redaction (which runs first) did not recognise while split
    text = _ANSI.sub("\ufffd", text)
    text = _BREAKS.sub("\n", text)
    text = _BIDI.sub("\ufffd", text)
    text = _CONTROLS.sub("\ufffd", text)
    if len(text) > limit or original > keep:
        from autograder.i18n import LEFT_OUT  # translated where it is shown, wherever it stands

        return text[:limit] + " " + LEFT_OUT.format(n=max(len(text), original) - limit)
    return text


def one_line(value: object, limit: int = MAX_NAME_CHARS) -> str:
    """`clean`, on one line: line breaks and tabs become spaces."""
    return re.sub(r"[\n\t]", " ", clean(value, limit))


def terminal(value: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text safe to print on a terminal: no escape sequence or control character survives."""
    return clean(value, limit)


# ------------------------------------------------------------------------------ Markdown


def _fence_for(text: str, char: str = "`", least: int = 3) -> str:
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)
    return char * max(least, longest + 1)


def code_span(value: object, limit: int = MAX_NOTE_CHARS) -> str:
    """Inline Markdown code that the text cannot close: a backtick run longer than any inside,
    padded with a space where the text starts or ends with a backtick (CommonMark 6.1)."""
    text = one_line(value, limit)
    if not text:
        return "` `"
    ticks = _fence_for(text, least=1)
    # CommonMark strips one space from each end when both have one, unless it is all spaces
    pad = " " if "`" in (text[0], text[-1]) or (text[0] == text[-1] == " " and text.strip()) else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(value: object, limit: int = MAX_MESSAGE_CHARS, indent: str = "") -> str:
    """A Markdown code block that no line of the text can close (its fence is longer than any
    backtick run inside), every line indented by `indent` (to stay inside a list item)."""
    text = clean(value, limit)
    fence = _fence_for(text)
    return "\n".join([f"{fence}text", *(indent + line for line in [*text.split("\n"), fence])])


# ------------------------------------------------------------------------------------- CSV

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# What spreadsheets read as the start of a formula (OWASP's list, with full-width forms).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object, limit: int = MAX_NOTE_CHARS) -> str:
    """A text cell a spreadsheet will not run: a leading `'` where it would start a formula.
    A plain number (`-1.5`, `+2`) is left as it is: no spreadsheet reads that as a formula."""
    text = one_line(value, limit) if isinstance(value, str) else ("" if value is None else str(value))
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_START) or text.lstrip(" ").startswith(_FORMULA_START[:4]):
        return "'" + text
    return text
