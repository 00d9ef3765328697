"""Pairs of submissions whose verdict is known, for measuring the similarity check.

A class per assignment, disguise and original holds the originals and a copy of that one.

- **Copies**: a submission and the same code disguised, as a student who copies does it, with
  a fixed seed: local names and parameters renamed (`rename`), top-level definitions shuffled
  (`reorder`), comments rewritten and added (`recomment`), the code re-laid-out by `ast.unparse`
  with its comments gone (`relayout`), and all of these at once (`all`). The originals are the
  reference solution and the independent submissions below.
- **Independent**: pairs that share no code but what the template gives: the reference
  solution against the kit's independent correct implementations (the corpus's `# expect: full`
  cases whose mistake is "none", each a task written another way), and those against one
  another. An independent submission is the template with those cases' definitions in place
  of its stubs (the other tasks left as stubs: nobody wrote them).

Used by tests/test_similarity.py and benchmarks/similarity.py.
"""

from __future__ import annotations

import ast
import builtins
import io
import random
import tokenize
from dataclasses import dataclass

from autograder.catalog import Assignment
from autograder.similarity import reference_source, template_source

import corpus

COPY_KINDS = ("rename", "reorder", "recomment", "relayout", "all")
# corpus cases marked "mistake: none" that are the reference with a few lines added, not an
# independent implementation: a copy of the reference by construction
NOT_INDEPENDENT = {"warns_on_stderr"}
WORDS = ("value", "item", "tmp", "res", "acc", "node", "layer", "part", "val", "out", "thing", "blk", "data")


def independent_cases(assignment: Assignment) -> list[corpus.Case]:
    return [
        c
        for c in corpus.cases(assignment.slug)
        if c.full and c.mistake.startswith("none") and c.name not in NOT_INDEPENDENT and not c.whole_file
    ]


def _defined_tasks(case: corpus.Case, assignment: Assignment) -> set[str]:
    owner = {n: t.id for t in assignment.tasks for n in t.names}
    tree = ast.parse(case.path.read_text(encoding="utf-8"))
    return {owner[n.name] for n in tree.body if getattr(n, "name", None) in owner}


def independents(assignment: Assignment) -> dict[str, str]:
    """Submissions made of the corpus's independent implementations: the k-th uses the k-th
    variant of each task that has one, on top of the template's stubs."""
    stub = template_source(assignment)
    by_task: dict[str, list[corpus.Case]] = {}
    for case in independent_cases(assignment):
        for task in sorted(_defined_tasks(case, assignment)):
            by_task.setdefault(task, []).append(case)
            break
    out = {}
    for k in range(max((len(v) for v in by_task.values()), default=0)):
        source = stub
        for variants in by_task.values():
            if k < len(variants):
                source = corpus.compose(source, variants[k])
        out[f"independent-{k + 1}"] = source
    return out


# ------------------------------------------------------------------------------- disguises


def _local_names(tree: ast.Module, keep: set[str]) -> list[str]:
    """Parameters and names assigned inside functions, and helper functions: what a copier renames."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                found.add(arg.arg)
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None:
                    found.add(extra.arg)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    found.add(inner.id)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in keep:
            found.add(node.name)
    return sorted(n for n in found if n not in keep and n != "self" and not hasattr(builtins, n))


def rename(source: str, rng: random.Random, keep: set[str]) -> str:
    """Every local name and parameter renamed (keyword names in calls kept, so it still runs)."""
    tree = ast.parse(source)
    names = _local_names(tree, keep)
    mapping = {n: f"{rng.choice(WORDS)}_{i}{rng.choice('abcdefgh')}" for i, n in enumerate(names)}
    spots: list[tuple[int, int, int, str]] = []  # line, start byte, end byte, new name
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in mapping:
            spots.append((node.lineno, node.col_offset, node.end_col_offset, mapping[node.id]))
        elif isinstance(node, ast.arg) and node.arg in mapping:
            spots.append((node.lineno, node.col_offset, node.col_offset + len(node.arg.encode()), mapping[node.arg]))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in mapping:
            line = source.splitlines()[node.lineno - 1].encode()
            start = line.index(node.name.encode(), node.col_offset)
            spots.append((node.lineno, start, start + len(node.name.encode()), mapping[node.name]))
    lines = [line.encode() for line in source.splitlines(keepends=True)]
    for lineno, start, end, new in sorted(spots, reverse=True):
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:start] + new.encode() + line[end:]
    return b"".join(lines).decode()


def reorder(source: str, rng: random.Random) -> str:
    """The top-level definitions in another order (imports and other statements first)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    head, definitions = [], []
    for node in tree.body:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        chunk = "".join(lines[first - 1 : node.end_lineno])
        (definitions if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else head).append(chunk)
    rng.shuffle(definitions)
    return "\n".join(head) + "\n\n" + "\n\n".join(definitions)


def recomment(source: str, rng: random.Random) -> str:
    """Every comment reworded, and a new comment at the start of each function."""
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:  # a comment runs to the end of its line
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col] + f"# {' '.join(rng.choice(WORDS) for _ in range(4))}"
    out = []
    for line in lines:
        out.append(line)
        stripped = line.lstrip()
        if stripped.startswith("def ") and line.rstrip().endswith(":"):
            indent = line[: len(line) - len(stripped)] + "    "
            out.append(f"{indent}# {' '.join(rng.choice(WORDS) for _ in range(5))}")
    return "\n".join(out) + "\n"


def relayout(source: str) -> str:
    """The code as `ast.unparse` writes it: no comments, its own quotes and spacing."""
    return ast.unparse(ast.parse(source)) + "\n"


def disguise(source: str, kind: str, seed: int, keep: set[str]) -> str:
    rng = random.Random(seed)
    if kind == "rename":
        return rename(source, rng, keep)
    if kind == "reorder":
        return reorder(source, rng)
    if kind == "recomment":
        return recomment(source, rng)
    if kind == "relayout":
        return relayout(source)
    if kind == "all":
        return (
            relayout(reorder(recomment(rename(source, rng, keep), rng), rng))
            if seed % 2
            else recomment(reorder(rename(source, rng, keep), rng), rng)
        )
    raise ValueError(kind)


@dataclass(frozen=True)
class Class:
    """A class of one assignment: the originals and a disguised copy of one; the copy's pair."""

    assignment: Assignment
    kind: str
    sources: dict[str, str]
    copies: frozenset  # (original, copy) name pairs: the pairs that must be flagged


def classes(assignments: list[Assignment], seed: int = 0) -> list[Class]:
    """Per assignment, disguise and original, a class made of the originals (the reference
    solution and the independent submissions) and a disguised copy of that one: every pair but
    the original with its copy is independent work."""
    found = []
    for number, a in enumerate(assignments):
        keep = {n for t in a.tasks for n in t.names}
        originals = {"reference": reference_source(a), **independents(a)}
        for j, kind in enumerate(COPY_KINDS):
            for i, (name, source) in enumerate(originals.items()):
                copy = f"{name}-{kind}"
                disguised = disguise(source, kind, seed * 1000 + number * 100 + i * 10 + j, keep)
                found.append(Class(a, kind, {**originals, copy: disguised}, frozenset({(name, copy)})))
    return found


def is_copy(klass: Class, first: str, second: str) -> bool:
    return (first, second) in klass.copies or (second, first) in klass.copies
