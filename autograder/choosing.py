"""Which file of a submission is the student's work: one rule for every path that grades.

A student gets both `<module>.py` and `<module>.ipynb` and works in one of them; the other
stays the template. Whatever holds both (a folder, a zip, a Gradescope upload, a GitHub
Classroom clone, an nbgrader collection, the student's own folder for `check` and `submit`),
the file graded is the one the student worked in, decided from its code alone (a notebook's
code cells as grading reads them; outputs, metadata and file times never count):

1. the file with more tasks *written*: every name of the task defined, and no function of it
   still `raise NotImplementedError` (the stub the template puts in each solution region);
2. on a tie, the file with fewer functions still raising NotImplementedError;
3. on a tie again, the module (`.py`).

A file that cannot be read at all counts as changed (the template can be read): it is chosen
over a file with no task written, so its error is what the student sees. Every choice comes
with the sentence that says which file was graded and why.

The same module also says which file *names* are the module: its own name, a name matching
the instructor's `--module-name` pattern, or a name holding the module's stem (`alice_blocks.py`,
`blocks (1).py`, `Blocks-final.ipynb`); with no such name, the one Python file or notebook
that defines one of the assignment's names. A name holding another assignment's module stem
is that assignment's file, not this one's.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.catalog import Assignment
from autograder.errors import BlockgradeError
from autograder.i18n import N_
from autograder.sandbox.loader import _parse_salvaging

CODE_SUFFIXES = (".py", ".ipynb")
# What a submission may hold besides the student's module without being it.
NOT_THE_MODULE = ("conftest.py", "setup.py", "__init__.py")
NOT_THE_MODULE_PREFIXES = ("test_", "probes")
MAX_LISTED = 8  # files named when saying what a submission holds


# --------------------------------------------------------------------------- progress


def _is_stub(function: ast.AST) -> bool:
    """A function whose body (after its docstring) is only `raise NotImplementedError(...)`."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise):
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def stub_functions(node: ast.AST, prefix: str = "") -> list[str]:
    """Qualified names of the functions in `node` still raising NotImplementedError."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _is_stub(child):
                found.append(prefix + child.name)
            found += stub_functions(child, prefix + child.name + ".")
        elif isinstance(child, ast.ClassDef):
            found += stub_functions(child, prefix + child.name + ".")
    return found


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


@dataclass(frozen=True)
class Progress:
    """How far a file's code is from the template, task by task."""

    tasks: int  # the assignment's tasks
    written: tuple[str, ...]  # tasks whose names are all defined, with no stub left in them
    defined: tuple[str, ...]  # tasks whose names are all defined
    stubs: int  # functions of the tasks' definitions still raising NotImplementedError
    code: tuple[str | None, ...]  # each task name's definition (an AST dump), to tell equal code apart

    @property
    def untouched(self) -> bool:
        """Every task is defined and none is written: what the template looks like."""
        return not self.written and len(self.defined) == self.tasks


def _parsed(source: str) -> ast.Module | None:
    """The module's tree, blocks with a syntax error left out (as the loader leaves them out);
    None for code nested past the parser's limits (which the sandbox reports as it runs it)."""
    try:
        return _parse_salvaging(source, "<submission>")[0]
    except (RecursionError, MemoryError):
        return None


def progress(assignment: Assignment, source: str) -> Progress:
    """The tasks `source` has written (its top-level blocks with a syntax error left out, as
    the loader leaves them out)."""
    tree = _parsed(source)
    last: dict[str, ast.stmt] = {}
    for node in tree.body if tree is not None else []:
        for name in _bound_names(node):
            last[name] = node  # a later definition replaces an earlier one, as it does when run
    written, defined, stubs, code = [], [], 0, []
    for task in assignment.tasks:
        nodes = [last.get(name) for name in task.names]
        code += [ast.dump(n) if n is not None else None for n in nodes]
        if any(n is None for n in nodes):
            continue
        defined.append(task.id)
        left = sum(len(stub_functions(n)) + (isinstance(n, ast.FunctionDef) and _is_stub(n)) for n in nodes)
        stubs += left
        if not left:
            written.append(task.id)
    return Progress(len(assignment.tasks), tuple(written), tuple(defined), stubs, tuple(code))


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Candidate:
    """A file that may be the student's work: its name as the student knows it and the
    module source it stands for (None when it cannot be read, `problem` saying why)."""

    name: str
    source: str | None
    problem: str = ""


