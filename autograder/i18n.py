"""The languages a student reads: English, Spanish and Chinese, through gettext catalogs.

Choosing a language, first that applies: an explicit choice (`--lang`, `check(lang=...)`, a
library call's `language=`, or `using(...)` around it); the environment variable
`BLOCKGRADE_LANG` (for notebooks and Gradescope; `es_ES.UTF-8` counts as `es`, an unknown
value is ignored); the assignment's `language` in its `assignment.toml`; the course's
`language` in `course.toml` at the course root; English. Whatever a catalog lacks is shown in
English: a missing or broken translation is never a crash and never a raw key.

Two kinds of text, one catalog format (gettext `.po`, keyed by the English text):

- **Engine strings**, written where they are shown: `_("{passed} of {total} tasks pass",
  passed=..., total=...)` translates into the active language and fills the named fields
  (a translator may reorder them); `ngettext(singular, plural, n, **fields)` picks the plural
  form. Their catalogs are `autograder/locale/<lang>/LC_MESSAGES/blockgrade.po`, compiled to
  `.mo` beside them (`blockgrade i18n compile`; both ship in the wheel).
- **Text made while grading** (notes, failure messages, test titles, hints) stays English in a
  `SubmissionResult`, so that grading is the same whatever the language and hints match the
  English text. The engine marks such strings with `N_(...)` (English now, extracted for the
  catalogs), and `localize(text, assignment)` translates them where they are rendered:
  an exact match of a catalog's English text, else a catalog entry with fields read as a
  pattern (`"Not run: this runner has no {device}."` matches any device), whose captured
  values are localized in turn (a stub's "X is not implemented yet" inside "Your code raised
  ..."), else line by line; the marks the grader writes inside text it does not own (`MARKERS`:
  a redacted line of the hidden tests, the note of a text cut short) are translated wherever
  they stand. An assignment's own catalogs (`assignments/NN-id/locale/<lang>.po`,
  compiled to `.mo` beside it: its title, task summaries, hints, test titles, docstrings and
  judge messages, made by `blockgrade i18n update`) join the engine's there. Reading a
  compiled catalog takes the standard library only; Babel is the instructor's tool.

In a msgid, `{name}` is a field; a literal brace is doubled (`{{`), as in `str.format`.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import heapq
import os
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder.errors import BlockgradeError

ENGLISH = "en"
LANGUAGES = (ENGLISH, "es", "zh")
LANGUAGE_NAMES = {"en": "English", "es": "español", "zh": "中文"}
ENV = "BLOCKGRADE_LANG"
DOMAIN = "blockgrade"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ASSIGNMENT_LOCALE = "locale"  # an assignment's catalogs: <folder>/locale/<lang>.po
MAX_DEPTH = 4  # how deep captured values are localized in turn
# how many of a text's ": " are tried as the end of a message (`Localizer._split`), per level:
# each try reads the part before it as a whole message, so with no cap a text of many colons
# (a student's exception message) would cost colons ** MAX_DEPTH readings
MAX_SPLITS = 8
_START_CHARS = 2  # how many of a pattern's first characters index it (Localizer._starting)
MAX_REMEMBERED = 4096  # texts a Localizer keeps the translation of (a class's titles and messages)

_active: str | None = None


class LanguageError(BlockgradeError):
    """A language the kit has no catalogs for was asked for by name."""


def normalize(value: str | None) -> str | None:
    """`es`, `es_ES.UTF-8`, `zh-CN`, `ZH` -> the kit's code; None for anything else."""
    if not value:
        return None
    code = re.split(r"[_.@-]", value.strip().lower(), maxsplit=1)[0]
    return code if code in LANGUAGES else None


def check_language(value: str, where: str = "language") -> str:
    """`value` if the kit speaks it, else a LanguageError naming the choices."""
    if value not in LANGUAGES:
        raise LanguageError(f"{where}: unknown language {value!r} (one of {', '.join(LANGUAGES)})")
    return value


def from_environment() -> str | None:
    return normalize(os.environ.get(ENV))


def resolve(explicit: str | None = None, assignment=None, course=None, *, environment: bool = True) -> str:
    """The language to use: `explicit`, else the one chosen for this process (`set_language`,
    `using`), else `$BLOCKGRADE_LANG` (unless `environment` is False: what an instructor
    builds does not depend on their shell), else the assignment's or the course's
    configuration, else English."""
    if explicit is not None:
        return check_language(explicit)
    if _active is not None:
        return _active
    configured = getattr(assignment, "language", None) or getattr(course, "language", None)
    return (from_environment() if environment else None) or configured or ENGLISH


