"""The integrity scan (autograder.integrity): every honest submission of the kit is unflagged,
every kind of reach into the grader is flagged at its line (aliases included), the scan never
fails, and the flags reach the gradebook, results.json and the report but not the feedback."""

from __future__ import annotations

import base64
import csv
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import integrity
from autograder.catalog import course_at
from autograder.grading import grade_batch
from autograder.integrity import scan, summary
from autograder.staging import StagingError, stage

from conftest import REPO

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

COURSE = course_at(REPO)


# ------------------------------------------------------------------ honest code: never flagged


def honest_submissions():
    """(label, assignment, module source as graded) for every honest submission in the kit."""
    found = []
    for a in COURSE.assignments:
        solution = (a.solution_dir / a.module).read_text(encoding="utf-8")
        found.append((f"solution {a.slug}", a, solution))
        for case in corpus.cases(a.slug):
            found.append((f"corpus {a.slug}/{case.name}", a, corpus.compose(solution, case)))
        template = REPO / "student_template" / a.slug
        for name in (a.module, a.notebook):
            if (template / name).is_file():
                found.append((f"template {a.slug}/{name}", a, stage(template / name, a).submission.source))
        if (template / a.notebook).is_file():  # the notebook saved as a .py, check cells and all
            cells = json.loads((template / a.notebook).read_text(encoding="utf-8"))["cells"]
            exported = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            assert "from autograder.notebook_check import check" in exported
            found.append((f"template {a.slug}/{a.notebook} exported", a, exported))
    blocks = COURSE.get("blocks")
    for path in sorted((REPO / "examples" / "01-blocks").iterdir()):
        try:
            found.append((f"example {path.name}", blocks, stage(path, blocks).submission.source))
        except StagingError:
            continue  # eve sent no file: nothing to scan
    return found


HONEST = honest_submissions()


def test_the_kit_has_honest_submissions_of_every_kind():
    labels = " ".join(label for label, _, _ in HONEST)
    assert len(HONEST) > 100
    for kind in ("solution", "corpus", "template", "example"):
        assert kind in labels
    assert any(source for label, _, source in HONEST if label.startswith("example cyd"))  # the notebook


@pytest.mark.parametrize("label, assignment, source", HONEST, ids=[h[0] for h in HONEST])
def test_honest_submissions_carry_no_flag(label, assignment, source):
    assert scan(source, assignment.allowed_imports) == []


def test_an_assignment_may_allow_an_import_and_its_uses():
    fileio = COURSE.get("fileio")
    assert fileio.allowed_imports == ("pickle",)
    case = next(c for c in corpus.cases(fileio.slug) if c.name == "tensors_plain_pickle")
    source = corpus.compose((fileio.solution_dir / fileio.module).read_text(encoding="utf-8"), case)
    assert scan(source, fileio.allowed_imports) == []
    flagged = scan(source)  # without the assignment's list: the import and both uses
    assert [f.kind for f in flagged] == ["pickle"] * 3
    assert [f.source for f in flagged] == ["import pickle", "pickle.dump(obj, f)", "return pickle.load(f)"]
    # the default list is what the others get
    assert COURSE.get("blocks").allowed_imports == ()


# ------------------------------------------------------------------ hostile code: flagged at its line

BLOB = base64.b64encode(bytes(range(256))).decode()

