"""Where submissions enter: folders, zips and notebooks become one module's source, and
archives that try anything else are refused with a clear status and nothing written."""

import json
import os
import zipfile

import pytest

from autograder.staging import BAD_ARCHIVE, IMPORT_ERROR, MISSING_FILE, StagingError, safe_name, stage, submission_name

SOURCE = "def MLP():\n    return 1\n"


@pytest.fixture
def blocks(course):
    return course.get("blocks")


def make_zip(path, members, **info_changes):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            for key, value in info_changes.get(name, {}).items():
                setattr(info, key, value)
            archive.writestr(info, data)
    return path


def refused(path, assignment, status):
    with pytest.raises(StagingError) as caught:
        stage(path, assignment)
    assert caught.value.status == status and caught.value.message
    return caught.value.message


def test_folder(tmp_path, blocks):
    (tmp_path / "blocks.py").write_text(SOURCE)
    staged = stage(tmp_path, blocks)
    assert staged.submission.source == SOURCE and staged.submission.module == "blocks"
    assert "MLP" in staged.submission.names


def test_nested_folder_and_the_shallowest_copy(tmp_path, blocks):
    (tmp_path / "hw1" / "old").mkdir(parents=True)
    (tmp_path / "hw1" / "blocks.py").write_text(SOURCE)
    (tmp_path / "hw1" / "old" / "blocks.py").write_text("old = True\n")
    staged = stage(tmp_path, blocks)
    assert staged.submission.source == SOURCE and any("hw1" in n for n in staged.notes)


def test_two_copies_side_by_side_are_ambiguous(tmp_path, blocks):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "blocks.py").write_text(SOURCE)
    assert "several copies" in refused(tmp_path, blocks, BAD_ARCHIVE)


def test_missing_module(tmp_path, blocks):
    (tmp_path / "notes.txt").write_text("hi")
    assert "has no blocks.py" in refused(tmp_path, blocks, MISSING_FILE)
    assert "does not exist" in refused(tmp_path / "nobody", blocks, MISSING_FILE)


def test_a_linked_module_is_refused(tmp_path, blocks):
    secret = tmp_path / "secret.py"
    secret.write_text("hidden = 1\n")
    (tmp_path / "sub").mkdir()
    os.symlink(secret, tmp_path / "sub" / "blocks.py")
    assert "link" in refused(tmp_path / "sub", blocks, BAD_ARCHIVE)


def test_a_file_that_is_not_text(tmp_path, blocks):
    (tmp_path / "blocks.py").write_bytes(b"\xff\xfe\x00bad")
    refused(tmp_path, blocks, IMPORT_ERROR)


def test_too_large(tmp_path, blocks):
    (tmp_path / "blocks.py").write_text("x = 1\n" * 300_000)
    assert "larger than" in refused(tmp_path, blocks, BAD_ARCHIVE)


def test_zip_with_folder_manifest_and_mac_junk(tmp_path, blocks):
    path = make_zip(
        tmp_path / "alice.zip",
        {
            "alice/blocks.py": SOURCE,
            "__MACOSX/alice/._blocks.py": "junk",
            "manifest.json": json.dumps({"assignment": "parameters"}),
        },
    )
    staged = stage(path, blocks)
    assert staged.submission.source == SOURCE
    assert any("packed for assignment 'parameters'" in n for n in staged.notes)
    assert submission_name(path) == "alice"


def test_a_folder_holding_only_a_zip(tmp_path, blocks):
    (tmp_path / "bob").mkdir()
    make_zip(tmp_path / "bob" / "blocks-submission.zip", {"blocks.py": SOURCE})
    assert stage(tmp_path / "bob", blocks).submission.source == SOURCE


@pytest.mark.parametrize(
    "members, changes, message",
    [
        ({"../evil.py": "x", "blocks.py": SOURCE}, {}, "climbs out"),
        ({"/etc/blocks.py": SOURCE}, {}, "absolute path"),
        ({"C:/blocks.py": SOURCE}, {}, "absolute path"),
        ({"link": "/etc/passwd", "blocks.py": SOURCE}, {"link": {"external_attr": 0o120777 << 16}}, "link"),
        ({"blocks.py": SOURCE, "bomb.bin": b"\0" * (5 * 2**20)}, {}, "zip bomb"),
        ({"bad\x01name.py": "x"}, {}, "control characters"),
    ],
)
def test_hostile_zips_are_refused_and_nothing_is_written(tmp_path, blocks, members, changes, message):
    path = make_zip(tmp_path / "evil.zip", members, **changes)
    before = sorted(os.listdir(tmp_path))
    assert message in refused(path, blocks, BAD_ARCHIVE)
    assert sorted(os.listdir(tmp_path)) == before and not (tmp_path.parent / "evil.py").exists()