def current() -> str:
    """The language `_()` translates into now."""
    return resolve()


def set_language(language: str | None) -> None:
    """Choose the language for the rest of this process (None: back to the environment's)."""
    global _active
    _active = None if language is None else check_language(language)


@contextlib.contextmanager
def using(language: str | None):
    """Translate into `language` inside the block (None: leave the choice as it is)."""
    global _active
    previous = _active
    if language is not None:
        _active = check_language(language)
    try:
        yield
    finally:
        _active = previous


def chosen() -> str | None:
    """The language chosen for this process by name (`--lang`, `set_language`, `using`), if any."""
    return _active


def speaks_assignment(function):
    """Run `function` in its assignment's language (`resolve`): its first argument is an
    assignment, or carries one (`.assignment`, as a SubmissionResult does)."""

    @functools.wraps(function)
    def wrapper(first, *args, **kwargs):
        with using(resolve(assignment=getattr(first, "assignment", first))):
            return function(first, *args, **kwargs)

    return wrapper


# ------------------------------------------------------------------------------ catalogs


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The engine's compiled catalog for `language` (English: none, the msgids are English)."""
    if language == ENGLISH:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[language], fallback=True)


def _fill(text: str, fields: dict, fallback: str) -> str:
    """`text` with its fields filled; the English `fallback` if a translation's fields are off."""
    if not fields:
        return text
    try:
        return text.format(**fields)
    except (KeyError, IndexError, ValueError, AttributeError):
        return fallback.format(**fields)


def _(message: str, /, **fields) -> str:
    """`message` in the active language, its `{fields}` filled."""
    return _fill(translations(current()).gettext(message), fields, message)


def ngettext(singular: str, plural: str, n: int, /, **fields) -> str:
    """The singular or plural form of a message for `n`, in the active language; `{n}` is filled."""
    fields.setdefault("n", n)
    english = singular if n == 1 else plural
    return _fill(translations(current()).ngettext(singular, plural, n), fields, english)


def N_(message: str, /, **fields) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    """`message` in English, its fields filled: text kept in a result and translated where it
    is shown (`localize`). Marks the message for the catalogs."""
    return message.format(**fields) if fields else message


# ------------------------------------------------------------------------------ localize

# Marks the grader writes inside text it does not own (a message the student's code raised,
# what it printed): translated wherever they stand, not as a whole message or line. A field is
# a number.
REDACTED = N_("[hidden test source removed]")  # a line of the hidden tests' source (JudgeSuite.redact)
LEFT_OUT = N_("[… {n} more characters left out …]")  # the end of a text cut at its length limit (text.clean)
MARKERS = (REDACTED, LEFT_OUT)

_FORMATTER = string.Formatter()


def fields_of(message: str) -> list[str] | None:
    """The `{...}` fields of a msgid, each as written inside its braces (name, conversion and
    format spec: `x`, `x!r`, `tuple(Y.shape)`, `d:.4g`); None when it is not a format string."""
    try:
        parsed = list(_FORMATTER.parse(message))
    except ValueError:
        return None
    found = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        found.append(name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""))
    return found


def _parts(message: str) -> list[tuple[str, str | None]]:
    """(literal, field or None) pairs of a format string, literals unescaped."""
    out = []
    for literal, name, spec, conversion in _FORMATTER.parse(message):
        field = None
        if name is not None:
            field = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        out.append((literal, field))
    return out


def literal_text(message: str) -> str:
    """A msgid as the text it stands for when it has no fields (braces unescaped)."""
    try:
        return "".join(literal for literal, _field in _parts(message))
    except ValueError:
        return message


_NUMBER = r"[-+]?(?:inf|nan|[0-9][0-9.,_]*(?:e[-+]?[0-9]+)?%?)"


def _numeric(field: str) -> bool:
    """Whether a field's format spec makes it a number (`n:d`, `x:.4g`, `p:.1%`)."""
    spec = field.rpartition(":")[2] if ":" in field else ""
    return bool(spec) and spec[-1] in "bdoxXeEfFgGn%"


@dataclass(frozen=True)
class _Pattern:
    msgid: str
    msgstr: str
    source: str  # its regular expression, compiled when a text first gets this far (`regex`)
    fields: tuple[str, ...]
    literals: tuple[str, ...]
    weight: int  # characters of literal text: the more, the more specific
    start: str  # the literal text before the first field ("" when a field comes first): every match begins with it

    @functools.cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.source, re.DOTALL)


