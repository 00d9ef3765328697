"""The grader's handle on a sandbox host: start it, send a submission, decode what comes back.

Decoding happens here, in the grader: every payload is validated by `wire.decode` before a
judge sees it, and a host that dies or stalls is replaced without costing other submissions.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import frames
from autograder.catalog import Limits
from autograder.errors import BlockgradeError
from autograder.sandbox import isolation

_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from autograder.sandbox.host import main; main()"
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
HOST_START_SECONDS = 180.0  # a cold start imports torch from a slow disk
REPLY_MARGIN_SECONDS = 30.0


class SandboxError(BlockgradeError):
    """The sandbox machinery itself failed (not the submission)."""


@dataclass
class ProbeOutcome:
    probe: str
    device: str | None
    status: str  # ok, error, timed out, crashed, invalid, not run, internal
    data: object = None
    error: dict | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class SandboxRun:
    outcomes: dict[tuple[str, str | None], ProbeOutcome]
    import_info: dict | None
    output: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    internal: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Submission:
    """What the sandbox needs of a submission: its module's source and names."""

    module: str  # "blocks"
    filename: str  # "blocks.py"
    source: str
    names: tuple[str, ...]  # the catalog's public names, to report which are defined


class SandboxHost:
    """A running host for one suite. Starts at construction; `probes` waits until it is ready."""

    def __init__(
        self, probe_files: list[Path], preload: tuple[str, ...] = (), sandbox: str = "auto", warm_up: bool = False
    ) -> None:
        self.probe_files = [str(Path(p).resolve()) for p in probe_files]
        self.preload = list(preload)
        self.warm_up = warm_up  # worth its second only to a host that serves many submissions
        self.requested_sandbox = sandbox
        self.sandbox: str | None = None  # the mode the host could set up: root, user or basic
        self.downgrades: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._probes: dict | None = None
        self._start()

    def _start(self) -> None:
        self._home = tempfile.mkdtemp(prefix="blockgrade-host-")
        self._log = open(os.path.join(self._home, "host.log"), "w+b")
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOTSTRAP, _PACKAGE_PARENT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=isolation.sandbox_environment(self._home),
            cwd=self._home,
            bufsize=0,  # unbuffered: select() must see every byte the host sent
            start_new_session=True,  # Ctrl-C in the grader's terminal reaches the grader only
        )
        self._send(
            frames.pack_json(
                {
                    "probe_files": self.probe_files,
                    "preload": self.preload,
                    "sandbox": self.requested_sandbox,
                    "warm_up": self.warm_up,
                }
            )
        )
        self._probes = None

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._proc.stdin.write(view) :]

    def _log_tail(self) -> str:
        try:
            self._log.seek(0)
            return self._log.read()[-2000:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _read_frame(self, deadline: float) -> bytes | None:
        """One frame from the host's stdout, or None if it died or passed `deadline`."""
        stream = self._proc.stdout
        selector = selectors.DefaultSelector()
        selector.register(stream, selectors.EVENT_READ)
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                return None
            return frames.read_frame(stream, 2**31)
        except (frames.DataError, OSError, ValueError):
            return None
        finally:
            selector.close()

    @property
    def probes(self) -> dict:
        if self._probes is None:
            frame = self._read_frame(time.monotonic() + HOST_START_SECONDS)
            message = json.loads(frame) if frame else {"ready": False, "error": self._log_tail()}
            if not message.get("ready"):
                self.close()
                raise SandboxError(f"the sandbox host did not start:\n{message.get('error', '')}")
            self._probes = message["probes"]
            self.sandbox = message.get("sandbox")
            self.downgrades = message.get("downgrades", [])
        return self._probes

    def ready(self) -> str:
        """Wait until the host has started; the sandbox mode it runs (raises SandboxError if none)."""
        self.probes  # noqa: B018  (the property starts and checks the host)
        return self.sandbox

    def run(self, submission: Submission, jobs: list[tuple[str, str | None]], limits: Limits) -> SandboxRun:
        probes = self.probes
        for name, _ in jobs:
            if name not in probes:
                raise SandboxError(f"no probe named {name!r} in {self.probe_files}")
        request = {
            "module": submission.module,
            "filename": submission.filename,
            "source": submission.source,
            "names": list(submission.names),
            "jobs": [list(j) for j in jobs],
            "limits": limits.__dict__,
        }
        try:
            self._send(frames.pack_json(request))
        except (BrokenPipeError, OSError):
            return self._host_lost(jobs, "the sandbox host was not running")
        deadline = time.monotonic() + limits.submission_seconds + REPLY_MARGIN_SECONDS
        frame = self._read_frame(deadline)
        if frame is None:
            return self._host_lost(jobs, "the sandbox host stopped answering while running this submission")
        from autograder import wire  # torch: imported once data comes back, not at start-up

        header = json.loads(frame)
        outcomes: dict = {}
        for job in header.get("jobs", []):
            key = (job["probe"], job["device"])
            outcome = ProbeOutcome(
                probe=job["probe"],
                device=job["device"],
                status=job.get("status", "not run"),
                error=job.get("error"),
                seconds=job.get("seconds"),
            )
            if job.get("payload"):
                text = self._read_frame(deadline)
                blob = self._read_frame(deadline)
                if text is None or blob is None:
                    return self._host_lost(jobs, "the sandbox host stopped in the middle of its answer")
                try:
                    outcome.data = wire.decode(text, blob, max_bytes=limits.data_mb * 2**20)
                except frames.DataError as exc:
                    outcome.status = "invalid"
                    outcome.error = {
                        "type": "invalid",
                        "message": f"the probe's data was rejected: {exc}",
                        "traceback": "",
                    }
            outcomes[key] = outcome
        return SandboxRun(
            outcomes=outcomes,
            import_info=header.get("import"),
            output=header.get("output") or {},
            events=header.get("events") or [],
            internal=header.get("internal"),
            seconds=header.get("seconds") or 0.0,
        )

    def _host_lost(self, jobs, message: str) -> SandboxRun:
        """The host died or hung during one submission: that submission crashed, a new host starts."""
        self.close()
        self._start()
        outcomes = {
            (n, d): ProbeOutcome(n, d, "crashed", error={"type": "crashed", "message": message, "traceback": ""})
            for n, d in jobs
        }
        return SandboxRun(outcomes=outcomes, import_info=None, events=[{"kind": "crash", "message": message}])

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # Killed, not asked: it holds nothing to flush, and an interpreter with torch loaded
        # takes most of a second to tear down.
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> "SandboxHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