def test_too_many_members(tmp_path, blocks):
    path = make_zip(tmp_path / "many.zip", {f"f{i}.txt": "" for i in range(2001)})
    assert "more than 2000 files" in refused(path, blocks, BAD_ARCHIVE)


def test_empty_corrupt_and_missing(tmp_path, blocks):
    assert "is empty" in refused(make_zip(tmp_path / "empty.zip", {}), blocks, BAD_ARCHIVE)
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    assert "not a valid zip" in refused(tmp_path / "corrupt.zip", blocks, BAD_ARCHIVE)
    assert "holds no blocks.py" in refused(make_zip(tmp_path / "other.zip", {"x.py": "1"}), blocks, MISSING_FILE)


def test_a_name_flagged_utf8_that_is_not(tmp_path, blocks):
    path = make_zip(tmp_path / "names.zip", {"aZ.py": "x", "blocks.py": SOURCE})
    data = bytearray(path.read_bytes().replace(b"aZ.py", b"a\xff.py"))
    # set the "name is UTF-8" bit (11) of the first local header and of the first central entry
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at + 1] |= 0x08
    path.write_bytes(bytes(data))
    assert "not valid UTF-8" in refused(path, blocks, BAD_ARCHIVE)


def notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(source, **nbgrader):
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
    if nbgrader:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def test_nbgrader_notebook_takes_solution_and_read_only_cells(tmp_path, blocks):
    document = notebook(
        [
            code("import torch\n%matplotlib inline\n", locked=True, grade=False, grade_id="imports"),
            code("def MLP():\n    return 1\n!pip install foo\n", solution=True, grade_id="MLP"),
            code("print('a cell the student added')\n"),
            code("from autograder.notebook_check import check\ncheck('MLP')\n", locked=True, grade_id="check-MLP"),
            code("assert MLP() == 1\n", grade=True, locked=True, grade_id="test-MLP", points=1),
        ]
    )
    (tmp_path / "blocks.ipynb").write_text(json.dumps(document))
    staged = stage(tmp_path, blocks)
    source = staged.submission.source
    assert "import torch" in source and "def MLP" in source
    for left_out in ("%matplotlib", "!pip", "student added", "check(", "assert MLP"):
        assert left_out not in source
    assert any("magic or shell" in n for n in staged.notes)


def test_a_plain_notebook_contributes_all_code_cells(tmp_path, blocks):
    (tmp_path / "blocks.ipynb").write_text(
        json.dumps(notebook([code(["def MLP():\n", "    return 1\n"]), code("x = 2\n")]))
    )
    assert "x = 2" in stage(tmp_path, blocks).submission.source


def test_a_notebook_that_is_not_one(tmp_path, blocks):
    (tmp_path / "blocks.ipynb").write_text("[1, 2, 3]")
    assert "not a readable notebook" in refused(tmp_path, blocks, IMPORT_ERROR)


# ------------------------------------------------------------ inputs that are not student code


def test_a_notebook_nested_too_deeply(tmp_path, blocks):
    (tmp_path / "blocks.ipynb").write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested too deeply" in refused(tmp_path, blocks, BAD_ARCHIVE)


@pytest.mark.parametrize(
    "metadata",
    [[1, 2], "nbgrader", {"nbgrader": [1]}, {"nbgrader": {"grade_id": ["x"], "locked": True}}, None],
)
def test_malformed_cell_metadata_is_read_as_none(tmp_path, blocks, metadata):
    cells = [dict(code("def MLP():\n    return 1\n"), metadata=metadata), code("x = 2\n", solution=True)]
    cells.append({"cell_type": "code", "source": [1, None, "y = 3\n"], "metadata": {}})
    cells.append({"cell_type": "code", "source": {"zzz": "text"}, "metadata": 7})
    (tmp_path / "blocks.ipynb").write_text(json.dumps(notebook(cells)))
    source = stage(tmp_path, blocks).submission.source
    assert "x = 2" in source and "zzz" not in source