# Each snippet marks the lines the scan must flag with `# flag: kind[, kind]`; every other line
# must stay unflagged (so the honest lines in them check that the scan is not trigger-happy).
SNIPPETS = {
    "imports": """
        import torch
        import numpy.random
        from torch import nn
        import scipy  # flag: import
        from requests import get  # flag: socket
        from . import helpers  # flag: import
        import autograder.judging  # flag: grader import
        from _pytest import runner  # flag: grader import
        from os import *  # flag: import
        from torch.nn.functional import *
    """,
    "frames": """
        import sys
        def peek():
            frame = sys._getframe(1)  # flag: frame access
            up = frame.f_back  # flag: frame access
            return up.f_locals, up.f_globals  # flag: frame access
        try:
            1 / 0
        except ZeroDivisionError as exc:
            seen = exc.__traceback__.tb_frame  # flag: frame access
        gen = (i for i in range(3))
        where = gen.gi_frame  # flag: frame access
        back = getattr(gen, "gi_frame")  # flag: frame access
    """,
    "inspect": """
        import inspect  # flag: import
        caller = inspect.currentframe()  # flag: frame access
        everything = inspect.stack()  # flag: frame access
        from inspect import getouterframes as outer  # flag: import, frame access
    """,
    "trace hooks": """
        import sys
        sys.settrace(lambda *a: None)  # flag: trace hook
        sys.setprofile(print)  # flag: trace hook
        sys.monitoring.use_tool_id(3, "spy")  # flag: trace hook
        sys.addaudithook(print)  # flag: trace hook
        import threading  # flag: process
        threading.settrace(print)  # flag: trace hook, process
        print(sys.version_info, file=sys.stderr)
    """,
    "gc": """
        import gc
        gc.collect()
        holders = gc.get_referrers(print)  # flag: gc access
        every = gc.get_objects()  # flag: gc access
        from gc import get_referents  # flag: gc access
    """,
    "ctypes": """
        import ctypes  # flag: ctypes
        libc = ctypes.CDLL(None)  # flag: ctypes
        from torch.utils.cpp_extension import load_inline  # flag: ctypes
        import torch
        torch.ops.load_library("/tmp/x.so")  # flag: ctypes
        torch.backends.cudnn.deterministic = True
    """,
    "fd writes": """
        import os, io
        os.write(1, b"all tests passed")  # flag: fd write
        os.dup2(3, 1)  # flag: fd write
        out = os.fdopen(1, "w")  # flag: fd write
        open(1, "w").write("PASSED")  # flag: fd write
        raw = io.open(2, "wb")  # flag: fd write
        keep = open("notes.txt", "w")
        os.makedirs("out", exist_ok=True)
    """,
    "proc paths": """
        from pathlib import Path
        mine = open("/proc/self/status").read()  # flag: proc path
        parent = Path("/proc") / "1" / "environ"  # flag: proc path
        mem = f"/proc/{42}/mem"  # flag: proc path
        fd = "/pr" + "oc/self/fd/1"  # flag: proc path
        tty = open("/dev/fd/1", "w")  # flag: proc path
        ok = Path("process/proceeds.txt")
    """,
    "signals": """
        import signal  # flag: signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # flag: signal
        import os
        os.kill(os.getppid(), 9)  # flag: signal, os call
    """,
    "processes": """
        import subprocess  # flag: process
        subprocess.run(["ls"])  # flag: process
        import os
        os.system("ls")  # flag: process
        os.execv("/bin/sh", ["sh"])  # flag: process
        pid = os.fork()  # flag: process
        os.spawnl(os.P_WAIT, "/bin/true")  # flag: process, os call
        os.posix_spawn("/bin/true", [], {})  # flag: process
        import multiprocessing as mp  # flag: process
        os._exit(0)
    """,
    "sockets": """
        import socket  # flag: socket
        s = socket.create_connection(("10.0.0.1", 80))  # flag: socket
        from urllib import request  # flag: socket
    """,
    "dynamic imports": """
        import importlib  # flag: dynamic import
        mod = importlib.import_module("json")  # flag: dynamic import
        other = __import__("math")  # flag: dynamic import
        import runpy  # flag: dynamic import
    """,
    "exec": """
        if 0:
            def exec(code):
                pass
        exec("x = 1")  # flag: exec/eval
        run = eval  # flag: exec/eval
        run("2")  # flag: exec/eval
        y = eval("1 + 1")  # flag: exec/eval
        code = compile("1", "<s>", "eval")  # flag: exec/eval
        import types
        f = types.FunctionType(code, {})  # flag: exec/eval
    """,
    "marshal and pickle": """
        import marshal  # flag: marshal
        data = marshal.loads(b"")  # flag: marshal
        import pickle  # flag: pickle
        obj = pickle.loads(data)  # flag: pickle
        from pickle import loads as unpickle  # flag: pickle
    """,
    "builtins": """
        import builtins  # flag: import
        builtins.print = lambda *a, **k: None  # flag: builtins change
        setattr(builtins, "len", lambda x: 0)  # flag: builtins change
        __builtins__["open"] = None  # flag: builtins change
        hidden = globals()["__builtins__"]  # flag: dynamic getattr, builtins change
    """,
    "dunders": """
        classes = object.__subclasses__()  # flag: dunder walk
        def f():
            pass
        g = f.__globals__  # flag: dunder walk
        c = f.__code__.co_consts  # flag: dunder walk
        order = (1).__class__.__mro__  # flag: dunder walk
        base = ().__class__.__bases__[0]  # flag: dunder walk
        walked = getattr(f, "__globals__")  # flag: dunder walk
        name = type(f).__name__ + f.__class__.__name__
    """,
    "sys.modules": """
        import sys
        grader = sys.modules["autograder.judging"]  # flag: sys.modules
        sys.path.insert(0, "/tmp")  # flag: sys.modules
        size = sys.getsizeof([])
        here = sys.flags  # flag: sys internals
    """,
    "module patches": """
        import torch
        from torch import nn
        torch.allclose = lambda *a, **k: True  # flag: module patch
        torch.Tensor.__eq__ = lambda self, other: True  # flag: module patch
        nn.Module.__call__ = lambda self, *a: None  # flag: module patch
        setattr(torch, "equal", lambda *a: True)  # flag: module patch
        torch.backends.cudnn.benchmark = False
        torch.manual_seed(0)
    """,
    "dynamic getattr": """
        import os, torch
        name = "sys" + "tem"
        run = getattr(os, name)  # flag: dynamic getattr
        everything = vars(torch)  # flag: dynamic getattr
        table = os.__dict__  # flag: dynamic getattr
        scope = globals()  # flag: dynamic getattr
        fine = getattr(torch.nn, "Linear")
        a, b = "fr", "ba"
        frame = getattr(tb, f"tb_{a}ame")  # flag: dynamic getattr
        back = getattr(frame, "f_" + b + "ck")  # flag: dynamic getattr
        hidden = getattr(frame, f"{a}__")  # flag: dynamic getattr
        block = getattr(net, f"block {a}")
        layer = getattr(net, str(b))
    """,
    "encoded blobs": f"""
        PAYLOAD = "{BLOB}"  # flag: encoded blob
        RAW = {bytes(range(256)) * 2!r}  # flag: encoded blob
        CODES = [{", ".join(["65"] * 300)}]  # flag: encoded blob
        DOC = "{" ".join(["word"] * 200)}"
    """,
    "grader paths": """
        with open("/autograder/results/results.json", "w") as f:  # flag: grader path
            f.write("{}")
        book = "out/gradebook.csv"  # flag: grader path
    """,
    "torch overrides": """
        import torch
        class Liar(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):  # flag: torch override
                return True
    """,
    "aliases": """
        import os as o
        o.write(1, b"x")  # flag: fd write
        from os import write as w  # flag: fd write
        w(1, b"x")  # flag: fd write
        wr = o.dup2  # flag: fd write
        wr(3, 1)  # flag: fd write
        import sys as s
        f = s._getframe()  # flag: frame access
        from sys import _getframe as gf  # flag: frame access
        gf(2)  # flag: frame access
        import subprocess as sp  # flag: process
        sp.Popen(["sh"])  # flag: process
        import posix  # flag: import
        posix.write(1, b"x")  # flag: fd write
        getattr(o, "wri" + "te")(1, b"x")  # flag: fd write
        getattr(__import__("o" + "s"), "system")("ls")  # flag: dynamic import, process
        s.modules["os"].write(1, b"x")  # flag: sys.modules, fd write
        shadow = o
        shadow.system("ls")  # flag: process
        "_".join(["a", "b"])
    """,
}


