"""assignment.toml is validated strictly: an unknown table or key, or a value of the wrong type,
anywhere in the file is a CatalogError naming the file and the key (with the closest valid key),
so a misspelled setting never loads silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.catalog import CatalogError, Limits, course_at
from autograder.cli import main

from conftest import REPO

VALID = """\
id = "demo"
title = "Demo"
module = "demo.py"

[limits]
probe_seconds = 5
memory_mb = 1024

[gradescope]
hidden_visibility = "visible"

[integrity]
allowed_imports = ["pickle", "scipy.linalg"]

[[tasks]]
id = "f"
points = 2
summary = "one function"
names = ["f", "g"]

[[hints]]
match = "oops"
text = "look again"
task = "f"
"""


def write_course(root: Path, text: str, layout: str = "source") -> Path:
    folder = root / "assignments" / "01-demo" if layout == "source" else root / "01-demo"
    folder.mkdir(parents=True)
    path = folder / "assignment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, *more: str) -> str:
    """VALID with `old` replaced by `new` (and the next pairs of `more` likewise)."""
    text = VALID
    for before, after in [(old, new), *zip(more[::2], more[1::2])]:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    return text


def test_a_valid_file_loads_every_setting(tmp_path):
    write_course(tmp_path, VALID)
    a = course_at(tmp_path).get("demo")
    assert (a.title, a.module, a.hidden_visibility) == ("Demo", "demo.py", "visible")
    assert a.limits == Limits(probe_seconds=5, memory_mb=1024)
    assert a.allowed_imports == ("pickle", "scipy.linalg")
    assert [(t.id, t.points, t.summary, t.names) for t in a.tasks] == [("f", 2, "one function", ("f", "g"))]
    assert [(h.pattern.pattern, h.text, h.task) for h in a.hints] == [("oops", "look again", "f")]


def test_the_kits_own_files_are_valid():
    for root in (REPO, REPO / "student_template"):
        assert len(course_at(root).assignments) == 6


# (what is wrong, the edit, the key the message must name, the suggestion it must make or None)
UNKNOWN = [
    ("top-level key", ('title = "Demo"', 'titel = "Demo"'), "titel", "title"),
    ("top-level table", ("[limits]", "[limit]"), "limit", "limits"),
    ("unrelated table", ("[gradescope]", "[deadlines]"), "deadlines", None),
    ("limits key", ("probe_seconds = 5", "probe_second = 5"), "limits.probe_second", "limits.probe_seconds"),
    (
        "gradescope key",
        ("hidden_visibility", "hidden_visiblity"),
        "gradescope.hidden_visiblity",
        "gradescope.hidden_visibility",
    ),
    ("integrity key", ("allowed_imports", "allowed_import"), "integrity.allowed_import", "integrity.allowed_imports"),
    ("task key", ("points = 2", "pionts = 2"), "tasks[0].pionts", "tasks[0].points"),
    (
        "task key, second task",
        ("[[hints]]", '[[tasks]]\nid = "h"\npoints = 1\nsumary = "x"\n\n[[hints]]'),
        "tasks[1].sumary",
        "tasks[1].summary",
    ),
    ("hint key", ('text = "look again"', 'txt = "look again"'), "hints[0].txt", "hints[0].text"),
    ("nested table", ("[[tasks]]", "[limits.extra]\nx = 1\n\n[[tasks]]"), "limits.extra", None),
]


@pytest.mark.parametrize("what, edit, key, suggestion", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_an_unknown_key_is_named_with_the_closest_valid_one(tmp_path, what, edit, key, suggestion):
    path = write_course(tmp_path, edited(*edit))
    with pytest.raises(CatalogError) as caught:
        course_at(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unknown ")
    assert repr(key) in message
    if suggestion:
        assert f"did you mean {suggestion!r}?" in message
    else:
        assert "did you mean" not in message


# (what is wrong, the edit, what the message must say)
WRONG = [
    ("title a number", ('title = "Demo"', "title = 3"), "title must be a string, not an integer"),
    ("module an array", ('module = "demo.py"', 'module = ["demo.py"]'), "module must be a string, not an array"),
    ("limit a string", ("memory_mb = 1024", 'memory_mb = "1 GB"'), "limits.memory_mb must be an integer, not a string"),
    (
        "integer limit a float",
        ("memory_mb = 1024", "memory_mb = 1024.5"),
        "limits.memory_mb must be an integer, not a float",
    ),
    (
        "limit a boolean",
        ("probe_seconds = 5", "probe_seconds = true"),
        "limits.probe_seconds must be a number, not a boolean",
    ),
    ("limit zero", ("probe_seconds = 5", "probe_seconds = 0"), "limits.probe_seconds must be positive"),
    ("tasks a table", ("[[tasks]]", "[tasks]"), "tasks must be an array of tables, not a table"),
    ("points a string", ("points = 2", 'points = "2"'), "tasks[0].points must be a number, not a string"),
    ("points negative", ("points = 2", "points = -1"), "task f points must be a non-negative number"),
    ("summary a number", ('summary = "one function"', "summary = 1"), "tasks[0].summary must be a string"),
    ("names a string", ('names = ["f", "g"]', 'names = "f"'), "tasks[0].names must be an array of strings"),
    ("names of numbers", ('names = ["f", "g"]', 'names = ["f", 2]'), "tasks[0].names must be an array of strings"),
    ("points missing", ("points = 2\n", ""), "tasks[0].points is missing"),
    ("hint text missing", ('text = "look again"\n', ""), "hints[0].text is missing"),
    ("hint text a table", ('text = "look again"', "text = { a = 1 }"), "hints[0].text must be a string, not a table"),
    (
        "gradescope a string",
        ('[gradescope]\nhidden_visibility = "visible"', "", 'title = "Demo"', 'title = "Demo"\ngradescope = "visible"'),
        "gradescope must be a table, not a string",
    ),
    (
        "visibility unknown",
        ('hidden_visibility = "visible"', 'hidden_visibility = "sometimes"'),
        "gradescope.hidden_visibility 'sometimes' is not one of",
    ),
    (
        "allowed_imports a string",
        ('allowed_imports = ["pickle", "scipy.linalg"]', 'allowed_imports = "pickle"'),
        "integrity.allowed_imports must be an array of strings, not a string",
    ),
    ("allowed_imports not a module", ('"scipy.linalg"', '"scipy linalg"'), "'scipy linalg' is not a module name"),
    (
        "integrity an array",
        (
            '[integrity]\nallowed_imports = ["pickle", "scipy.linalg"]',
            "",
            'title = "Demo"',
            'title = "Demo"\nintegrity = ["pickle"]',
        ),
        "integrity must be a table, not an array",
    ),
]


@pytest.mark.parametrize("what, edit, says", WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_type_is_named(tmp_path, what, edit, says):
    path = write_course(tmp_path, edited(*edit))
    with pytest.raises(CatalogError) as caught:
        course_at(tmp_path)
    assert str(caught.value).startswith(f"{path}: ") and "unknown" not in str(caught.value)
    assert says in str(caught.value)


def test_every_optional_table_may_be_left_out(tmp_path):
    blocks = VALID.split("\n\n")
    text = "\n\n".join(b for b in blocks if not b.startswith(("[limits]", "[gradescope]", "[integrity]")))
    assert "[limits]" not in text and "[integrity]" not in text
    write_course(tmp_path, text)
    a = course_at(tmp_path).get("demo")
    assert a.limits == Limits() and a.allowed_imports == () and a.hidden_visibility == "after_published"


def test_a_students_single_copy_is_checked_the_same_way(tmp_path):
    folder = tmp_path / "my-repo"
    folder.mkdir()
    (folder / "assignment.toml").write_text(edited("[[hints]]", "[[hint]]"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"unknown table 'hint'; did you mean 'hints'\?"):
        course_at(folder)


def test_the_command_line_reports_the_key_and_fails(tmp_path):
    path = write_course(tmp_path, edited("memory_mb = 1024", "memory_mbs = 1024"))
    result = CliRunner().invoke(main, ["list", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{path}: unknown key 'limits.memory_mbs'; did you mean 'limits.memory_mb'?" in result.output
