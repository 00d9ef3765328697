"""Notebook submissions: the module a notebook stands for.

In an nbgrader-format notebook the module is made of its solution cells and its read-only
code cells (the handout's imports), in order; check cells and the setup cell do not run. Of a
cell a student added, only what the graded code needs runs: the definitions (a helper, a
constant, an import) that the graded cells use, and any definition of a task's name, each
where its cell stands (`helper_definitions`; the notebook check takes the same). A notebook
without nbgrader metadata (a student's own) contributes all its code cells. IPython magics
and shell lines (`%...`, `!...`) are dropped, since a module cannot run them; a cell under a
cell magic that runs it as the notebook's Python (`%%time`, `%%capture`) keeps its code, and
one under any other (`%%bash`, `%%timeit`) is left out, with a note naming it. The module
keeps a map of where each line came from (`LineMap`), so that an error names the notebook's
cell and its line, never a line of the made-up module.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autograder.i18n import N_

NBGRADER_SCHEMA = 3
CHECK_PREFIX = "check-"
SETUP_ID = "setup"
SETUP_MARKER = "# blockgrade setup"


class NotebookError(ValueError):
    """The notebook cannot be read as a notebook."""


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata; {} where there is none or it is not a mapping."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_setup_cell(cell) -> bool:
    """The template's first code cell, which readies the kernel: never part of the module."""
    if _nbgrader(cell).get("grade_id") == SETUP_ID:
        return True
    source = cell.get("source", "")
    first = source[0] if isinstance(source, list) and source else source
    return isinstance(first, str) and first.startswith(SETUP_MARKER)


def is_module_cell(cell, graded_notebook: bool) -> bool:
    if cell.get("cell_type") != "code" or is_setup_cell(cell):
        return False
    if not graded_notebook:
        return True
    meta = _nbgrader(cell)
    if meta.get("solution"):
        return True
    grade_id = meta.get("grade_id") if isinstance(meta.get("grade_id"), str) else ""
    return bool(meta.get("locked")) and not meta.get("grade") and not grade_id.startswith(CHECK_PREFIX)


# Cell magics that run the cell's code as Python in the notebook's own namespace, so that the
# names it defines exist after it runs (IPython's `%%time`, `%%capture`, `%%prun`): the code is
# kept. Any other (`%%timeit`, which runs it in a namespace of its own, `%%bash`, `%%script`,
# `%%writefile`, `%%html`, ...) leaves no Python name behind: the cell is dropped.
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "prun"})


def _cell_magics(lines: list[str]) -> tuple[int, str | None]:
    """How many leading lines of a cell are blank or a cell magic that runs the rest as Python
    (`%%capture` then `%%time`: each runs what follows it as a cell), and the cell magic that
    keeps the rest from running as the notebook's Python (`%%bash`), if one does."""
    start = 0
    while start < len(lines):
        line = lines[start].strip()
        if line.startswith("%%"):
            magic = line.split()[0]
            if magic[2:] not in PYTHON_CELL_MAGICS:
                return start, magic[:40]
        elif line:
            break
        start += 1
    return start, None


def cell_magic(source: str) -> str | None:
    """The cell magic (`%%bash`) that keeps a cell's code from running as the notebook's own
    Python, so that it is not graded; None when its code runs as Python."""
    return _cell_magics(source.splitlines())[1]


def strip_magics(source: str) -> tuple[str, int]:
    """The cell without IPython-only lines (kept as blank lines); and how many were dropped.
    A cell whose cell magic does not run it as the notebook's Python (`cell_magic`) is dropped whole."""
    lines = source.splitlines()
    start, dropping = _cell_magics(lines)
    if dropping is not None:
        return "", len(lines)
    kept, dropped = [""] * start, sum(1 for line in lines[:start] if line.strip())
    for line in lines[start:]:
        if line.lstrip().startswith(("%", "!")):
            kept.append("")
            dropped += 1
        else:
            kept.append(line)
    return "\n".join(kept), dropped