def _pattern(msgid: str, msgstr: str) -> _Pattern | None:
    try:
        parts = _parts(msgid)
        _parts(msgstr)
    except ValueError:
        return None
    fields = tuple(f for _literal, f in parts if f is not None)
    literals = tuple(literal for literal, _f in parts if literal)
    weight = sum(len(literal.strip()) for literal in literals)
    if not fields or weight < 4:  # "{what}: {problem}"-like msgids would match anything
        return None
    # a field stays on its line, but the last one, which may take the rest (a traceback, hints);
    # a field formatted as a number (`{n:d}`, `{x:.4g}`, `{p:.1%}`) matches a number only
    last = max(i for i, (_literal, field) in enumerate(parts) if field is not None)
    regex, groups = ["\\A"], {}
    for index, (literal, field) in enumerate(parts):
        regex.append(re.escape(literal))
        if field is not None:
            if field in groups:
                regex.append(f"(?P={groups[field]})")
            else:
                value = _NUMBER if _numeric(field) else ".+?" if index == last else "[^\\n]+?"
                groups[field] = f"g{len(groups)}"
                regex.append(f"(?P<{groups[field]}>{value})")
    regex.append("\\Z")
    return _Pattern(msgid, msgstr, "".join(regex), fields, literals, weight, parts[0][0])


def _marked(marker: str, msgstr: str, match: re.Match) -> str:
    """A marker's translation, filled with the numbers `match` found in its English."""
    return _fill(msgstr, dict(zip(fields_of(marker) or [], match.groups())), marker)


class Localizer:
    """Translates English text made while grading, from the entries of some catalogs."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.exact: dict[str, str] = {}
        patterns = []
        for msgid, msgstr in entries.items():
            if not msgid or not msgstr:
                continue
            self.exact[msgid] = msgstr  # text without fields is looked up as it is
            if fields_of(msgid):
                pattern = _pattern(msgid, msgstr)
                if pattern is not None:
                    patterns.append(pattern)
        self.patterns = sorted(patterns, key=lambda p: -p.weight)
        # Each pattern by the first characters every match of it begins with (`start`), with its
        # rank: a text is read against the few that can match, in the same order as against all
        self._starting: dict[str, list[tuple[int, _Pattern]]] = {}
        self._anywhere: list[tuple[int, _Pattern]] = []  # a field (or one character) first
        for rank, p in enumerate(self.patterns):
            if len(p.start) >= _START_CHARS:
                self._starting.setdefault(p.start[:_START_CHARS], []).append((rank, p))
            else:
                self._anywhere.append((rank, p))
        # text -> its translation: a class's feedback and report repeat the same titles and
        # messages, and reading one against every pattern of the catalogs costs milliseconds
        self._translated: dict[str, str] = {}
        self.markers = []
        for marker in MARKERS:
            if entries.get(marker):
                regex = "".join(re.escape(literal) + ("([0-9]+)" if field else "") for literal, field in _parts(marker))
                self.markers.append((re.compile(regex), marker, entries[marker]))

    def __call__(self, text: str, depth: int = MAX_DEPTH) -> str:
        known = self._translated.get(text) if depth == MAX_DEPTH else None
        if known is not None:
            return known
        translated = self._scored(text, depth)[0]
        for regex, marker, msgstr in self.markers:
            if marker.split("{")[0] in translated:
                translated = regex.sub(functools.partial(_marked, marker, msgstr), translated)
        if depth == MAX_DEPTH:
            if len(self._translated) >= MAX_REMEMBERED:
                self._translated.clear()
            self._translated[text] = translated
        return translated

    def _scored(self, text: str, depth: int) -> tuple[str, int]:
        """`text` translated, and how much of it the catalogs' text covered (characters)."""
        if not text or depth <= 0:
            return text, 0
        found = self._whole(text, depth)
        if found is not None:
            return found
        if "\n" in text:  # a message and its traceback, or its hints: each line on its own
            lines = [self._whole(line, depth) or (line, 0) for line in text.split("\n")]
            return "\n".join(line for line, _ in lines), sum(score for _, score in lines)
        return text, 0

    def _whole(self, text: str, depth: int) -> tuple[str, int] | None:
        if text in self.exact:
            return self.exact[text], len(text)
        stripped = text.strip()
        if stripped and stripped != text and stripped in self.exact:
            start = text.index(stripped)
            return text[:start] + self.exact[stripped] + text[start + len(stripped) :], len(stripped)
        # Of the messages that match, the reading that covers the most text with the catalogs'
        # own, its fields' translations included: a message nested in another's field (the
        # reason of a note, a call's description before "raised") is read as nested, not as the
        # start or the end of the outer one. Ties go to the reading whose last field, which may
        # take the rest of the text, takes the least, then to the longer message.
        best: tuple[tuple[int, int], str] | None = None
        candidates = heapq.merge(self._starting.get(text[:_START_CHARS], ()), self._anywhere)
        for _rank, p in candidates:
            if not text.startswith(p.start) or not all(literal in text for literal in p.literals):
                continue
            match = p.regex.match(text)
            if match is None:
                continue
            values, covered = {}, p.weight
            for i, field in enumerate(dict.fromkeys(p.fields)):
                values[field], more = self._scored(match.group(f"g{i}"), depth - 1)
                covered += more
            score = (covered, -len(match.group(match.lastindex or 0)))
            try:
                result = "".join(literal + (values[f] if f is not None else "") for literal, f in _parts(p.msgstr))
            except KeyError:  # a translation naming a field its English text lacks: keep English
                result, score = text, (0, 0)
            if best is None or score > best[0]:
                best = (score, result)
        split = self._split(text, depth)
        if split is not None and (best is None or split[1] >= best[0][0]):  # "A: B" read at its colon
            return split
        return (best[1], best[0][0]) if best is not None else None

    def _split(self, text: str, depth: int) -> tuple[str, int] | None:
        """`A: B` where A is a whole message of the catalogs and B more text (a judge's message
        and what `judging.assert_close` found): each part on its own."""
        start = tried = 0
        while depth > 1 and tried < MAX_SPLITS and (colon := text.find(": ", start)) >= 0:
            tried += 1
            head = self._whole(text[:colon], depth - 1) if colon >= 4 else None
            if head is not None:
                tail, covered = self._scored(text[colon + 2 :], depth - 1)
                return f"{head[0]}: {tail}", head[1] + covered
            if colon and not any(c.isspace() for c in text[:colon]):  # a name (`0.weight: ...`): as it is
                tail, covered = self._scored(text[colon + 2 :], depth - 1)
                return (f"{text[:colon]}: {tail}", covered) if covered else None
            start = colon + 2
        return None


