"""Run a function of ours on untrusted data in a forked child with a time and memory cap.

Judging reads data a submission produced: a judge that loops on crafted values or allocates
by a reported shape must cost that submission its checks, not the grader its life. `call`
forks the (warm) grader process, lowers the child's limits, runs the function and hands its
JSON-able result back through a pipe. The parent never waits longer than `seconds`, and a
child that exceeds its memory dies alone. Fork, not spawn: the child keeps torch and the
collected suite, so this costs a few milliseconds, not an import. A child that answered is
not waited for: it closes its end of the pipe first, and its exit (unmapping all it inherited,
several milliseconds with torch) goes on while the grader moves on; it is reaped at a later call.
`Prepared` makes the fork ahead of the work, for the same reason.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from autograder import frames
from autograder.sandbox import isolation

MAX_RESULT_BYTES = 64 * 2**20
MAX_INPUT_BYTES = 2**31  # what `Prepared.run` hands over: the grader's own data, already capped by wire
OK, TIMED_OUT, OUT_OF_MEMORY, FAILED = "ok", "timed out", "out of memory", "failed"
_EXIT_MEMORY = 71
_EXIT_ERROR = 72


_answered: list[int] = []  # children that answered, left to end on their own; reaped later


def _reap(block: bool = False) -> None:
    for pid in list(_answered):
        try:
            done = os.waitpid(pid, 0 if block else os.WNOHANG)[0]
        except ChildProcessError:
            done = pid
        if done:
            _answered.remove(pid)


@dataclass(frozen=True)
class Outcome:
    status: str  # OK, TIMED_OUT, OUT_OF_MEMORY or FAILED
    value: Any = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


def call(fn: Callable[[], Any], *, seconds: float, memory_mb: int) -> Outcome:
    """`fn()` in a forked child under the limits; its result must be JSON-serialisable."""
    _reap(block=len(_answered) > 8)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(fn, write_fd, seconds, memory_mb)
    os.close(write_fd)
    return _outcome(pid, read_fd, seconds, memory_mb)


class Prepared:
    """A fork made ahead of its work: it waits, using nothing, until `run` hands it its input,
    then runs `fn(input)` under the limits exactly as `call` would. The grader makes it while
    the sandbox runs a submission, so that judging does not wait for a fork. Not used, it is let
    go by `close` (it ends without running anything)."""

    def __init__(self, fn: Callable[[bytes], Any]) -> None:
        _reap(block=len(_answered) > 8)
        self._fn = fn
        input_r, self._input = os.pipe()
        self._answers, answer_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(self._input)
            os.close(self._answers)
            try:
                with os.fdopen(input_r, "rb") as stream:
                    limits = frames.read_frame(stream, 4096)
                    data = frames.read_frame(stream, MAX_INPUT_BYTES) if limits is not None else None
                if data is None:
                    os._exit(0)  # let go unused
                seconds, memory_mb = json.loads(limits)
            except BaseException:
                os._exit(_EXIT_ERROR)
            _child(lambda: fn(data), answer_w, seconds, memory_mb)
        self._pid = pid
        os.close(input_r)
        os.close(answer_w)

    def run(self, data: bytes, *, seconds: float, memory_mb: int) -> Outcome:
        """`fn(data)` in the waiting child under the limits (in a fresh fork, should it be gone)."""
        pid, self._pid = self._pid, 0
        if not pid:
            raise RuntimeError("this prepared fork was used or let go already")
        try:
            for frame in (frames.pack_json([seconds, memory_mb]), frames.pack_frame(data)):
                view = memoryview(frame)
                while view:
                    view = view[os.write(self._input, view) :]
        except OSError:  # it is gone (killed from outside): the work goes to a fresh fork
            os.close(self._input)
            os.close(self._answers)
            _reap_now(pid)
            fn = self._fn
            return call(lambda: fn(data), seconds=seconds, memory_mb=memory_mb)
        os.close(self._input)
        return _outcome(pid, self._answers, seconds, memory_mb)

    def close(self) -> None:
        """Let an unused fork go (it reads the end of its input and exits); nothing if used."""
        pid, self._pid = self._pid, 0
        if pid:
            os.close(self._input)
            os.close(self._answers)
            _answered.append(pid)  # reaped at a later call


def _reap_now(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _child(fn: Callable[[], Any], write_fd: int, seconds: float, memory_mb: int) -> None:
    """In the forked child: the limits, `fn()`, its answer on `write_fd`. Never returns."""
    code = _EXIT_ERROR
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        base = isolation.data_segment_bytes()
        if base is not None:
            limit = base + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        cpu = int(seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        torch = sys.modules.get("torch")  # the grader's (a fork does not import it again)
        if torch is not None:
            torch.set_num_threads(1)  # deliberate: judging is small, and many run at once
        try:
            payload = json.dumps({"value": fn()}, allow_nan=True).encode("utf-8")
        except MemoryError:
            code = _EXIT_MEMORY
            raise
        except BaseException as exc:  # a bug of ours: report it, the grader records it
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"[:2000]}).encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
        os.close(write_fd)  # the answer is complete: the parent need not wait for this exit
        code = 0
    except BaseException:
        pass
    finally:
        os._exit(code)


def _outcome(pid: int, read_fd: int, seconds: float, memory_mb: int) -> Outcome:
    """Read the child's answer (for at most `seconds`) and say how it went."""
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    timed_out = False
    answer = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_RESULT_BYTES:
                break
            chunks.append(chunk)
        if not timed_out and size <= MAX_RESULT_BYTES:
            answer = _answer(b"".join(chunks))
    finally:
        os.close(read_fd)
        if timed_out or size > MAX_RESULT_BYTES:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if answer is not None and "value" in answer:
        _answered.append(pid)  # it answered in full: its exit is no longer our business
        return Outcome(OK, value=answer["value"])
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return Outcome(TIMED_OUT, detail=f"it took longer than {seconds:g} s")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return Outcome(TIMED_OUT, detail=f"it used more than {seconds:g} s of CPU time")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_MEMORY:
        return Outcome(OUT_OF_MEMORY, detail=f"it needed more than {memory_mb} MB of memory")
    if size > MAX_RESULT_BYTES:
        return Outcome(FAILED, detail="its result was too large")
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            # the kernel's OOM killer, or a cgroup limit
            return Outcome(OUT_OF_MEMORY, detail=f"it was killed (out of memory, limit {memory_mb} MB)")
        return Outcome(FAILED, detail="it ended without a result")
    if answer is None:
        return Outcome(FAILED, detail="its result was malformed")
    return Outcome(FAILED, detail=str(answer["error"]))


def _answer(data: bytes) -> dict | None:
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) and ("value" in message or "error" in message) else None
