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
  ..."), else line by line (line by line too where that reads more of the text as the
  catalogs' own: a message a line, the last field of one not taking the lines after it); the
  marks the grader writes inside text it does not own (`MARKERS`: a redacted line of the
  hidden tests, the note of a text cut short) are translated wherever they stand. A text
  takes at most `STEPS` (and `STEPS_PER_CHAR` a character) steps of reading
  (`_match` reads a catalog entry in time about linear in the text, where a backtracking regex
  took copies ** fields); one that would take more, made to stall the grader, is shown as it is.
  An assignment's own catalogs (`assignments/NN-id/locale/<lang>.po`,
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
import threading
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
# The work a text's localizing may take, in steps (`_Steps`): a reading of the text or of a part
# of it, a catalog message tried against one, a place where a field could end. Honest feedback
# takes a few hundred; past this, the text is shown as it is (English) instead of stalling the
# grader on a student's crafted exception message
STEPS = 20_000
STEPS_PER_CHAR = 40

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


# What a msgid is made of, for `_match`: (kind, literal text or group number)
_LITERAL = "literal"  # its text, as it is
_LINE = "line"  # a field: some characters of one line
_REST = "rest"  # the last field: some characters, lines included (a traceback, hints)
_NUMERIC = "number"  # a field formatted as a number (`_NUMBER`)
_SAME = "same"  # a field met before: the same characters again


@dataclass(frozen=True)
class _Pattern:
    msgid: str
    msgstr: str
    elements: tuple[tuple[str, str | int], ...]  # its literals and fields, in order (`_match`)
    # for each element (and the end): the groups taken before it that a `_SAME` from it on repeats
    needs: tuple[tuple[int, ...], ...]
    groups: int  # its distinct fields
    fields: tuple[str, ...]
    literals: tuple[str, ...]
    weight: int  # characters of literal text: the more, the more specific
    start: str  # the literal text before the first field ("" when a field comes first): every match begins with it


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
    # a field formatted as a number (`{n:d}`, `{x:.4g}`, `{p:.1%}`) matches a number only; a
    # field written twice matches the same characters twice
    last = max(i for i, (_literal, field) in enumerate(parts) if field is not None)
    elements: list[tuple[str, str | int]] = []
    groups: dict[str, int] = {}
    for index, (literal, field) in enumerate(parts):
        if literal:
            elements.append((_LITERAL, literal))
        if field is not None:
            if field in groups:
                elements.append((_SAME, groups[field]))
            else:
                groups[field] = len(groups)
                kind = _NUMERIC if _numeric(field) else _REST if index == last else _LINE
                elements.append((kind, groups[field]))
    defined = {group: i for i, (kind, group) in enumerate(elements) if kind not in (_LITERAL, _SAME)}
    needs = tuple(
        tuple(sorted({g for kind, g in elements[i:] if kind == _SAME and defined[g] < i}))
        for i in range(len(elements) + 1)
    )
    return _Pattern(msgid, msgstr, tuple(elements), needs, len(groups), fields, literals, weight, parts[0][0])


class _OutOfSteps(Exception):
    """The text being localized has taken all its steps (`Localizer.__call__` shows it as it is)."""


