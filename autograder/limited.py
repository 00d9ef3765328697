"""Run a function of ours on untrusted data in a forked child with a time and memory cap.

Judging reads data a submission produced: a judge that loops on crafted values or allocates
by a reported shape must cost that submission its checks, not the grader its life. `call`
forks the (warm) grader process, lowers the child's limits, runs the function and hands its
JSON-able result back through a pipe. The parent never waits longer than `seconds`, and a
child that exceeds its memory dies alone. Fork, not spawn: the child keeps torch and the
collected suite, so this costs a few milliseconds, not an import.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable

from autograder.sandbox import isolation

MAX_RESULT_BYTES = 64 * 2**20
OK, TIMED_OUT, OUT_OF_MEMORY, FAILED = "ok", "timed out", "out of memory", "failed"
_EXIT_MEMORY = 71
_EXIT_ERROR = 72


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
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = _EXIT_ERROR
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            base = isolation.data_segment_bytes()
            if base is not None:
                limit = base + memory_mb * 2**20
                resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
            cpu = int(seconds) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            try:
                import torch

                torch.set_num_threads(1)  # deliberate: judging is small, and many run at once
            except ImportError:
                pass
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
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    timed_out = False
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
    finally:
        os.close(read_fd)
        if timed_out or size > MAX_RESULT_BYTES:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
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
    try:
        message = json.loads(b"".join(chunks))
    except ValueError:
        return Outcome(FAILED, detail="its result was malformed")
    if "error" in message:
        return Outcome(FAILED, detail=str(message["error"]))
    return Outcome(OK, value=message["value"])