def _cells(data) -> list:
    """The cells of a notebook document (plain JSON: grading does not need nbformat's schemas)."""
    if not isinstance(data, dict):
        raise NotebookError("it is not a JSON object")
    if isinstance(data.get("cells"), list):
        return data["cells"]
    worksheets = data.get("worksheets")  # nbformat 3 kept cells in worksheets, code in "input"
    if isinstance(worksheets, list):
        cells = []
        for sheet in worksheets:
            sheet_cells = sheet.get("cells") if isinstance(sheet, dict) else None
            for cell in sheet_cells if isinstance(sheet_cells, list) else []:
                if isinstance(cell, dict):
                    cells.append({**cell, "source": cell.get("input", cell.get("source", ""))})
        return cells
    raise NotebookError("it has no list of cells")


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


# How `LineMap.at` names a notebook's cell in a note's "{module} line {line}: ...", for the
# catalogs (the note is translated where it is shown, this part of it as a field's value)
CELL_PLACES = (
    N_("{file} cell {number:d} ({name}),"),
    N_("{file} cell {number:d},"),
    N_("cell {number:d} ({name}),"),
    N_("cell {number:d},"),
)


def _name(cell: dict) -> str:
    """A solution cell's name (its nbgrader grade_id, the task's or the name's), "" for another cell."""
    grade_id = _nbgrader(cell).get("grade_id")
    named = isinstance(grade_id, str) and grade_id and not grade_id.startswith(("given-", "imports"))
    return grade_id[:60] if named else ""


def _label(number: int, cell: dict) -> str:
    return f"cell {number}" + (f" ({_name(cell)})" if _name(cell) else "")


@dataclass
class NotebookModule:
    """The module a notebook stands for, the notes on how it was made, and where each of its
    lines came from (so that an error cites the cell, not a line of this made-up module)."""

    source: str
    notes: list[str]
    lines: "LineMap"


def notebook_module(data: dict, filename: str = "notebook.ipynb", task_names: tuple[str, ...] = ()) -> NotebookModule:
    """The module of a notebook: its module cells, in order, and from the cells a student
    added, the definitions those cells use (a helper, a constant, an import) and any
    definition of a task's name (`task_names`), run where its cell stands, as running the
    notebook top to bottom would."""
    cells = _cells(data)
    graded = any(_nbgrader(c) for c in cells if isinstance(c, dict))
    chosen: list[tuple[int, dict, str]] = []  # (number, cell, code without magics)
    added: list[tuple[int, str]] = []
    notes, dropped = [], 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or is_setup_cell(cell):
            continue
        text, n = strip_magics(_text(cell))
        if is_module_cell(cell, graded):
            magic = cell_magic(_text(cell))
            if magic is not None:  # the cell is left out whole: say which, and why
                notes.append(_cell_magic_note(number, cell, magic))
            else:
                dropped += n
            chosen.append((number, cell, text))
        elif graded and not _nbgrader(cell):  # a cell the student added
            added.append((number, text))
    pieces = {number: ("whole", cell, text) for number, cell, text in chosen}
    if added:
        extra = helper_definitions([t for _, _, t in chosen], [t for _, t in added], task_names)
        by_cell: dict[int, list[Definition]] = {}
        for d in extra:
            by_cell.setdefault(d.cell, []).append(d)
        for index, found in by_cell.items():
            number, text = added[index]
            pieces[number] = ("added", found, text)
        notes += _added_notes(added, extra, task_names)
    builder = ModuleBuilder()
    for number in sorted(pieces):
        kind, what, text = pieces[number]
        if kind == "whole":
            builder.add(f"# --- notebook cell {number} ---", text, file=filename, cell=_label(number, what))
        else:
            names = sorted({n for d in what for n in d.names})
            builder.add(f"# --- notebook cell {number} (added: {', '.join(names)}) ---", "", file=filename, cell="")
            lines = text.split("\n")
            for d in what:
                builder.add(None, "\n".join(lines[d.first - 1 : d.last]), start=d.first, file=filename,
                            cell=f"cell {number}")
    if dropped:
        notes.append(N_("{dropped} IPython magic or shell line(s) of the notebook were left out.", dropped=dropped))
    return NotebookModule(builder.source(), notes, builder.line_map(filename))


