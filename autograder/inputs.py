"""What a batch grades: the paths an instructor names, expanded into submissions.

A path is one submission (a folder, a zip, a module file or a notebook), or a Gradescope
"export submissions" archive (a zip, or the folder it unpacks to) holding
`submission_metadata.yml` and one `submission_<id>/` folder per submission. The metadata
maps each submission to its students, whose names, emails and ids become gradebook columns.
The export is never unpacked: each submission is read from its own folder inside the zip.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from autograder.errors import BlockgradeError
from autograder.staging import StagingError, check_member, submission_name

METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 32 * 2**20
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


class _MetadataLoader(yaml.SafeLoader):
    """Safe YAML that reads Gradescope's Ruby-tagged values (`!ruby/object:BigDecimal ...`)
    as plain scalars, lists or maps: no tag can construct a Python object."""


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
    submitters = entry.get("submitters") or []
    people = [{_key(k): v for k, v in s.items()} for s in submitters if isinstance(s, dict)]
    return {c: "; ".join(str(p.get(c, "")) for p in people if p.get(c) not in (None, "")) for c in STUDENT_COLUMNS}


def parse_metadata(text: str, where: str) -> dict:
    try:
        data = yaml.load(text, Loader=_MetadataLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where} does not map submissions to students")
    return {str(k): v for k, v in data.items()}


def _export_from_zip(path: Path) -> list[SubmissionInput] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
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
    return [SubmissionInput(str(path), n, base + n + "/", student_columns(metadata, n)) for n in names]


def _export_from_folder(path: Path) -> list[SubmissionInput]:
    metadata_file = path / METADATA
    if metadata_file.stat().st_size > MAX_METADATA_BYTES:
        raise InputError(f"{metadata_file} is larger than {MAX_METADATA_BYTES // 2**20} MB")
    metadata = parse_metadata(metadata_file.read_text(encoding="utf-8", errors="replace"), str(metadata_file))
    folders = {p.name for p in path.iterdir() if p.is_dir() and p.name.startswith("submission_")}
    names = sorted(folders | set(metadata))
    return [SubmissionInput(str(path / n), n, None, student_columns(metadata, n)) for n in names]


def expand(paths: list[Path]) -> list[SubmissionInput]:
    """Every submission the paths hold, each with a gradebook name unique in the batch."""
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
    """Each path's gradebook name: its own, or, where two share one, prefixed by as many
    parent folders as it takes to tell them apart."""
    resolved = [p.absolute() for p in paths]
    names = [submission_name(p) for p in paths]
    for depth in range(1, 8):
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            break
        for i, path in enumerate(resolved):
            if names[i] in clashes:
                parents = [part for part in path.parent.parts[-depth:] if part not in ("/", "")]
                names[i] = submission_name(Path("_".join([*parents, path.name])))
    return names


def _numbered_repeats(inputs: list[SubmissionInput]) -> list[SubmissionInput]:
    """The same submission given twice (or two exports with one id): number the repeats."""
    seen: dict[str, int] = {}
    out = []
    for item in inputs:
        seen[item.name] = seen.get(item.name, 0) + 1
        if seen[item.name] > 1:
            item = SubmissionInput(item.path, f"{item.name}-{seen[item.name]}", item.member, item.columns)
        out.append(item)
    return out


def extra_columns(inputs: list[SubmissionInput]) -> list[str]:
    present = {c for i in inputs for c in i.columns}
    return [c for c in STUDENT_COLUMNS if c in present]