def _engine_entries(language: str) -> dict[str, str]:
    catalog = translations(language)
    entries = getattr(catalog, "_catalog", {})  # gettext's parsed .mo: msgid -> msgstr
    return {k: v for k, v in entries.items() if isinstance(k, str) and k}


@lru_cache(maxsize=64)
def _assignment_entries(path: str, mtime: float) -> dict[str, str]:
    """A compiled catalog's translations (gettext reads it: no Babel needed where students run)."""
    try:
        with open(path, "rb") as f:
            catalog = gettext.GNUTranslations(f)
    except Exception:  # noqa: BLE001 - a broken catalog costs its translations, never the feedback
        return {}
    entries = getattr(catalog, "_catalog", {})  # gettext's parsed .mo: msgid -> msgstr
    return {k: v for k, v in entries.items() if isinstance(k, str) and k and isinstance(v, str) and v}


def assignment_catalog(folder: Path, language: str, compiled: bool = False) -> Path:
    """An assignment's catalog for `language`: `locale/<lang>.po`, compiled to `.mo` beside it."""
    return Path(folder) / ASSIGNMENT_LOCALE / f"{language}.{'mo' if compiled else 'po'}"


def assignment_entries(assignment, language: str) -> dict[str, str]:
    """The translations of an assignment's own strings (empty when it has none)."""
    if assignment is None or language == ENGLISH:
        return {}
    path = assignment_catalog(assignment.folder, language, compiled=True)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return _assignment_entries(str(path), mtime)


_localizers: dict[tuple, Localizer] = {}


def localizer(assignment=None, language: str | None = None) -> Localizer:
    language = language or current()
    folder = getattr(assignment, "folder", None)
    entries = assignment_entries(assignment, language)
    key = (language, str(folder), id(entries))
    if key not in _localizers:
        if len(_localizers) > 32:
            _localizers.clear()
        _localizers[key] = Localizer({**_engine_entries(language), **entries} if language != ENGLISH else {})
    return _localizers[key]


def localize(text: str, assignment=None, language: str | None = None) -> str:
    """English text made while grading, in `language` (default: the active one)."""
    language = language or current()
    if language == ENGLISH or not text:
        return text
    return localizer(assignment, language)(text)


def handout(folder: Path, language: str | None = None) -> Path:
    """An assignment's handout in `language` (`README.es.md`), else the English `README.md`."""
    language = language or current()
    if language != ENGLISH:
        translated = Path(folder) / f"README.{language}.md"
        if translated.is_file():
            return translated
    return Path(folder) / "README.md"
