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
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder import __version__
from autograder.catalog import Assignment
from autograder.choosing import ModuleFiles, working_file
from autograder.errors import BlockgradeError
from autograder.grading import import_notes
from autograder.i18n import N_, _, localize, speaks_assignment
from autograder.questions import working_answers
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


def _command_word(name: str) -> str:
    """A file name as a shell word: quoted when it holds more than letters, digits and `._+-`
    (`"Copia de blocks.ipynb"`), in double quotes, which bash, PowerShell and cmd all read."""
    return name if re.fullmatch(r"[\w.+-]+", name) else f'"{name}"'


def _other_file_warning(assignment: Assignment, path: Path) -> list[str]:
    """A warning when the file packed is not the one with the work in it, as grading would
    choose between them in its folder (`choosing.working_file`): the untouched stub `blocks.py`
    beside a changed `blocks.ipynb` (or `Copia de blocks.ipynb`), or the reverse."""
    files = ModuleFiles.of(assignment)
    try:
        # only where another file of the module's name is beside it (a folder such as
        # Downloads is walked only then)
        if not any(
            p.name != path.name and files.is_code(p.name) and (files.exact(p.name) or files.named(p.name))
            for p in path.parent.iterdir()
        ):
            return []
        work = working_file(assignment, path.parent, verb="would be graded")
    except (OSError, BlockgradeError):
        return []
    why = work.why_not(path)  # "" when it is the file chosen, or was not weighed
    if not why:
        return []
    other = work.path.name
    return [
        _(
            "you are submitting {file}, but {other} beside it holds more of your work: {why}. "
            "Submit it instead: {command}",
            file=path.name,
            other=other,
            why=localize(why, assignment),
            command=f"blockgrade submit {assignment.id} --file {_command_word(other)}",
        )
    ]


@speaks_assignment
def pack(assignment: Assignment, path: Path, output: Path, *, force: bool = False) -> PackReport:
    try:
        staged = stage(path, assignment)
    except StagingError as exc:
        raise SubmitRefused(localize(exc.message, assignment)) from None
    source = staged.submission.source
    warnings: list[str] = [localize(n, assignment) for n in staged.notes]
    try:
        ast.parse(source, filename=assignment.module)
    except SyntaxError as exc:
        # a notebook's error cites its cell and the line in it, not the module made of its cells
        # (the place is English, "blocks.ipynb cell 15 (NestMLP),", and localized with the
        # message, as the check's notes are: `notebooks.CELL_PLACES`)
        where, line = staged.lines.at(exc.lineno, path.name) if staged.lines else (path.name, exc.lineno)
        problem = localize(N_("{file} line {line}: {message}", file=where, line=line, message=exc.msg), assignment)
        if not force:
            raise SubmitRefused(_("{problem}. Fix it (or submit anyway with --force).", problem=problem)) from None
        warnings.append(problem)

    with SandboxHost([]) as host:
        run = host.run(staged.submission, [], assignment.limits)
    problems = [localize(p, assignment) for p in import_notes(run, path.name, staged.lines)]
    if run.internal:
        problems.append(_("the import could not be checked: {reason}", reason=run.internal))
    if problems and not force:
        raise SubmitRefused("\n".join(problems) + "\n" + _("Fix it (or submit anyway with --force)."))
    warnings += problems if force else []
    present = set((run.import_info or {}).get("present", []))
    for task in assignment.tasks:
        missing = [n for n in task.names if n not in present]
        if missing:
            warnings.append(
                _("{names} is not defined: task {task} will earn no points.", names=", ".join(missing), task=task.id)
            )
    stubs = stub_functions(source)
    if stubs:
        warnings.append(_("still raising NotImplementedError: {names}.", names=", ".join(stubs)))
    warnings += _other_file_warning(assignment, path)
    written = working_answers(assignment, path)  # answers.md goes in the zip too (autograder.questions)
    warnings += [localize(w, assignment) for w in written.warnings]

    data = path.read_bytes() if path.is_file() else None
    if data is None:
        raise SubmitRefused(_("{path} is not a file", path=path))
    manifest = {
        "assignment": assignment.id,
        "files": {
            path.name: hashlib.sha256(data).hexdigest(),
            **{name: hashlib.sha256(content).hexdigest() for name, content in written.files.items()},
        },
        "kit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name, data)
        for name, content in written.files.items():
            archive.writestr(name, content)
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return PackReport(zip_path=output, warnings=warnings)
