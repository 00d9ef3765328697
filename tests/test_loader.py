"""Loading a student's module: a mistake costs only the definitions it touches."""

from autograder.probing import StudentFiles
from autograder.sandbox.loader import load_module


def load(source, tmp_path):
    path = tmp_path / "sub.py"
    path.write_text(source)
    StudentFiles.paths = frozenset({str(path)})
    return load_module("sub_under_test", str(path), source)


def test_a_syntax_error_leaves_out_its_block_only(tmp_path):
    module, notes = load(
        "import math\n"
        "def good():\n    return 1\n"
        "@staticmethod\n"
        "def broken(:\n    pass\n"
        "class After:\n    x = math.pi\n",
        tmp_path,
    )
    assert module.good() == 1 and module.After.x > 3
    assert not hasattr(module, "broken")
    (note,) = notes
    assert (note["kind"], note["defines"], note["first_line"], note["last_line"]) == ("syntax", "broken", 4, 6)


def test_a_failing_statement_is_skipped_and_described(tmp_path):
    module, notes = load("x = 1\ny = undefined\nclass K:\n    pass\nraise SystemExit(3)\n", tmp_path)
    assert module.x == 1 and hasattr(module, "K") and not hasattr(module, "y")
    assert [n["error"]["type"] for n in notes] == ["NameError", "SystemExit"]
    assert 'File "sub.py", line 2' in notes[0]["error"]["traceback"]


def test_several_syntax_errors_and_future_imports(tmp_path):
    module, notes = load(
        "from __future__ import annotations\n"
        "def a(x: Undefined) -> int:\n    return 2\n"
        "def b(\n"
        "def c():\n    return 3\n"
        "def d(:\n    pass\n",
        tmp_path,
    )
    assert module.a(0) == 2 and module.a.__annotations__["x"] == "Undefined"
    assert {n["kind"] for n in notes} == {"syntax"}
    assert not hasattr(module, "d")


def test_a_hopeless_file_reports_unparsable(tmp_path):
    module, notes = load("(((\n" * 50, tmp_path)
    assert notes[-1]["kind"] == "unparsable"


def test_main_guard_does_not_run(tmp_path):
    module, notes = load("ran = False\nif __name__ == '__main__':\n    ran = True\n", tmp_path)
    assert module.ran is False and not notes
