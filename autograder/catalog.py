"""Assignments as data: `assignment.toml` files and the folders around them.

Two layouts hold assignments:
- the instructor's *source* layout: `assignments/NN-id/` (toml, handout, `tests/visible`,
  `tests/hidden`) beside `solutions/NN-id/`;
- the generated *student* layout: `NN-id/` folders (toml, handout, stub module, `tests/`
  with the visible suite only), as in `student_template/`.

The engine never names an assignment: everything it knows comes from these files.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.errors import BlockgradeError
from autograder.i18n import LANGUAGES, _, resolve, using

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# Gradescope's visibility settings for a test; the hidden suite's is set per assignment.
GRADESCOPE_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
DEFAULT_HIDDEN_VISIBILITY = "after_published"
ASSIGNMENT_FILE = "assignment.toml"
FOLDER_PATTERN = re.compile(r"^(\d+)-([A-Za-z_][A-Za-z0-9_]*)$")
SUITES = ("visible", "hidden")


class CatalogError(BlockgradeError):
    """An assignment folder or its toml is malformed; the message says where and how."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's sandbox."""

    probe_seconds: float = 10.0
    submission_seconds: float = 60.0
    memory_mb: int = 4096
    output_kb: int = 64  # captured stdout+stderr kept per submission (head and tail)
    file_mb: int = 64  # largest file the submission may write
    processes: int = 32  # processes and threads the submission may start
    data_mb: int = 64  # largest probe result (tensors) handed back to the judge
    judge_seconds: float = 30.0  # judging one submission's data, in the grader
    judge_memory_mb: int = 2048  # memory judging one submission may take beyond the grader's own

    def replace(self, **changes) -> "Limits":
        values = {**self.__dict__, **{k: v for k, v in changes.items() if v is not None}}
        return Limits(**values)


@dataclass(frozen=True)
class Task:
    id: str
    points: float
    summary: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Hint:
    """Extra advice shown when a student's exception matches `pattern`."""

    pattern: re.Pattern
    text: str
    task: str | None = None


@dataclass(frozen=True)
class RubricItem:
    """One thing a written answer earns points for (`[[questions.rubric]]`)."""

    text: str
    points: float


@dataclass(frozen=True)
class Question:
    """A question answered in words and graded by hand (`[[questions]]`; autograder.questions)."""

    id: str
    prompt: str
    points: float
    rubric: tuple[RubricItem, ...] = ()


@dataclass(frozen=True)
class Assignment:
    id: str
    number: int
    title: str
    module: str  # the file the student edits, e.g. "blocks.py"
    tasks: tuple[Task, ...]
    hints: tuple[Hint, ...]
    limits: Limits
    folder: Path  # the folder holding assignment.toml
    layout: str  # "source" or "student"
    course_root: Path
    settings: dict = field(default_factory=dict, compare=False, hash=False)
    questions: tuple[Question, ...] = ()  # written questions, graded by hand
    # the language its students read (autograder.i18n): its toml's `language`, else course.toml's
    language: str | None = None

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def module_name(self) -> str:
        return self.module[: -len(".py")]

    @property
    def notebook(self) -> str:
        return self.module_name + ".ipynb"

    @property
    def max_score(self) -> float:
        """The autograded part: the tasks' points (written questions are `written_points`)."""
        return sum(t.points for t in self.tasks)

    @property
    def written_points(self) -> float:
        return sum(q.points for q in self.questions)

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(self.question_ids) or "none"
        raise CatalogError(f"{self.id}: no question {question_id!r} (questions: {known})")

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        with using(resolve(assignment=self)):
            message = _(
                "{assignment}: no task {task!r} (tasks: {tasks})",
                assignment=self.id,
                task=task_id,
                tasks=", ".join(self.task_ids),
            )
        raise CatalogError(message)

    @property
    def task_ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    def suite_dir(self, suite: str) -> Path:
        """Where the visible or hidden suite lives in this layout."""
        if suite not in SUITES:
            raise CatalogError(f"unknown suite {suite!r}")
        if self.layout == "student":
            if suite == "hidden":
                raise CatalogError(
                    f"{self.slug}: the hidden tests are not part of the student template; "
                    "grade from the instructor's repository or an autograder bundle"
                )
            return self.folder / "tests"
        return self.folder / "tests" / suite

    def probe_files(self, suite: str) -> list[Path]:
        return sorted(self.suite_dir(suite).glob("probes*.py"))

    def judge_files(self, suite: str) -> list[Path]:
        return sorted(self.suite_dir(suite).glob("test_*.py"))

    @property
    def solution_dir(self) -> Path:
        if self.layout != "source":
            raise CatalogError(f"{self.slug}: solutions live only in the instructor's repository")
        return self.course_root / "solutions" / self.slug

    @property
    def handout(self) -> Path:
        return self.folder / "README.md"

    @property
    def hidden_visibility(self) -> str:
        """When Gradescope shows the hidden tests' results (`[gradescope] hidden_visibility`,
        checked when the assignment is loaded)."""
        return self.settings.get("gradescope", {}).get("hidden_visibility", DEFAULT_HIDDEN_VISIBILITY)

    @property
    def allowed_imports(self) -> tuple[str, ...]:
        """Imports the integrity scan accepts here beyond its default list (`[integrity]
        allowed_imports`); the uses of these modules are not flagged either."""
        return tuple(self.settings.get("integrity", {}).get("allowed_imports", ()))


