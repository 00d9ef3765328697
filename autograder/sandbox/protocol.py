"""The sandbox child → host messages, defined once: their names, their order, and their checks.

A child sends, on its data pipe, JSON event frames (`frames.pack_json`) and, after a
successful `done`, the probe's two payload frames (JSON text, safetensors blob):

    import → imported → (start → done [→ text → blob])* → finished

Every event carries the run's nonce (`n`, random per child, known only to that child and the
host) and a sequence number (`s`: 0, 1, 2, ... in sending order); a `done` carries the exact
sizes of the payload frames that follow it. The host (`Expect`) accepts an event only in its
place in that order, only for the job it announced, and nothing before the probe call it
answers; anything else ends the child and its job is reported as tampered with.

This raises the bar, it does not close the door: student code runs in the same interpreter
as the probe runner and can read the nonce and the counter from memory. What holds whatever
the child sends is on the grader's side: data is validated against each probe's declaration,
and judges compute references from inputs they rebuild themselves (see README).
"""

from __future__ import annotations

import json
import math
import os
import secrets

from autograder import frames, text

IMPORT, IMPORTED, START, DONE, FINISHED = "import", "imported", "start", "done", "finished"
# Where the child keeps its data pipe: a descriptor drawn at random from this range (above the
# open-files limit a submission gets, so it cannot open one there by chance either).
HIGH_FD_RANGE = (300, 1000)


class ProbeStatus:
    """How one probe ended, as the host reports it to the grader (`ProbeOutcome.status`)."""

    OK = "ok"  # it returned data (two payload frames follow in the reply)
    ERROR = "error"  # student code raised: the error is data for the judges
    TIMED_OUT = "timed out"
    CRASHED = "crashed"  # the process died, or overran memory or processes
    INVALID = "invalid"  # its data broke the protocol, the caps or its declaration
    NOT_RUN = "not run"  # the module did not import, or time ran out first
    INTERNAL = "internal"  # the sandbox failed: not the student's doing


class ProtocolError(ValueError):
    """A frame out of order, for the wrong job, with the wrong nonce, or malformed.

    `knew_nonce` says whether the writer knew the run's nonce: only such a writer could also
    have sent frames the host already accepted, so only then is everything suspect."""

    def __init__(self, message: str, knew_nonce: bool = True) -> None:
        super().__init__(message)
        self.knew_nonce = knew_nonce


MAX_REQUEST_BYTES = 32 * 2**20  # a request frame (a submission's source and its jobs), at most
NOTE_KINDS = ("syntax", "runtime", "unparsable")  # what an import note reports (autograder.loader)
MAX_PRESENT = 1000  # names an import report lists


# What a child reports is the submission's to forge: the host keeps of it only what these
# checks let through (types, caps, no nesting beyond what the protocol has), before it answers
# the grader, and the grader checks the answer again with the same functions.


def received_count(value) -> int:
    """A count or a line number as reported: an int from 0 to 2**31, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0


def received_seconds(value) -> float | None:
    """A probe's run time as reported: a finite, non-negative number, else None."""
    if type(value) is int:
        value = float(value) if 0 <= value < 2**53 else -1.0  # (a huge int does not convert)
    if type(value) is not float or not math.isfinite(value) or value < 0:
        return None
    return value


def received_error(error) -> dict | None:
    """A probe's error as the sandbox reported it: a type name, a message and a traceback,
    each a plain capped string (a submission can raise anything, or forge the report)."""
    if error is None:
        return None
    if not isinstance(error, dict):
        error = {"type": "invalid", "message": "the sandbox sent an unreadable description of an error"}
    return {
        "type": text.one_line(error.get("type") or "Exception", text.MAX_NAME_CHARS),
        "message": text.clean(error.get("message", ""), text.MAX_MESSAGE_CHARS),
        "traceback": text.clean(error.get("traceback", ""), text.MAX_MESSAGE_CHARS),
    }


