"""Inputs that are not the student's code, and student text in every output.

First the export's metadata and names on their own (`autograder.inputs`), then one red-team
batch per namespace sandbox this machine offers: hostile exports, notebooks, archives and
strings graded through `grade_batch` beside honest submissions. Each earns no more than its
honest work, the honest ones are untouched, the batch finishes, nothing is written outside
the output folder, and every output stays small and escaped for its medium.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from autograder.catalog import course_at
from autograder.grading import grade_batch
from autograder.inputs import InputError, expand, parse_metadata

from .conftest import LIMITS, REPO, honest_partial, skip_unless_the_sandbox_starts

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
SOLUTION = (BLOCKS.solution_dir / BLOCKS.module).read_text()
HONEST_PARTIAL = 3  # honest_partial(): MLP solved


# ---------------------------------------------------------------- metadata, on its own


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_is_built():
    text = billion_laughs()  # 9**9 = 387 million strings from 600 bytes
    assert len(text) < 1000
    with pytest.raises(InputError, match="aliases are expanded"):
        parse_metadata(text, "submission_metadata.yml")


def test_a_recursive_alias_is_refused():
    with pytest.raises(InputError, match="contains it"):
        parse_metadata("a: &a [1, *a]\n", "submission_metadata.yml")


def test_deep_nesting_is_refused():
    with pytest.raises(InputError, match="nests deeper"):
        parse_metadata("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "submission_metadata.yml")


def test_a_few_aliases_as_ruby_writes_them_are_read():
    text = (
        "submission_1:\n  :submitters: &people\n  - :name: Ada\n    :sid: '1'\nsubmission_2:\n  :submitters: *people\n"
    )
    data = parse_metadata(text, "m.yml")
    assert data["submission_2"][":submitters"][0][":name"] == "Ada"


def export_folder(tmp_path: Path, metadata: dict, folders: dict[str, str]) -> Path:
    root = tmp_path / "export"
    root.mkdir()
    (root / "submission_metadata.yml").write_text(yaml.safe_dump(metadata), encoding="utf-8")
    for name, source in folders.items():
        (root / name).mkdir()
        (root / name / "blocks.py").write_text(source)
    return root


def test_export_names_are_plain_distinct_folder_names(tmp_path):
    people = {":submitters": [{":name": "Ada", ":sid": "1"}]}
    keys = ["../../x", "/etc", "gradebook.csv", "report.html", "submission_1", "Submission_1", "sub\u2028x", "a\\b"]
    root = export_folder(tmp_path, {k: people for k in keys}, {"submission_1": "x = 1\n", "Submission_1": "x = 2\n"})
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "submission_link")
    inputs = {i.name: i for i in expand([root])}
    names = list(inputs)
    assert len({n.lower() for n in names}) == len(names) == len(keys) + 1
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name.lower() not in ("gradebook.csv", "report.html")
        assert Path(inputs[name].path).parent == root  # never outside the export
    refused = sorted(n for n, i in inputs.items() if i.problem)
    assert refused == ["_.._x", "_etc", "a_b", "sub_x", "submission_link"]
    # names that differ only in case share a folder where case is ignored: the later is numbered
    assert inputs["Submission_1"].path == str(root / "Submission_1")
    assert inputs["submission_1-2"].path == str(root / "submission_1")


def test_plain_paths_whose_names_clash_once_made_safe_get_distinct_folders(tmp_path):
    paths = []
    for raw in ("a b", "a_b", "A_B", "gradebook.csv", "_gradebook.csv", "-rf"):
        (tmp_path / raw).mkdir()
        paths.append(tmp_path / raw)
    names = [i.name for i in expand(paths)]
    assert len({n.lower() for n in names}) == len(names) == 6
    assert all(n[0] not in "-+@." and n.lower() != "gradebook.csv" for n in names)


def test_clashing_names_are_prefixed_only_by_folders_that_tell_them_apart(tmp_path):
    """Two `ada` folders in different parents are told apart by their parents; the same folder
    given twice, or two names cut to the same cap, are numbered, within the caps, instead of
    prefixed with folders that separate nothing."""
    from autograder.staging import MAX_NAME_BYTES, MAX_NAME_CHARS

    long = "王" * 80  # 240 bytes of UTF-8 (a file system takes 255): cut to MAX_NAME_BYTES
    for folder in ("x/a/ada", "x/b/ada", f"k/{long}", f"k/{long}x"):
        (tmp_path / folder).mkdir(parents=True)
    paths = [tmp_path / p for p in ("x/a/ada", "x/b/ada", "x/b/ada", f"k/{long}", f"k/{long}x")]
    names = [i.name for i in expand(paths)]
    cut = "王" * (MAX_NAME_BYTES // 3)
    assert names[:3] == ["a_ada", "b_ada", "b_ada-2"]
    assert names[3] == cut and names[4] == "王" * ((MAX_NAME_BYTES - 2) // 3) + "-2", names[3:]
    assert all(len(n) <= MAX_NAME_CHARS and len(n.encode()) <= MAX_NAME_BYTES for n in names)


def test_student_columns_are_short_plain_text():
    hostile = '=HYPERLINK("http://evil")\r\n# 20 / 20\u202e<b>' + "x" * 10_000
    text = yaml.safe_dump(
        {"submission_1": {":submitters": [{":name": hostile, ":sid": ["a", "list"], ":email": {"a": 1}}] * 500}}
    )
    from autograder.inputs import student_columns

    columns = student_columns(parse_metadata(text, "m.yml"), "submission_1")
    assert columns["sid"] == "" and columns["email"] == ""
    names = columns["name"].split("; ")
    assert len(names) == 50 and all(len(n) < 300 and "\r" not in n and "\n" not in n for n in names)
    assert "\u202e" not in columns["name"]


# ------------------------------------------------------------------------ the red-team batch


@dataclass
class Expect:
    most: float  # its honest work: no more
    statuses: tuple[str, ...]


HONEST = {"aaa-honest": 20, "zzz-honest": 20, "submission_1-2": 20}  # numbered: see Submission_1

HUGE_EXCEPTION = """
import sys as _sys
_Huge = type("E" * 12_000_000, (Exception,), {})
print("\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m" * 2000)
print("\\x1b[2J", file=_sys.stderr)

