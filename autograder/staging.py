"""Where a submission enters: a folder, a zip, or a notebook becomes one module's source.

Nothing is extracted to disk and nothing a submission ships runs or is imported here: a zip's
member list is checked (no absolute or `..` names, no links, no bombs) and only the module's
bytes are read, with a size cap. Only the module file travels on to the sandbox, so a shipped
`conftest.py`, `torch.py` or `sitecustomize.py` is never seen by anything.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.catalog import Assignment
from autograder.notebooks import NotebookError, module_source_from_notebook
from autograder.sandbox.client import Submission

MAX_SOURCE_BYTES = 1 * 2**20
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 200 * 2**20
MAX_ZIP_RATIO = 200  # uncompressed / compressed, beyond which a member counts as a bomb
SEARCH_DEPTH = 4
MAX_NAME_CHARS = 100
# What a batch writes in its output folder beside the submissions' folders.
BATCH_FILES = frozenset({"gradebook.csv", "report.html"})
MANIFEST = "manifest.json"

BAD_ARCHIVE = "bad archive"
MISSING_FILE = "missing file"
IMPORT_ERROR = "import error"


class StagingError(Exception):
    """The submission cannot be graded as given; `status` is its gradebook status."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Staged:
    submission: Submission
    origin: str  # where the module came from, for the feedback
    notes: list[str] = field(default_factory=list)


def submission_name(path: Path) -> str:
    """The gradebook name: the folder's name, or the zip's without `.zip`."""
    name = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    return safe_name(name)


def safe_name(raw: str) -> str:
    """A submission's name as the batch writes it: one plain folder name in DIR. No separator,
    `..`, control or non-ASCII character (each becomes `_`), no leading dot, no leading `-`,
    `+` or `@` (a spreadsheet formula, an option), at most MAX_NAME_CHARS, and never the name
    of one of the batch's own files (`gradebook.csv`, `report.html`), whatever the case."""
    name = re.sub(r"[^A-Za-z0-9._@+-]", "_", str(raw)).strip(".")[:MAX_NAME_CHARS].rstrip(".")
    if name[:1] in ("-", "+", "@"):
        name = "_" + name
    if not name:
        return "submission"
    if name.lower() in BATCH_FILES:
        name = "_" + name
    return name


def _decode(data: bytes, what: str) -> str:
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, ValueError, LookupError, TypeError) as exc:  # ValueError: UnicodeError of any codec
        raise StagingError(IMPORT_ERROR, f"{what} is not readable text ({exc}); save it as UTF-8") from None


def _submission(assignment: Assignment, source: str) -> Submission:
    names = tuple(n for t in assignment.tasks for n in t.names)
    # lone surrogates (spelled `\ud800` in a notebook's JSON, or made by a `raw_unicode_escape`
    # coding cookie) cannot be encoded for the sandbox or written to a file: they become U+FFFD
    source = re.sub("[\ud800-\udfff]", "\ufffd", source)
    return Submission(module=assignment.module_name, filename=assignment.module, source=source, names=names)


def _from_bytes(assignment: Assignment, filename: str, data: bytes, origin: str) -> Staged:
    if filename.endswith(".ipynb"):
        try:
            notebook = json.loads(data.decode("utf-8"))
            source, notes = module_source_from_notebook(notebook)
        except RecursionError:
            raise StagingError(BAD_ARCHIVE, f"{filename} is nested too deeply to be a notebook") from None
        except (UnicodeDecodeError, ValueError, NotebookError) as exc:
            raise StagingError(IMPORT_ERROR, f"{filename} is not a readable notebook: {exc}") from None
        # A notebook may be larger than a module (outputs, images); the code it makes may not:
        # the sandbox's host takes requests of bounded size, and a module file is capped too.
        if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
            raise StagingError(
                BAD_ARCHIVE, f"the code cells of {filename} hold more than {MAX_SOURCE_BYTES // 2**20} MB of code"
            )
        return Staged(_submission(assignment, source), origin, notes)
    return Staged(_submission(assignment, _decode(data, filename)), origin)


