"""Mutation testing of a suite (`blockgrade audit`): does it catch small mistakes in the solution?

Each *mutant* is the reference solution with one small change inside one of its
`### BEGIN SOLUTION` / `### END SOLUTION` regions: an operator swapped (`+ -`, `* /`, `@ *`,
a comparison, `and or`, a `not` or a unary minus dropped), a constant changed (a number by ±1
or to 0 or 1, `True`/`False` flipped, `None` made 1, a string altered), a keyword argument
dropped, two neighbouring call arguments swapped, `return X` made `return None`, or a
statement replaced by `pass`. Every mutant is graded like a submission, all of them in one
batch of the batch grader (`grading.grade_batch`), beside the reference solution itself.

A mutant is *killed* when it scores below the reference on the suite, or when it is not graded
at all (timed out, crashed, ...): a student who made that change would lose points (on a suite
whose checks carry no points, the visible one, when it fails a check the reference passes).
One that keeps the reference's score *survived*: the suite cannot tell that mistake from the
solution.
Some survivors are *equivalent* (the change alters no behaviour, like swapping the arguments of
`min`); the assignment lists them, each with its reason, in `assignment.toml`:

    [[audit.equivalent]]
    line = "return min(x, high)"          # the source line as written, stripped
    mutant = "return min(high, x)"        # the line as the mutant has it
    reason = "min is symmetric"

A task's score is killed / (its mutants less the excused ones); a mutant the kit failed to
grade (an internal error, or left ungraded by an interrupted run) is listed and counts as not
killed. The audit passes when no survivor is left unexcused and every task's score reaches
the minimum (0.98 by default), which is what bounds the ungraded ones.

Mutants are made with Python's own `ast`: each change is applied to one node, the node's text
is replaced in the source by `ast.unparse` of the changed node (in parentheses only where
precedence needs them, checked by parsing the result and comparing it with the changed tree),
so the mutant keeps the solution's layout and comments, and its one-line diff names the line.
"""

from __future__ import annotations

import ast
import copy
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from autograder.catalog import Assignment, CatalogError, Course, Limits
from autograder.errors import BlockgradeError
from autograder.generate import BEGIN, END, stub_source
from autograder.results import FAILED, GRADED, INTERNAL_ERROR, PASSED, SubmissionResult

KILLED, SURVIVED, EXCUSED, ERROR = "killed", "survived", "excused", "error"
DEFAULT_MIN_SCORE = 0.98
REFERENCE = "reference"
# Mutants that loop forever are killed by the time limit: shorter limits than grading's keep
# an audit quick (the reference must still pass under them, or the audit stops and says so).
AUDIT_PROBE_SECONDS = 5.0
AUDIT_SUBMISSION_SECONDS = 30.0


class AuditError(BlockgradeError):
    """The audit cannot run or cannot be trusted (the message says why)."""


# ----------------------------------------------------------------------------- the mutants


@dataclass(frozen=True)
class Mutant:
    """One change to the solution: where it is, what it does, and the whole mutated module."""

    name: str  # "m001": its submission's name in the batch
    operator: str  # the kind of change, e.g. "binary operator", "remove statement"
    file: str  # the module's file name, e.g. "blocks.py"
    line: int  # the first line the change touches (1-based, in the solution)
    original: str  # that line (or those lines, joined by spaces) as the solution has it, stripped
    mutated: str  # the same as the mutant has it
    definition: str  # the top-level def or class that holds the change
    task: str | None  # the task whose names include `definition`; None if no task's do
    source: str = field(repr=False, compare=False)

    @property
    def diff(self) -> str:
        return f"{self.file}:{self.line}  {self.original}  ->  {self.mutated}"


_BINARY = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
}
_COMPARE = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}


def solution_regions(source: str, filename: str) -> list[tuple[int, int]]:
    """The (first, last) lines strictly inside each marked region; the markers are checked as
    `blockgrade build` checks them (a GenerateError says what is misplaced)."""
    stub_source(source, filename)
    regions, start = [], 0
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END:
            if number - 1 > start:
                regions.append((start + 1, number - 1))
    return regions