@dataclass(frozen=True)
class Choice:
    index: int  # of the chosen candidate
    reason: str  # which file, and why: a line for each other candidate; "" when there was only one
    progress: tuple[Progress | None, ...]  # each candidate's (None: unreadable); () when there was one
    whys: tuple[str, ...] = ()  # each candidate's explanation alone, of why it was not chosen ("" for the one chosen)


def _key(p: Progress | None) -> tuple:
    if p is None:  # unreadable: changed, since the template reads; ahead of a file with nothing written
        return (0, 1, 0)
    return (len(p.written), 0, -p.stubs)


def choose(assignment: Assignment, candidates: list[Candidate], verb: str = "was graded") -> Choice:
    """The candidate the student worked in (module first among equals), and the sentences
    saying so: `blocks.ipynb was graded, not blocks.py: ...`, then `Not ... either: ...` for
    each further candidate, a line each. `verb` is one of `VERBS`."""
    if not candidates:
        raise ValueError("nothing to choose from")
    if verb not in REASONS:
        raise ValueError(f"verb {verb!r} is not one of {', '.join(VERBS)}")
    if len(candidates) == 1:  # nothing to weigh (reading its progress costs a parse of the module)
        return Choice(0, "", ())
    found = tuple(progress(assignment, c.source) if c.source is not None else None for c in candidates)
    best = max(range(len(candidates)), key=lambda i: (_key(found[i]), -i))
    n = len(assignment.tasks)
    whys = tuple(
        "" if i == best else _why(candidates[best], found[best], candidates[i], found[i], n)
        for i in range(len(candidates))
    )
    first, *rest = (i for i in range(len(candidates)) if i != best)
    lines = [N_(REASONS[verb], name=candidates[best].name, other=candidates[first].name, why=whys[first])]
    lines += [N_(NOT_EITHER, other=candidates[i].name, why=whys[i]) for i in rest]
    return Choice(best, "\n".join(lines), found, whys)


# The sentence saying which file was chosen, by the verb callers pass to choose(): one message
# for each verb, and a sentence of its own for each further file (a translation cannot join a
# verb, or "or" and ";", made apart; the reason is translated where it is shown, a line each)
REASONS = {
    "was graded": N_("{name} was graded, not {other}: {why}."),
    "was checked": N_("{name} was checked, not {other}: {why}."),
    "is packed": N_("{name} is packed, not {other}: {why}."),
    "would be graded": N_("{name} would be graded, not {other}: {why}."),
}
VERBS = tuple(REASONS)
NOT_EITHER = N_("Not {other} either: {why}.")


def _why(chosen: Candidate, mine: Progress | None, other: Candidate, theirs: Progress | None, n: int) -> str:
    if theirs is None:
        return N_("{name} could not be read ({problem})", name=other.name, problem=other.problem.rstrip("."))
    if mine is None:
        return N_(
            "{other} has no task written, and {chosen} differs from the template", other=other.name, chosen=chosen.name
        )
    # the counts are numbers (`{theirs:d}`): read back where shown, a name with spaces before one stays whole
    fields = dict(chosen=chosen.name, other=other.name, mine=len(mine.written), theirs=len(theirs.written), n=n)
    if len(mine.written) != len(theirs.written):
        if theirs.untouched:
            return N_(
                "{chosen} has {mine:d} of {n:d} tasks written, {other} {theirs:d} "
                "(it is still the template: every task raises NotImplementedError)",
                **fields,
            )
        return N_("{chosen} has {mine:d} of {n:d} tasks written, {other} {theirs:d}", **fields)
    if mine.stubs != theirs.stubs:
        fields.update(mine_stubs=mine.stubs, their_stubs=theirs.stubs)
        if theirs.untouched:
            return N_(
                "both have {mine} of {n} tasks written, and {chosen} has fewer functions still raising "
                "NotImplementedError ({mine_stubs} against {their_stubs}) "
                "(it is still the template: every task raises NotImplementedError)",
                **fields,
            )
        return N_(
            "both have {mine} of {n} tasks written, and {chosen} has fewer functions still raising "
            "NotImplementedError ({mine_stubs} against {their_stubs})",
            **fields,
        )
    if mine.code == theirs.code:
        if theirs.untouched:
            return N_("both are still the template (no task written)")
        return N_("the two hold the same code for every task")
    return N_(
        "both differ from the template, with {mine} of {n} tasks written and as many functions "
        "still raising NotImplementedError, and then the module is taken: keep only the file you want graded",
        **fields,
    )


# --------------------------------------------------------------------------- file names