def stage(path: Path, assignment: Assignment, member: str | None = None) -> Staged:
    """The module source of a submission at `path` (a folder, a zip, or the module file), or
    in the folder `member` of the zip at `path` (a Gradescope export)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        raise StagingError(MISSING_FILE, f"{path} does not exist") from None
    if stat.S_ISREG(mode) and path.name.lower().endswith(".zip"):
        return _stage_zip(path, assignment, member)
    if stat.S_ISREG(mode) and path.name in (assignment.module, assignment.notebook):
        return _from_bytes(assignment, path.name, _read_capped(path), path.name)
    if stat.S_ISDIR(mode) or (path.is_dir() and path.is_symlink()):
        return _stage_folder(path, assignment)
    raise StagingError(MISSING_FILE, f"{path.name} is neither a folder, a zip, nor {assignment.module}")


def _read_capped(path: Path) -> bytes:
    cap = MAX_NOTEBOOK_BYTES if path.name.endswith(".ipynb") else MAX_SOURCE_BYTES
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise StagingError(
            BAD_ARCHIVE, f"{path.name} cannot be opened ({exc.strerror}); links are not accepted"
        ) from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise StagingError(BAD_ARCHIVE, f"{path.name} is larger than {cap // 2**20} MB")
    return data


def _stage_folder(folder: Path, assignment: Assignment) -> Staged:
    candidates: dict[str, list[Path]] = {assignment.module: [], assignment.notebook: [], ".zip": []}
    root_depth = len(folder.parts)
    for here, dirs, files in os.walk(folder, followlinks=False):
        here_path = Path(here)
        depth = len(here_path.parts) - root_depth
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX", "__pycache__")) and depth < SEARCH_DEPTH)
        for name in sorted(files):
            if name in (assignment.module, assignment.notebook):
                candidates[name].append(here_path / name)
            elif name.lower().endswith(".zip") and depth == 0:
                candidates[".zip"].append(here_path / name)
    for kind in (assignment.module, assignment.notebook):
        found = sorted(candidates[kind], key=lambda p: (len(p.parts), str(p)))
        if not found:
            continue
        if len(found) > 1 and len(found[0].parts) == len(found[1].parts):
            where = ", ".join(str(p.relative_to(folder)) for p in found[:3])
            raise StagingError(BAD_ARCHIVE, f"several copies of {kind} ({where}): keep one")
        chosen = found[0]
        if os.path.islink(chosen):
            raise StagingError(BAD_ARCHIVE, f"{chosen.relative_to(folder)} is a link; submit the file itself")
        staged = _from_bytes(assignment, kind, _read_capped(chosen), str(chosen.relative_to(folder)))
        if chosen.parent != folder:
            staged.notes.append(f"{kind} was found in {chosen.parent.relative_to(folder)}/.")
        return staged
    if len(candidates[".zip"]) == 1:
        return _stage_zip(candidates[".zip"][0], assignment)
    raise StagingError(MISSING_FILE, f"the submission has no {assignment.module} (or {assignment.notebook})")


def check_member(info: zipfile.ZipInfo) -> str:
    """The member's normalized name; raises StagingError for names and kinds we refuse."""
    name = info.filename
    if any(ord(c) < 32 for c in name):
        raise StagingError(BAD_ARCHIVE, f"the zip holds a file name with control characters: {name!r:.80}")
    normalized = name.replace("\\", "/")
    path = PurePosixPath(normalized)
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise StagingError(BAD_ARCHIVE, f"the zip holds an absolute path: {name!r:.80}")
    if ".." in path.parts:
        raise StagingError(BAD_ARCHIVE, f"the zip holds a path that climbs out of its folder: {name!r:.80}")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise StagingError(BAD_ARCHIVE, f"the zip holds a link: {name!r:.80}")
    if info.file_size > MAX_ZIP_TOTAL_BYTES or (
        info.compress_size and info.file_size > 2**20 and info.file_size / info.compress_size > MAX_ZIP_RATIO
    ):
        raise StagingError(BAD_ARCHIVE, f"the zip holds an implausibly large file: {name!r:.80} (a zip bomb?)")
    return normalized


def _stage_zip(path: Path, assignment: Assignment, member: str | None = None) -> Staged:
    try:
        archive = zipfile.ZipFile(path)
    except UnicodeDecodeError:  # before ValueError, of which it is a kind
        raise StagingError(BAD_ARCHIVE, f"{path.name} holds file names that are not valid UTF-8") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StagingError(BAD_ARCHIVE, f"{path.name} is not a valid zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        if member is not None:  # one submission's folder of an export: the caps apply to it alone
            infos = [i for i in infos if i.filename.replace("\\", "/").startswith(member)]
            if not infos:
                raise StagingError(MISSING_FILE, f"{member.rstrip('/')} holds no files")
        if not infos:
            raise StagingError(BAD_ARCHIVE, f"{path.name} is empty")
        if len(infos) > MAX_ZIP_MEMBERS:
            raise StagingError(BAD_ARCHIVE, f"{path.name} holds more than {MAX_ZIP_MEMBERS} files")
        if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL_BYTES:
            raise StagingError(BAD_ARCHIVE, f"{path.name} unpacks to more than {MAX_ZIP_TOTAL_BYTES // 2**20} MB")
        members = {}
        for info in infos:
            name = check_member(info)[len(member or "") :]
            parts = PurePosixPath(name).parts
            if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
                continue
            members[name] = info
        notes = _manifest_notes(archive, members, assignment)
        for kind in (assignment.module, assignment.notebook):
            found = sorted((n for n in members if PurePosixPath(n).name == kind), key=lambda n: (n.count("/"), n))
            if not found:
                continue
            if len(found) > 1 and found[0].count("/") == found[1].count("/"):
                raise StagingError(BAD_ARCHIVE, f"{path.name} holds several copies of {kind}: keep one")
            info = members[found[0]]
            cap = MAX_NOTEBOOK_BYTES if kind.endswith(".ipynb") else MAX_SOURCE_BYTES
            if info.file_size > cap:
                raise StagingError(BAD_ARCHIVE, f"{found[0]} is larger than {cap // 2**20} MB")
            try:
                with archive.open(info) as f:
                    data = f.read(cap + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
                raise StagingError(BAD_ARCHIVE, f"{found[0]} cannot be read from {path.name} ({exc})") from None
            staged = _from_bytes(assignment, kind, data, f"{path.name}:{member or ''}{found[0]}")
            staged.notes = notes + staged.notes
            return staged
    where = member.rstrip("/") if member else path.name
    raise StagingError(MISSING_FILE, f"{where} holds no {assignment.module} (or {assignment.notebook})")


def _manifest_notes(archive: zipfile.ZipFile, members: dict, assignment: Assignment) -> list[str]:
    info = members.get(MANIFEST)
    if info is None or info.file_size > 2**16:
        return []
    try:
        manifest = json.loads(archive.read(info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, zipfile.BadZipFile, OSError):
        return ["manifest.json in the zip is not readable; it was ignored."]
    packed_for = manifest.get("assignment") if isinstance(manifest, dict) else None
    if isinstance(packed_for, str) and packed_for != assignment.id:
        return [f"this zip was packed for assignment {packed_for[:80]!r}, graded as {assignment.id!r}."]
    return []