def _number(value) -> ast.expr:
    """A number as source writes it: a negative one is a unary minus on a constant."""
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _numeric(node: ast.AST):
    """The value of a number literal (`3`, `0.5`, `-1`), else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        return -node.operand.value
    return None


def _skipped_constants(tree: ast.AST) -> set[int]:
    """Constants left alone: docstrings, the parts of f-strings, the operand of a negative
    number (the number is changed whole), and `None` compared with `is` (`is not` covers it)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skip.add(id(node.value))
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Constant))
        elif _numeric(node) is not None and isinstance(node, ast.UnaryOp):
            skip.add(id(node.operand))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            skip.update(
                id(n) for n in [node.left, *node.comparators] if isinstance(n, ast.Constant) and n.value is None
            )
    return skip


def _changes(node: ast.AST, skip: set[int]) -> Iterator[tuple[str, ast.AST]]:
    """Every single change of `node` itself: (operator, the node that replaces it)."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        yield "binary operator", ast.BinOp(node.left, _BINARY[type(node.op)](), node.right)
    elif isinstance(node, ast.AugAssign) and type(node.op) in _BINARY:
        yield "binary operator", ast.AugAssign(node.target, _BINARY[type(node.op)](), node.value)
    elif isinstance(node, ast.BoolOp):
        yield "boolean operator", ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)) and _numeric(node) is None:
        yield "unary operator", node.operand
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for other in _COMPARE.get(type(op), ()):
                ops = list(node.ops)
                ops[i] = other()
                yield "comparison", ast.Compare(node.left, ops, node.comparators)
    elif isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg is not None:
                yield "drop keyword", ast.Call(node.func, node.args, node.keywords[:i] + node.keywords[i + 1 :])
        for i in range(len(node.args) - 1):
            a, b = node.args[i], node.args[i + 1]
            if not isinstance(a, ast.Starred) and not isinstance(b, ast.Starred) and ast.dump(a) != ast.dump(b):
                args = list(node.args)
                args[i], args[i + 1] = b, a
                yield "swap arguments", ast.Call(node.func, args, node.keywords)
    if id(node) in skip:
        return
    value = _numeric(node)
    if value is not None:
        for other in dict.fromkeys([value + 1, value - 1, type(value)(0), type(value)(1)]):
            if other != value:
                yield "number", _number(other)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "boolean", ast.Constant(not node.value)
        elif node.value is None:
            yield "none", ast.Constant(1)
        elif isinstance(node.value, str):
            yield "string", ast.Constant(f"XX{node.value}XX")
    if isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return None", ast.Return(ast.Constant(None))
    if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass):
        yield "remove statement", ast.Pass()


def _replace(tree: ast.Module, index: int, new: ast.AST) -> ast.Module:
    """A copy of `tree` whose `index`-th node (in `ast.walk` order) is `new`."""
    tree = copy.deepcopy(tree)
    target = list(ast.walk(tree))[index]
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, new)
                return tree
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = new
                        return tree
    raise AssertionError("the node to replace has no parent")


_GROUPING = (ast.BinOp, ast.BoolOp, ast.Compare, ast.UnaryOp, ast.IfExp, ast.Lambda, ast.NamedExpr)


def _texts(new: ast.AST, old: ast.AST, source: str) -> Iterator[str]:
    """Texts to put in place of `old` for `new`, the most faithful first: the parts `new` keeps
    from the solution as the solution writes them (first as they are, then the compound ones in
    parentheses), else `ast.unparse(new)` whole; each also in parentheses. The caller keeps the
    first whose module parses to the intended tree."""
    texts = []
    if isinstance(new, ast.Constant) and isinstance(new.value, str):
        written = ast.get_source_segment(source, old) or ""
        if written.startswith('"') and not any(c in new.value for c in "\"\\'\n"):
            texts.append(f'"{new.value}"')
    for grouped in (False, True):
        kept, parts = copy.copy(new), {}
        for name, value in ast.iter_fields(new):
            setattr(kept, name, _placeholders(value, source, parts, grouped))
        if parts:
            text = ast.unparse(kept)
            for placeholder, segment in parts.items():
                text = text.replace(placeholder, segment)
            texts.append(text)
    texts.append(ast.unparse(new))
    for text in dict.fromkeys(texts):
        yield text
        yield f"({text})"


def _placeholders(value, source: str, parts: dict[str, str], grouped: bool):
    """`value` (a field of a changed node) with each expression taken from the solution made a
    placeholder name, whose solution text `parts` records."""
    if isinstance(value, list):
        return [_placeholders(v, source, parts, grouped) for v in value]
    if isinstance(value, ast.keyword):
        return ast.keyword(value.arg, _placeholders(value.value, source, parts, grouped))
    if isinstance(value, ast.expr) and getattr(value, "end_col_offset", None) is not None:
        segment = ast.get_source_segment(source, value)
        if segment is not None:
            if grouped and isinstance(value, _GROUPING):
                segment = f"({segment})"
            placeholder = f"_audit_part_{len(parts)}_"
            parts[placeholder] = segment
            return ast.Name(placeholder, ast.Load())
    return value


def _start(node: ast.AST) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", None)
    first = decorators[0] if decorators else node
    return first.lineno, first.col_offset


def _splice(lines: list[bytes], node: ast.AST, text: str) -> tuple[str, int, str]:
    """The source with `node`'s text replaced by `text` (positions are in UTF-8 bytes), and
    (its first line, the text of the lines it now spans)."""
    line, col = _start(node)
    head = lines[line - 1][:col]
    tail = lines[node.end_lineno - 1][node.end_col_offset :]
    changed = head + text.encode("utf-8") + tail
    source = b"".join(lines[: line - 1]) + changed + b"".join(lines[node.end_lineno :])
    return source.decode("utf-8"), line, changed.decode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _definitions(tree: ast.Module) -> list[tuple[int, int, str]]:
    return [
        (_start(node)[0], node.end_lineno, node.name)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


def mutants(source: str, filename: str = "solution.py", tasks: dict[str, str] | None = None) -> list[Mutant]:
    """Every single-change mutant of the solution regions of `source`, deduplicated (two
    changes that make the same module are one mutant), in source order. `tasks` maps a
    top-level name to its task."""
    regions = solution_regions(source, filename)
    tree = ast.parse(source, filename)
    original_dump = ast.dump(tree)
    lines = source.encode("utf-8").splitlines(keepends=True)
    text_lines = [line.decode("utf-8").rstrip("\r\n") for line in lines]  # numbered as ast numbers them
    skip = _skipped_constants(tree)
    definitions = _definitions(tree)
    nodes = list(ast.walk(tree))
    found: dict[str, Mutant] = {}
    for index, node in enumerate(nodes):
        if not hasattr(node, "end_lineno") or node.end_lineno is None:
            continue
        first = _start(node)[0]
        if not any(start <= first and node.end_lineno <= end for start, end in regions):
            continue
        for operator, new in _changes(node, skip):
            expected = _replace(tree, index, new)
            want = ast.dump(expected)
            if want == original_dump:
                continue
            for candidate in _texts(new, node, source):
                mutated, line, changed = _splice(lines, node, candidate)
                try:
                    if ast.dump(ast.parse(mutated)) != want:
                        continue
                    compile(mutated, filename, "exec")
                except (SyntaxError, ValueError):
                    continue
                if mutated not in found:
                    owner = next((name for start, end, name in definitions if start <= line <= end), "")
                    found[mutated] = Mutant(
                        name="",
                        operator=operator,
                        file=Path(filename).name,
                        line=line,
                        original=_one_line("\n".join(text_lines[line - 1 : node.end_lineno])),
                        mutated=_one_line(changed),
                        definition=owner,
                        task=(tasks or {}).get(owner),
                        source=mutated,
                    )
                break
    ordered = sorted(found.values(), key=lambda m: m.line)  # stable: walk order within a line
    width = len(str(len(ordered)))
    return [_named(m, f"m{i:0{width}d}") for i, m in enumerate(ordered, 1)]


def _named(mutant: Mutant, name: str) -> Mutant:
    return Mutant(**{**{f: getattr(mutant, f) for f in mutant.__dataclass_fields__}, "name": name})


def assignment_mutants(assignment: Assignment) -> list[Mutant]:
    """The mutants of an assignment's reference solution, each with its task."""
    path = assignment.solution_dir / assignment.module
    if not path.is_file():
        raise AuditError(f"{path} is missing: the audit mutates the reference solution")
    tasks = {name: task.id for task in assignment.tasks for name in task.names}
    return mutants(path.read_text(encoding="utf-8"), str(path), tasks)