def marks(source: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(source.splitlines(), start=1):
        m = re.search(r"# flag: (.+)$", line)
        if m:
            expected |= {(number, kind.strip()) for kind in m.group(1).split(",")}
    return expected


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_hostile_code_is_flagged_at_its_line(name):
    source = textwrap.dedent(SNIPPETS[name]).lstrip("\n")
    flags = scan(source)
    assert {(f.line, f.kind) for f in flags} == marks(source)
    lines = source.splitlines()
    for f in flags:
        assert f.source == lines[f.line - 1].strip()[: integrity.MAX_LINE_CHARS - 1] or f.source.endswith("…")
        assert f.detail


def test_every_kind_has_a_snippet():
    kinds = {kind for source in SNIPPETS.values() for _, kind in marks(textwrap.dedent(source))}
    assert set(integrity.KINDS) - {integrity.UNSCANNED} == kinds


def test_the_red_team_attacks_are_flagged():
    from security.attacks import attacks

    expected = {
        "forge-results-now": {"grader path"},
        "forge-results-later": {"grader path", "process"},
        "monkeypatch-torch": {"module patch"},
        "monkeypatch-pytest-unittest": {"grader import", "module patch"},
        "tensor-subclass": {"torch override"},
        "loop-ignoring-sigterm": {"signal"},
        "process-spawner": {"process"},
        "background-sleepers": {"process"},
        "read-hidden-tests": {"sys.modules", "grader import", "grader path"},
        "network": {"socket"},
        "kill-everything": {"signal"},
        "rewrite-the-kit": {"grader import", "dunder walk"},
    }
    by_name = {a.name: a for a in attacks("marker", 1)}
    for name, kinds in expected.items():
        found = {f.kind for f in scan(by_name[name].code)}
        assert kinds <= found, (name, found)


def test_the_summary_counts_lines_and_names_kinds():
    flags = scan("import sys\nf = sys._getframe()\nimport os\nos.write(1, b'')\ng = f.f_back\n")
    assert summary([f.to_dict() for f in flags]) == "3: frame access, fd write"
    assert summary([]) == ""


# ------------------------------------------------------------------ the scan never fails


def test_a_syntax_error_costs_only_its_block():
    source = "import os\n\ndef broken(:\n    os.system('x')\n\ndef fine():\n    os.write(1, b'')\n"
    assert [(f.line, f.kind) for f in scan(source)] == [(7, "fd write")]


@pytest.mark.parametrize(
    "source",
    [
        "",
        "\x00\x00import os\n",
        "def (((:\n" * 50,
        "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
        "x = [" + "[" * 300 + "]" * 300 + "]\n",
        "\udcff = 1\n",
        "if True:\n" + "".join("    " * i + "if x:\n" for i in range(1, 120)) + "    " * 120 + "pass\n",
    ],
    ids=["empty", "nul", "garbage", "parens", "lists", "surrogate", "indentation"],
)
def test_bad_input_is_left_out_like_the_loader_leaves_it(source):
    assert scan(source) == []


@pytest.mark.parametrize(
    "source, error",
    [
        ("x = " + "-" * 200_000 + "1\n", "MemoryError"),
        ("import os\na" + ".b" * 100_000 + " = 1\nos.write(1, b'')\n", "RecursionError"),
        ("x = " + "'a' + " * 100_000 + "'a'\n", "RecursionError"),
    ],
    ids=["unary", "attributes", "concatenation"],
)
def test_a_source_nested_past_the_parser_is_flagged_unscanned(source, error):
    assert scan(source) == [integrity.Flag(integrity.UNSCANNED, 0, "", f"the source could not be parsed ({error})")]


def test_a_huge_source_is_scanned_up_to_its_cap():
    filler = "x = 1\n" * (integrity.MAX_SOURCE_CHARS // 6)
    flags = scan("import os\nos.write(1, b'')\n" + filler + "os.system('late')\n")
    assert [(f.line, f.kind) for f in flags] == [(2, "fd write"), (0, integrity.UNSCANNED)]


def test_the_number_of_flags_is_capped():
    flags = scan("import os\n" + "os.write(1, b'')\n" * 1000)
    assert len(flags) == integrity.MAX_FLAGS
    assert summary([f.to_dict() for f in flags]).startswith(f"{integrity.MAX_FLAGS}+: ")


# ------------------------------------------------------------------ where the flags go

HOSTILE_TAIL = """

import ctypes


def _peek():
    frame = sys._getframe(1)
    return frame.f_back.f_globals


os.write(1, b"<b>written to the raw descriptor</b>\\n")
"""


@pytest.fixture(scope="module")
def flagged_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    blocks = COURSE.get("blocks")
    solution = (REPO / "solutions/01-blocks/blocks.py").read_text(encoding="utf-8")
    (root / "mallory").mkdir()
    (root / "mallory/blocks.py").write_text("import os\nimport sys\n" + solution + HOSTILE_TAIL, encoding="utf-8")
    (root / "honest").mkdir()
    (root / "honest/blocks.py").write_text(solution, encoding="utf-8")
    batch = grade_batch(
        COURSE, blocks, [root / "mallory", root / "honest"], root / "out", devices=["cpu"], workers=1, sandbox="root"
    )
    return batch, root / "out"


def test_flags_reach_the_gradebook_and_results_but_not_the_feedback(flagged_batch):
    batch, out = flagged_batch
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        book = {row["submission"]: row for row in csv.DictReader(f)}
    assert book["mallory"]["flags"] == "4: ctypes, frame access, fd write"
    assert book["honest"]["flags"] == ""
    # a flag never changes a score: the flagged code is never called, so both earn the same
    for column in ("score", "status", *COURSE.get("blocks").task_ids):
        assert book["mallory"][column] == book["honest"][column], column
    assert float(book["honest"]["score"]) > 0
    results = json.loads((out / "mallory/results.json").read_text(encoding="utf-8"))
    assert results["extra_data"]["sandbox"] == "root"
    flags = results["extra_data"]["integrity_flags"]
    assert [(f["kind"], f["source"]) for f in flags] == [
        ("ctypes", "import ctypes"),
        ("frame access", "frame = sys._getframe(1)"),
        ("frame access", "return frame.f_back.f_globals"),
        ("fd write", 'os.write(1, b"<b>written to the raw descriptor</b>\\n")'),
    ]
    source = (out.parent / "mallory/blocks.py").read_text(encoding="utf-8").splitlines()
    for f in flags:
        assert source[f["line"] - 1].strip() == f["source"]
    assert json.loads((out / "honest/results.json").read_text(encoding="utf-8"))["extra_data"]["integrity_flags"] == []
    feedback = (out / "mallory/feedback.md").read_text(encoding="utf-8")
    assert "_getframe" not in feedback and "ctypes" not in feedback and "flag" not in feedback.lower()
    assert "integrity" not in results["output"].lower() and "ctypes" not in results["output"]


def test_the_report_lists_the_flagged_lines(flagged_batch, tmp_path):
    from test_report import Dom, run_browser

    batch, out = flagged_batch
    dom = Dom(run_browser(tmp_path, "--dump-dom", batch.report.as_uri()).stdout)
    rows = dom.find("tr", "review", class_="flag")
    flags = json.loads((out / "mallory/results.json").read_text(encoding="utf-8"))["extra_data"]["integrity_flags"]
    assert [(r["attrs"]["data-submission"], int(r["attrs"]["data-line"]), r["attrs"]["data-kind"]) for r in rows] == [
        ("mallory", f["line"], f["kind"]) for f in flags
    ]
    assert dom.cells(rows[0])[0] == "mallory" and "import ctypes" in dom.cells(rows[0])[4]
    # the source line is text, not markup
    assert any("<b>written to the raw descriptor</b>" in dom.cells(r)[4] for r in rows)
    assert not dom.find("b", "review")
