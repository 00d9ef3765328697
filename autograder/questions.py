"""Written questions: where students answer them, and reading the answers back.

An assignment declares its questions in `assignment.toml` (`[[questions]]`, autograder.catalog).
A student answers each one either

- in the notebook: after each question's prompt cell comes a markdown answer cell with
  nbgrader's "manually graded answer" metadata (`solution` and `grade` true, `points`, the
  question id as `grade_id`), holding `YOUR ANSWER HERE` until answered; or
- in `answers.md`, beside the module: one heading per question id (`## plain-list`), the
  answer under it. The template's file has the headings and each prompt as a quote.

Where both hold an answer to a question, `answers.md`'s counts (the notebook's is the
fallback). Reading answers never runs anything and never fails a grading: a file that cannot
be read counts as no answer. Answers are student text: cleaned and capped (autograder.text).
"""

from __future__ import annotations

import codecs
import json
import lzma
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from autograder import text
from autograder.catalog import Assignment, Question
from autograder.i18n import LANGUAGES, N_, _, localize, ngettext, speaks_assignment, using

ANSWERS_FILE = "answers.md"
ANSWER_STUB = "YOUR ANSWER HERE"  # nbgrader's stub for a manually graded answer (ClearSolutions.text_stub)
PROMPT_PREFIX = "prompt-"  # the read-only cell before each answer cell: prompt-<question id>
WRITTEN_HEADER_ID = "about-written"
MAX_ANSWER_CHARS = 20_000
MAX_ANSWERS_BYTES = 1 * 2**20
MAX_NOTEBOOK_BYTES = 20 * 2**20
SEARCH_DEPTH = 4
# what a zip member's damaged data raises while it is read (neither an OSError nor a BadZipFile)
_DAMAGED = (zlib.error, lzma.LZMAError)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(\S+)")


@dataclass(frozen=True)
class Answer:
    """A submission's answer to one question: its text ("" when unanswered) and where it was found."""

    question: str
    text: str
    origin: str = ""

    @property
    def answered(self) -> bool:
        return bool(self.text.strip())


@dataclass(frozen=True)
class Mark:
    """The score a grader gave one answer (merged from the sheet: autograder.manual)."""

    question: str
    score: float
    points: float
    comment: str = ""
    rubric: tuple[int, ...] = ()  # the rubric items the answer meets, numbered from 1


# ------------------------------------------------------------------------- what students get


def prompt_text(question: Question, assignment: Assignment) -> str:
    """A question's prompt in the active language (its assignment's catalogs; else English)."""
    return localize(question.prompt.strip(), assignment)


def _points(question: Question) -> str:
    """`3 points`, in the active language."""
    n = 1 if question.points == 1 else 2
    return ngettext("{points} point", "{points} points", n, points=f"{question.points:g}")


def _quote(question: Question, assignment: Assignment) -> list[str]:
    lines = prompt_text(question, assignment).splitlines()
    lines[0] = _("**{points}.** {text}", points=_points(question), text=lines[0])
    return ["> " + line if line.strip() else ">" for line in lines]


