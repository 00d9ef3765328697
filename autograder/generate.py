"""The student template, generated from `solutions/` and `assignments/` (`blockgrade build`).

Each `### BEGIN SOLUTION` / `### END SOLUTION` region (nbgrader's markers) becomes a stub
that raises NotImplementedError naming its function; the code around it, docstrings
included, is kept as written. The template also receives each assignment's toml, handout,
visible suite and notebook, and is entirely generated: `--check` rebuilds it in a temporary
folder and lists every file that differs from the committed one.
"""

from __future__ import annotations

import ast
import filecmp
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder import i18n
from autograder.catalog import Assignment, CatalogError, Course
from autograder.i18n import _, localize

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
TEMPLATE_DIR = "student_template"
_IGNORED = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


class GenerateError(CatalogError):
    """A solution file's markers are misplaced; the message says where."""


def _functions_by_line(tree: ast.Module) -> dict[int, ast.AST]:
    """The innermost function (with its qualified name set) around each line."""
    owner: dict[int, ast.AST] = {}

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                child.qualname = prefix + child.name  # type: ignore[attr-defined]
                for line in range(child.lineno, child.end_lineno + 1):
                    owner[line] = child
                visit(child, child.qualname + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return owner


def stub_source(source: str, filename: str) -> str:
    """The student's version of a solution file: every marked region replaced by a stub."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise GenerateError(f"{filename}:{exc.lineno}: the solution does not parse: {exc.msg}") from None
    owners = _functions_by_line(tree)
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    regions = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped == END:
            raise GenerateError(f"{filename}:{i + 1}: {END} without a {BEGIN} before it")
        if stripped != BEGIN:
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        j = i + 1
        while j < len(lines) and lines[j].strip() != END:
            if lines[j].strip() == BEGIN:
                raise GenerateError(f"{filename}:{j + 1}: a {BEGIN} inside another region")
            j += 1
        if j == len(lines):
            raise GenerateError(f"{filename}:{i + 1}: {BEGIN} is never closed by {END}")
        if not lines[j].startswith(indent + END):
            raise GenerateError(f"{filename}:{j + 1}: {END} must have the indentation of its {BEGIN}")
        function = owners.get(i + 1)
        if function is None:
            raise GenerateError(f"{filename}:{i + 1}: a solution region must be inside a function")
        first = function.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and i + 1 < first.lineno
        ):
            raise GenerateError(f"{filename}:{i + 1}: put the docstring of {function.qualname} above {BEGIN}")
        marker = _("YOUR CODE HERE")
        out.append(f"{indent}# {marker}\n")
        out.append(f"{indent}raise NotImplementedError({_stub_message(function.qualname)})\n")
        regions += 1
        i = j + 1
    if regions == 0:
        raise GenerateError(f"{filename}: no {BEGIN} / {END} regions: nothing would be left to the student")
    stub = "".join(out)
    try:
        ast.parse(stub, filename)
    except SyntaxError as exc:
        raise GenerateError(f"{filename}:{exc.lineno}: the generated stub does not parse: {exc.msg}") from None
    return stub


def _stub_message(qualname: str) -> str:
    """The stub's message as a Python string literal, in the active language."""
    text = _("{name} is not implemented yet", name=qualname)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        if any(part in _IGNORED for part in path.relative_to(src).parts) or path.is_dir():
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _template_readme(course: Course) -> str:
    rows = "\n".join(
        f"| `{a.slug}` | {localize(a.title, a)} | `{a.module}` | {a.max_score:g} |" for a in course.assignments
    )
    return _(
        """# Student template

Generated by `blockgrade build` from the course's sources: do not edit it here.

| folder | assignment | you edit | points |
|---|---|---|---|
{rows}

In an assignment's folder, fill in the module (or its notebook), then:

- `blockgrade check` runs the visible tests and shows, task by task, what passes and why not;
  `blockgrade check --task NAME` checks one task.
- `blockgrade submit` checks that your file is complete enough to grade and packs the zip you upload.

Written questions (graded by hand) are answered in `answers.md` or in the notebook's answer
cells; `blockgrade check` lists those still unanswered, and `submit` packs the answers.

The visible tests in `tests/` are a subset of what grading runs: passing them is a good sign,
not a guarantee.
""",
        rows=rows,
    )


def build_assignment(assignment: Assignment, target: Path, language: str | None = None) -> None:
    """The student's folder of one assignment, in `language` (default: autograder.i18n's
    choice for it): docstrings, stubs' messages, handout and notebook text translated where
    the assignment's catalogs and `README.<lang>.md` have them, the toml saying the language."""
    language = i18n.resolve(language, assignment, environment=False)
    with i18n.using(language):
        _build_assignment(assignment, target, language)


def _build_assignment(assignment: Assignment, target: Path, language: str) -> None:
    from autograder.i18n_tools import TRANSLATED, handout_text, student_catalog, translate_solution
    from autograder.notebooks import notebook_from_module, notebook_help

    if assignment.layout != "source":
        raise GenerateError("the template is built from the instructor's repository (assignments/ and solutions/)")
    solution = assignment.solution_dir / assignment.module
    if not solution.is_file():
        raise GenerateError(f"{solution} is missing")
    source = translate_solution(assignment, solution.read_text(encoding="utf-8"), language)
    stub = stub_source(source, str(solution))
    target.mkdir(parents=True)
    (target / assignment.module).write_text(stub, encoding="utf-8")
    (target / assignment.notebook).write_text(notebook_from_module(assignment, stub), encoding="utf-8")
    toml = (assignment.folder / "assignment.toml").read_text(encoding="utf-8")
    (target / "assignment.toml").write_text(with_language(student_toml(toml), language), encoding="utf-8")
    handout = i18n.handout(assignment.folder, language)
    if handout.name != "README.md":  # a translation: without the stamp saying what it translates
        (target / "README.md").write_text(handout_text(assignment.folder, language), encoding="utf-8")
    elif handout.is_file():
        shutil.copyfile(handout, target / "README.md")
    if (target / "README.md").is_file():  # how to work in the notebook, Colab included (generated)
        readme = (target / "README.md").read_text(encoding="utf-8").rstrip("\n")
        (target / "README.md").write_text(readme + "\n\n" + notebook_help(assignment), encoding="utf-8")
    for other in TRANSLATED:  # what the visible tests and the toml say, in every language
        catalog = student_catalog(assignment, other)
        if catalog is not None:
            (target / "locale").mkdir(exist_ok=True)
            (target / "locale" / f"{other}.mo").write_bytes(catalog)
    if assignment.questions:  # written questions: answered here or in the notebook (autograder.questions)
        from autograder.questions import ANSWERS_FILE, answers_template

        (target / ANSWERS_FILE).write_text(answers_template(assignment), encoding="utf-8")
    _copy_tree(assignment.suite_dir("visible"), target / "tests")


def build(course: Course, target: Path, language: str | None = None) -> None:
    """Write the whole student template into `target` (which must not exist), each assignment
    in `language` or, when None, in its own (autograder.i18n)."""
    target.mkdir(parents=True)
    with i18n.using(i18n.resolve(language, course=course, environment=False)):
        (target / "README.md").write_text(_template_readme(course), encoding="utf-8")
    for assignment in course.assignments:
        build_assignment(assignment, target / assignment.slug, language)


@dataclass
class Drift:
    added: list[str]  # generated, not committed
    removed: list[str]  # committed, no longer generated
    changed: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self) -> str:
        lines = [f"  missing from the template: {p}" for p in self.added]
        lines += [f"  no longer generated:      {p}" for p in self.removed]
        lines += [f"  differs:                  {p}" for p in self.changed]
        return "\n".join(lines)


