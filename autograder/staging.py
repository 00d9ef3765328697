"""Where a submission enters: a folder, a zip, or a notebook becomes one module's source.

Nothing is extracted to disk and nothing a submission ships runs or is imported here: a zip's
member list is checked (no absolute or `..` names, no links, no bombs) and only the module's
bytes are read, with a size cap. Only the module file travels on to the sandbox, so a shipped
`conftest.py`, `torch.py` or `sitecustomize.py` is never seen by anything.
"""

from __future__ import annotations

import importlib.util
import json
import lzma
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from autograder import choosing
from autograder.catalog import Assignment
from autograder.choosing import Candidate, ModuleFiles, Unclear
from autograder.i18n import N_
from autograder.notebooks import LineMap, NotebookError, notebook_module
from autograder.sandbox.client import Submission

# what reading a damaged member of a zip raises (a CRC or a compressed stream that does not decode)
DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError)
MAX_SOURCE_BYTES = 1 * 2**20
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 200 * 2**20
MAX_ZIP_RATIO = 200  # uncompressed / compressed, beyond which a member counts as a bomb
ZIP_UTF8_FLAG = 0x800  # general purpose bit 11: the member's name is UTF-8 (APPNOTE 4.4.4)
SEARCH_DEPTH = 4
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 120
# What a batch writes in its output folder beside the submissions' folders.
BATCH_FILES = frozenset(
    {"gradebook.csv", "report.html", "manual.csv", "manual.new.csv", "manual", "similarity.csv", "similarity"}
)
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
    lines: LineMap | None = None  # a notebook's: which cell each line of the module came from


def submission_name(path: Path) -> str:
    """The gradebook name: the folder's name, or the zip's without `.zip`."""
    name = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    return safe_name(name)


# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt; `unicodedata` does not
# expose the property): shown as nothing, some of them letters or marks (U+3164 HANGUL FILLER,
# the variation selectors), so that `alice` and `alice` + one of them would look like one student
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip


def _name_character(ch: str) -> str:
    """`ch` where a submission's name may hold it: an ASCII letter or digit, `._@+-`, or a visible
    letter, digit or mark of any other script (`Peña`, `王小明`); anything else (a separator, a
    space, punctuation, a control or format character such as a bidi override, a character
    shown as nothing) becomes `_`."""
    if ch.isascii():
        return ch if ch.isalnum() or ch in "._@+-" else "_"
    code = ord(ch)
    if any(low <= code <= high for low, high in _IGNORABLE):
        return "_"
    return ch if unicodedata.category(ch)[0] in "LNM" else "_"


def safe_name(raw: str) -> str:
    """A submission's name as the batch writes it: one plain folder name in DIR, in NFC. Only
    letters, digits and marks of any script and `._@+-` (everything else becomes `_`), no `..`,
    no leading dot, no leading `-`, `+` or `@` (a spreadsheet formula, an option), at most
    MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes of UTF-8 (two names and a few more make a
    similar pair's page name, below a file system's 255 bytes), and never the name of one of the
    batch's own files (`gradebook.csv`, `report.html`), whatever the case."""
    name = "".join(map(_name_character, unicodedata.normalize("NFC", str(raw)))).strip(".")[:MAX_NAME_CHARS]
    # at most MAX_NAME_BYTES, cut between two characters (a character cut in two is dropped)
    name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").rstrip(".")
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
        raise StagingError(
            IMPORT_ERROR, N_("{what} is not readable text ({error}); save it as UTF-8", what=what, error=exc)
        ) from None


def _submission(assignment: Assignment, source: str) -> Submission:
    names = tuple(n for t in assignment.tasks for n in t.names)
    # lone surrogates (spelled `\ud800` in a notebook's JSON, or made by a `raw_unicode_escape`
    # coding cookie) cannot be encoded for the sandbox or written to a file: they become U+FFFD
    source = re.sub("[\ud800-\udfff]", "\ufffd", source)
    return Submission(module=assignment.module_name, filename=assignment.module, source=source, names=names)


