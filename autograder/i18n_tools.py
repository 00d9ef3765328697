"""The catalogs' tooling, with Babel: extract what a student reads, keep the `.po` files up to
date, compile the engine's `.mo`, and check that every language has every string.

- The engine's strings are the `_()`, `N_()` and `ngettext()` calls of `autograder/` and the
  `_()` calls of its templates (Babel's Python and Jinja extractors); their catalogs are
  `autograder/locale/<lang>/LC_MESSAGES/blockgrade.po`, compiled to `.mo` beside them.
- An assignment's strings are extracted from its data: `assignment.toml` (title, task
  summaries, hint texts, written questions' prompts and rubric items), the docstrings of
  its solution module (what the template keeps), and its judges (`tests/*/test_*.py`): each
  judge's title (its docstring's first line) and its messages: `assert ..., MESSAGE`,
  `AssertionError(MESSAGE)`, `Mistake(cause, MESSAGE)`, the message arguments of the
  `autograder.judging` helpers, and `N_(...)`. An f-string message
  becomes a msgid whose fields are its expressions as written (`{tuple(Y.shape)}`): the
  translation keeps each field, in any order, and `i18n.localize` fills them from the English
  message the judge made. Catalogs: `assignments/NN-id/locale/<lang>.po`.

`blockgrade i18n update` writes new strings into every catalog (untranslated), keeps the ones
no longer used as obsolete entries (their translation returns with them), and compiles every
catalog to `.mo`; `blockgrade i18n check` lists what a language lacks.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import io
import re
from dataclasses import dataclass
from pathlib import Path

from autograder import i18n

TRANSLATED = tuple(lang for lang in i18n.LANGUAGES if lang != i18n.ENGLISH)
ENGINE_ROOT = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
BRACE_FLAG = "python-brace-format"

# what an assignment's string is, as the .po's extracted comment says (and the checks group by)
TOML, DOCSTRING, TITLE, MESSAGE = "assignment.toml", "template docstring", "test title", "judge message"
QUESTION = "written question"  # a [[questions]] prompt: answers.md, the notebook
RUBRIC = "rubric item"  # [[questions.rubric]]: graded feedback only, never in what students get before
# judging helpers and the position of their message argument (and keywords that carry one)
MESSAGE_CALLS = {
    "assert_close": 2,
    "unwrap": 1,
    "expect_tensor": 1,
    "assert_same_inputs": 2,
    "assert_nonempty": 1,
    "Mistake": 1,
    "AssertionError": 0,
    "N_": 0,
}
MESSAGE_KEYWORDS = ("message", "what")
HANDOUT_STAMP = re.compile(r"\A<!-- blockgrade: translation of README\.md, sha256 ([0-9a-f]{12}) -->\n")
_WORDS = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")


HEADER = """\
# blockgrade's strings in one language: translate each msgstr, keep every {field} as it is
# (in any order) and code names as they are; `blockgrade i18n update` adds new strings.
# Terms follow the course glossary of the chapter's words (the course notes' and the Chinese edition's).
#"""


def _catalog(language: str | None = None):
    from babel.messages.catalog import Catalog

    return Catalog(locale=language, project="blockgrade", header_comment=HEADER, fuzzy=False)


# ------------------------------------------------------------------------------ the engine