# ----------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Equivalent:
    line: str
    mutant: str
    reason: str


@dataclass
class MutantResult:
    mutant: Mutant
    outcome: str  # killed, survived, excused or error
    status: str  # the grader's status for the mutant
    score: float
    reason: str = ""  # why it is excused (from assignment.toml), or what went wrong

    def to_dict(self) -> dict:
        m = self.mutant
        return {
            "name": m.name,
            "task": m.task,
            "definition": m.definition,
            "operator": m.operator,
            "file": m.file,
            "line": m.line,
            "original": m.original,
            "mutated": m.mutated,
            "diff": m.diff,
            "outcome": self.outcome,
            "status": self.status,
            "score": self.score,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TaskAudit:
    task: str  # a task id, or "(none: NAME)" for a region outside every task's names
    mutants: int
    killed: int
    survived: int  # not excused
    excused: int
    errors: int

    @property
    def score(self) -> float | None:
        """killed / non-equivalent mutants; None when every mutant is excused (or none exist)."""
        counted = self.mutants - self.excused
        return self.killed / counted if counted else None


@dataclass
class AuditReport:
    assignment: Assignment
    suite: str
    reference_score: float
    max_score: float
    results: list[MutantResult]
    unused_equivalents: list[Equivalent]
    seconds: float
    interrupted: bool = False

    def of(self, outcome: str) -> list[MutantResult]:
        return [r for r in self.results if r.outcome == outcome]

    @property
    def survivors(self) -> list[MutantResult]:
        """The survivors no equivalent excuses: what the suite should be taught to catch."""
        return self.of(SURVIVED)

    @property
    def tasks(self) -> list[TaskAudit]:
        groups = [t.id for t in self.assignment.tasks]
        groups += sorted({_group(r.mutant) for r in self.results} - set(groups))
        audits = []
        for group in groups:
            rs = [r for r in self.results if _group(r.mutant) == group]
            count = {o: sum(r.outcome == o for r in rs) for o in (KILLED, SURVIVED, EXCUSED, ERROR)}
            audits.append(TaskAudit(group, len(rs), count[KILLED], count[SURVIVED], count[EXCUSED], count[ERROR]))
        return audits

    def failures(self, min_score: float = DEFAULT_MIN_SCORE) -> list[str]:
        """Why the audit fails; empty when it passes."""
        reasons = []
        if self.interrupted:
            reasons.append("the audit was interrupted")
        if self.survivors:
            reasons.append(f"{len(self.survivors)} mutant(s) survived that no [[audit.equivalent]] excuses")
        for t in self.tasks:
            if t.score is not None and t.score < min_score - 1e-12:
                reasons.append(f"task {t.task} scores {t.score:.3f}, below {min_score:g}")
        return reasons

    def to_dict(self, min_score: float = DEFAULT_MIN_SCORE) -> dict:
        return {
            "assignment": self.assignment.id,
            "suite": self.suite,
            "reference_score": self.reference_score,
            "max_score": self.max_score,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "min_score": min_score,
            "passed": not self.failures(min_score),
            "failures": self.failures(min_score),
            "tasks": [
                {
                    "task": t.task,
                    "mutants": t.mutants,
                    "killed": t.killed,
                    "survived": t.survived,
                    "excused": t.excused,
                    "errors": t.errors,
                    "score": t.score,
                }
                for t in self.tasks
            ],
            "mutants": [r.to_dict() for r in self.results],
            "unused_equivalents": [e.__dict__ for e in self.unused_equivalents],
        }

    def write_json(self, path: Path, min_score: float = DEFAULT_MIN_SCORE) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(min_score), indent=2) + "\n", encoding="utf-8")
        return path


