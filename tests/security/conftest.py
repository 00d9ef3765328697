"""The red-team batch: every attack of `attacks.py` graded in one batch beside honest
submissions, once per sandbox mode this machine can run."""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.catalog import course_at
from autograder.grading import grade_batch

from .attacks import attacks


@contextlib.contextmanager
def ready_host(probe_files: list, mode: str, **kwargs):
    """A sandbox host for `probe_files` in `mode`, started (the test is skipped where user
    namespaces are refused)."""
    from autograder.sandbox.client import SandboxHost

    with SandboxHost(probe_files, sandbox=mode, **kwargs) as host:
        try:
            host.ready()
        except Exception as exc:
            if mode == "user":
                pytest.skip(f"user namespaces are not available here: {exc}")
            raise
        yield host


def skip_unless_the_sandbox_starts(mode: str) -> None:
    """Skip the calling test where the `user` sandbox cannot start here (user namespaces
    refused); the other modes are not tried (`root` must work where it is run)."""
    if mode == "user":
        with ready_host([], "user"):
            pass


REPO = Path(__file__).resolve().parents[2]
# Tight limits keep the batch quick and the machine safe; honest work needs a fraction of them.
LIMITS = {"probe_seconds": 2, "submission_seconds": 20, "memory_mb": 512, "processes": 32, "output_kb": 64}
HONEST = ("aaa-honest", "zzz-honest")


def namespace_modes_here() -> list[str]:
    """Hostile code never runs in the basic sandbox as root (it would be the machine's root;
    the grader refuses it, see test_kernel.py): there, only the namespace modes."""
    if os.geteuid() == 0:
        return ["root", "user"]
    return ["user", "basic"]


class Listener:
    """A TCP server on loopback that records whoever connects: the network attack's target."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(1024))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.sock.close()


def honest_partial(a) -> str:
    """The template's stubs with MLP solved: 3 points of honest work."""
    stub = (REPO / "student_template" / a.slug / a.module).read_text()
    solution = (a.solution_dir / a.module).read_text()
    solved = re.search(r"^class MLP\b.*?(?=^class )", solution, re.S | re.M).group(0)
    return re.sub(r"^class MLP\b.*?(?=^class )", lambda _: solved, stub, count=1, flags=re.S | re.M)


def bad_archives(folder: Path) -> dict[str, str]:
    """Archives the grader must refuse, with what they try."""
    made = {}

    def write(name, members, attrs=None):
        with zipfile.ZipFile(folder / f"{name}.zip", "w") as archive:
            for member, data in members.items():
                info = zipfile.ZipInfo(member)
                info.compress_type = zipfile.ZIP_DEFLATED
                if attrs and member in attrs:
                    info.external_attr = attrs[member]
                archive.writestr(info, data)
        made[f"{name}"] = name

    write("zip-climbs-out", {"../../escaped.py": "x", "blocks.py": "x = 1\n"})
    write("zip-absolute", {"/tmp/escaped-absolute.py": "x = 1\n", "blocks.py": "x = 1\n"})
    write("zip-link", {"blocks.py": "/etc/passwd"}, attrs={"blocks.py": 0o120777 << 16})
    write("zip-bomb", {"blocks.py": "x = 1\n", "bomb.bin": b"\0" * (8 * 2**20)})
    write("zip-empty", {})
    (folder / "zip-corrupt.zip").write_bytes(b"PK\x03\x04" + os.urandom(64))
    made["zip-corrupt"] = "zip-corrupt"
    data = bytearray((folder / "zip-climbs-out.zip").read_bytes())
    write("zip-bad-name", {"aZ.py": "x", "blocks.py": "x = 1\n"})
    raw = bytearray((folder / "zip-bad-name.zip").read_bytes().replace(b"aZ.py", b"a\xff.py"))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        raw[raw.index(signature) + offset + 1] |= 0x08
    (folder / "zip-bad-name.zip").write_bytes(bytes(raw))
    del data
    return made


def kit_fingerprint() -> str:
    import torch

    import autograder

    digest = hashlib.sha256()
    for path in sorted(Path(autograder.__file__).parent.rglob("*.py")) + [Path(torch.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class RedTeam:
    mode: str
    results: dict
    out: Path
    listener: Listener
    marker: str
    attacks: dict
    fingerprints: tuple[str, str]
    archives: dict = field(default_factory=dict)
    outside: Path | None = None


@pytest.fixture(scope="session", params=namespace_modes_here())
def red_team(request, tmp_path_factory):
    mode = request.param
    skip_unless_the_sandbox_starts(mode)
    course = course_at(REPO)
    a = course.get("blocks")
    root = tmp_path_factory.mktemp(f"red-team-{mode}")
    subs = root / "subs"
    subs.mkdir()
    marker = f"63.{os.getpid()}{int(time.time() * 1000) % 100000}"
    listener = Listener()
    chosen = {x.name: x for x in attacks(marker, listener.port) if mode in x.modes}
    honest = honest_partial(a)
    for name in HONEST:
        (subs / name).mkdir()
        shutil.copyfile(a.solution_dir / a.module, subs / name / a.module)
    for name, attack in chosen.items():
        (subs / name).mkdir()
        (subs / name / a.module).write_text(honest + "\n\n" + attack.code)
        for file, text in attack.files.items():
            (subs / name / file).write_text(text)
    archives = bad_archives(subs)
    before = kit_fingerprint()
    limits = a.limits.replace(**LIMITS)
    batch = grade_batch(course, a, sorted(subs.iterdir()), root / "out", limits=limits, sandbox=mode, devices=["cpu"])
    assert not batch.interrupted
    time.sleep(2.5)  # a daemon that escaped would forge its results now
    team = RedTeam(
        mode=mode,
        results={r.name: r for r in batch.results},
        out=root / "out",
        listener=listener,
        marker=marker,
        attacks=chosen,
        fingerprints=(before, kit_fingerprint()),
        archives=archives,
        outside=root,
    )
    yield team
    listener.close()