def _files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not any(part in _IGNORED for part in p.relative_to(root).parts)
    }


def compare(expected: Path, actual: Path) -> Drift:
    want, have = _files(expected), _files(actual)
    changed = [p for p in sorted(want & have) if not filecmp.cmp(expected / p, actual / p, shallow=False)]
    return Drift(added=sorted(want - have), removed=sorted(have - want), changed=changed)


def template_path(course: Course, language: str | None = None) -> Path:
    """student_template/ (each assignment in its configured language), or, for a language
    asked for by name, student_template-<language>/."""
    return course.root / (TEMPLATE_DIR if language is None else f"{TEMPLATE_DIR}-{i18n.check_language(language)}")


def check_template(course: Course, language: str | None = None) -> Drift:
    with tempfile.TemporaryDirectory(prefix="blockgrade-build-") as tmp:
        fresh = Path(tmp) / TEMPLATE_DIR
        build(course, fresh, language)
        return compare(fresh, template_path(course, language))


def write_template(course: Course, language: str | None = None) -> Path:
    """Regenerate student_template/ in place (built aside first, so a failure changes nothing);
    with a `language`, student_template-<language>/ in that language."""
    target = template_path(course, language)
    with tempfile.TemporaryDirectory(prefix="blockgrade-build-", dir=course.root) as tmp:
        fresh = Path(tmp) / TEMPLATE_DIR
        build(course, fresh, language)
        if target.exists():
            old = Path(tmp) / "old"
            target.rename(old)
        fresh.rename(target)
    return target


_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\s]+?)\s*\]\]?\s*(#.*)?$")


_LANGUAGE_KEY = re.compile(r"^\s*language\s*=")
_MODULE_KEY = re.compile(r"^\s*module\s*=")


def with_language(text: str, language: str) -> str:
    """The toml with its top-level `language` set to `language`: a copy for students reads in
    the language it was built in. Unchanged when it says so already, or says nothing and the
    language is English."""
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)), len(lines))
    said = [i for i in range(top) if _LANGUAGE_KEY.match(lines[i])]
    wanted = f'language = "{language}"\n'
    if (not said and language == i18n.ENGLISH) or [lines[i] for i in said] == [wanted]:
        return text
    for i in reversed(said):
        del lines[i]
        top -= 1
    after = next((i + 1 for i in range(top) if _MODULE_KEY.match(lines[i])), top)
    if after and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    lines.insert(after, wanted)
    return "".join(lines)


def student_toml(text: str) -> str:
    """The assignment's toml as students get it: without `[audit]` (its equivalent mutants
    quote solution lines) and the written questions' rubrics (`[[questions.rubric]]`: they
    say what an answer must hold), everything else as written."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        header = _TABLE_HEADER.match(line)
        if header:
            name = re.sub(r"\s+", "", header.group(1))
            skipping = name.split(".")[0] == "audit" or name == "questions.rubric"
        if not skipping:
            kept.append(line)
    return "".join(kept)