def _group(mutant: Mutant) -> str:
    return mutant.task if mutant.task is not None else f"(none: {mutant.definition})"


def equivalents(assignment: Assignment) -> list[Equivalent]:
    """The `[[audit.equivalent]]` entries of assignment.toml (checked when it was loaded)."""
    return [
        Equivalent(e["line"].strip(), e["mutant"].strip(), e["reason"])
        for e in assignment.settings.get("audit", {}).get("equivalent", [])
    ]


def _killed(result: SubmissionResult, reference: SubmissionResult) -> bool:
    """Not graded, or fewer points than the reference, or (what a suite whose checks carry no
    points, like a visible one, can only tell) a check failed that the reference passes."""
    if result.status != GRADED or result.score < reference.score - 1e-9:
        return True
    passed = {t.test.nodeid for t in reference.tests if t.outcome == PASSED}
    return any(t.outcome == FAILED and t.test.nodeid in passed for t in result.tests)


def classify(
    mutant: Mutant, result: SubmissionResult | None, reference: SubmissionResult, excuses: list[Equivalent]
) -> MutantResult:
    """A graded mutant's outcome against the reference's result."""
    if result is None:
        return MutantResult(mutant, ERROR, "not graded", 0.0, "the audit stopped before grading it")
    if result.status == INTERNAL_ERROR:
        return MutantResult(mutant, ERROR, result.status, result.score, " ".join(result.notes)[:300])
    if _killed(result, reference):
        return MutantResult(mutant, KILLED, result.status, result.score)
    for excuse in excuses:
        if (excuse.line, excuse.mutant) == (mutant.original, mutant.mutated):
            return MutantResult(mutant, EXCUSED, result.status, result.score, excuse.reason)
    return MutantResult(mutant, SURVIVED, result.status, result.score)