def _cell_magic_note(number: int, cell: dict, magic: str) -> str:
    if _name(cell):
        return N_(
            "cell {number:d} ({name}) starts with {magic}, which does not run its code as the notebook's "
            "Python: the cell was not graded.",
            number=number,
            name=_name(cell),
            magic=magic,
        )
    return N_(
        "cell {number:d} starts with {magic}, which does not run its code as the notebook's Python: "
        "the cell was not graded.",
        number=number,
        magic=magic,
    )


def _added_notes(added: list[tuple[int, str]], extra: list["Definition"], task_names) -> list[str]:
    notes = []
    helpers = [d for d in extra if not set(d.names) & set(task_names)]
    if helpers:
        cells = sorted({added[d.cell][0] for d in helpers})
        names = sorted({n for d in helpers for n in d.names})
        fields = dict(cells=", ".join(map(str, cells)), names=", ".join(names))
        if len(cells) > 1:
            note = N_(
                "cells {cells} that you added define {names}, which your task cells use: "
                "those definitions were graded too (the rest of an added cell is not).",
                **fields,
            )
        else:
            note = N_(
                "cell {cells} that you added defines {names}, which your task cells use: "
                "those definitions were graded too (the rest of an added cell is not).",
                **fields,
            )
        notes.append(note)
    for d in extra:
        tasks = sorted(set(d.names) & set(task_names))
        if tasks:
            notes.append(
                N_(
                    "cell {cell}, which you added, defines {names}: that definition was graded where the cell "
                    "stands, replacing any before it, as running the notebook top to bottom would.",
                    cell=added[d.cell][0],
                    names=", ".join(tasks),
                )
            )
    return notes