def test_old_worksheets_with_nonsense_are_read_as_far_as_they_go(tmp_path, blocks):
    document = {"worksheets": [5, {"cells": 7}, {"cells": [3, {"cell_type": "code", "input": "x = 1\n"}]}]}
    (tmp_path / "blocks.ipynb").write_text(json.dumps(document))
    assert "x = 1" in stage(tmp_path, blocks).submission.source


def test_a_notebook_with_more_code_than_a_module_may_hold(tmp_path, blocks):
    # 12 MB of code in a notebook that is within its own size cap: the host would have refused it
    cells = [code(("# " + "é" * 60 + "\n") * 100_000)]
    (tmp_path / "blocks.ipynb").write_text(json.dumps(notebook(cells), ensure_ascii=False))
    assert "more than 1 MB of code" in refused(tmp_path, blocks, BAD_ARCHIVE)


def test_a_hundred_thousand_empty_cells(tmp_path, blocks):
    (tmp_path / "blocks.ipynb").write_text(json.dumps(notebook([code("")] * 100_000)))
    assert "more than 1 MB of code" in refused(tmp_path, blocks, BAD_ARCHIVE)


def test_lone_surrogates_become_replacement_characters(tmp_path, blocks):
    (tmp_path / "blocks.ipynb").write_text(json.dumps(notebook([code('x = "\ud800"\n')])))
    source = stage(tmp_path, blocks).submission.source
    assert 'x = "\ufffd"' in source
    source.encode("utf-8")
    (tmp_path / "blocks.ipynb").unlink()
    (tmp_path / "blocks.py").write_bytes(b'# coding: raw_unicode_escape\nx = "\\ud800"\n')
    assert 'x = "\ufffd"' in stage(tmp_path, blocks).submission.source


def test_a_coding_cookie_whose_codec_fails(tmp_path, blocks):
    (tmp_path / "blocks.py").write_bytes(b'# coding: idna\nx = "\xff\xff"\n')
    assert "not readable text" in refused(tmp_path, blocks, IMPORT_ERROR)


def test_a_manifest_nested_too_deeply_is_ignored(tmp_path, blocks):
    deep = "[" * 20_000 + "]" * 20_000
    path = make_zip(tmp_path / "s.zip", {"blocks.py": SOURCE, "manifest.json": '{"assignment": ' + deep + "}"})
    staged = stage(path, blocks)
    assert staged.notes == ["manifest.json in the zip is not readable; it was ignored."]


@pytest.mark.parametrize(
    "raw, name",
    [
        ("../../x", "_.._x"),
        ("/etc/passwd", "_etc_passwd"),
        ("gradebook.csv", "_gradebook.csv"),
        ("REPORT.html", "_REPORT.html"),
        ("..", "submission"),
        ("", "submission"),
        ("-rf", "_-rf"),
        ("=cmd", "_cmd"),
        ("@SUM(A1)", "_@SUM_A1_"),
        ("ann\r\n# 20 / 20", "ann____20___20"),
        ("\u202eexe.txt", "_exe.txt"),
        ("a" * 300, "a" * 100),
        ("alice", "alice"),
        # a class taught in Spanish or Chinese: its names stay readable, in NFC
        ("Peña, María", "Peña__María"),
        ("王小明 (2)", "王小明__2_"),
        ("Pen\u0303a", "Peña"),
        ("x\u200by", "x_y"),  # a zero-width space: a format character
        ("alice\u3164", "alice_"),  # a letter shown as nothing (HANGUL FILLER)
        ("alice\ufe0f", "alice_"),  # a mark shown as nothing (a variation selector)
        ("王" * 100, "王" * 40),  # 120 bytes of UTF-8 at most
    ],
)
def test_safe_names(raw, name):
    assert safe_name(raw) == name


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA], ids=["deflate", "lzma"])
def test_a_damaged_member_is_a_bad_archive_not_the_graders_failure(tmp_path, blocks, method):
    """A zip whose directory reads but whose module's compressed data does not decode: the
    student's archive is damaged (they can zip it again), not an internal error of ours."""
    path = tmp_path / "damaged.zip"
    source = ("# " + "some words of a comment " * 200 + "\n") * 20 + SOURCE
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("blocks.py", source)
    data = bytearray(path.read_bytes())
    start = data.index(b"blocks.py") + len("blocks.py") + 40  # inside the compressed stream
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    assert "blocks.py cannot be read from damaged.zip" in refused(path, blocks, BAD_ARCHIVE)