class MySequential(nn.Module):
    def __init__(self, *modules):
        raise _Huge("fine\\r# 20 / 20\\r[full marks](https://evil.example)\\u2028<img src=x onerror=alert(1)>"
                    + "m" * 3_000_000)

raise type("T" * 12_000_000, (Exception,), {})("\\r# 20 / 20\\r```\\r<script>alert(1)</script>\\u202e")
"""


def notebook(*cells) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def cell(source, metadata=None) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {} if metadata is None else metadata}


def build(subs: Path) -> dict[str, Expect]:
    """Write every hostile input into `subs`; what each may earn, by its gradebook name."""
    partial = honest_partial(BLOCKS)
    expect: dict[str, Expect] = {}
    for name in ("aaa-honest", "zzz-honest"):
        (subs / name).mkdir()
        (subs / name / "blocks.py").write_text(SOLUTION)

    def folder(name: str, files: dict[str, str | bytes], most: float, *statuses: str) -> None:
        (subs / name).mkdir()
        for file, data in files.items():
            (subs / name / file).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        expect[name] = Expect(most, statuses)

    # notebooks: too much code (it once killed the sandbox host), too deep, too many cells, bad metadata
    huge = json.dumps(notebook(cell(SOLUTION + ("# " + "é" * 60 + "\n") * 100_000)), ensure_ascii=False)
    folder("nb-huge", {"blocks.ipynb": huge}, 0, "bad archive")
    folder("nb-deep", {"blocks.ipynb": '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}"}, 0, "bad archive")
    folder("nb-cells", {"blocks.ipynb": json.dumps(notebook(*[cell("")] * 100_000))}, 0, "bad archive")
    bad_meta = notebook(
        cell(partial, [1, 2]), cell("x = 1\n", {"nbgrader": [1]}), cell("y = 2\n", "meta"), cell({"a": 1}, None),
        {"cell_type": "code", "source": ["z = 3\n", 4, None]}, 7, "cell",
    )  # fmt: skip
    folder("nb-bad-meta", {"blocks.ipynb": json.dumps(bad_meta)}, HONEST_PARTIAL, "graded")
    surrogate = json.dumps(notebook(cell(partial + '\nname = "\ud800\udfff\ud800"\n')))
    folder("nb-surrogate", {"blocks.ipynb": surrogate}, HONEST_PARTIAL, "graded")
    # student strings: 12 MB exception names, forged headings, links, markup, terminal escapes
    folder("huge-exception", {"blocks.py": partial + HUGE_EXCEPTION}, HONEST_PARTIAL, "import error", "crashed")
    # a zip with the largest comment a zip can hold, of escapes and forged headings
    with zipfile.ZipFile(subs / "zip-comment.zip", "w") as z:
        z.writestr("blocks.py", partial)
        z.comment = (b"\x1b[2J# 20 / 20\r" * 10_000)[:65535]
    expect["zip-comment"] = Expect(HONEST_PARTIAL, ("graded",))
    # a Gradescope export whose names climb out, are absolute, are the batch's own files, collide
    people = {":submitters": [{":name": "=HYPERLINK(\"http://evil\",\"x\")<script>alert(1)</script>\u202eexe.txt\r# 20",
                               ":email": "@evil", ":sid": ["not", "scalar"]}]}  # fmt: skip
    metadata = {
        "submission_1": people,
        "Submission_1": people,
        "../../escaped-export": people,
        "/tmp/blockgrade-absolute-escape": people,
        "gradebook.csv": people,
        "report.html": people,
        "submission_2\u2028# 20 / 20": people,
        "submission_" + "x" * 300: people,
    }
    with zipfile.ZipFile(subs / "export.zip", "w") as z:
        z.writestr("export/submission_metadata.yml", yaml.safe_dump(metadata))
        z.writestr("export/submission_1/blocks.py", SOLUTION)
        for name in ("Submission_1", "gradebook.csv", "report.html"):
            z.writestr(f"export/{name}/blocks.py", partial)
    expect.update(
        {
            "Submission_1": Expect(HONEST_PARTIAL, ("graded",)),
            "_gradebook.csv": Expect(HONEST_PARTIAL, ("graded",)),
            "_report.html": Expect(HONEST_PARTIAL, ("graded",)),
            "_.._escaped-export": Expect(0, ("bad archive",)),
            "_tmp_blockgrade-absolute-escape": Expect(0, ("bad archive",)),
            "submission_2___20___20": Expect(0, ("bad archive",)),
            "submission_" + "x" * 89: Expect(0, ("bad archive",)),
        }
    )
    return expect


@dataclass
class Batch:
    mode: str
    root: Path
    out: Path
    results: dict
    expect: dict
    count: int


def modes() -> list[str]:
    return (["root"] if os.geteuid() == 0 else []) + ["user"]


@pytest.fixture(scope="module", params=modes())
def batch(request, tmp_path_factory):
    mode = request.param
    skip_unless_the_sandbox_starts(mode)
    root = tmp_path_factory.mktemp(f"inputs-{mode}")
    subs = root / "subs"
    subs.mkdir()
    expect = build(subs)
    limits = BLOCKS.limits.replace(**LIMITS)
    # one worker: each submission is graded after the one before it, by the same sandbox host
    done = grade_batch(
        COURSE, BLOCKS, sorted(subs.iterdir()), root / "out", limits=limits, sandbox=mode, devices=["cpu"], workers=1
    )
    assert not done.interrupted
    yield Batch(mode, root, root / "out", {r.name: r for r in done.results}, expect, done.count)
    shutil.rmtree(root, ignore_errors=True)


def test_every_input_is_graded_and_the_batch_finishes(batch):
    assert batch.count == len(batch.results) == len(batch.expect) + len(HONEST)
    assert set(batch.results) == set(batch.expect) | set(HONEST)


def test_hostile_inputs_earn_their_honest_work_at_most(batch):
    for name, expect in batch.expect.items():
        result = batch.results[name]
        assert result.score <= expect.most, f"{name}: {result.score} > {expect.most}"
        assert result.status in expect.statuses, f"{name}: {result.status} {result.notes[:1]}"
        if result.status != "graded":
            assert result.notes and "Traceback" not in " ".join(result.notes), name
    assert batch.results["nb-bad-meta"].score == HONEST_PARTIAL  # bad metadata costs nothing else


def test_honest_work_is_untouched(batch):
    for name, score in HONEST.items():
        result = batch.results[name]
        assert (result.score, result.status) == (score, "graded"), f"{name}: {result.score} {result.status}"


def test_nothing_is_written_outside_the_output_folder(batch):
    assert sorted(p.name for p in batch.root.iterdir()) == ["out", "subs"]
    assert not list(batch.root.parent.rglob("escaped-export*"))
    assert not os.path.exists("/tmp/blockgrade-absolute-escape")
    written = {p.relative_to(batch.out).as_posix() for p in batch.out.rglob("*") if p.is_file()}
    expected = {"gradebook.csv", "report.html", "manual.csv", "similarity.csv", "manual/batch.json"}
    expected |= {f"manual/{q}.html" for q in BLOCKS.question_ids}
    expected |= {f"{n}/{f}" for n in batch.results for f in ("results.json", "feedback.md")}
    # a student's written answers, and side-by-side pages of similar pairs: kit-made names only
    answers = {f"{n}/answers/{q}.md" for n in batch.results for q in BLOCKS.question_ids}
    pages = {w for w in written if re.fullmatch(r"similarity/[A-Za-z0-9._-]{1,200}\.html", w)}
    assert written - pages - answers == expected


def test_outputs_stay_small(batch):
    for path in batch.out.rglob("*"):
        if path.is_file():
            limit = 2_000_000 if path.name == "report.html" else 300_000
            assert path.stat().st_size < limit, f"{path.relative_to(batch.out)}: {path.stat().st_size} bytes"


def test_feedback_headings_and_links_are_the_kits_own(batch):
    md = MarkdownIt("commonmark")
    own = {"Notes", "What to fix", "Not run", "Written questions", *BLOCKS.task_ids}
    for name in batch.results:
        tokens = md.parse((batch.out / name / "feedback.md").read_text(encoding="utf-8"))
        headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
        assert headings[0].startswith(f"{BLOCKS.title}: ") and set(headings[1:]) <= own, f"{name}: {headings}"
        inline = [c for t in tokens if t.type == "inline" for c in t.children]
        assert not [c for c in inline if c.type in ("link_open", "image", "html_inline")], name
        # the one HTML block allowed is the kit's own marker of the written part (manual.merge)
        marker = "<!-- blockgrade: written questions -->\n"
        assert not [t for t in tokens if t.type == "html_block" and t.content != marker], name


def test_no_control_or_bidi_character_reaches_an_output(batch):
    for path in batch.out.rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                json.loads(content)  # valid; and its escapes decoded below
                content = json.dumps(json.loads(content), ensure_ascii=False)
            bad = [c for c in content if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
            bad += [c for c in content if c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"]
            assert not bad, f"{path.relative_to(batch.out)}: {sorted(set(bad))}"


def test_the_gradebook_runs_no_formula(batch):
    with open(batch.out / "gradebook.csv", newline="", encoding="utf-8") as f:
        book = list(csv.DictReader(f))
    assert len(book) == len(batch.results)
    by_name = {row["submission"]: row for row in book}
    assert set(by_name) == set(batch.results)
    honest = by_name["submission_1-2"]
    assert honest["name"].startswith("'=") and honest["email"] == "'@evil" and honest["sid"] == ""
    for row in book:
        for cell in row.values():
            assert cell[:1] not in ("=", "@", "\t", "\r") and not (cell[:1] in ("+", "-") and not cell[1:2].isdigit())


def test_the_report_shows_markup_as_text(batch):
    html = (batch.out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html


def test_a_request_the_host_would_refuse_is_never_sent(tmp_path):
    """A module too large for the host's request cap once stopped the host, unexplained, and
    the next submission waited for a cold one: the grader refuses it and the host stays up."""
    from autograder.grading import Grader
    from autograder.sandbox.client import MAX_REQUEST_BYTES, Submission
    from autograder.sandbox.host import MAX_REQUEST_BYTES as HOST_CAP
    from autograder.staging import Staged

    assert MAX_REQUEST_BYTES == HOST_CAP
    names = tuple(n for t in BLOCKS.tasks for n in t.names)
    mode = modes()[0]
    try:
        grader = Grader(BLOCKS, limits=BLOCKS.limits.replace(**LIMITS), devices=["cpu"], sandbox=mode)
    except Exception as exc:
        pytest.skip(f"no {mode} sandbox here: {exc}")
    with grader:
        grader.host.ready()
        pid = grader.host._proc.pid
        huge = Submission("blocks", "blocks.py", "# " + "é" * (MAX_REQUEST_BYTES // 2) + "\n" + SOLUTION, names)
        result = grader.grade_staged(Staged(huge, "blocks.py"), "huge")
        assert (result.score, result.status) == (0, "crashed")
        assert any("too large to run" in n for n in result.notes), result.notes
        # its checks say it never ran, not that its classes are missing (it defines them all)
        assert all("blocks.py was not run" in t.message for t in result.tests), result.tests[0].message
        assert grader.host._proc.pid == pid  # the same host, still running
        (tmp_path / "honest").mkdir()
        (tmp_path / "honest" / "blocks.py").write_text(SOLUTION)
        assert (grader.grade(tmp_path / "honest").score, grader.host._proc.pid) == (20, pid)
