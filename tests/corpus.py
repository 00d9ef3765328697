"""The corpus of student submissions the kit's tests grade: mistakes and correct variants.

A case is a file `tests/corpus/NN-id/<case>.py` that holds only the definitions it changes;
the submission is the reference solution with those definitions swapped in. Its header says
what the grader must conclude:

    # mistake: modules kept in a plain Python list            (what the case is about)
    # expect: MySequential=3                                    (points earned; other tasks full)
    # expect: full                                              (a correct variant)
    # status: import error                                      (default: graded)
    # feedback: plain Python list                               (must appear in feedback.md)
    # cause: plain-list                                         (the verified cause judges name)
    # remove: MySequential                                      (drop these names from the solution)
    # whole-file                                                (the case is the whole module)

A judge names a cause only by raising `judging.Mistake(cause, message)`; the causes named for a
case must be exactly its `# cause:` ids (none for a case without one).

Expected points are for a CPU-only run (the corpus is graded with devices=["cpu"]), where the
cuda:0 checks run on the stand-in GPU (autograder.standin): a GPU runner gives the same points.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "corpus"
_HEADER = re.compile(r"^#\s*(mistake|expect|status|feedback|cause|remove|whole-file)\s*:?\s*(.*)$")


@dataclass
class Case:
    name: str
    path: Path
    mistake: str = ""
    expect: dict[str, float] = field(default_factory=dict)
    full: bool = False
    status: str = "graded"
    feedback: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    whole_file: bool = False

    def expected_scores(self, tasks) -> dict[str, float]:
        return {t.id: self.expect.get(t.id, t.points) for t in tasks}


def parse_case(path: Path) -> Case:
    case = Case(name=path.stem, path=path)
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            if line.strip() and not line.startswith("#"):
                break
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "mistake":
            case.mistake = value
        elif key == "expect":
            if value == "full":
                case.full = True
            else:
                for item in value.split(","):
                    task, points = item.split("=")
                    case.expect[task.strip()] = float(points)
        elif key == "status":
            case.status = value
        elif key == "feedback":
            case.feedback.append(value)
        elif key == "cause":
            case.causes += [c.strip() for c in value.split(",") if c.strip()]
        elif key == "remove":
            case.remove += [n.strip() for n in value.split(",") if n.strip()]
        elif key == "whole-file":
            case.whole_file = True
    if not case.full and not case.expect and case.status == "graded":
        raise ValueError(f"{path}: a case needs `# expect:` (points per task, or full)")
    return case


def cases(assignment_slug: str) -> list[Case]:
    folder = ROOT / assignment_slug
    return [parse_case(p) for p in sorted(folder.glob("*.py"))] if folder.is_dir() else []


def _segments(source: str) -> tuple[list[str], list[str], dict[str, str], list[str]]:
    """(imports, other statements, {name: definition}, names in order) of a module's top level."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    imports, others, definitions, order = [], [], {}, []
    for node in tree.body:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        text = "".join(lines[first - 1 : node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[node.name] = text
            order.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
        else:
            others.append(text)
    return imports, others, definitions, order


def compose(solution: str, case: Case) -> str:
    """The submission a case stands for."""
    text = case.path.read_text(encoding="utf-8")
    if case.whole_file:
        return text
    case_imports, case_others, case_defs, case_order = _segments(text)
    tree = ast.parse(solution)
    lines = solution.splitlines(keepends=True)
    out = list(case_imports)
    for node in tree.body:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        name = getattr(node, "name", None)
        if name in case.remove:
            continue
        out.append(case_defs.get(name) or "".join(lines[first - 1 : node.end_lineno]))
    solution_names = {getattr(n, "name", None) for n in tree.body}
    out += [case_defs[n] for n in case_order if n not in solution_names]
    out += case_others  # statements after the definitions, where a student's leftover test would be
    return "\n\n".join(chunk.rstrip("\n") for chunk in out) + "\n"