def test_a_zip_made_without_the_utf8_flag_keeps_its_utf8_names(tmp_path, blocks):
    # `zip -r` on Linux (Info-ZIP) writes UTF-8 names without the zip's UTF-8 flag: read as
    # code page 437 they were `Mar├¡a τÄï/blocks.py` in the feedback, and no answers.md was
    # found under its folder's name by an export's reader
    from autograder.questions import answers_template, collect

    folder = "María 王".encode()
    placeholder = b"M" * len(folder)  # ASCII, so written without the flag; swapped for the UTF-8 bytes
    answers = answers_template(blocks).replace("## plain-list\n", "## plain-list\n\nNot registered.\n", 1)
    path = make_zip(
        tmp_path / "s.zip",
        {placeholder.decode() + "/blocks.py": SOURCE, placeholder.decode() + "/answers.md": answers},
    )
    path.write_bytes(path.read_bytes().replace(placeholder, folder))
    with zipfile.ZipFile(path) as archive:
        assert not any(i.flag_bits & 0x800 for i in archive.infolist())
    assert stage(path, blocks).origin == "s.zip:María 王/blocks.py"
    assert collect(blocks, path, "María 王/")[0].text == "Not registered."
    # the same folder as a Gradescope export's: the export's reader sees the names staging sees
    from autograder.inputs import expand

    export = make_zip(
        tmp_path / "export.zip",
        {
            placeholder.decode() + "/submission_metadata.yml": "submission_1:\n  :submitters:\n  - :name: Peña\n",
            placeholder.decode() + "/submission_1/blocks.py": SOURCE,
        },
    )
    export.write_bytes(export.read_bytes().replace(placeholder, folder))
    (item,) = expand([export])
    assert (item.name, item.member, item.columns.get("name")) == ("submission_1", "María 王/submission_1/", "Peña")
    assert stage(export, blocks, item.member).origin == "export.zip:María 王/submission_1/blocks.py"
    # a name that is not UTF-8 (a Chinese Windows' GBK) is read as the standard says, and graded
    gbk = "王五".encode("gbk")
    padded = gbk + b"M" * (len(folder) - len(gbk))
    path.write_bytes(path.read_bytes().replace(folder, padded))
    assert stage(path, blocks).origin == "s.zip:" + padded.decode("cp437") + "/blocks.py"


def test_a_zip_holding_one_name_twice_is_refused_whatever_reads_it(tmp_path, blocks):
    """A zip may hold two files under one name, and tools unpack different ones of them: the
    grade, the written answers and the instructor's unzip must not each see another file."""
    import warnings

    from autograder.questions import answers_template, collect

    answers = answers_template(blocks).replace("## plain-list\n", "## plain-list\n\nNot registered.\n", 1)
    stub = "def MLP():\n    raise NotImplementedError\n"
    path = tmp_path / "twice.zip"
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (zipfile warns of the duplicate name it writes)
        archive.writestr("s/blocks.py", stub)
        archive.writestr("s/answers.md", answers)
        archive.writestr("s/blocks.py", SOURCE)
    with pytest.raises(StagingError) as refused:
        stage(path, blocks)
    assert refused.value.status == BAD_ARCHIVE and "two files named s/blocks.py" in refused.value.message
    assert all(not answer.text for answer in collect(blocks, path))  # nothing read from it either
    # the same file as unzip writes it, under names that differ only in spelling or case
    for first, second in (("blocks.py", "./blocks.py"), ("a/blocks.py", "a//blocks.py"), ("blocks.py", "Blocks.py")):
        path = make_zip(tmp_path / "spelled.zip", {first: stub, second: SOURCE})
        with pytest.raises(StagingError) as refused:
            stage(path, blocks)
        assert refused.value.status == BAD_ARCHIVE and "two files named" in refused.value.message, (first, second)