class _Steps:
    """What is left of the steps a text's localizing may take (`STEPS`)."""

    def __init__(self, left: int) -> None:
        self.left = left

    def take(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise _OutOfSteps


_RUN = re.compile("[0-9.,_]*")  # a number's characters after its first digit
_DIGITS = re.compile("[0-9]*")


def _number_ends(text: str, at: int):
    """Where a number (`_NUMBER`) that begins at `at` may end, in the order a regular expression
    tries them: its optional parts (sign, exponent, %) and its run of digits the longest first."""
    if text.startswith(("+", "-"), at):
        at += 1  # without the sign, nothing that begins with one is a number
    if text.startswith(("inf", "nan"), at):
        yield at + 3
        return
    if not text.startswith(tuple("0123456789"), at):
        return
    for run in range(_RUN.match(text, at + 1).end(), at, -1):
        if text.startswith("e", run):  # the exponent, if it has a digit, before none
            digits = run + 1 + text.startswith(("+", "-"), run + 1)
            for end in range(_DIGITS.match(text, digits).end(), digits, -1):
                if text.startswith("%", end):
                    yield end + 1
                yield end
        if text.startswith("%", run):
            yield run + 1
        yield run


def _match(p: _Pattern, text: str, steps: _Steps) -> tuple[str, ...] | None:
    """The values of `p`'s distinct fields in `text`, in order, or None when `text` is not one of
    its messages; the same reading as the regular expression of its literals and fields would
    give (a field a lazy group, `[^\\n]+?` or `.+?` for the last one, a number's a greedy
    `_NUMBER`, a field written twice a backreference, between `\\A` and `\\Z`).

    Unlike a backtracking regex engine it remembers where a reading of the rest led nowhere (a
    place, and what the fields the rest repeats hold), and which places where a field could end
    did, so that a text of many copies of a message's literals costs about as many steps as it
    has copies, not copies ** fields (a student's exception message may be such a text)."""
    n, elements, needs = len(text), p.elements, p.needs
    spans = [(0, 0)] * p.groups
    failed: set[tuple] = set()  # (element, place, values it repeats) where the rest does not match
    dead: dict[tuple, dict[int, int]] = {}  # a field's ends tried in vain: end -> where the next one may be

    def value(group: int) -> str:
        return text[spans[group][0] : spans[group][1]]

    def rest(i: int, at: int) -> bool:
        steps.take()
        if i == len(elements):
            return at == n
        key = (i, at, *map(value, needs[i]))
        if key in failed:
            return False
        kind, arg = elements[i]
        if kind == _LITERAL or kind == _SAME:
            literal = arg if kind == _LITERAL else value(arg)
            found = text.startswith(literal, at) and rest(i + 1, at + len(literal))
        elif kind == _NUMERIC:
            found = False
            for end in _number_ends(text, at):
                steps.take()
                spans[arg] = (at, end)
                if rest(i + 1, end):
                    found = True
                    break
        else:
            found = field(i, at, arg, kind, key)
        if not found:
            failed.add(key)
        return found

    def field(i: int, at: int, group: int, kind: str, key: tuple) -> bool:
        """A lazy field: its ends tried from the nearest, each where the next literal stands."""
        newline = text.find("\n", at)
        limit = n if kind == _REST or newline < 0 else newline  # its last possible end
        after = elements[i + 1] if i + 1 < len(elements) else None
        if after is None or (after[0] == _LITERAL and i + 2 == len(elements)):  # the end of the text is next
            end = n - (len(after[1]) if after else 0)
            spans[group] = (at, end)
            return at < end <= limit and rest(i + 1, end)
        literal = after[1] if after[0] == _LITERAL else ""  # "": a field is next, any end may do
        # the ends tried in vain hold for every start if the rest does not repeat this field
        skip = dead.setdefault(key[:1] + key[2:] + ((at,) if group in needs[i + 1] else ()), {})
        passed, end = [], at + 1
        while True:
            steps.take()
            end = text.find(literal, end)
            if end < 0 or end > limit:
                break
            if end in skip:  # tried in vain, and the ends after it up to skip[end]
                passed.append(end)
                end = skip[end]
                continue
            spans[group] = (at, end)
            if rest(i + 1, end):
                return True
            passed.append(end)
            end += 1
        for tried in passed:  # all in vain up to the end this search stopped at
            skip[tried] = n + 1 if end < 0 else end
        return False

    return tuple(map(value, range(p.groups))) if rest(0, 0) else None


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
        self._local = threading.local()  # .steps: what is left to the text being localized (`_Steps`)
        self.markers = []
        for marker in MARKERS:
            if entries.get(marker):
                regex = "".join(re.escape(literal) + ("([0-9]+)" if field else "") for literal, field in _parts(marker))
                self.markers.append((re.compile(regex), marker, entries[marker]))

    def __call__(self, text: str, depth: int = MAX_DEPTH) -> str:
        known = self._translated.get(text) if depth == MAX_DEPTH else None
        if known is not None:
            return known
        self._local.steps = _Steps(STEPS + STEPS_PER_CHAR * len(text))
        try:
            translated = self._scored(text, depth)[0]
        except _OutOfSteps:  # a text made to take the grader's time: shown as it is
            translated = text
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
        if "\n" in text:  # a message and its traceback, or its hints, or a message a line: each line on its own
            lines = [self._whole(line, depth) or (line, 0) for line in text.split("\n")]
            by_line = "\n".join(line for line, _ in lines), sum(score for _, score in lines)
            # a message's last field may take the lines after it (a traceback), and so would
            # swallow the messages standing on lines of their own (a note a line): the reading
            # that covers more of the text with the catalogs' own is taken, the whole's on a tie
            if found is None or by_line[1] > found[1]:
                return by_line
        return found if found is not None else (text, 0)

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
        steps = self._local.steps
        steps.take()
        candidates = heapq.merge(self._starting.get(text[:_START_CHARS], ()), self._anywhere)
        for _rank, p in candidates:
            if not text.startswith(p.start) or not all(literal in text for literal in p.literals):
                continue
            steps.take()
            match = _match(p, text, steps)
            if match is None:
                continue
            values, covered = {}, p.weight
            for field, found in zip(dict.fromkeys(p.fields), match):
                values[field], more = self._scored(found, depth - 1)
                covered += more
            score = (covered, -len(match[-1]))
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