def audit_limits(assignment: Assignment, probe_seconds: float | None = None) -> Limits:
    """The assignment's limits with the audit's shorter time limits (or `probe_seconds`)."""
    probe = probe_seconds if probe_seconds is not None else min(assignment.limits.probe_seconds, AUDIT_PROBE_SECONDS)
    return assignment.limits.replace(
        probe_seconds=probe,
        submission_seconds=max(probe, min(assignment.limits.submission_seconds, AUDIT_SUBMISSION_SECONDS)),
    )


def audit(
    course: Course,
    assignment: Assignment | str,
    suite: str = "hidden",
    workers: int | None = None,
    *,
    limits: Limits | None = None,
    devices: list[str] | None = None,
    sandbox: str = "auto",
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
) -> AuditReport:
    """Grade every mutant of the assignment's solution, and the solution itself, on `suite`
    in one batch, and say which mutants the suite kills.

    `limits` default to the assignment's, with the time limits cut to AUDIT_PROBE_SECONDS and
    AUDIT_SUBMISSION_SECONDS (a mutant that loops forever is killed by them)."""
    from autograder.grading import grade_batch

    started = time.monotonic()
    if isinstance(assignment, str):
        assignment = course.get(assignment)
    if assignment.layout != "source":
        raise CatalogError(
            "the audit runs in the instructor's repository (the folder holding assignments/ and solutions/)"
        )
    assignment.suite_dir(suite)  # an unknown suite is a clear error
    limits = limits or audit_limits(assignment)
    found = assignment_mutants(assignment)
    reference_source = (assignment.solution_dir / assignment.module).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="blockgrade-audit-") as tmp:
        root = Path(tmp)
        paths = []
        for name, source in [(REFERENCE, reference_source), *((m.name, m.source) for m in found)]:
            (root / "mutants" / name).mkdir(parents=True)
            (root / "mutants" / name / assignment.module).write_text(source, encoding="utf-8")
            paths.append(root / "mutants" / name)
        batch = grade_batch(
            course,
            assignment,
            paths,
            root / "graded",
            suite=suite,
            workers=workers,
            limits=limits,
            devices=devices,
            sandbox=sandbox,
            on_start=on_start,
            on_result=on_result,
        )
    graded = {r.name: r for r in batch.results}
    reference = graded.get(REFERENCE)
    if reference is None:
        raise AuditError("the audit was interrupted before the reference solution was graded")
    failed = [f"{t.test.name}: {t.message[:200]}" for t in reference.tests if t.outcome == FAILED]
    if reference.status != GRADED or failed:
        raise AuditError(
            f"{assignment.id}: the reference solution must pass every check of the {suite} suite to audit it, "
            f"but it failed {len(failed)} and scored {reference.score:g}/{reference.max_score:g} ({reference.status})"
            + (f" under the audit's limits ({limits.probe_seconds:g} s a probe)" if reference.status != GRADED else "")
            + "".join(f"\n  {line}" for line in failed[:10] + reference.notes[:5])
        )
    excuses = equivalents(assignment)
    results = [classify(m, graded.get(m.name), reference, excuses) for m in found]
    used = {(m.mutant.original, m.mutant.mutated) for m in results if m.outcome == EXCUSED}
    return AuditReport(
        assignment=assignment,
        suite=suite,
        reference_score=reference.score,
        max_score=reference.max_score,
        results=results,
        unused_equivalents=[e for e in excuses if (e.line, e.mutant) not in used],
        seconds=time.monotonic() - started,
        interrupted=batch.interrupted,
    )


