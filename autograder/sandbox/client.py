"""The grader's handle on a sandbox host: start it, send a submission, decode what comes back.

Decoding happens here, in the grader: every payload is validated by `wire.decode` before a
judge sees it, and a host that dies or stalls is replaced without costing other submissions.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder import frames, text
from autograder.catalog import Limits
from autograder.errors import BlockgradeError
from autograder.sandbox import isolation
from autograder.sandbox.protocol import (
    MAX_REQUEST_BYTES,
    ProbeStatus,
    received_count,
    received_error,
    received_import,
    received_seconds,
)

_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from autograder.sandbox.host import main; main()"
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
HOST_START_SECONDS = 180.0  # a cold start imports torch from a slow disk
REPLY_MARGIN_SECONDS = 30.0
HOST_EXIT_SECONDS = 2.0  # what a host closed while idle may take to end on its own


class SandboxError(BlockgradeError):
    """The sandbox machinery itself failed (not the submission)."""


# What crosses back from the sandbox was written by a child the submission controls: every
# string in it is untrusted (autograder.text) and every structure is checked before use, by
# the host before it answers and again here (autograder.sandbox.protocol's checks).
_MAX_EVENTS = 100


def received_output(output) -> dict:
    output = output if isinstance(output, dict) else {}
    printed = text.clean(output.get("text", ""), text.MAX_OUTPUT_CHARS)
    return {"text": printed, "dropped": received_count(output.get("dropped"))}


def received_events(events) -> list[dict]:
    events = events if isinstance(events, list) else []
    return [
        {k: v if isinstance(v, (int, float)) else text.clean(v, text.MAX_NOTE_CHARS) for k, v in e.items()}
        for e in events[:_MAX_EVENTS]
        if isinstance(e, dict)
    ]


_UNDECODED = object()


@dataclass
class ProbeOutcome:
    probe: str
    device: str | None
    status: str  # a ProbeStatus value
    error: dict | None = None
    seconds: float | None = None
    payload: tuple[bytes, bytes] | None = field(default=None, repr=False)  # as received: JSON, safetensors
    max_bytes: int = 0
    _data: object = field(default=_UNDECODED, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == ProbeStatus.OK

    @property
    def data(self) -> object:
        """The probe's data, decoded by `wire.decode` on first use (raises DataError)."""
        if self._data is _UNDECODED:
            if self.payload is None:
                self._data = None
            else:
                from autograder import wire

                self._data = wire.decode(*self.payload, max_bytes=self.max_bytes)
        return self._data

    @data.setter
    def data(self, value: object) -> None:
        self._data = value


@dataclass
class SandboxRun:
    outcomes: dict[tuple[str, str | None], ProbeOutcome]
    import_info: dict | None
    output: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    internal: str | None = None
    seconds: float = 0.0

    def pack(self) -> bytes:
        """The run as frames (a JSON header, then each payload's two frames as received), for
        the grader's own judging process (`JudgeSuite.judge`); `unpack` reads it back."""
        header = {
            "outcomes": [
                {
                    "probe": o.probe,
                    "device": o.device,
                    "status": o.status,
                    "error": o.error,
                    "seconds": o.seconds,
                    "max_bytes": o.max_bytes,
                    "payload": o.payload is not None,
                }
                for o in self.outcomes.values()
            ],
            "import_info": self.import_info,
            "output": self.output,
            "events": self.events,
            "internal": self.internal,
            "seconds": self.seconds,
        }
        parts = [frames.pack_json(header)]
        for o in self.outcomes.values():
            if o.payload is not None:
                parts += [frames.pack_frame(o.payload[0]), frames.pack_frame(o.payload[1])]
        return b"".join(parts)

    @classmethod
    def unpack(cls, data: bytes) -> "SandboxRun":
        stream = io.BytesIO(data)
        header = json.loads(frames.read_frame(stream, len(data)))
        outcomes = {}
        for item in header["outcomes"]:
            payload = item.pop("payload")
            outcome = ProbeOutcome(**item)
            if payload:
                outcome.payload = (frames.read_frame(stream, len(data)), frames.read_frame(stream, len(data)))
            outcomes[(outcome.probe, outcome.device)] = outcome
        del header["outcomes"]
        return cls(outcomes=outcomes, **header)


@dataclass(frozen=True)
class SentRequest:
    """A request the host is running (`SandboxHost.send`), whose answer is still to be read."""

    jobs: list[tuple[str, str | None]]
    limits: Limits
    deadline: float  # (monotonic) the host is lost if it has not answered by then
    id: int  # the request's number, which its answer must name