# What a submission's files leave unclear, said of the submission's folder or of a zip in it,
# each a whole sentence for the catalogs (a translation cannot join "the submission has" to a
# phrase made apart): (problem, in a zip) -> message
UNCLEAR = {
    ("copies", False): N_("the submission has several copies of {kind} ({files}): keep one"),
    ("copies", True): N_("{where} holds several copies of {kind} ({files}): keep one"),
    ("lookalikes", False): N_("the submission has several files that could be {kind} ({files}): keep one"),
    ("lookalikes", True): N_("{where} holds several files that could be {kind} ({files}): keep one"),
    ("no match", False): N_("the submission has no file matching --module-name {pattern!r}; {holding}"),
    ("no match", True): N_("{where} holds no file matching --module-name {pattern!r}; {holding}"),
    ("no module", False): N_("the submission has no {module} (or {notebook}); {holding}"),
    ("no module", True): N_("{where} holds no {module} (or {notebook}); {holding}"),
    ("no module, several", False): N_(
        "the submission has no {module} (or {notebook}); {holding}; name the module's file with --module-name"
    ),
    ("no module, several", True): N_(
        "{where} holds no {module} (or {notebook}); {holding}; name the module's file with --module-name"
    ),
}


class Unclear(BlockgradeError):
    """No file of a submission can be told to be the module (`said` says what it holds)."""

    def __init__(self, problem: str, several: bool = False, **fields) -> None:
        self.problem, self.fields = problem, fields
        self.several = several  # several files could be it (rather than none)
        self.message = self.said()
        super().__init__(self.message)

    def said(self, zip_name: str | None = None) -> str:
        """The sentence, of the submission's folder, or of the zip `zip_name` in it."""
        return N_(UNCLEAR[(self.problem, zip_name is not None)], where=zip_name, **self.fields)


@functools.lru_cache(maxsize=32)
def _other_modules(course_root: str, assignment_id: str) -> tuple[str, ...]:
    from autograder.catalog import course_at

    try:
        course = course_at(Path(course_root))
    except BlockgradeError:
        return ()
    if course is None:
        return ()
    return tuple(a.module_name for a in course.assignments if a.id != assignment_id)