# ----------------------------------------------------------------------------- the terminal


def _score_text(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


def render(report: AuditReport, console, min_score: float = DEFAULT_MIN_SCORE) -> bool:
    """Print the report (a table per task, then every survivor as a one-line diff); True when
    the audit passes."""
    from rich.table import Table
    from rich.text import Text

    a = report.assignment
    console.print(
        Text(
            f"{a.title}: {len(report.results)} mutant(s) of {a.module} on the {report.suite} suite, "
            f"graded in {report.seconds:.1f} s",
            style="bold",
        )
    )
    table = Table()
    for column in ("task", "mutants", "killed", "survived", "excused", "score"):
        table.add_column(column, justify="left" if column == "task" else "right", no_wrap=True)
    for t in report.tasks:
        survived = str(t.survived) + (f" (+{t.errors} not graded)" if t.errors else "")
        table.add_row(Text(t.task), str(t.mutants), str(t.killed), survived, str(t.excused), _score_text(t.score))
    total = TaskAudit(
        "total",
        *(sum(getattr(t, f) for t in report.tasks) for f in ("mutants", "killed", "survived", "excused", "errors")),
    )
    table.add_row(
        Text("total", style="bold"),
        str(total.mutants),
        str(total.killed),
        str(total.survived),
        str(total.excused),
        _score_text(total.score),
        end_section=True,
    )
    console.print(table)

    def line(text: str, style: str = "") -> None:
        console.print(Text(text, style=style), soft_wrap=True)

    groups = [
        (
            report.survivors,
            "survived (the suite does not catch these):",
            lambda r: f"  [{_group(r.mutant)}] {r.mutant.diff}",
        ),
        (report.of(ERROR), "not graded:", lambda r: f"  [{_group(r.mutant)}] {r.mutant.diff}: {r.status} {r.reason}"),
        (
            report.of(EXCUSED),
            "excused as equivalent:",
            lambda r: f"  [{_group(r.mutant)}] {r.mutant.diff}  ({r.reason})",
        ),
    ]
    for results, title, describe in groups:
        if results:
            line(title, "bold")
            for r in results:
                line(describe(r))
    for e in report.unused_equivalents:
        line(
            f"warning: no surviving mutant matches [[audit.equivalent]] line = {e.line!r}, mutant = {e.mutant!r}",
            "yellow",
        )
    failures = report.failures(min_score)
    if failures:
        line("audit failed: " + "; ".join(failures), "bold red")
    else:
        line(f"audit passed: no unexcused survivor, every task at {min_score:g} or above", "bold green")
    return not failures