# ------------------------------------------------------------------ the schema of assignment.toml
# Every table and key an assignment.toml may hold, and the type of each value: anything else is
# a CatalogError naming the file and the key, so a misspelled setting never loads silently.
STRING, NUMBER, INTEGER, TABLE, TABLES, STRINGS = (
    "a string",
    "a number",
    "an integer",
    "a table",
    "an array of tables",
    "an array of strings",
)
TOP_LEVEL_KEYS = {
    "id": STRING,
    "title": STRING,
    "module": STRING,
    "limits": TABLE,
    "gradescope": TABLE,
    "integrity": TABLE,
    "tasks": TABLES,
    "hints": TABLES,
    "audit": TABLE,
    "questions": TABLES,
    "language": STRING,
}
TASK_KEYS = {"id": STRING, "points": NUMBER, "summary": STRING, "names": STRINGS}
HINT_KEYS = {"match": STRING, "text": STRING, "task": STRING}
GRADESCOPE_KEYS = {"hidden_visibility": STRING}
INTEGRITY_KEYS = {"allowed_imports": STRINGS}
# [[audit.equivalent]]: a mutant `blockgrade audit` may leave alive, and why (autograder.audit)
AUDIT_KEYS = {"equivalent": TABLES}
AUDIT_EQUIVALENT_KEYS = {"line": STRING, "mutant": STRING, "reason": STRING}
# [[questions]]: a question answered in words, graded by hand, with its [[questions.rubric]] items
QUESTION_KEYS = {"id": STRING, "prompt": STRING, "points": NUMBER, "rubric": TABLES}
RUBRIC_KEYS = {"text": STRING, "points": NUMBER}
_QUESTION_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# a question's id names its notebook cell (beside these), a gradebook column and a file
RESERVED_QUESTION_IDS = {
    *("handout", "imports", "submission", "score", "max_score", "status", "written", "flags", "name", "email", "sid")
}
RESERVED_QUESTION_PREFIXES = ("about-", "check-", "given-", "prompt-")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def limit_keys() -> dict[str, str]:
    """[limits]: every field of `Limits`, an integer where the field is an int."""
    return {name: INTEGER if f.type in ("int", int) else NUMBER for name, f in Limits.__dataclass_fields__.items()}


def _type_name(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _is(value, kind: str) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == TABLE:
        return isinstance(value, dict)
    if kind == TABLES:
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == STRINGS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise AssertionError(kind)


def check_table(table: dict, schema: dict[str, str], where: str, prefix: str = "") -> None:
    """Refuse a key `schema` does not name (suggesting the closest one) and a value of the wrong type."""
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
            what = (
                "table"
                if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict))
                else "key"
            )
            hint = f"; did you mean {prefix + close[0]!r}?" if close else ""
            raise CatalogError(f"{where}: unknown {what} {dotted!r}{hint} (valid here: {', '.join(sorted(schema))})")
        if not _is(value, schema[key]):
            raise CatalogError(f"{where}: {dotted} must be {schema[key]}, not {_type_name(value)} ({value!r:.60})")


