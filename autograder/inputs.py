"""What a batch grades: the paths an instructor names, expanded into submissions.

A path is one submission (a folder, a zip, a module file or a notebook), or a Gradescope
"export submissions" archive (a zip, or the folder it unpacks to) holding
`submission_metadata.yml` and one `submission_<id>/` folder per submission. The metadata
maps each submission to its students, whose names, emails and ids become gradebook columns.
The export is never unpacked: each submission is read from its own folder inside the zip.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from autograder import text
from autograder.errors import BlockgradeError
from autograder.staging import (
    MAX_NAME_BYTES,
    MAX_NAME_CHARS,
    StagingError,
    check_member,
    safe_name,
    submission_name,
    zip_members,
)

METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 32 * 2**20
# YAML anchors let a small file stand for an exponentially large tree (a "billion laughs"):
# the metadata may hold at most this many nodes once every alias is expanded, nested at most
# this deep (PyYAML composes recursively; libyaml's loader crashes on deep nesting).
MAX_METADATA_NODES = 2_000_000
MAX_METADATA_DEPTH = 64
MAX_PEOPLE = 50  # submitters of one submission (a group)
# The columns a Gradescope export adds to the gradebook, after the task columns.
STUDENT_COLUMNS = ("name", "email", "sid")


class InputError(BlockgradeError):
    """A path given to the batch cannot be read as submissions (the message says why)."""


@dataclass(frozen=True)
class SubmissionInput:
    """One submission to grade: `path`, or the folder `member` inside the zip at `path`."""

    path: str
    name: str
    member: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    problem: str = ""  # why it cannot be graded as given (a bad name in an export), or ""


class _MetadataLoader(yaml.SafeLoader):
    """Safe YAML that reads Gradescope's Ruby-tagged values (`!ruby/object:BigDecimal ...`)
    as plain scalars, lists or maps: no tag can construct a Python object. Composing counts
    the nodes the document stands for, each alias as the whole tree it repeats, and refuses
    a document past MAX_METADATA_NODES or MAX_METADATA_DEPTH before anything is built."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0
        self._count = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, once composed

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # an alias inside the node it names: a cycle
                raise yaml.YAMLError("an alias refers to a node that contains it")
            self._grow(size)
            return node
        self._depth += 1
        if self._depth > MAX_METADATA_DEPTH:
            raise yaml.YAMLError(f"it nests deeper than {MAX_METADATA_DEPTH} levels")
        before = self._count
        self._grow(1)
        node = super().compose_node(parent, index)
        self._sizes[id(node)] = self._count - before
        self._depth -= 1
        return node

    def _grow(self, nodes: int) -> None:
        self._count += nodes
        if self._count > MAX_METADATA_NODES:
            raise yaml.YAMLError(f"it stands for more than {MAX_METADATA_NODES} values once its aliases are expanded")


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MetadataLoader.add_multi_constructor("!", _untagged)
_MetadataLoader.add_multi_constructor("tag:", _untagged)


def _key(value) -> str:
    """Gradescope writes Ruby symbols: `:submitters:` reads as the key ':submitters'."""
    return str(value).lstrip(":")


def student_columns(metadata: dict, submission: str) -> dict[str, str]:
    """Name, email and id of a submission's students ('; ' between group members)."""
    entry = metadata.get(submission)
    if not isinstance(entry, dict):
        return {}
    entry = {_key(k): v for k, v in entry.items()}
    submitters = entry.get("submitters")
    submitters = submitters[:MAX_PEOPLE] if isinstance(submitters, list) else []
    people = [{_key(k): v for k, v in s.items()} for s in submitters if isinstance(s, dict)]
    return {c: "; ".join(v for p in people if (v := _value(p.get(c)))) for c in STUDENT_COLUMNS}


def _value(value) -> str:
    """A name, email or id as one short line of text; nothing for a list, a map or no value."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return text.one_line(value, text.MAX_NAME_CHARS).strip()


def parse_metadata(source: str, where: str) -> dict:
    try:
        data = yaml.load(source, Loader=_MetadataLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError) as exc:
        raise InputError(f"{where} is not valid YAML: {text.clean(exc, 500)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where} does not map submissions to students")
    return {k if isinstance(k, str) else text.one_line(k, 300): v for k, v in data.items()}


def _export_from_zip(path: Path) -> list[SubmissionInput] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = zip_members(archive)
            found = [i for i in infos if PurePosixPath(i.filename.replace("\\", "/")).name == METADATA]
            if not found:
                return None
            info = min(found, key=lambda i: i.filename.count("/"))
            try:
                check_member(info)
            except StagingError as exc:
                raise InputError(f"{path}: {exc.message}") from None
            if info.file_size > MAX_METADATA_BYTES:
                raise InputError(f"{path}:{info.filename} is larger than {MAX_METADATA_BYTES // 2**20} MB")
            metadata = parse_metadata(archive.read(info).decode("utf-8", "replace"), f"{path.name}:{info.filename}")
            base = str(PurePosixPath(info.filename.replace("\\", "/")).parent)
            base = "" if base == "." else base + "/"
            folders = set()
            for member in infos:
                name = member.filename.replace("\\", "/")
                if name.startswith(base) and "/" in name[len(base) :]:
                    folders.add(name[len(base) :].split("/", 1)[0])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # not an export: staging reports what is wrong with the zip
    names = sorted({f for f in folders if f.startswith("submission_")} | set(metadata))
    return [
        SubmissionInput(str(path), safe_name(n), base + n + "/", student_columns(metadata, n), _bad_name(n))
        for n in names
    ]


def _export_from_folder(path: Path) -> list[SubmissionInput]:
    metadata_file = path / METADATA
    if metadata_file.stat().st_size > MAX_METADATA_BYTES:
        raise InputError(f"{metadata_file} is larger than {MAX_METADATA_BYTES // 2**20} MB")
    metadata = parse_metadata(metadata_file.read_text(encoding="utf-8", errors="replace"), str(metadata_file))
    folders = {p.name for p in path.iterdir() if p.name.startswith("submission_") and p.is_dir()}
    inputs = []
    for n in sorted(folders | set(metadata)):
        problem = _bad_name(n)
        if not problem and (path / n).is_symlink():
            problem = f"the export's folder {n} is a link; an export holds folders"
        name = safe_name(n)
        # read from its own folder (`n`, one plain component once checked), never from the folder
        # its cleaned name happens to match: `submission_7 x` must not grade `submission_7_x`
        folder = path / n if not problem else path / name
        inputs.append(SubmissionInput(str(folder), name, None, student_columns(metadata, n), problem))
    return inputs


def _bad_name(name: str) -> str:
    """Why a submission's name in an export cannot be a folder name of it, or ""."""
    plain = (
        name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and len(name) <= 255
        and text.one_line(name, 255) == name
    )
    return "" if plain else f"the export names a submission {text.one_line(name, 80)!r}, which is not a folder name"