@dataclass(frozen=True)
class ModuleFiles:
    """Which file names are an assignment's module or its notebook."""

    module: str  # "blocks.py"
    pattern: str | None = None  # the instructor's `--module-name` glob
    others: tuple[str, ...] = ()  # the other assignments' module stems: their files are not ours

    @classmethod
    def of(cls, assignment: Assignment, pattern: str | None = None) -> "ModuleFiles":
        others = _other_modules(str(assignment.course_root), assignment.id)
        stem = assignment.module_name.lower()
        return cls(assignment.module, pattern or None, tuple(o for o in others if stem not in o.lower()))

    @property
    def stem(self) -> str:
        return self.module[: -len(".py")]

    @property
    def notebook(self) -> str:
        return self.stem + ".ipynb"

    def exact(self, name: str) -> bool:
        return name in (self.module, self.notebook)

    @staticmethod
    def is_code(name: str) -> bool:
        return name.lower().endswith(CODE_SUFFIXES)

    def kind(self, name: str) -> str:
        """The name the file is graded under: the module or the notebook."""
        return self.notebook if name.lower().endswith(".ipynb") else self.module

    def named(self, name: str) -> bool:
        """The file's name says it is this module (the pattern, or the module's stem in it)."""
        if not self.is_code(name):
            return False
        if self.pattern:
            return fnmatch.fnmatchcase(name.lower(), self.pattern.lower())
        stem = name.rsplit(".", 1)[0].lower()
        return self.stem.lower() in stem and not self.helper(name)

    def foreign(self, name: str) -> str | None:
        """Another assignment's module stem that the name holds, or None."""
        stem = name.rsplit(".", 1)[0].lower()
        return next((o for o in self.others if o.lower() in stem), None)

    @staticmethod
    def helper(name: str) -> bool:
        lower = name.lower()
        return lower in NOT_THE_MODULE or lower.startswith(NOT_THE_MODULE_PREFIXES)

    def loose(self, name: str) -> str:
        """Why a file given on its own is not this module, or "" when it is graded as it."""
        if self.exact(name):
            return ""
        if not self.is_code(name):
            return N_("{name} is neither a folder, a zip, a Python file nor a notebook", name=name)
        if self.pattern:
            if self.named(name):
                return ""
            return N_("{name} does not match --module-name {pattern}", name=name, pattern=repr(self.pattern))
        if self.named(name):
            return ""
        other = self.foreign(name)
        if other is not None:
            return N_(
                "{name} is named after {other}.py, the module of another assignment, not {module}: "
                "grade it with that assignment, or name the file pattern with --module-name",
                name=name,
                other=other,
                module=self.module,
            )
        return ""

    def candidates(self, paths: list[str], only: bool = True) -> list[tuple[str, str]]:
        """The files of a submission (relative paths, `/`-separated) that may be the module,
        one per kind (the module first) and, beside a file of the exact name, the copies of it
        whose names hold the module's stem (last), each with how it was recognised: "exact"
        (its own name), "named" (the pattern, or the module's stem in its name), or, when
        `only`, "only" (the one Python file, or notebook, there: staging keeps it if it
        defines a task's name). The shallowest wins; two at one depth are ambiguous. Raises
        Unclear when nothing can be the module, with a phrase (after "the submission has",
        "x.zip holds") that says what the files are."""
        by_depth = sorted(paths, key=lambda p: (p.count("/"), p))
        code = [
            p
            for p in by_depth
            if self.is_code(PurePosixPath(p).name)
            and not self.helper(PurePosixPath(p).name)
            and (self.named(PurePosixPath(p).name) or self.foreign(PurePosixPath(p).name) is None)
        ]
        found, copies = [], []
        for kind in (self.module, self.notebook):
            mine = [p for p in by_depth if self.kind(p) == kind and self.is_code(PurePosixPath(p).name)]
            for how, test in (("exact", self.exact), ("named", self.named)):
                matching = [p for p in mine if test(PurePosixPath(p).name)]
                if not matching:
                    continue
                if len(matching) > 1 and matching[0].count("/") == matching[1].count("/"):
                    same = [m for m in matching if m.count("/") == matching[0].count("/")]
                    problem = "copies" if how == "exact" else "lookalikes"
                    raise Unclear(problem, several=True, kind=kind, files=listing(same))
                found.append((matching[0], how))
                if how == "exact":
                    # one copy whose name holds the module's (`Copia de blocks.ipynb`, what Colab
                    # saves) beside the file itself is weighed against it: the work may be there
                    beside = [
                        p
                        for p in mine
                        if p.count("/") <= matching[0].count("/")
                        and not self.exact(PurePosixPath(p).name)
                        and self.named(PurePosixPath(p).name)
                    ]
                    copies += [(p, "named") for p in beside[:MAX_LISTED]]
                break
            else:
                rest = [p for p in code if self.kind(p) == kind]
                if only and not self.pattern and len(rest) == 1:
                    found.append((rest[0], "only"))
        if found:
            return found + copies  # (the files themselves first: among equals, they are taken)
        if self.pattern:
            raise Unclear("no match", pattern=self.pattern, holding=holding(paths))
        problem = "no module, several" if len(code) > 1 else "no module"
        raise Unclear(problem, module=self.module, notebook=self.notebook, holding=holding(paths))


def listing(paths: list[str]) -> str:
    from autograder import text

    shown = [text.one_line(p, 80) for p in paths[:MAX_LISTED]]
    if len(paths) > MAX_LISTED:
        return N_("{files} and {n} more", files=", ".join(shown), n=len(paths) - MAX_LISTED)
    return ", ".join(shown)


def holding(paths: list[str]) -> str:
    """`its files: a.txt, b/c.py` (or `it has no files`)."""
    return N_("its files: {files}", files=listing(sorted(paths))) if paths else N_("it has no files")


def defined_names(source: str) -> set[str]:
    """The names `source` binds at its top level (syntax errors salvaged as the loader does)."""
    tree = _parsed(source)
    return {name for node in (tree.body if tree is not None else []) for name in _bound_names(node)}


def how_named(name: str, kind: str, how: str) -> str:
    """The note for a module recognised by something else than its own name ("" if it was)."""
    if how == "exact" or name.rsplit("/", 1)[-1] == kind:
        return ""
    if how == "named":
        return N_("{name} was graded as {kind} (its name says it is that file).", name=name, kind=kind)
    if kind.endswith(".ipynb"):
        return N_("{name} was graded as {kind}: it is the only notebook there.", name=name, kind=kind)
    return N_("{name} was graded as {kind}: it is the only Python file there.", name=name, kind=kind)


# --------------------------------------------------------------------------- a student's folder