def engine_po(language: str) -> Path:
    return i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def engine_template():
    """Every engine string, as a Babel catalog (msgid -> locations)."""
    from babel.messages.extract import extract_from_dir

    catalog = _catalog()
    method_map = [("**.py", "python"), ("templates/**.j2", "jinja2.ext:babel_extract")]
    options = {"templates/**.j2": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    for filename, lineno, message, comments, _context in extract_from_dir(
        ENGINE_ROOT, method_map, options, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        flags = (BRACE_FLAG,) if _has_fields(message) else ()
        catalog.add(message, None, [(f"autograder/{filename}", lineno)], flags=flags, auto_comments=comments)
    return catalog


def _has_fields(message) -> bool:
    texts = message if isinstance(message, tuple) else (message,)
    return any(i18n.fields_of(t) for t in texts if t)


# ------------------------------------------------------------------------------ an assignment


@dataclass(frozen=True)
class Extracted:
    msgid: str
    kind: str
    location: tuple[str, int]  # the file, relative to the course root, and its line


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _line_of(text: str, value: str) -> int:
    first = value.strip().splitlines()[0][:40] if value.strip() else ""
    index = text.find(first) if first else -1
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def toml_strings(assignment) -> list[Extracted]:
    from autograder.catalog import tomllib

    path = assignment.folder / "assignment.toml"
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    where = _relative(path, assignment.course_root)
    found = [data.get("title", "")]
    found += [t.get("summary", "") for t in data.get("tasks", [])]
    found += [h.get("text", "") for h in data.get("hints", [])]
    extracted = [Extracted(s, TOML, (where, _line_of(text, s))) for s in found if s.strip()]
    questions = [q for q in data.get("questions", []) if isinstance(q, dict)]
    prompts = [q.get("prompt", "").strip() for q in questions if isinstance(q.get("prompt"), str)]
    rubric = [r.get("text", "") for q in questions for r in q.get("rubric", []) if isinstance(r, dict)]
    extracted += [Extracted(s, QUESTION, (where, _line_of(text, s))) for s in prompts if s]
    return extracted + [Extracted(s, RUBRIC, (where, _line_of(text, s))) for s in rubric if s.strip()]


def docstring_nodes(tree: ast.AST) -> list[ast.Expr]:
    """The docstrings of a module and of its classes and functions, in source order."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append(first)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def docstring_strings(assignment) -> list[Extracted]:
    path = assignment.solution_dir / assignment.module
    if not path.is_file():  # a student layout or a Gradescope bundle: the stub has the same docstrings
        path = assignment.folder / assignment.module
        if not path.is_file():
            return []
    where = _relative(path, assignment.course_root)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        Extracted(inspect.cleandoc(node.value.value), DOCSTRING, (where, node.lineno))
        for node in docstring_nodes(tree)
        if node.value.value.strip()
    ]


def _expression_field(node: ast.FormattedValue, index: int) -> str:
    text = ast.unparse(node.value)
    if any(c in text for c in "{}!:") or not text.strip():
        text = f"expr{index}"
    if node.conversion not in (-1, None):
        text += "!" + chr(node.conversion)
    if node.format_spec is not None:
        spec = "".join(
            v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
            for v in node.format_spec.values
        )
        text += ":" + spec
    return "{" + text + "}"


def fstring_msgid(node: ast.JoinedStr) -> str:
    """An f-string as a msgid: literal text with its braces doubled, `{expression}` fields."""
    parts = []
    for index, value in enumerate(node.values):
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(value, ast.FormattedValue):
            parts.append(_expression_field(value, index))
    return "".join(parts)


def message_texts(node: ast.AST | None) -> list[str]:
    """The msgids a message expression stands for: a string, an f-string, both sides of
    `a if c else b`, and `+` of those with any other expression as a field."""
    if node is None:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return (
            [fstring_msgid(node)]
            if any(isinstance(v, ast.FormattedValue) for v in node.values)
            else ["".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))]
        )
    if isinstance(node, ast.IfExp):
        return message_texts(node.body) + message_texts(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = message_texts(node.left), message_texts(node.right)
        if not left and not right:
            return []
        left = left or ["{" + ast.unparse(node.left) + "}"]
        right = right or ["{" + ast.unparse(node.right) + "}"]
        return [a + b for a in left for b in right]
    return []


def _is_message(msgid: str) -> bool:
    """Text a student reads, not a code expression (`MLP()(X)`, `net[-1]`)."""
    try:
        literal = "".join(part for part, _field in i18n._parts(msgid))
    except ValueError:
        literal = msgid
    return bool(_WORDS.search(literal))


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def judge_strings(assignment, path: Path) -> list[Extracted]:
    """A judge file's test titles and messages."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    where = _relative(path, assignment.course_root)
    found: list[Extracted] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(d, ast.Call) and _call_name(d) == "task" for d in node.decorator_list
        ):
            doc = ast.get_docstring(node, clean=False)
            if doc and doc.strip():
                title = doc.strip().splitlines()[0].strip()
            else:
                name = node.name
                title = name[len("test_") :].replace("_", " ") if name.startswith("test_") else name
            found.append(Extracted(title, TITLE, (where, node.lineno)))
        messages: list[ast.AST] = []
        marked = isinstance(node, ast.Call) and _call_name(node) == "N_"  # a word marked by hand counts too
        if isinstance(node, ast.Assert):
            messages.append(node.msg)
        elif isinstance(node, ast.Call) and _call_name(node) in MESSAGE_CALLS:
            position = MESSAGE_CALLS[_call_name(node)]
            if len(node.args) > position:
                messages.append(node.args[position])
            messages += [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
        for message in messages:
            for text in message_texts(message):
                if text.strip() and (marked or _is_message(text)):
                    found.append(Extracted(text, MESSAGE, (where, getattr(message, "lineno", node.lineno))))
    return found


def assignment_strings(assignment) -> list[Extracted]:
    """Everything of an assignment a student may read, from the instructor's sources."""
    found = toml_strings(assignment) + docstring_strings(assignment)
    for suite in ("visible", "hidden"):
        for path in assignment.judge_files(suite):
            found += judge_strings(assignment, path)
    return found


def assignment_template(assignment):
    catalog = _catalog()
    for item in assignment_strings(assignment):
        flags = (BRACE_FLAG,) if item.kind == MESSAGE and i18n.fields_of(item.msgid) else ()
        existing = catalog.get(item.msgid)
        if existing is not None:
            existing.locations.append(item.location)
            if item.kind not in existing.auto_comments:
                existing.auto_comments.append(item.kind)
            continue
        catalog.add(item.msgid, None, [item.location], flags=flags, auto_comments=[item.kind])
    return catalog


# ------------------------------------------------------------------------------ .po files


def read_catalog(path: Path, language: str):
    from babel.messages.pofile import read_po

    if not path.is_file():
        return _catalog(language)
    with open(path, "rb") as f:
        return read_po(f, locale=language)


def write_catalog(path: Path, catalog) -> bool:
    """Write `catalog` at `path` unless it holds that already; whether it wrote."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, include_previous=False, include_lineno=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_if_changed(path, buffer.getvalue()) is not None


def update(template, path: Path, language: str) -> bool:
    """New msgids into the catalog at `path` (untranslated); vanished ones kept as obsolete
    (`#~`) entries, whose translation comes back if their msgid does (a judge file being
    rewritten, a sentence changed and changed back)."""
    import copy

    # Babel's update puts the template's own Message objects into the catalog for msgids new to
    # it: a translation filled in below would reach the template, and so the next language
    template = copy.deepcopy(template)
    catalog = read_catalog(path, language)
    catalog.header_comment = HEADER  # the header as the tool writes it now (no path students lack)
    remembered = {m.id: m.string for m in catalog.obsolete.values() if m.string}
    remembered.update({m.id: m.string for m in catalog if m.id and m.string})
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    for message in catalog:
        if message.id and not message.string and message.id in remembered:
            message.string = remembered[message.id]
    return write_catalog(path, catalog)


def mo_bytes(catalog) -> bytes:
    """A catalog compiled (gettext's .mo; fuzzy and untranslated entries left out)."""
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compiled(language: str, po: Path | None = None) -> bytes:
    """The engine's catalog for `language` (or the one at `po`), compiled."""
    return mo_bytes(read_catalog(po or engine_po(language), language))


def _write_if_changed(path: Path, data: bytes) -> Path | None:
    """`path` when it was written, None when it held `data` already."""
    if path.is_file() and path.read_bytes() == data:
        return None
    path.write_bytes(data)
    return path


def engine_is_in(course) -> bool:
    """Whether the engine's catalogs are part of `course`'s repository (the kit's own): an
    instructor's course, beside an installed kit, updates and compiles its assignments' only."""
    return i18n.LOCALE_DIR.resolve().is_relative_to(Path(course.root).resolve())


def compile_engine() -> list[Path]:
    """The engine's catalogs compiled: those written (unchanged ones are left alone)."""
    written = [_write_if_changed(engine_po(lang).with_suffix(".mo"), compiled(lang)) for lang in TRANSLATED]
    i18n.translations.cache_clear()
    return [p for p in written if p is not None]


def compile_assignment(assignment) -> list[Path]:
    written = []
    for language in TRANSLATED:
        po = i18n.assignment_catalog(assignment.folder, language)
        if po.is_file():
            target = i18n.assignment_catalog(assignment.folder, language, compiled=True)
            written.append(_write_if_changed(target, compiled(language, po)))
    return [p for p in written if p is not None]


def update_all(course) -> list[Path]:
    """Every catalog of `course`'s assignments (and the engine's, where the course is the
    kit's own repository: see `engine_is_in`) brought up to date; those written."""
    written = []
    if engine_is_in(course):
        template = engine_template()
        written += [engine_po(lang) for lang in TRANSLATED if update(template, engine_po(lang), lang)]
        written += compile_engine()
    for assignment in course.assignments:
        template = assignment_template(assignment)
        for language in TRANSLATED:
            path = i18n.assignment_catalog(assignment.folder, language)
            if update(template, path, language):
                written.append(path)
        written += compile_assignment(assignment)
    return written


# ------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class Problem:
    language: str
    where: str
    kind: str
    msgid: str
    what: str

    def __str__(self) -> str:
        said = f"{self.where} [{self.language}] {self.kind}: {self.what}"
        return f"{said}: {self.msgid[:100]!r}" if self.msgid else said


MISSING_CATALOG = "missing: `blockgrade i18n update` writes it (its strings untranslated), then translate them"


def _missing(template, catalog, language: str, where: str, kind_of) -> list[Problem]:
    problems = []
    for message in template:
        if not message.id:
            continue
        kind = kind_of(message)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        found = catalog.get(message.id)
        strings = () if found is None else (found.string if isinstance(found.string, tuple) else (found.string,))
        if found is None or found.fuzzy or not all(strings):
            problems.append(Problem(language, where, kind, ids[0], "not translated"))
            continue
        want = sorted(set(f for i in ids for f in (i18n.fields_of(i) or [])))
        for string in strings:
            have = sorted(set(i18n.fields_of(string) or []))
            if have != want:
                problems.append(
                    Problem(language, where, kind, ids[0], f"fields {have} in the translation, {want} in the English")
                )
    return problems


def engine_problems(languages=TRANSLATED) -> list[Problem]:
    """Engine strings a language lacks or whose fields differ, and stale compiled catalogs."""
    template = engine_template()
    problems = []
    for language in languages:
        path = engine_po(language)
        if not path.is_file():  # one problem, not each of its strings (nor its .mo) as one
            problems.append(Problem(language, _relative(path, ENGINE_ROOT.parent), "engine", "", MISSING_CATALOG))
            continue
        catalog = read_catalog(path, language)
        problems += _missing(template, catalog, language, _relative(path, ENGINE_ROOT.parent), lambda m: "engine")
        mo = path.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != compiled(language):
            where = _relative(mo, ENGINE_ROOT.parent)
            problems.append(Problem(language, where, "engine", "", "out of date: blockgrade i18n compile"))
    return problems


def assignment_problems(assignment, languages=TRANSLATED) -> list[Problem]:
    """An assignment's strings a language lacks or whose fields differ (grouped by kind)."""
    template = assignment_template(assignment)
    problems = []
    for language in languages:
        path = i18n.assignment_catalog(assignment.folder, language)
        where = _relative(path, assignment.course_root)
        if not path.is_file():  # one problem, not each of its strings as one
            problems.append(Problem(language, where, "catalog", "", MISSING_CATALOG))
            continue
        catalog = read_catalog(path, language)
        problems += _missing(template, catalog, language, where, _kind)
        mo = i18n.assignment_catalog(assignment.folder, language, compiled=True)
        if path.is_file() and (not mo.is_file() or mo.read_bytes() != compiled(language, path)):
            where = _relative(mo, assignment.course_root)
            problems.append(Problem(language, where, "catalog", "", "out of date: blockgrade i18n compile"))
    return problems


def _kind(message) -> str:
    return message.auto_comments[0] if message.auto_comments else ""


def handout_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def handout_stamp(folder: Path) -> str:
    """The first line a translated handout carries: the English handout it translates."""
    english = (folder / "README.md").read_text(encoding="utf-8")
    return f"<!-- blockgrade: translation of README.md, sha256 {handout_digest(english)} -->\n"


def handout_text(folder: Path, language: str) -> str | None:
    """The handout a student reads in `language`, without its stamp (None: no handout)."""
    path = i18n.handout(folder, language)
    if not path.is_file():
        return None
    return HANDOUT_STAMP.sub("", path.read_text(encoding="utf-8"), count=1)


_FENCE = re.compile(r"^(```+|~~~+)[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_HEADING = re.compile(r"^#{1,6} ", re.M)


def handout_problems(assignment, languages=TRANSLATED) -> list[Problem]:
    """Translated handouts that are missing, translate an older README.md, or changed code:
    every fenced block as in English, in order; the same inline code spans; as many headings."""
    folder = assignment.folder
    english = (folder / "README.md").read_text(encoding="utf-8")
    first_line = handout_stamp(folder).strip()
    problems = []
    for language in languages:
        path = folder / f"README.{language}.md"
        where = _relative(path, assignment.course_root)

        def problem(what: str) -> None:  # (called within this language's turn of the loop)
            problems.append(Problem(language, where, "handout", "", what))  # noqa: B023

        if not path.is_file():
            problem("missing: translate README.md into it, its first line " + first_line)
            continue
        text = path.read_text(encoding="utf-8")
        stamp = HANDOUT_STAMP.match(text)
        if stamp is None or stamp.group(1) != handout_digest(english):
            problem(
                f"translates another version of README.md: bring it up to date, then make its first line {first_line}"
            )
        body = HANDOUT_STAMP.sub("", text, count=1)
        if [m.group(0) for m in _FENCE.finditer(body)] != [m.group(0) for m in _FENCE.finditer(english)]:
            problem("its code blocks differ from README.md's")
        spans = {m.group(2).strip() for m in _SPAN.finditer(_FENCE.sub("", body))}
        want = {m.group(2).strip() for m in _SPAN.finditer(_FENCE.sub("", english))}
        if spans != want:
            problem(f"inline code differs: lacks {sorted(want - spans)}, adds {sorted(spans - want)}")
        if len(_HEADING.findall(_FENCE.sub("", body))) != len(_HEADING.findall(_FENCE.sub("", english))):
            problem("its headings differ in number from README.md's")
    return problems


# ------------------------------------------------------------------------------ the template


def _literal(text: str, indent: str, prefix: str) -> str:
    raw = "r" in prefix.lower()
    body = text if raw else text.replace("\\", "\\\\")
    body = body.replace('"""', '\\"\\"\\"')
    lines = body.split("\n")
    if len(lines) == 1:
        if body.endswith('"'):
            body = body[:-1] + '\\"'
        return f'{prefix}"""{body}"""'
    out = [f'{prefix}"""{lines[0]}'] + [indent + line if line.strip() else "" for line in lines[1:]]
    return "\n".join(out) + "\n" + indent + '"""'


def translate_docstrings(source: str, entries: dict[str, str]) -> str:
    """`source` with each docstring that `entries` translates replaced by its translation
    (laid out as the English one: first line after the quotes, the rest indented)."""
    if not entries:
        return source
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in reversed(docstring_nodes(tree)):
        english = inspect.cleandoc(node.value.value)
        translated = entries.get(english)
        if not translated or translated == english:
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        start = len(lines[first].encode("utf-8")[: node.col_offset].decode("utf-8"))
        end = len(lines[last].encode("utf-8")[: node.end_col_offset].decode("utf-8"))
        original = "".join(lines[first : last + 1])
        head = lines[first][:start]
        quote = re.match(r"[rRuU]*", lines[first][start:]).group(0)
        replacement = _literal(translated, " " * len(head) if not head.strip() else "    ", quote)
        new = head + replacement + lines[last][end:]
        if original == new:
            continue
        lines[first : last + 1] = [new]
    return "".join(lines)


def translate_solution(assignment, source: str, language: str) -> str:
    """The solution's source with its docstrings in `language` (English where untranslated)."""
    if language == i18n.ENGLISH:
        return source
    return translate_docstrings(source, i18n.assignment_entries(assignment, language))


def student_catalog(assignment, language: str) -> bytes | None:
    """The assignment's catalog as students get it, compiled (.mo): without what only the
    hidden tests say, nor the written questions' rubrics (student_toml leaves them out too)."""
    path = i18n.assignment_catalog(assignment.folder, language)
    if not path.is_file():
        return None
    catalog = read_catalog(path, language)
    for message in list(catalog):
        if message.id and message.locations and all("/tests/hidden/" in f"/{file}" for file, _ in message.locations):
            catalog.delete(message.id)
        elif message.id and message.auto_comments and set(message.auto_comments) <= {RUBRIC}:
            catalog.delete(message.id)
    return mo_bytes(catalog)


def stub_shape(source: str) -> str:
    """A module's code without its docstrings and its stubs' messages: what must not differ
    between the languages of one template."""
    tree = ast.parse(source)
    for node in docstring_nodes(tree):
        node.value.value = ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            if _call_name(node.exc) == "NotImplementedError":
                node.exc.args = []
    return ast.dump(tree)