def missing_paths(paths: list[Path]) -> list[str]:
    """What is wrong with each path that names nothing (a typo, or a pattern the shell passed
    as it was because nothing matched it)."""
    problems = []
    for path in paths:
        if os.path.lexists(path):
            continue
        what = text.one_line(str(path), 300)
        if any(c in str(path) for c in "*?["):  # a shell pattern that matched nothing
            problems.append(f"{what}: no file matches this pattern (the shell passes it unchanged when none does)")
        else:
            problems.append(f"{what}: no such file or folder")
    return problems


def expand(paths: list[Path]) -> list[SubmissionInput]:
    """Every submission the paths hold, each with a gradebook name unique in the batch. A path
    that names nothing is an InputError (before anything is graded), never a row of zeros."""
    problems = missing_paths(paths)
    if problems:
        raise InputError("\n".join(problems))
    inputs: list[SubmissionInput] = []
    plain: list[Path] = []
    for path in paths:
        export = None
        if path.is_dir() and (path / METADATA).is_file():
            export = _export_from_folder(path)
        elif path.is_file() and path.name.lower().endswith(".zip"):
            export = _export_from_zip(path)
        if export is None:
            plain.append(path)
            inputs.append(SubmissionInput(str(path), ""))
        else:
            inputs += export
    names = iter(unique_names(plain))
    inputs = [i if i.name else SubmissionInput(i.path, next(names)) for i in inputs]
    return _numbered_repeats(inputs)


def unique_names(paths: list[Path]) -> list[str]:
    """Each path's gradebook name: its own, or, where several share one, each prefixed by the
    fewest parent folders that tell apart as many of them as any depth does. Where none tells
    any apart (the same folder given twice, names that differ only in what `safe_name`
    replaces), the names stay as they are: the repeats are numbered (`_numbered_repeats`)
    rather than prefixed with folders that separate nothing."""
    resolved = [Path(os.path.abspath(p)) for p in paths]  # (`..` resolved: never a name's part)
    names = [submission_name(p) for p in paths]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name.lower(), []).append(i)
    for members in (m for m in groups.values() if len(m) > 1):
        best: list[str] = []
        for depth in range(1, 8):
            prefixed = [
                submission_name(Path("_".join([*resolved[i].parent.parts[1:][-depth:], resolved[i].name])))
                for i in members
            ]
            if len({n.lower() for n in prefixed}) > len({n.lower() for n in best} or {""}):
                best = prefixed
        for i, name in zip(members, best):
            names[i] = name
    return names


def _with_suffix(name: str, suffix: str) -> str:
    """`name` + `suffix`, the name cut first so that the whole keeps safe_name's caps."""
    cut = name[: MAX_NAME_CHARS - len(suffix)]
    cut = cut.encode("utf-8")[: MAX_NAME_BYTES - len(suffix.encode())].decode("utf-8", "ignore")
    return cut + suffix


def _numbered_repeats(inputs: list[SubmissionInput]) -> list[SubmissionInput]:
    """The same submission given twice (or two exports with one id, or names that differ only
    in case or in characters `safe_name` replaced): number the repeats, so that no two share a
    folder, on a file system that ignores case too."""
    taken = {item.name.lower() for item in inputs}
    seen: set[str] = set()
    out = []
    for item in inputs:
        name = item.name
        if name.lower() in seen:
            number = 2
            while _with_suffix(name, f"-{number}").lower() in taken:
                number += 1
            name = _with_suffix(name, f"-{number}")
            taken.add(name.lower())
            item = SubmissionInput(item.path, name, item.member, item.columns, item.problem)
        seen.add(name.lower())
        out.append(item)
    return out


def extra_columns(inputs: list[SubmissionInput]) -> list[str]:
    present = {c for i in inputs for c in i.columns}
    return [c for c in STUDENT_COLUMNS if c in present]