def _from_bytes(assignment: Assignment, filename: str, data: bytes, origin: str, shown: str | None = None) -> Staged:
    """The module of a file graded as `filename` (the module or the notebook), read from `data`;
    `shown` is the file's own name, which errors and tracebacks cite."""
    shown = shown or filename
    if filename.endswith(".ipynb"):
        try:
            notebook = json.loads(data.decode("utf-8"))
            task_names = tuple(n for t in assignment.tasks for n in t.names)
            made = notebook_module(notebook, shown, task_names)
        except RecursionError:
            raise StagingError(BAD_ARCHIVE, N_("{name} is nested too deeply to be a notebook", name=shown)) from None
        except (UnicodeDecodeError, ValueError, NotebookError) as exc:
            problem = N_("{name} is not a readable notebook: {error}", name=shown, error=exc)
            raise StagingError(IMPORT_ERROR, problem) from None
        # A notebook may be larger than a module (outputs, images); the code it makes may not:
        # the sandbox's host takes requests of bounded size, and a module file is capped too.
        if len(made.source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
            raise StagingError(
                BAD_ARCHIVE,
                N_(
                    "the code cells of {name} hold more than {limit} MB of code",
                    name=shown,
                    limit=MAX_SOURCE_BYTES // 2**20,
                ),
            )
        return Staged(_submission(assignment, made.source), origin, made.notes, made.lines)
    return Staged(_submission(assignment, _decode(data, shown)), origin)


def stage(path: Path, assignment: Assignment, member: str | None = None, files: ModuleFiles | None = None) -> Staged:
    """The module source of a submission at `path` (a folder, a zip, or a module file or notebook
    of any name `files` accepts), or in the folder `member` of the zip at `path` (a Gradescope
    export). Where both the module and the notebook are there, the one the student worked in
    (`choosing`); the notes say which and why."""
    files = files or ModuleFiles.of(assignment)
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        raise StagingError(MISSING_FILE, N_("{path} does not exist", path=path)) from None
    if stat.S_ISREG(mode) and path.name.lower().endswith(".zip"):
        return _stage_zip(path, assignment, member, files)
    if stat.S_ISDIR(mode) or (path.is_dir() and path.is_symlink()):
        return _stage_folder(path, assignment, files)
    if stat.S_ISREG(mode):
        problem = files.loose(path.name)
        if problem:
            raise StagingError(MISSING_FILE, problem)
        kind = files.kind(path.name)
        staged = _from_bytes(assignment, kind, _read_capped(path, kind), path.name, path.name)
        if path.name != kind:
            name = path.name
            if files.named(name):
                note = N_("{name} was graded as {kind} (its name says it is that file).", name=name, kind=kind)
            else:
                note = N_("{name} was graded as {kind} (the file given for this submission).", name=name, kind=kind)
            staged.notes.insert(0, note)
        return staged
    raise StagingError(
        MISSING_FILE, N_("{name} is neither a folder, a zip, nor {module}", name=path.name, module=assignment.module)
    )


def from_source(
    assignment: Assignment, source: str, origin: str, notes: list[str] | None = None, lines: LineMap | None = None
) -> Staged:
    """A module made elsewhere (a notebook kernel's cells, by the notebook check), staged."""
    return Staged(_submission(assignment, source), origin, list(notes or []), lines)


def read_candidate(assignment: Assignment, path: Path) -> str:
    """The module source a student's file stands for (a notebook's graded cells); StagingError
    when it cannot be read."""
    kind = ModuleFiles.of(assignment).kind(path.name)
    return _from_bytes(assignment, kind, _read_capped(path, kind), path.name, path.name).submission.source


def _choose(
    assignment: Assignment, found: list[tuple[str, str, str, Callable[[], bytes], str]], where: str | None
) -> Staged:
    """Stage each file found (relative name, how it was recognised, graded-as name, reader,
    origin) and keep the one the student worked in, with notes saying which file was graded
    and why. `where` is the zip they are in (None: the submission's folder)."""
    staged: list[Staged | StagingError] = []
    for name, _, kind, read, origin in found:
        try:
            staged.append(_from_bytes(assignment, kind, read(), origin, PurePosixPath(name).name))
        except StagingError as exc:
            staged.append(exc)
    # a file recognised by being the only code of its kind must define a task's name
    task_names = {n for t in assignment.tasks for n in t.names}
    keep = [
        i
        for i, (s, (_, how, *_)) in enumerate(zip(staged, found))
        if how != "only" or isinstance(s, StagingError) or choosing.defines_a_task(assignment, s.submission.source)
    ]
    if len(keep) < len(found):
        if not keep:
            names = ", ".join(name for name, *_ in found)
            fields = dict(
                where=where,
                module=assignment.module,
                notebook=assignment.notebook,
                names=names,
                tasks=", ".join(sorted(task_names)),
            )
            if where is None:
                message = N_(
                    "the submission has no {module} (or {notebook}); the only code there, {names}, "
                    "defines none of {tasks}",
                    **fields,
                )
            else:
                message = N_(
                    "{where} holds no {module} (or {notebook}); the only code there, {names}, defines none of {tasks}",
                    **fields,
                )
            raise StagingError(MISSING_FILE, message)
        found, staged = [found[i] for i in keep], [staged[i] for i in keep]
    # each file by its own name, or by its path where two share a name
    short = len({PurePosixPath(n).name for n, *_ in found}) == len(found)
    candidates = [
        Candidate(PurePosixPath(name).name if short else name, None, s.message)
        if isinstance(s, StagingError)
        else Candidate(PurePosixPath(name).name if short else name, s.submission.source)
        for (name, *_), s in zip(found, staged)
    ]
    choice = choosing.choose(assignment, candidates)
    chosen, (name, how, kind, _, _) = staged[choice.index], found[choice.index]
    if isinstance(chosen, StagingError):
        if choice.reason:
            raise StagingError(
                chosen.status, N_("{message} (why this file: {reason})", message=chosen.message, reason=choice.reason)
            )
        raise chosen
    renamed = choosing.how_named(name, kind, how)
    chosen.notes[:0] = [n for n in (renamed, choice.reason) if n]
    return chosen


def _too_large(name: str, kind: str, cap: int) -> StagingError:
    """A file over its size cap; for a notebook, that its outputs count, and how to clear them."""
    if kind.endswith(".ipynb"):
        return StagingError(
            BAD_ARCHIVE,
            N_(
                "{name} is larger than {limit} MB: a notebook's outputs count too (a large tensor or image it "
                "printed). Clear them (in Jupyter: Edit > Clear Outputs of All Cells; in Colab: Edit > Clear all "
                "outputs), save the notebook and submit it again.",
                name=name,
                limit=cap // 2**20,
            ),
        )
    return StagingError(BAD_ARCHIVE, N_("{name} is larger than {limit} MB", name=name, limit=cap // 2**20))


def _read_capped(path: Path, kind: str | None = None) -> bytes:
    cap = MAX_NOTEBOOK_BYTES if (kind or path.name).endswith(".ipynb") else MAX_SOURCE_BYTES
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise StagingError(
            BAD_ARCHIVE,
            N_("{name} cannot be opened ({error}); links are not accepted", name=path.name, error=exc.strerror),
        ) from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise _too_large(path.name, kind or path.name, cap)
    return data


def _unclear(exc: Unclear, where: str | None) -> StagingError:
    """What the files leave unclear, of the submission's folder (`where` None) or of a zip."""
    return StagingError(BAD_ARCHIVE if exc.several else MISSING_FILE, exc.said(where))


def _stage_folder(folder: Path, assignment: Assignment, files: ModuleFiles) -> Staged:
    found, zips = choosing.folder_files(folder, SEARCH_DEPTH)  # (what check and submit list too)
    try:
        picked = files.candidates(list(found), only=len(zips) != 1)
    except Unclear as exc:
        if not exc.several and len(zips) == 1:
            return _stage_zip(zips[0], assignment, None, files)
        raise _unclear(exc, None) from None
    for name, _ in picked:
        if os.path.islink(found[name]):
            raise StagingError(BAD_ARCHIVE, N_("{name} is a link; submit the file itself", name=name))

    def reader(path: Path, kind: str) -> Callable[[], bytes]:
        return lambda: _read_capped(path, kind)

    staged = _choose(
        assignment,
        [(n, how, files.kind(n), reader(found[n], files.kind(n)), n) for n, how in picked],
        None,
    )
    chosen = Path(staged.origin)
    if chosen.parent != Path("."):
        staged.notes.append(N_("{name} was found in {folder}/.", name=chosen.name, folder=chosen.parent.as_posix()))
    return staged


def zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's members, each name as its maker wrote it: a name without the zip's UTF-8
    flag is read as code page 437 (the zip standard), but `zip` on Linux and other tools write
    UTF-8 without setting the flag (`María 王/blocks.py` read as `Mar├¡a τÄï/blocks.py`):
    such a name whose bytes are UTF-8 is read as UTF-8. Every reader of a submission's zip
    (staging, its answers, an export's folders) lists it here, so that all see the same names."""
    infos = archive.infolist()
    for info in infos:
        if not info.flag_bits & ZIP_UTF8_FLAG and not info.orig_filename.isascii():
            try:
                info.filename = info.orig_filename.encode("cp437").decode("utf-8")
            except UnicodeError:
                pass  # not UTF-8 (a Windows code page): kept as the zip standard reads it
    return infos


def zip_files(infos: list[zipfile.ZipInfo], member: str | None = None) -> dict[str, zipfile.ZipInfo]:
    """The files a submission's zip holds (`member`: only that folder's, named from it), by
    normalized name; raises StagingError for a name `check_member` refuses, and for a file held
    twice under one name (a zip may hold both, and which one a tool unpacks differs: staging,
    the written answers and the instructor must all see the same one)."""
    members: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()  # each name as a file system would unpack it: `./a`, `a//b`, case folded
    for info in infos:
        name = check_member(info)[len(member or "") :]
        parts = PurePosixPath(name).parts
        if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            continue
        unpacked = "/".join(parts).casefold()
        if unpacked in seen:
            raise StagingError(
                BAD_ARCHIVE,
                N_("the zip holds two files named {name}; zip your folder again and submit that zip", name=name),
            )
        seen.add(unpacked)
        members[name] = info
    return members


def check_member(info: zipfile.ZipInfo) -> str:
    """The member's normalized name; raises StagingError for names and kinds we refuse."""
    name = info.filename
    if any(ord(c) < 32 for c in name):
        raise StagingError(
            BAD_ARCHIVE, N_("the zip holds a file name with control characters: {name!r:.80}", name=name)
        )
    normalized = name.replace("\\", "/")
    path = PurePosixPath(normalized)
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise StagingError(BAD_ARCHIVE, N_("the zip holds an absolute path: {name!r:.80}", name=name))
    if ".." in path.parts:
        raise StagingError(
            BAD_ARCHIVE, N_("the zip holds a path that climbs out of its folder: {name!r:.80}", name=name)
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise StagingError(BAD_ARCHIVE, N_("the zip holds a link: {name!r:.80}", name=name))
    if info.file_size > MAX_ZIP_TOTAL_BYTES or (
        info.compress_size and info.file_size > 2**20 and info.file_size / info.compress_size > MAX_ZIP_RATIO
    ):
        raise StagingError(
            BAD_ARCHIVE, N_("the zip holds an implausibly large file: {name!r:.80} (a zip bomb?)", name=name)
        )
    return normalized


def _stage_zip(
    path: Path, assignment: Assignment, member: str | None = None, files: ModuleFiles | None = None
) -> Staged:
    files = files or ModuleFiles.of(assignment)
    try:
        archive = zipfile.ZipFile(path)
    except UnicodeDecodeError:  # before ValueError, of which it is a kind
        raise StagingError(
            BAD_ARCHIVE, N_("{name} holds file names that are not valid UTF-8", name=path.name)
        ) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StagingError(
            BAD_ARCHIVE, N_("{name} is not a valid zip file ({error})", name=path.name, error=exc)
        ) from None
    with archive:
        infos = zip_members(archive)
        if member is not None:  # one submission's folder of an export: the caps apply to it alone
            infos = [i for i in infos if i.filename.replace("\\", "/").startswith(member)]
            if not infos:
                raise StagingError(MISSING_FILE, N_("{name} holds no files", name=member.rstrip("/")))
        if not infos:
            raise StagingError(BAD_ARCHIVE, N_("{name} is empty", name=path.name))
        if len(infos) > MAX_ZIP_MEMBERS:
            raise StagingError(BAD_ARCHIVE, N_("{name} holds more than {n} files", name=path.name, n=MAX_ZIP_MEMBERS))
        if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL_BYTES:
            raise StagingError(
                BAD_ARCHIVE,
                N_("{name} unpacks to more than {limit} MB", name=path.name, limit=MAX_ZIP_TOTAL_BYTES // 2**20),
            )
        members = zip_files(infos, member)
        notes = _manifest_notes(archive, members, assignment)
        where = member.rstrip("/") if member else path.name
        try:
            picked = files.candidates([n for n in members if n != MANIFEST])
        except Unclear as exc:
            raise _unclear(exc, where) from None

        def reader(name: str, kind: str) -> Callable[[], bytes]:
            def read() -> bytes:
                info = members[name]
                cap = MAX_NOTEBOOK_BYTES if kind.endswith(".ipynb") else MAX_SOURCE_BYTES
                if info.file_size > cap:
                    raise _too_large(name, kind, cap)
                try:
                    with archive.open(info) as f:
                        return f.read(cap + 1)
                except DAMAGED + (NotImplementedError, RuntimeError) as exc:
                    raise StagingError(
                        BAD_ARCHIVE,
                        N_("{name} cannot be read from {zip} ({error})", name=name, zip=path.name, error=exc),
                    ) from None

            return read

        staged = _choose(
            assignment,
            [(n, how, files.kind(n), reader(n, files.kind(n)), f"{path.name}:{member or ''}{n}") for n, how in picked],
            where,
        )
        staged.notes = notes + staged.notes
        return staged


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
