"""`blockgrade submit`: check that a student's file can be graded, then pack the zip to upload.

The file must exist, parse and import (in the sandbox, as grading would run it); a file that
does not is refused with the reason, unless forced. Missing names and tasks still left as
stubs are warnings: partial work may be submitted. The zip holds the file and a manifest
(file hashes, kit version, time).
"""

from __future__ import annotations

import ast
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder import __version__
from autograder.catalog import Assignment
from autograder.errors import BlockgradeError
from autograder.grading import import_notes
from autograder.sandbox.client import SandboxHost
from autograder.staging import MANIFEST, StagingError, stage


class SubmitRefused(BlockgradeError):
    """The file cannot be submitted as it is; the message says why and how to fix it."""


@dataclass
class PackReport:
    zip_path: Path
    warnings: list[str] = field(default_factory=list)


def stub_functions(source: str) -> list[str]:
    """Qualified names of functions whose body is still `raise NotImplementedError(...)`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = child.body
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:]
                if len(body) == 1 and isinstance(body[0], ast.Raise):
                    exc = body[0].exc
                    target = exc.func if isinstance(exc, ast.Call) else exc
                    if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                        found.append(prefix + child.name)
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return found


def pack(assignment: Assignment, path: Path, output: Path, *, force: bool = False) -> PackReport:
    try:
        staged = stage(path, assignment)
    except StagingError as exc:
        raise SubmitRefused(exc.message) from None
    source = staged.submission.source
    warnings: list[str] = list(staged.notes)
    try:
        ast.parse(source, filename=assignment.module)
    except SyntaxError as exc:
        problem = f"{path.name} line {exc.lineno}: {exc.msg}"
        if not force:
            raise SubmitRefused(f"{problem}. Fix it (or submit anyway with --force).") from None
        warnings.append(problem)

    with SandboxHost([]) as host:
        run = host.run(staged.submission, [], assignment.limits)
    problems = import_notes(run, path.name)
    if run.internal:
        problems.append(f"the import could not be checked: {run.internal}")
    if problems and not force:
        raise SubmitRefused("\n".join(problems) + "\nFix it (or submit anyway with --force).")
    warnings += problems if force else []
    present = set((run.import_info or {}).get("present", []))
    for task in assignment.tasks:
        missing = [n for n in task.names if n not in present]
        if missing:
            warnings.append(f"{', '.join(missing)} is not defined: task {task.id} will earn no points.")
    stubs = stub_functions(source)
    if stubs:
        warnings.append(f"still raising NotImplementedError: {', '.join(stubs)}.")

    data = path.read_bytes() if path.is_file() else None
    if data is None:
        raise SubmitRefused(f"{path} is not a file")
    manifest = {
        "assignment": assignment.id,
        "files": {path.name: hashlib.sha256(data).hexdigest()},
        "kit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name, data)
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return PackReport(zip_path=output, warnings=warnings)