def _require(table: dict, keys: tuple[str, ...], where: str, prefix: str = "") -> None:
    for key in keys:
        if key not in table:
            raise CatalogError(f"{where}: {prefix}{key} is missing")


def _number(value, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CatalogError(f"{where}: {what} must be a non-negative number, not {value!r}")
    return value


def load_assignment(folder: Path, layout: str, course_root: Path) -> Assignment:
    path = folder / ASSIGNMENT_FILE
    where = str(path)
    match = FOLDER_PATTERN.match(folder.name)
    # A student's copy of one assignment may sit in a folder of any name (a GitHub Classroom
    # repository, an nbgrader release folder): its id is the toml's.
    single_copy = layout == "student" and not match
    if not match and not single_copy:
        raise CatalogError(f"{folder}: assignment folders are named NN-id, like 01-blocks")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{where}: cannot read: {exc}") from None

    check_table(data, TOP_LEVEL_KEYS, where)
    _require(data, ("id", "module"), where)
    assignment_id = data.get("id")
    if single_copy:
        if not isinstance(assignment_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", assignment_id):
            raise CatalogError(f"{where}: id must be a lower-case name like 'blocks'")
    elif assignment_id != match.group(2):
        raise CatalogError(f"{where}: id = {assignment_id!r} must match the folder name {folder.name!r}")
    module = data.get("module")
    if not isinstance(module, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.py", module):
        raise CatalogError(f"{where}: module must be a Python file name like 'blocks.py'")

    tasks = []
    for i, raw in enumerate(data.get("tasks", [])):
        check_table(raw, TASK_KEYS, where, f"tasks[{i}].")
        _require(raw, ("id", "points"), where, f"tasks[{i}].")
        tid = raw.get("id")
        if not isinstance(tid, str) or not tid.isidentifier():
            raise CatalogError(f"{where}: tasks[{i}].id must be a Python name")
        names = raw.get("names", [tid])
        if not names or names[0] != tid or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise CatalogError(f"{where}: task {tid}: names must be Python names, the first one the id")
        tasks.append(
            Task(
                id=tid,
                points=_number(raw.get("points"), where, f"task {tid} points"),
                summary=raw.get("summary", ""),
                names=tuple(names),
            )
        )
    if not tasks:
        raise CatalogError(f"{where}: an assignment needs at least one [[tasks]] entry")
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{where}: task ids repeat: {ids}")

    hints = []
    for i, raw in enumerate(data.get("hints", [])):
        check_table(raw, HINT_KEYS, where, f"hints[{i}].")
        _require(raw, ("match", "text"), where, f"hints[{i}].")
        try:
            pattern = re.compile(raw["match"])
        except re.error as exc:
            raise CatalogError(f"{where}: hints[{i}].match is not a valid pattern: {exc}") from None
        if raw.get("task") is not None and raw["task"] not in ids:
            raise CatalogError(f"{where}: hints[{i}].task {raw['task']!r} is not a task")
        hints.append(Hint(pattern=pattern, text=raw["text"], task=raw.get("task")))

    raw_limits = data.get("limits", {})
    check_table(raw_limits, limit_keys(), where, "limits.")
    for key, value in raw_limits.items():
        if value <= 0:
            raise CatalogError(f"{where}: limits.{key} must be positive, not {value!r}")

    gradescope = data.get("gradescope", {})
    check_table(gradescope, GRADESCOPE_KEYS, where, "gradescope.")
    visibility = gradescope.get("hidden_visibility")
    if visibility is not None and visibility not in GRADESCOPE_VISIBILITIES:
        raise CatalogError(
            f"{where}: gradescope.hidden_visibility {visibility!r} is not one of {', '.join(GRADESCOPE_VISIBILITIES)}"
        )

    integrity = data.get("integrity", {})
    check_table(integrity, INTEGRITY_KEYS, where, "integrity.")
    for name in integrity.get("allowed_imports", []):
        if not _MODULE_NAME.fullmatch(name):
            raise CatalogError(f"{where}: integrity.allowed_imports: {name!r} is not a module name like 'pickle'")

    audit = data.get("audit", {})
    check_table(audit, AUDIT_KEYS, where, "audit.")
    for i, raw in enumerate(audit.get("equivalent", [])):
        check_table(raw, AUDIT_EQUIVALENT_KEYS, where, f"audit.equivalent[{i}].")
        _require(raw, ("line", "mutant", "reason"), where, f"audit.equivalent[{i}].")
        if not raw["reason"].strip():
            raise CatalogError(f"{where}: audit.equivalent[{i}].reason must say why the mutant is equivalent")

    questions = _questions(data.get("questions", []), where, tasks, layout)
    language = data.get("language")
    if language is not None and language not in LANGUAGES:
        raise CatalogError(f"{where}: language {language!r} is not one of {', '.join(LANGUAGES)}")

    return Assignment(
        id=assignment_id,
        number=int(match.group(1)) if match else 0,
        title=data.get("title", assignment_id),
        module=module,
        tasks=tuple(tasks),
        hints=tuple(hints),
        limits=Limits().replace(**raw_limits),
        folder=folder,
        layout=layout,
        course_root=course_root,
        settings={k: v for k, v in data.items() if k not in {"tasks", "hints", "limits", "questions"}},
        questions=questions,
        language=language,
    )


def _questions(raw_questions: list[dict], where: str, tasks: list[Task], layout: str) -> tuple[Question, ...]:
    """[[questions]]: each with an id, a prompt, points and, in the instructor's source, a rubric
    whose items add up to the points (the student template leaves the rubric out)."""
    names = {n for t in tasks for n in t.names}
    questions: list[Question] = []
    for i, raw in enumerate(raw_questions):
        check_table(raw, QUESTION_KEYS, where, f"questions[{i}].")
        _require(raw, ("id", "prompt", "points"), where, f"questions[{i}].")
        qid = raw["id"]
        if (
            not _QUESTION_ID.fullmatch(qid)
            or len(qid) > 40
            or qid in RESERVED_QUESTION_IDS
            or qid.startswith(RESERVED_QUESTION_PREFIXES)
        ):
            raise CatalogError(
                f"{where}: questions[{i}].id {qid!r} must be lower-case words joined by '-' (like 'why-registered'), "
                f"at most 40 characters, not one of {', '.join(sorted(RESERVED_QUESTION_IDS))} and not starting "
                f"with {', '.join(RESERVED_QUESTION_PREFIXES)}"
            )
        if qid in names:
            raise CatalogError(f"{where}: questions[{i}].id {qid!r} is also a task's name")
        if not raw["prompt"].strip():
            raise CatalogError(f"{where}: question {qid}: prompt is empty")
        points = _number(raw["points"], where, f"question {qid} points")
        if points <= 0:
            raise CatalogError(f"{where}: question {qid}: points must be positive")
        rubric = []
        for j, item in enumerate(raw.get("rubric", [])):
            check_table(item, RUBRIC_KEYS, where, f"questions[{i}].rubric[{j}].")
            _require(item, ("text", "points"), where, f"questions[{i}].rubric[{j}].")
            if not item["text"].strip():
                raise CatalogError(f"{where}: question {qid}: rubric[{j}].text is empty")
            item_points = _number(item["points"], where, f"question {qid} rubric")
            rubric.append(RubricItem(text=item["text"], points=item_points))
        if layout == "source" and not rubric:
            raise CatalogError(
                f"{where}: question {qid} needs a rubric: [[questions.rubric]] items with text and points"
            )
        if rubric and abs(sum(r.points for r in rubric) - points) > 1e-9:
            raise CatalogError(
                f"{where}: question {qid}: its rubric items add up to {sum(r.points for r in rubric):g} points, "
                f"not the question's {points:g}"
            )
        questions.append(Question(id=qid, prompt=raw["prompt"], points=points, rubric=tuple(rubric)))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{where}: question ids repeat: {ids}")
    return tuple(questions)


@dataclass(frozen=True)
class Course:
    """A set of assignments found on disk, in one layout."""

    root: Path
    layout: str
    assignments: tuple[Assignment, ...]
    language: str | None = None  # course.toml's `language`: every assignment's default

    def get(self, key: str) -> Assignment:
        """An assignment by id ('blocks'), folder ('01-blocks') or number ('1')."""
        for a in self.assignments:
            if key in (a.id, a.slug) or (key.isdigit() and int(key) == a.number):
                return a
        known = ", ".join(a.id for a in self.assignments) or "none"
        with using(resolve(course=self)):
            message = _("no assignment {key!r} here (known: {known})", key=key, known=known)
        raise CatalogError(message)


def _assignment_folders(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if (p / ASSIGNMENT_FILE).is_file())


# course.toml, at the course root: settings for every assignment, checked as strictly as a toml
COURSE_FILE = "course.toml"
COURSE_KEYS = {"language": STRING}


def load_course_config(root: Path) -> dict:
    """`root/course.toml` checked (unknown keys and bad values are errors naming the file and
    the key); {} when there is none."""
    path = root / COURSE_FILE
    if not path.is_file():
        return {}
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{where}: cannot read: {exc}") from None
    check_table(data, COURSE_KEYS, where)
    language = data.get("language")
    if language is not None and language not in LANGUAGES:
        raise CatalogError(f"{where}: language {language!r} is not one of {', '.join(LANGUAGES)}")
    return data


def _load_course(root: Path, layout: str, folders: list[Path], config: dict | None = None) -> Course:
    config = load_course_config(root) if config is None else config
    assignments = tuple(load_assignment(f, layout, root) for f in folders)
    default = config.get("language")
    assignments = tuple(replace(a, language=a.language or default) for a in assignments)
    seen: dict[str, Path] = {}
    for a in assignments:
        if a.id in seen:
            raise CatalogError(f"assignment id {a.id!r} is used by {seen[a.id]} and {a.folder}")
        seen[a.id] = a.folder
    return Course(root=root, layout=layout, assignments=assignments, language=default)


def course_at(root: Path) -> Course | None:
    """The course whose root is exactly `root`, or None."""
    root = root.resolve()
    if (root / ASSIGNMENT_FILE).is_file() and root.parent.name == "assignments":
        return course_at(root.parent.parent)  # inside an instructor's assignment folder
    if folders := _assignment_folders(root / "assignments"):
        return _load_course(root, "source", folders)
    if folders := _assignment_folders(root):
        return _load_course(root, "student", folders)
    if (root / ASSIGNMENT_FILE).is_file():
        # a lone copy's parent is not a course: no course.toml is read there
        return _load_course(root.parent, "student", [root], config={})
    return None


def _in_notebook_kernel() -> bool:
    """Whether this runs in a notebook's kernel (IPython's kernel shell, Jupyter's and Colab's),
    not merely in a process that imported it."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def find_course(start: Path | None = None, *, prefer_student: bool = False) -> Course:
    """The nearest course at or above `start` (default: the current directory).

    With `prefer_student`, an instructor's repository resolves to its `student_template/`,
    which is where `blockgrade check` runs.
    """
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        course = course_at(folder)
        if course is None:
            continue
        if prefer_student and course.layout == "source":
            template = course_at(folder / "student_template")
            if template is not None:
                return template
        return course
    if _in_notebook_kernel():  # (Jupyter, Colab): the notebook's setup cell was not run
        message = _(
            "no assignments found in {folder} or above: run the notebook's first cell (the blockgrade "
            "setup cell), which moves the kernel to the assignment's folder, then run this cell again",
            folder=start,
        )
    else:
        message = _(
            "no assignments found in {folder} or above: run this inside the kit's repository, "
            "the student template, or one of its assignment folders",
            folder=start,
        )
    raise CatalogError(message)