def module_source_from_notebook(data: dict, task_names: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    made = notebook_module(data, task_names=task_names)
    return made.source, made.notes


# ------------------------------------------------------------------------ cells a student added


@dataclass(frozen=True)
class Definition:
    """A top-level statement of an added cell that binds names the module needs."""

    cell: int  # index in the list of added cells
    first: int  # its lines in the cell's code (1-based, decorators included)
    last: int
    names: tuple[str, ...]


def _bound(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    if isinstance(node, ast.Assign):
        return tuple(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return (node.target.id,)
    return ()


def global_references(source: str) -> set[str]:
    """The module-level names `source` reads, at its top level or from inside its functions
    and classes (their own locals and parameters excluded), by the standard `symtable`."""
    import symtable

    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found: set[str] = set()
    stack = [table]
    while stack:
        t = stack.pop()
        for symbol in t.get_symbols():
            if symbol.is_referenced() and (t.get_type() == "module" or symbol.is_global()):
                found.add(symbol.get_name())
        stack += t.get_children()
    return found


def _top_level(source: str) -> list[ast.stmt]:
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def helper_definitions(
    included: list[str], added: list[str], task_names: tuple[str, ...] = ()
) -> list[Definition]:
    """The top-level statements of `added` (cells a student added) that `included` (the code
    that is graded) needs: each defining a name the graded code reads and does not define
    itself, the last such definition of each name, then, in turn, what those need; and any
    statement defining one of `task_names`. In the added cells' order."""
    defined: set[str] = set()
    wanted: set[str] = set()
    for source in included:
        for node in _top_level(source):
            defined.update(_bound(node))
        wanted |= global_references(source)
    statements = []  # (cell, node, names, lines)
    for index, source in enumerate(added):
        lines = source.split("\n")
        for node in _top_level(source):
            names = _bound(node)
            if names:
                first = first_line(node)
                statements.append((index, node, names, "\n".join(lines[first - 1 : node.end_lineno])))
    chosen: set[int] = {i for i, (_, _, names, _) in enumerate(statements) if set(names) & set(task_names)}
    needed = wanted - defined
    seen: set[str] = set()
    while needed - seen:
        name = next(iter(sorted(needed - seen)))
        seen.add(name)
        last = max((i for i, s in enumerate(statements) if name in s[2]), default=None)
        if last is not None and last not in chosen:
            chosen.add(last)
            needed |= global_references(statements[last][3]) - defined
    return [
        Definition(statements[i][0], first_line(statements[i][1]), statements[i][1].end_lineno, statements[i][2])
        for i in sorted(chosen)
    ]


# ------------------------------------------------------------------------ where a line came from


@dataclass(frozen=True)
class Span:
    """Lines `first`..`last` of a made-up module are lines `start`.. of a cell or a file."""

    first: int
    last: int
    start: int
    file: str  # "blocks.ipynb", "blocks.py", or "" for a kernel's cell
    cell: str  # "cell 4 (MLP)", "Cell In[7]", or "" for a file's own lines


class ModuleBuilder:
    """A module put together from pieces, remembering where each piece's lines came from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.spans: list[Span] = []

    def add(self, header: str | None, text: str, *, start: int = 1, file: str = "", cell: str = "") -> None:
        if header is not None:
            if self.lines:
                self.lines.append("")
            self.lines.append(header)
        body = text.rstrip("\n").split("\n") if text.strip() else []
        if body:
            first = len(self.lines) + 1
            self.lines += body
            self.spans.append(Span(first, len(self.lines), start, file, cell))

    def source(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def line_map(self, name: str = "") -> "LineMap":
        return LineMap(self.spans, name)


# A task's name that loading the module left out for a syntax error, as the judge says it
# (`judge_runner._why_missing`, in the judging process, which knows the module's lines only) and
# as a notebook's map (`LineMap.rewrite`) cites it: the notebook, the cell, the cell's lines.
NOT_DEFINED_SYNTAX = N_(
    "`{name}` is not defined in {module}: its definition (lines {first}–{last}) has a syntax error "
    "at line {line} ({message}), so it was left out."
)
NOT_DEFINED_SYNTAX_IN_CELL = N_(
    "`{name}` is not defined in {module}: its definition ({place} lines {first}–{last}) has a syntax error "
    "at line {line} ({message}), so it was left out."
)
# how each of the judge's sentences on a name left out begins (`judge_runner._why_missing`)
NOT_DEFINED_START = "`{name}` is not defined in {module}"


def _format_regex(message: str) -> str:
    """A regular expression matching what `message.format(...)` makes: each field a named group
    (one line's worth; `first`, `last` and `line` a number)."""
    import string

    regex = []
    for literal, field, _spec, _conversion in string.Formatter().parse(message):
        regex.append(re.escape(literal))
        if field is not None:
            regex.append(f"(?P<{field}>[0-9]+)" if field in ("first", "last", "line") else f"(?P<{field}>[^\\n]+?)")
    return "".join(regex)


class LineMap:
    """Says, for a line of a made-up module, which cell (or file) and line it is; `name` is the
    file the student wrote (the notebook), which a sentence naming the module names instead."""

    def __init__(self, spans: list[Span], name: str = "") -> None:
        self.spans = list(spans)
        self.name = name

    def locate(self, line: int) -> tuple[Span, int] | None:
        for span in self.spans:
            if span.first <= line <= span.last:
                return span, span.start + line - span.first
        return None

    def _holding(self, line: int) -> Span | None:
        """The span holding module line `line`, else the last one before it (a line between two
        cells: a cell's header, a blanked magic), else the first one."""
        before = [s for s in self.spans if s.first <= line]
        return before[-1] if before else (self.spans[0] if self.spans else None)

    def block(self, first: int, last: int, line: int, module: str, file: bool = True) -> tuple[str, int, int, int]:
        """Where module lines `first`..`last` (a definition), with an error at `line`, are: the
        cell (or file) holding `line`, as `at` names it, and the block's and the error's lines in
        it, the block cut to that cell's lines (the module's block can run on past the cell's
        end, over the next cell's header and blanked magics). `file=False`: the cell without
        its file's name ("cell 4 (MLP),"), for a sentence that names the notebook."""
        span = self._holding(line)
        if span is None:
            return module, first, last, line
        line = min(max(line, span.first), span.last)
        first, last = max(first, span.first), min(last, span.last)
        if first > last:
            first = last = line
        where, at = self.at(line, module)
        if not file and span.cell:
            where = f"{span.cell},"
        return where, span.start + first - span.first, span.start + last - span.first, at

    def at(self, line: int, module: str) -> tuple[str, int]:
        """Where module line `line` is, as the file (or cell) and its line: ("blocks.ipynb cell
        4 (MLP),", 9), ("Cell In[7],", 3), ("blocks.py", 12); (`module`, `line`) if unknown.
        Written "{place} line {line}", each reads as a sentence's start."""
        found = self.locate(line)
        if found is None:
            return module, line
        span, at = found
        if span.cell:
            return f"{span.file + ' ' if span.file else ''}{span.cell},", at
        return span.file or module, at

    def place(self, line: int, module: str) -> str:
        """`blocks.ipynb cell 4 (MLP), line 9`, `Cell In[7], line 3`, `blocks.py line 12`."""
        where, at = self.at(line, module)
        return f"{where} line {at}"

    def rewrite(self, text: str, module: str) -> str:
        """A traceback's `File "blocks.py", line 37` as the cell (or file) and line it is."""

        def where(match: re.Match) -> str:
            found = self.locate(int(match.group(1)))
            if found is None:
                return match.group(0)
            span, at = found
            if span.cell and span.file:
                return f'File "{span.file}", {span.cell}, line {at}'
            if span.cell:
                return f"{span.cell}, line {at}"
            return f'File "{span.file or module}", line {at}'

        text = re.sub(rf'File "{re.escape(module)}", line (\d+)', where, text)
        return self._not_defined(text, module)

    def _not_defined(self, text: str, module: str) -> str:
        """The judge's sentence on a name left out (it starts `text`: `NOT_DEFINED_START`) naming
        the notebook, not the module, and citing its definition's cell and lines in that cell."""
        if not self.name or not text.startswith("`"):
            return text
        syntax = re.match(_format_regex(NOT_DEFINED_SYNTAX) + r"(?=\n|\Z)", text)
        if syntax is not None and syntax["module"] == module:
            place, first, last, line = self.block(
                int(syntax["first"]), int(syntax["last"]), int(syntax["line"]), module, file=False
            )
            cited = N_(
                NOT_DEFINED_SYNTAX_IN_CELL,
                name=syntax["name"],
                module=self.name,
                place=place,
                first=first,
                last=last,
                line=line,
                message=syntax["message"],
            )
            return cited + text[syntax.end() :]
        named = _format_regex(NOT_DEFINED_START.replace("{module}", "")) + re.escape(module)
        start = re.match(named + r"(?![\w.])", text)
        if start is None:
            return text
        return text[: start.end() - len(module)] + self.name + text[start.end() :]


def first_line(node: ast.stmt) -> int:
    """Where a top-level statement starts: its first decorator, if it has one."""
    return node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno


# ------------------------------------------------------------------------ the template's notebook


def _cell(kind: str, source: str, cell_id: str, nbgrader: dict | None) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": NBGRADER_SCHEMA, "task": False, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _read_only(grade_id: str) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": True, "solution": False}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


SETUP_CELL = """\
{marker}: run this cell first. It moves the kernel to this assignment's folder (as `%cd`
# would; the checks need its tests) and says whether the course's kit, which runs them, is installed.
import os
from pathlib import Path


def _blockgrade_setup(assignment={id!r}, module={module!r}, limit=5000):
    def home(folder):  # the assignment's folder: its module beside an assignment.toml with its id
        try:
            toml = (folder / "assignment.toml").read_text(encoding="utf-8")
        except OSError:
            return False
        ids = {{line.split("#")[0].replace(" ", "") for line in toml.splitlines()}}
        return (folder / module).is_file() and bool(ids & {{f'id="{{assignment}}"', f"id='{{assignment}}'"}})

    def below(root, depth=4):  # folders under `root`, nearest first, hidden ones skipped
        level, seen = [root], 0
        for _ in range(depth):
            following = []
            for folder in level:
                try:
                    children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
                except OSError:
                    continue
                for child in children:
                    seen += 1
                    if seen > limit:
                        return
                    yield child
                    following.append(child)
            level = following

    if os.environ.get("NBGRADER_EXECUTION"):  # nbgrader is grading: it runs where it should
        return
    here = Path.cwd()
    colab = bool(os.environ.get("COLAB_RELEASE_TAG")) or Path("/content/sample_data").is_dir()
    roots = [here] + [Path(p) for p in ("/content", "/content/drive/MyDrive") if colab and Path(p) != here]
    found = here if home(here) else next((f for r in roots for f in below(r) if home(f)), None)
    if found is None:
        print({not_found}.format(module=module, here=here))
        print({unpack})
        return
    moved = found == here
    if not moved:
        try:
            get_ipython().run_line_magic("cd", f"-q {{found}}")  # noqa: F821 - the kernel's own %cd
            moved = True
        except NameError:  # not in IPython: nothing to move
            pass
    print(({working} if moved else {elsewhere}).format(found=found))
    try:
        from autograder.notebook_check import check  # noqa: F401
    except ImportError:
        pass
    else:
        print({installed})
        return
    kits = [*sorted((found / ".github").glob("*")), found.parent / "kit", found.parent.parent]
    kit = next((k for k in kits if (k / "pyproject.toml").is_file() and (k / "autograder").is_dir()), None)
    where = f'"{{kit}}"' if kit else {kit_folder}
    print({not_installed})
    if colab:
        print(f"    %pip install -q {{where}}")
    else:
        pins = kit / "constraints.txt" if kit else None
        constraints = f' -c "{{pins}}"' if pins and pins.is_file() else ""
        print(f"    %pip install{{constraints}} {{where}}")


_blockgrade_setup()
del _blockgrade_setup
"""


NOTEBOOK_HELP = N_("""\
## Working in the notebook (Jupyter or Colab)

Run the first code cell of `{notebook}` before the others: it moves the notebook to this
folder (as `%cd` would), says whether the course's kit is installed and, if it is not, prints
the line that installs it. By hand, in a notebook cell:

    %cd {slug}
    %pip install -q ../kit

(`%cd` from the folder you unpacked or cloned, to this one; the kit is `kit/` beside this
folder in the release zip). In Colab, upload the zip your course gave you (the folder icon,
then upload), and in a cell:

    !unzip -q ZIP
    %cd FOLDER/{slug}

with the zip's name as uploaded for ZIP, and for FOLDER the folder it made, if any (`!ls`
shows it); then `%pip install -q ../kit` as above (Colab keeps its own torch). In a GitHub
Classroom repository this folder is the repository and the kit is `.github/blockgrade/`.

Each task ends with a check cell: it runs the task's visible tests on the cells you have run.
What is graded is the notebook's solution cells, with what they use from cells you add (a
helper function, a constant, an import); the rest of an added cell is not graded, nor are the
check cells. An error names the cell and its line (`cell 7 (MLP), line 3`; in a check,
`Cell In[12], line 3`). With both `{module}` and `{notebook}` in one folder or zip, the one
with more tasks written (no `raise NotImplementedError` left) is checked and graded.
""")


def notebook_help(assignment) -> str:
    """The student README's section on working in the notebook (Jupyter, Colab), in the active
    language (autograder.i18n)."""
    from autograder.i18n import _

    return _(NOTEBOOK_HELP, notebook=assignment.notebook, slug=assignment.slug, module=assignment.module)


def setup_cell_source(assignment) -> str:
    """The template notebook's first code cell: finds the assignment's folder and moves the
    kernel there, and says what to install when the kit is missing (never part of the module)."""
    from autograder.i18n import _

    # the messages it prints, in the active language: literals filled by the cell (str.format)
    said = {
        "not_found": _("This notebook's folder (with {module} and assignment.toml) is not under {here}."),
        "unpack": _(
            "Unpack the assignment there (Colab: upload the zip, then `!unzip -q ZIP`), run\n"
            "`%cd FOLDER` with the folder that holds them, and run this cell again."
        ),
        "working": _("Working in {found}."),
        "elsewhere": _("The assignment is in {found}: work from there."),
        "installed": _("The kit is installed: each task's check cell runs its visible tests."),
        "kit_folder": _("KIT (the kit folder your course gave you: kit/ in the release zip)"),
        "not_installed": _(
            "The course's kit is not installed in this kernel. Install it in a cell, then run this one again:"
        ),
    }
    said = {key: repr(text) for key, text in said.items()}
    return SETUP_CELL.format(marker=SETUP_MARKER, id=assignment.id, module=assignment.module, **said)


def notebook_from_module(assignment, source: str) -> str:
    """The nbgrader-format notebook of a (stub) module: same code, one solution cell per name.

    Cells, in the module's order: the handout (read-only), the code the course gives (imports,
    helpers; read-only), and per task a header, a solution cell per public name (the first
    one's grade_id is the task id) and a check cell after its last name.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    owner = {name: task for task in assignment.tasks for name in task.names}
    from autograder.i18n import _, current, localize
    from autograder.i18n_tools import handout_text

    # in the active language (`blockgrade build --lang`): README.<lang>.md, the catalogs' summaries
    handout = handout_text(assignment.folder, current()) or f"# {localize(assignment.title, assignment)}\n"
    cells = [_cell("markdown", handout.rstrip() + "\n", "handout", _read_only("handout"))]
    cells.append(_cell("code", setup_cell_source(assignment), SETUP_ID, _read_only(SETUP_ID)))

    def text(node) -> str:
        first = first_line(node)
        last = node.end_lineno
        # indented comments right after the body belong to it (a solution's `### END SOLUTION`)
        scan = last
        while scan < len(lines) and (not lines[scan].strip() or lines[scan][:1] in " \t"):
            if lines[scan].strip().startswith("#"):
                last = scan + 1
            elif lines[scan].strip():
                break
            scan += 1
        return "".join(lines[first - 1 : last]).rstrip() + "\n"

    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the module docstring: the handout says it better
    last_of_task = {}
    for index, node in enumerate(body):
        task = owner.get(getattr(node, "name", None))
        if task is not None:
            last_of_task[task.id] = index

    given: list[str] = []
    started: set[str] = set()

    def flush_given() -> None:
        if given:
            grade_id = "imports" if not started else f"given-{len(cells)}"
            cells.append(_cell("code", "\n".join(given).rstrip() + "\n", grade_id, _read_only(grade_id)))
            given.clear()

    for index, node in enumerate(body):
        name = getattr(node, "name", None)
        task = owner.get(name)
        if task is None:
            given.append(text(node))
            continue
        flush_given()
        if task.id not in started:
            started.add(task.id)
            about = f"about-{_slug(task.id)}"
            header = _("## {task} ({points:g} points)", task=task.id, points=task.points)
            header += f"\n\n{localize(task.summary, assignment)}\n"
            cells.append(_cell("markdown", header, about, _read_only(about)))
        grade_id = task.id if name == task.names[0] else name
        solution = {"grade": False, "grade_id": grade_id, "locked": False, "solution": True}
        cells.append(_cell("code", text(node), _slug(grade_id), solution))
        if last_of_task[task.id] == index:
            check_id = CHECK_PREFIX + _slug(task.id)
            check = f"from autograder.notebook_check import check\n\ncheck({task.id!r}, assignment={assignment.id!r})\n"
            cells.append(_cell("code", check, check_id, _read_only(check_id)))
    flush_given()
    from autograder.questions import notebook_cells  # written questions: manually graded answer cells

    cells += notebook_cells(assignment, _cell)
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    import nbformat  # only the template's builder needs it (its import takes seconds)

    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    return nbformat.writes(node) + "\n"