@dataclass(frozen=True)
class Chosen:
    path: Path
    reason: str  # "" when only one file could be the work; else which file, and why (a line each)
    compared: tuple[Path, ...] = ()  # the files weighed against each other (none when only one)
    whys: tuple[str, ...] = ()  # for each of them, why it was not chosen ("" for the one chosen)

    def why_not(self, path: Path) -> str:
        """Why `path` was not chosen, alone, without which file was ("" if it was, or was not weighed)."""
        return next((w for p, w in zip(self.compared, self.whys) if p.resolve() == path.resolve()), "")


def folder_files(folder: Path, depth: int) -> tuple[dict[str, Path], list[Path]]:
    """A submission's folder as grading lists it (`staging`): its files by relative name
    (`/`-separated), down to `depth` folders, hidden folders, `__MACOSX` and `__pycache__`
    and AppleDouble `._` files left out; and the zips at its top."""
    found: dict[str, Path] = {}
    zips: list[Path] = []
    root_depth = len(folder.parts)
    for here, dirs, names in os.walk(folder, followlinks=False):
        here_path = Path(here)
        level = len(here_path.parts) - root_depth
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX", "__pycache__")) and level < depth)
        for name in sorted(names):
            if name.startswith("._"):
                continue
            path = here_path / name
            found[path.relative_to(folder).as_posix()] = path
            if name.lower().endswith(".zip") and level == 0:
                zips.append(path)
    return found, zips


def defines_a_task(assignment: Assignment, source: str) -> bool:
    """Whether `source` defines one of the assignment's names: what a file recognised only by
    being the one Python file (or notebook) there must do to be taken as the module."""
    return bool({n for t in assignment.tasks for n in t.names} & defined_names(source))


def working_file(assignment: Assignment, folder: Path | None = None, verb: str = "was checked") -> Chosen:
    """The file a student works on in `folder` (default: the assignment's), chosen as grading
    chooses in that folder (`staging`): the files `ModuleFiles.candidates` names (the module
    and the notebook, or a copy whose name holds the module's stem, such as Colab's
    `Copia de blocks.ipynb`), then the one with the work in it, by the rule above. The reason
    says which file and why whenever that was a choice or a guess."""
    from autograder.catalog import CatalogError
    from autograder.i18n import _, localize
    from autograder.staging import SEARCH_DEPTH, StagingError, read_candidate

    folder = folder or assignment.folder
    files = ModuleFiles.of(assignment)
    found, zips = folder_files(folder, SEARCH_DEPTH)
    nothing = CatalogError(
        _(
            "no {module} or {notebook} in {folder}",
            module=assignment.module,
            notebook=assignment.notebook,
            folder=folder,
        )
    )
    try:
        picked = files.candidates(list(found), only=len(zips) != 1)
    except Unclear as exc:
        if not exc.several:
            raise nothing from None
        raise CatalogError(
            _("{problem}; or name the file with --file", problem=localize(exc.said(), assignment))
        ) from None
    if len(picked) == 1 and picked[0][1] != "only" and "/" not in picked[0][0]:  # nothing weighed or guessed
        return Chosen(found[picked[0][0]], "")
    weighed: list[tuple[str, str, Candidate]] = []  # (relative name, how recognised, candidate)
    for name, how in picked:
        shown = PurePosixPath(name).name
        try:
            candidate = Candidate(shown, read_candidate(assignment, found[name]))
        except StagingError as exc:
            candidate = Candidate(shown, None, exc.message)
        if how != "only" or candidate.source is None or defines_a_task(assignment, candidate.source):
            weighed.append((name, how, candidate))
    if not weighed:
        raise nothing
    if len({c.name for _n, _h, c in weighed}) < len(weighed):  # two files of one name: their paths
        weighed = [(n, h, Candidate(n, c.source, c.problem)) for n, h, c in weighed]
    choice = choose(assignment, [c for _n, _h, c in weighed], verb)
    name, how, _candidate = weighed[choice.index]
    # a guess grading makes too (the one Python file or notebook there): said, with the choice;
    # a file recognised by its name says so itself when it is staged (`staging.stage`)
    guessed = how_named(name, files.kind(name), how) if how == "only" else ""
    place = PurePosixPath(name)
    below = N_("{name} was found in {folder}/.", name=place.name, folder=place.parent.as_posix()) if "/" in name else ""
    reason = "\n".join(n for n in (guessed, choice.reason, below) if n)
    compared = tuple(found[n] for n, _h, _c in weighed) if len(weighed) > 1 else ()
    return Chosen(found[name], reason, compared, choice.whys if compared else ())