@dataclass(frozen=True)
class Submission:
    """What the sandbox needs of a submission: its module's source and names."""

    module: str  # "blocks"
    filename: str  # "blocks.py"
    source: str
    names: tuple[str, ...]  # the catalog's public names, to report which are defined


def _host_process(home: str, log, *extra: str, **streams) -> subprocess.Popen:
    """A fresh interpreter running the host (`host.main`): isolated mode, a scrubbed
    environment, its own folder and session (Ctrl-C in the grader's terminal reaches the grader only)."""
    return subprocess.Popen(
        [sys.executable, "-I", "-c", _BOOTSTRAP, _PACKAGE_PARENT, *extra],
        stderr=log,
        env=isolation.sandbox_environment(home),
        cwd=home,
        start_new_session=True,
        **streams,
    )


class HostFactory:
    """One host start for a whole batch: a host process (the *zygote*) that sets up the sandbox,
    imports torch and the probes once, then forks a ready host for every `SandboxHost` given
    this factory (one per batch worker), instead of each starting an interpreter of its own.

    The batch's process makes it before forking its workers; they inherit it and ask it for a
    host over a Unix socket, handing it the two ends of their pipes. Closing it (in the
    process that made it) ends the zygote, and with it every host it forked and their children.
    """

    def __init__(
        self,
        probe_files: list[Path],
        preload: tuple[str, ...] = (),
        sandbox: str = "auto",
        folder: str | None = None,
        huge_pages: bool = False,
    ) -> None:
        self.probe_files = [str(Path(p).resolve()) for p in probe_files]
        self.requested_sandbox = sandbox
        self._owner = os.getpid()
        self._home = tempfile.mkdtemp(prefix="blockgrade-host-", dir=folder)
        self._log = open(os.path.join(self._home, "host.log"), "w+b")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = _host_process(self._home, self._log, "zygote", stdin=theirs, stdout=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._socket = ours
        init = {
            "probe_files": self.probe_files,
            "preload": list(preload),
            "sandbox": sandbox,
            "warm_up": True,
            "huge_pages": huge_pages,  # its hosts and their templates fork from huge pages
        }
        self._socket.sendall(json.dumps(init).encode("utf-8"))

    def fork_host(self, requests: int, answers: int, memory_mb: int | None = None) -> bool:
        """Ask for a host reading requests from the descriptor `requests` and answering on
        `answers` (its first children forked ahead for `memory_mb`, where given); False if the
        zygote cannot be reached."""
        if self._socket is None:
            return False
        message = b"fork" if memory_mb is None else f"fork {int(memory_mb)}".encode()
        try:
            socket.send_fds(self._socket, [message], [requests, answers])
            return True
        except OSError:
            return False

    def kill_host(self, pid: int) -> None:
        """End a host this factory forked (the zygote, its parent, does: a pid it has not
        reaped cannot have been reused)."""
        if self._socket is not None and pid:
            try:
                self._socket.send(f"kill {int(pid)}".encode())
            except OSError:
                pass

    def log_tail(self) -> str:
        try:
            self._log.seek(0)
            return self._log.read()[-2000:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def end(self) -> None:
        """Ask the zygote to end (its hosts first) without waiting for it: `close` waits. The
        batch asks once its workers are gone, and writes its outputs meanwhile."""
        proc = getattr(self, "_proc", None)
        if proc is not None and os.getpid() == self._owner:
            proc.terminate()

    def close(self) -> None:
        """In the process that made it: end the zygote (its hosts and their children follow it,
        each having its parent's death as its own) and remove its folder. In a forked worker:
        only drop this process's end of the socket."""
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
        if os.getpid() != self._owner:
            return
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is not None:
            proc.terminate()  # the zygote kills and reaps its hosts first: none is left writing in its folder
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._log.close()
            shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> "HostFactory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SandboxHost:
    """A running host for one suite. Starts at construction; `probes` waits until it is ready.

    With a `factory` (a batch's `HostFactory`), the host is a fork of the factory's zygote,
    ready at once; without one, or if the zygote is gone, it starts an interpreter of its own."""

    def __init__(
        self,
        probe_files: list[Path],
        preload: tuple[str, ...] = (),
        sandbox: str = "auto",
        warm_up: bool = False,
        factory: HostFactory | None = None,
        memory_mb: int | None = None,
        huge_pages: bool = False,
    ) -> None:
        self.probe_files = [str(Path(p).resolve()) for p in probe_files]
        # serves enough submissions that forking its children from huge pages pays (with a
        # factory, the factory's choice holds)
        self.huge_pages = huge_pages
        # the first request's memory limit, where known: its child is then forked ahead of it
        self.memory_mb = memory_mb
        self.preload = list(preload)
        self.warm_up = warm_up  # serves many submissions: spare children, optimizers warmed up as needed
        self.requested_sandbox = sandbox
        self.sandbox: str | None = None  # the mode the host could set up: root, user or basic
        self.downgrades: list[str] = []
        self.factory = factory
        self._proc: subprocess.Popen | None = None
        self._pid = 0  # a forked host's (the factory's zygote is its parent)
        self._requests = 0  # requests sent: each answer names the one it answers
        self._stdin = self._stdout = None
        self._home = None
        self._probes: dict | None = None
        self._start()

    def _start(self) -> None:
        self._probes = None
        if self.factory is not None and self._start_forked():
            return
        self._home = tempfile.mkdtemp(prefix="blockgrade-host-")
        self._log = open(os.path.join(self._home, "host.log"), "w+b")
        self._proc = _host_process(
            self._home,
            self._log,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered: select() must see every byte the host sent
        )
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        self._send(
            frames.pack_json(
                {
                    "probe_files": self.probe_files,
                    "preload": self.preload,
                    "sandbox": self.requested_sandbox,
                    "warm_up": self.warm_up,
                    "huge_pages": self.huge_pages,
                    "memory_mb": self.memory_mb,
                }
            )
        )

    def _start_forked(self) -> bool:
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        asked = self.factory.fork_host(requests_r, answers_w, self.memory_mb)
        os.close(requests_r)
        os.close(answers_w)
        if not asked:
            os.close(requests_w)
            os.close(answers_r)
            return False
        self._stdin = os.fdopen(requests_w, "wb", buffering=0)
        self._stdout = os.fdopen(answers_r, "rb", buffering=0)
        return True

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._stdin.write(view) :]

    def _log_tail(self) -> str:
        if self._proc is None and self.factory is not None:
            return self.factory.log_tail()
        try:
            self._log.seek(0)
            return self._log.read()[-2000:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _read_frame(self, deadline: float) -> bytes | None:
        """One frame from the host's stdout, or None if it died or passed `deadline`."""
        stream = self._stdout
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
            self._pid = message.get("pid") or 0
            self._probes = message["probes"]
            self.sandbox = message.get("sandbox")
            self.downgrades = message.get("downgrades", [])
        return self._probes

    def ready(self) -> str:
        """Wait until the host has started; the sandbox mode it runs (raises SandboxError if none)."""
        self.probes  # noqa: B018  (the property starts and checks the host)
        return self.sandbox

    def run(
        self,
        submission: Submission,
        jobs: list[tuple[str, str | None]],
        limits: Limits,
        *,
        decode: bool = True,
        stand_in: Iterable[str] = (),
    ) -> SandboxRun:
        """Run `jobs` on `submission` and wait for the answer (`send`, then `answer`). With
        `decode=False` the payloads stay as received, to be decoded where they are judged (the
        grader does that in its limited judging process). Jobs on a device in `stand_in`
        (`cuda:0` on a runner without a GPU) run on the sandbox's stand-in for it
        (`autograder.standin`)."""
        return self.answer(self.send(submission, jobs, limits, stand_in=stand_in), decode=decode)

    def send(
        self,
        submission: Submission,
        jobs: list[tuple[str, str | None]],
        limits: Limits,
        *,
        stand_in: Iterable[str] = (),
        more: bool = False,
    ) -> "SentRequest | SandboxRun":
        """Send `submission`'s request and return at once: `answer` reads what the host sends
        back. Every request sent must be answered (`answer`) or dropped (`drop`) before the
        next is sent. `more`: the next request follows as soon as this one's answer is read
        (the host then starts it before its own chores: see `host.serve`). A request that could
        not be sent is its run already (refused, or the host was gone)."""
        if self._stdin is None:  # closed (a request was dropped): a new host for this one
            self._start()
        probes = self.probes
        for name, _ in jobs:
            if name not in probes:
                raise SandboxError(f"no probe named {name!r} in {self.probe_files}")
        self._requests += 1
        request = {
            "id": self._requests,
            "module": submission.module,
            "filename": submission.filename,
            "names": list(submission.names),
            "jobs": [list(j) for j in jobs],
            "limits": limits.__dict__,
            "stand_in": sorted(stand_in),
            "more": more,
        }
        # The source follows the request as a frame of its own: the host reads it into one
        # buffer and writes it to its child from there (see host.serve), never decoding it.
        source = submission.source.encode("utf-8", "surrogatepass")
        if len(source) > MAX_REQUEST_BYTES:  # the host would refuse it, and stop
            return self._refused(jobs, f"the module is too large to run ({len(submission.source)} characters)")
        try:
            self._send(frames.pack_json(request) + frames.pack_frame(source))
        except (BrokenPipeError, OSError):
            return self._host_lost(jobs, "the sandbox host was not running")
        deadline = time.monotonic() + limits.submission_seconds + REPLY_MARGIN_SECONDS
        return SentRequest(jobs, limits, deadline, request["id"])

    def answer(self, sent: "SentRequest | SandboxRun", *, decode: bool = True) -> SandboxRun:
        """The run of a request `send` returned. With `decode=False` the payloads stay as
        received (see `run`)."""
        if isinstance(sent, SandboxRun):
            return sent
        try:
            return self._answer(sent.jobs, sent.limits, decode, sent.deadline, sent.id)
        except Exception as exc:  # an answer this grader cannot read: never read the next one out of step
            return self._host_lost(sent.jobs, f"the sandbox host's answer could not be read ({type(exc).__name__})")

    def drop(self, sent: "SentRequest | SandboxRun") -> None:
        """Leave a sent request unanswered (the grader stops early): its answer would put the
        pipe out of step, so the host is ended (as `close` ends it: through its own clean-up,
        which removes its children's cgroups), and the next `send` starts another."""
        if isinstance(sent, SentRequest):
            self.close()

    def _answer(self, jobs, limits: Limits, decode: bool, deadline: float, request_id: int) -> SandboxRun:
        frame = self._read_frame(deadline)
        if frame is None:
            return self._host_lost(jobs, "the sandbox host stopped answering while running this submission")
        header = json.loads(frame)
        if header.get("id") != request_id:  # (not this request's answer: the pipe is out of step)
            return self._host_lost(jobs, "the sandbox host answered another request than this submission's")
        outcomes: dict = {}
        for job in header.get("jobs", []):
            key = (job["probe"], job["device"])
            outcome = ProbeOutcome(
                probe=job["probe"],
                device=job["device"],
                status=job.get("status", ProbeStatus.NOT_RUN),
                error=received_error(job.get("error")),
                seconds=received_seconds(job.get("seconds")),
            )
            if job.get("payload"):
                described = self._read_frame(deadline)  # (not `text`: the module of that name is used below)
                blob = self._read_frame(deadline)
                if described is None or blob is None:
                    return self._host_lost(jobs, "the sandbox host stopped in the middle of its answer")
                outcome.payload, outcome.max_bytes = (described, blob), limits.data_mb * 2**20
                try:
                    if decode:
                        outcome.data  # noqa: B018  (decodes now)
                except frames.DataError as exc:
                    outcome.status = ProbeStatus.INVALID
                    outcome.error = {
                        "type": "invalid",
                        "message": f"the probe's data was rejected: {exc}",
                        "traceback": "",
                    }
            outcomes[key] = outcome
        return SandboxRun(
            outcomes=outcomes,
            import_info=received_import(header.get("import")),
            output=received_output(header.get("output")),
            events=received_events(header.get("events")),
            internal=text.clean(header["internal"], text.MAX_NOTE_CHARS) if header.get("internal") else None,
            seconds=header.get("seconds") or 0.0,
        )

    def _refused(self, jobs, message: str) -> SandboxRun:
        """A submission the host must not be sent: its probes are invalid, the host keeps running."""
        outcomes = {
            (n, d): ProbeOutcome(n, d, "invalid", error={"type": "invalid", "message": message, "traceback": ""})
            for n, d in jobs
        }
        return SandboxRun(outcomes=outcomes, import_info=None, events=[{"kind": "refused", "message": message}])

    def _host_lost(self, jobs, message: str) -> SandboxRun:
        """The host died or hung during one submission: that submission crashed, a new host starts."""
        self.close(graceful=False)
        self._start()
        outcomes = {
            (n, d): ProbeOutcome(n, d, "crashed", error={"type": "crashed", "message": message, "traceback": ""})
            for n, d in jobs
        }
        return SandboxRun(outcomes=outcomes, import_info=None, events=[{"kind": "crash", "message": message}])

    def close(self, graceful: bool = True) -> None:
        """End the host. An idle one ends on the end of its request pipe, at once: it lets its
        spare child go (and that child's cgroup) and exits without an interpreter's teardown.
        One that has not ended within HOST_EXIT_SECONDS (busy, hung), or any with
        `graceful=False`, is killed."""
        streams, self._stdin, self._stdout = (self._stdin, self._stdout), None, None
        proc, self._proc = self._proc, None
        pid, self._pid = self._pid, 0
        if proc is None and streams == (None, None):
            return
        for stream in streams:
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if proc is not None:
            try:
                proc.wait(timeout=HOST_EXIT_SECONDS if graceful else 0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        elif self.factory is not None:
            self.factory.kill_host(pid)  # a forked host: its parent, the zygote, ends it (see host._zygote)
        if proc is not None:
            self._log.close()
            shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> "SandboxHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