def answers_template(assignment: Assignment) -> str:
    """`answers.md` as the template gives it, in the active language: a heading per question
    id, its prompt quoted."""
    out = [
        _("# Written questions: {title}", title=localize(assignment.title, assignment)),
        "",
        _(
            "Answer each question in your own words under its heading, below the quoted question.\n"
            "Keep the headings as they are: grading finds your answers by them. (You may answer in\n"
            "the notebook instead, in the answer cell after each question; an answer here counts first.)"
        ),
        "",
    ]
    for q in assignment.questions:
        out += [f"## {q.id}", "", *_quote(q, assignment), "", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def notebook_cells(assignment: Assignment, make_cell: Callable[[str, str, str, dict | None], dict]) -> list[dict]:
    """The notebook's written part: a header, then per question a read-only prompt cell and an
    nbgrader manually graded answer cell (its `grade_id` the question id). `make_cell(kind,
    source, cell_id, nbgrader_metadata)` builds a cell as the notebook's builder does."""
    if not assignment.questions:
        return []

    def read_only(grade_id: str) -> dict:
        return {"grade": False, "grade_id": grade_id, "locked": True, "solution": False}

    n = 1 if assignment.written_points == 1 else 2
    points = ngettext("{points} point", "{points} points", n, points=f"{assignment.written_points:g}")
    header = _(
        "## Written questions ({points}, graded by hand)\n\n"
        "Answer each question in the cell below it, in your own words. "
        "(Or in `{answers}` beside this notebook, under the question's heading.)\n",
        points=points,
        answers=ANSWERS_FILE,
    )
    cells = [make_cell("markdown", header, WRITTEN_HEADER_ID, read_only(WRITTEN_HEADER_ID))]
    for q in assignment.questions:
        heading = _("### `{id}` ({points})", id=q.id, points=_points(q))
        prompt = f"{heading}\n\n{prompt_text(q, assignment)}\n"
        cells.append(make_cell("markdown", prompt, PROMPT_PREFIX + q.id, read_only(PROMPT_PREFIX + q.id)))
        answer = {"grade": True, "grade_id": q.id, "locked": False, "points": q.points, "solution": True}
        cells.append(make_cell("markdown", ANSWER_STUB + "\n", q.id, answer))
    return cells


# ------------------------------------------------------------------------------- reading back


def _without_comments(raw: str) -> str:
    """`raw` without its HTML comments (`<!-- ... -->`; an unclosed one is left as it is), in
    one pass: the regex `<!--.*?-->` rescans the rest of the text from every `<!--` that is not
    closed, and an answer of a megabyte of them held the grader for minutes."""
    out, at = [], 0
    while (start := raw.find("<!--", at)) >= 0:
        end = raw.find("-->", start + 4)
        if end < 0:
            break
        out.append(raw[at:start])
        at = end + 3
    out.append(raw[at:])
    return "".join(out)


def _clean_answer(raw: str) -> str:
    body = _without_comments(raw).strip()
    if body == ANSWER_STUB:
        return ""
    return text.clean(body, MAX_ANSWER_CHARS)


def parse_answers_md(source: str, assignment: Assignment) -> dict[str, str]:
    """Each question's text in an `answers.md`: what lies under the heading whose first word is
    the question's id, without the template's own lines (the prompt, quoted or not, in any of
    the kit's languages, and the answer stub) and comments."""
    ids = set(assignment.question_ids)
    given: dict[str, set[str]] = {q.id: {ANSWER_STUB} for q in assignment.questions}
    for language in LANGUAGES:  # a template built in one language may be graded in another
        with using(language):
            for q in assignment.questions:
                prompt = [line.strip() for line in prompt_text(q, assignment).splitlines() if line.strip()]
                given[q.id] |= {*prompt, *(line.strip() for line in _quote(q, assignment))}
    sections: dict[str, list[str]] = {}
    current = None
    for line in source.splitlines():
        heading = _HEADING.match(line)
        if heading and heading.group(1).strip("`*_:") in ids:
            current = heading.group(1).strip("`*_:")
            sections.setdefault(current, [])
            continue
        if current is not None and line.strip() not in given[current]:
            sections[current].append(line)
    return {qid: _clean_answer("\n".join(lines)) for qid, lines in sections.items()}


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def notebook_answers(data, assignment: Assignment) -> dict[str, str]:
    """Each question's text in a notebook: its answer cell (nbgrader `grade_id` = the question
    id) and any markdown cell the student added below its prompt or its answer cell (an answer
    typed in a new cell under the question, the answer cell left as it was); in a notebook
    without that metadata, a markdown cell headed by the question's id."""
    from autograder.notebooks import NotebookError, _cells, _nbgrader

    try:
        cells = [c for c in _cells(data) if isinstance(c, dict)]
    except NotebookError:
        return {}
    ids = set(assignment.question_ids)
    found: dict[str, str] = {}
    added: dict[str, list[str]] = {}  # markdown cells the student added under a question
    question = None  # the question whose prompt or answer cell came last
    for cell in cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if not isinstance(grade_id, str):  # a cell the student added: an answer typed there counts
            if question is not None and cell.get("cell_type") == "markdown":
                added.setdefault(question, []).append(_cell_source(cell))
            continue
        question = grade_id if grade_id in ids else grade_id.removeprefix(PROMPT_PREFIX)
        question = question if question in ids else None
        if grade_id in ids and cell.get("cell_type") == "markdown":
            found[grade_id] = _clean_answer(_cell_source(cell))
    if found:
        for q, texts in added.items():
            found[q] = _clean_answer("\n\n".join([found.get(q, ""), *texts]).strip())
        return found
    markdown = "\n\n".join(_cell_source(c) for c in cells if c.get("cell_type") == "markdown")
    return parse_answers_md(markdown, assignment)


@dataclass
class _Found:
    answers_md: str | None = None
    notebook: str | None = None
    answers_origin: str = ""
    notebook_origin: str = ""


def _decode(data: bytes) -> str:
    """Text saved as UTF-8, or with a byte order mark as Windows editors save it (UTF-16,
    "Unicode" in Notepad; UTF-8 with a BOM): read as plain UTF-8 those lost their headings."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (codecs.BOM_UTF8, "utf-8-sig"),
    ):
        if data.startswith(bom):
            return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def _read_file(path: Path, cap: int) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        return None
    return _decode(data)


def _is_renamed_notebook(assignment: Assignment, name: str) -> bool:
    """A notebook whose name says it is the assignment's (`blocks (1).ipynb`, `Blocks-王伟.ipynb`):
    staging grades its code (autograder.choosing), so its answer cells are the submission's too."""
    from autograder.choosing import ModuleFiles

    return name.lower().endswith(".ipynb") and not name.startswith("._") and ModuleFiles.of(assignment).named(name)


def _answering(readings, assignment: Assignment) -> tuple[str, str] | None:
    """Of the notebooks that may hold the answers ((origin, text): the assignment's own first,
    then its renamed copies, each the shallowest first), the first that answers a question, else
    the first: the template's untouched `blocks.ipynb` beside the `Copia de blocks.ipynb` a student
    worked in (Colab's copy) has no answers, the copy has them, and staging grades its code."""
    first = None
    for origin, content in readings:
        if content is None:  # (larger than a notebook may be)
            continue
        first = first or (origin, content)
        try:
            answered = any(notebook_answers(json.loads(content), assignment).values())
        except (ValueError, RecursionError):
            answered = False
        if answered:
            return origin, content
    return first


def _from_listing(
    names: list[str], read: Callable[[str, int], str | None], assignment: Assignment, found: _Found
) -> None:
    """The answers among a submission's files (relative names, `/`-separated, as a folder or a
    zip lists them; `read(name, cap)` a file's text, None where it cannot be read): the
    shallowest `answers.md`, and the notebook that answers (`_answering`)."""

    def shallowest(matching) -> list[str]:
        return sorted(matching, key=lambda n: (n.count("/"), n))

    answers = shallowest(n for n in names if PurePosixPath(n).name == ANSWERS_FILE)[:1]
    content = read(answers[0], MAX_ANSWERS_BYTES) if answers else None
    if content is not None:
        found.answers_md, found.answers_origin = content, answers[0]
    notebooks = shallowest(n for n in names if PurePosixPath(n).name == assignment.notebook)
    notebooks += shallowest(n for n in names if _is_renamed_notebook(assignment, PurePosixPath(n).name))
    readings = ((n, read(n, MAX_NOTEBOOK_BYTES)) for n in notebooks)
    found.notebook_origin, found.notebook = _answering(readings, assignment) or ("", None)


def _from_folder(folder: Path, assignment: Assignment, found: _Found) -> None:
    from autograder.choosing import folder_files

    listed, zips = folder_files(folder, SEARCH_DEPTH)  # the folder as staging lists it

    def read(name: str, cap: int) -> str | None:
        path = listed[name]
        regular = not path.is_symlink() and stat.S_ISREG(os.lstat(path).st_mode)
        return _read_file(path, cap) if regular else None

    _from_listing(list(listed), read, assignment, found)
    if found.answers_md is None and found.notebook is None and len(zips) == 1:
        _from_zip(zips[0], None, assignment, found)


def _from_zip(path: Path, member: str | None, assignment: Assignment, found: _Found) -> None:
    from autograder.staging import MAX_ZIP_MEMBERS, StagingError, zip_files, zip_members

    with zipfile.ZipFile(path) as archive:
        infos = zip_members(archive)
        if member is not None:
            infos = [i for i in infos if i.filename.replace("\\", "/").startswith(member)]
        if len(infos) > MAX_ZIP_MEMBERS:
            return
        try:
            members = zip_files(infos, member)
        except StagingError:
            return  # staging refuses the archive, and says why

        def read(name: str, cap: int) -> str | None:
            if members[name].file_size > cap:
                return None
            with archive.open(members[name]) as f:
                return _decode(f.read(cap + 1)[:cap])

        _from_listing(list(members), read, assignment, found)


def collect(assignment: Assignment, path: Path, member: str | None = None) -> list[Answer]:
    """The answers a submission holds, one per question in the catalog's order ("" where none):
    `path` is a folder, a zip, a notebook or an `answers.md` (or `member`, a folder inside the
    zip at `path`). Nothing here raises for a bad submission: what cannot be read is no answer."""
    if not assignment.questions:
        return []
    found = _Found()
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            _from_folder(path, assignment, found)
        elif stat.S_ISREG(mode) and path.name.lower().endswith(".zip"):
            _from_zip(path, member, assignment, found)
        elif stat.S_ISREG(mode) and path.name == ANSWERS_FILE:
            found.answers_md, found.answers_origin = _read_file(path, MAX_ANSWERS_BYTES), path.name
        elif stat.S_ISREG(mode) and path.name.endswith(".ipynb"):
            found.notebook, found.notebook_origin = _read_file(path, MAX_NOTEBOOK_BYTES), path.name
    except (OSError, ValueError, EOFError, NotImplementedError, RuntimeError, zipfile.BadZipFile, *_DAMAGED):
        pass
    from_md = parse_answers_md(found.answers_md, assignment) if found.answers_md else {}
    from_notebook: dict[str, str] = {}
    if found.notebook:
        try:
            from_notebook = notebook_answers(json.loads(found.notebook), assignment)
        except (ValueError, RecursionError):
            from_notebook = {}
    answers = []
    for q in assignment.questions:
        if from_md.get(q.id):
            answers.append(Answer(q.id, from_md[q.id], text.one_line(found.answers_origin, 300)))
        elif from_notebook.get(q.id):
            answers.append(Answer(q.id, from_notebook[q.id], text.one_line(found.notebook_origin, 300)))
        else:
            answers.append(Answer(q.id, ""))
    return answers


def answers_of(assignment: Assignment, item) -> list[Answer]:
    """The answers of a batch's input (an autograder.inputs.SubmissionInput), or none for an
    input that cannot be read as given."""
    if item is None or item.problem:
        return [Answer(q.id, "") for q in assignment.questions]
    return collect(assignment, Path(item.path), item.member)


def unanswered(assignment: Assignment, answers: list[Answer]) -> list[str]:
    """The ids of the questions without an answer, in catalog order."""
    done = {a.question for a in answers if a.answered}
    return [q for q in assignment.question_ids if q not in done]


# ------------------------------------------------------------------- a student's own folder


@dataclass
class Working:
    """The answers that go with a student's working file: those of `answers.md` beside it (and
    of the notebook, when it is the file), the files `submit` packs, and what to tell them."""

    answers: list[Answer]
    files: dict[str, bytes]
    warnings: list[str]


def working_answers(assignment: Assignment, path: Path) -> Working:
    """What `check` reports and `submit` packs for the working file `path` (a module or notebook)."""
    if not assignment.questions:
        return Working([], {}, [])
    folder = path.parent if path.is_file() else path
    files: dict[str, bytes] = {}
    from_md: dict[str, str] = {}
    answers_md = folder / ANSWERS_FILE
    if answers_md.is_file() and path.name != ANSWERS_FILE:
        content = _read_file(answers_md, MAX_ANSWERS_BYTES)
        if content is not None:
            files[ANSWERS_FILE] = content.encode("utf-8")
            from_md = parse_answers_md(content, assignment)
    from_notebook: dict[str, str] = {}
    # the notebook is the file itself when it is one, whatever its name (`check --file "blocks (1).ipynb"`)
    notebook = path if path.is_file() and path.name.endswith(".ipynb") else folder / assignment.notebook
    if notebook.is_file():
        try:
            from_notebook = notebook_answers(json.loads(_read_file(notebook, MAX_NOTEBOOK_BYTES) or ""), assignment)
        except (ValueError, RecursionError):
            from_notebook = {}
    packs_notebook = path.name.endswith(".ipynb")
    answers, warnings = [], []
    for q in assignment.questions:
        if from_md.get(q.id):
            answers.append(Answer(q.id, from_md[q.id], ANSWERS_FILE))
        elif packs_notebook and from_notebook.get(q.id):
            answers.append(Answer(q.id, from_notebook[q.id], path.name))
        else:
            answers.append(Answer(q.id, ""))
    stranded = [q for q, t in from_notebook.items() if t and not packs_notebook and not from_md.get(q)]
    if stranded:
        warnings.append(
            N_(
                "{notebook} answers {ids}, but you submit {name}: copy those answers into {answers}, "
                "or submit the notebook.",
                notebook=assignment.notebook,
                ids=", ".join(stranded),
                name=path.name,
                answers=ANSWERS_FILE,
            )
        )
    missing = unanswered(assignment, answers)
    if missing:
        warnings.append(
            N_(
                "written question(s) not answered yet: {ids} (answer in {answers} or in the notebook's answer cells).",
                ids=", ".join(missing),
                answers=ANSWERS_FILE,
            )
        )
    return Working(answers, files, warnings)


@speaks_assignment
def check_lines(assignment: Assignment, path: Path) -> list[str]:
    """`check`'s last lines: the written questions answered so far, and those still open (in
    the assignment's language)."""
    if not assignment.questions:
        return []
    work = working_answers(assignment, path)
    done = [a.question for a in work.answers if a.answered]
    lines = [
        _(
            "Written questions (graded by hand, {points:g} points): {done} of {n} answered.",
            points=assignment.written_points,
            done=len(done),
            n=len(assignment.questions),
        )
    ]
    open_ = unanswered(assignment, work.answers)
    if open_:
        lines.append(
            _(
                "Still unanswered: {ids} (in {answers} or the notebook's answer cells).",
                ids=", ".join(open_),
                answers=ANSWERS_FILE,
            )
        )
    lines += [localize(w, assignment) for w in work.warnings if not w.startswith("written question(s) not answered")]
    return lines