def received_import(info) -> dict | None:
    """The import report (notes per left-out statement, the names present), checked field by field."""
    if info is None:
        return None
    if not isinstance(info, dict):
        info = {"failed": "crashed", "message": "the sandbox sent an unreadable report of the import"}
    present = info.get("present") if isinstance(info.get("present"), list) else []
    out: dict = {"notes": [], "present": [n for n in present[:MAX_PRESENT] if isinstance(n, str) and n.isidentifier()]}
    if info.get("failed"):
        out["failed"] = "timed out" if info["failed"] == "timed out" else "crashed"
        out["message"] = text.clean(info.get("message", ""), text.MAX_NOTE_CHARS)
    notes = info.get("notes") if isinstance(info.get("notes"), list) else []
    for note in notes[: text.MAX_NOTES]:
        if not isinstance(note, dict) or note.get("kind") not in NOTE_KINDS:
            continue
        defines = note.get("defines")
        out["notes"].append(
            {
                "kind": note["kind"],
                "line": received_count(note.get("line")),
                "first_line": received_count(note.get("first_line")),
                "last_line": received_count(note.get("last_line")),
                "message": text.clean(note.get("message", ""), text.MAX_NOTE_CHARS),
                "defines": defines if isinstance(defines, str) and defines.isidentifier() else None,
                "error": received_error(note.get("error") or {}) if note["kind"] == "runtime" else None,
            }
        )
    return out


def new_nonce() -> str:
    return secrets.token_hex(16)


def high_fd(fd: int) -> int:
    """Move `fd` to a random descriptor in HIGH_FD_RANGE; returns the new number."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low, high = HIGH_FD_RANGE
    if soft != resource.RLIM_INFINITY and soft < high:
        low, high = min(low, max(16, soft // 2)), soft
    rng = secrets.SystemRandom()
    while True:
        target = rng.randrange(low, high)
        try:
            os.fstat(target)
            continue  # taken
        except OSError:
            pass
        os.dup2(fd, target, inheritable=False)
        os.close(fd)
        return target


class Sender:
    """The child's end: numbered, nonce-carrying events and payloads."""

    __slots__ = ("_fd", "_nonce", "_seq")

    def __init__(self, fd: int, nonce: str) -> None:
        self._fd, self._nonce, self._seq = fd, nonce, 0

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _event(self, kind: str, fields: dict, *extra: bytes) -> None:
        message = {"e": kind, "n": self._nonce, "s": self._seq, **fields}
        self._seq += 1
        self._write(b"".join([frames.pack_json(message), *extra]))

    def event(self, kind: str, **fields) -> None:
        self._event(kind, fields)

    def result(self, job: int, text: bytes, blob: bytes, seconds: float) -> None:
        fields = {"job": job, "ok": True, "seconds": seconds, "sizes": [len(text), len(blob)]}
        self._event(DONE, fields, frames.pack_frame(text), frames.pack_frame(blob))


class Expect:
    """The host's end for one child: checks each frame against the protocol's order."""

    def __init__(self, nonce: str, jobs: int) -> None:
        self.nonce = nonce
        self.jobs = jobs
        self.seq = 0
        self.phase = "setup"  # setup → import → ready → job → ready ... → finished
        self.job: int | None = None  # the job announced by the last `start`
        self.payload: list[int] = []  # sizes of the payload frames still expected

    def frame(self, data: bytes) -> dict | bytes:
        """Check one frame; returns the event (a dict) or a payload (bytes)."""
        if self.payload:
            size = self.payload.pop(0)
            if len(data) != size:
                raise ProtocolError(f"a payload frame of {len(data)} bytes where {size} were announced")
            return data
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):  # (JSON nested deeper than the parser's stack)
            raise ProtocolError("an event that is not JSON", knew_nonce=False) from None
        if type(message) is not dict or message.get("n") != self.nonce:
            raise ProtocolError("an event without the run's nonce", knew_nonce=False)
        if message.get("s") != self.seq:
            raise ProtocolError("an event out of sequence")
        self.seq += 1
        kind = message.get("e")
        allowed = {
            "setup": (IMPORT,),
            "import": (IMPORTED,),
            "ready": (START, FINISHED),
            "job": (DONE,),
        }.get(self.phase, ())
        if kind not in allowed:
            raise ProtocolError(f"event {kind!r:.20} where {' or '.join(allowed) or 'nothing'} was due")
        if kind == IMPORT:
            self.phase = "import"
        elif kind == IMPORTED:
            self.phase = "ready"
        elif kind == START:
            job = message.get("job")
            if type(job) is not int or not 0 <= job < self.jobs or (self.job is not None and job <= self.job):
                raise ProtocolError(f"a start for job {job!r:.20} out of order")
            self.phase, self.job = "job", job
        elif kind == DONE:
            if message.get("job") != self.job:
                raise ProtocolError("a result for a job that was not running")
            if message.get("ok") is True:
                sizes = message.get("sizes")
                if type(sizes) is not list or len(sizes) != 2 or not all(type(x) is int and x >= 0 for x in sizes):
                    raise ProtocolError("a result without its payload sizes")
                self.payload = list(sizes)
            self.phase = "ready"
        elif kind == FINISHED:
            self.phase = "finished"
        return message
