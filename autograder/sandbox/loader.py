"""Load a student's module so that a mistake costs only the tasks it touches.

Python refuses a whole file for one syntax error and stops a module at its first failing
statement. Here a top-level block with a syntax error is left out (its lines blanked, so
line numbers stay true) and every other top-level statement runs on its own; a statement
that raises is recorded and skipped. The module then holds every name that could be
defined, and the notes say what was left out and why.

Runs in the sandbox child, on untrusted code.
"""

from __future__ import annotations
import __future__

import ast
import re
import sys
import types

from autograder.probing import describe_exception

MAX_SYNTAX_REPAIRS = 40
_CONTINUATIONS = ("else", "elif", "except", "finally", "case")
_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.M)


def _is_statement_start(line: str) -> bool:
    if not line or line[0] in " \t\r\n#)]}":
        return False
    word = line.split(None, 1)[0].rstrip(":")
    return word not in _CONTINUATIONS


def _block_around(lines: list[str], index: int) -> tuple[int, int]:
    """0-based [start, end) of the top-level block holding line `index`, decorators included."""
    index = max(0, min(index, len(lines) - 1))
    start = index
    while start > 0 and not _is_statement_start(lines[start]):
        start -= 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    end = index + 1
    while end < len(lines) and not _is_statement_start(lines[end]):
        end += 1
    # a decorator line belongs with the definition that follows it
    while end < len(lines) and lines[end - 1].startswith("@"):
        end += 1
        while end < len(lines) and not _is_statement_start(lines[end]):
            end += 1
    return start, end


def _parse_salvaging(source: str, filename: str) -> tuple[ast.Module | None, list[dict]]:
    lines = source.splitlines(keepends=True)
    notes: list[dict] = []
    for _ in range(MAX_SYNTAX_REPAIRS):
        try:
            return ast.parse("".join(lines), filename=filename), notes
        except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
            lineno = getattr(exc, "lineno", None) or len(lines)
            if not lines:
                break
            start, end = _block_around(lines, lineno - 1)
            defines = _DEFINES.search("".join(lines[start:end]))
            notes.append(
                {
                    "kind": "syntax",
                    "line": lineno,
                    "first_line": start + 1,
                    "last_line": end,
                    "message": f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}",
                    "defines": defines.group(1) if defines else None,
                }
            )
            if all(not line.strip() for line in lines[start:end]):
                break  # nothing left to remove: the error is not inside one block
            lines[start:end] = ["\n" if line.endswith("\n") else "" for line in lines[start:end]]
    return None, notes


def _future_flags(tree: ast.Module) -> int:
    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return flags


def _defined_by(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def load_module(name: str, path: str, source: str) -> tuple[types.ModuleType, list[dict]]:
    """Run `source` as module `name` (registered in sys.modules) statement by statement."""
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    tree, notes = _parse_salvaging(source, path)
    if tree is None:
        notes.append({"kind": "unparsable", "message": "the file could not be parsed at all"})
        return module, notes
    flags = _future_flags(tree)
    for node in tree.body:
        code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec", flags=flags, dont_inherit=True)
        try:
            exec(code, module.__dict__)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt at import are data too
            decorators = getattr(node, "decorator_list", None)
            notes.append(
                {
                    "kind": "runtime",
                    "line": node.lineno,
                    "first_line": decorators[0].lineno if decorators else node.lineno,
                    "last_line": node.end_lineno,
                    "defines": _defined_by(node),
                    "error": describe_exception(exc),
                }
            )
    return module, notes
