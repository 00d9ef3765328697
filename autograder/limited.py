"""Run a function of ours on untrusted data in a forked child with a time and memory cap.

Judging reads data a submission produced: a judge that loops on crafted values or allocates
by a reported shape must cost that submission its checks, not the grader its life. `Server`
forks the (warm) grader process once and runs the function there for one input after
another, each under its own limits, and hands each JSON-able result back through a pipe. The
parent never waits longer than `seconds`, and a child that exceeds its memory dies alone.
Fork, not spawn: the child keeps torch and the collected suite, so this costs a few
milliseconds, not an import. Kept, not forked per input: a fresh fork of a torch-sized grader
costs about 40 ms of CPU (the fork, the pages it copies as it first touches them, its exit),
more than judging a submission does. What a fresh fork would start from is kept: the random
generators are put back before each input, and the child ends after an input that changed
what its owner watches, or torch's global settings, or the process's own state (a pending
alarm, a thread left running, ...), or that grew its memory, so that the next input gets a
fresh fork. A child let go is not waited for: its exit (unmapping all it inherited, several
milliseconds with torch) goes on while the grader moves on; it is reaped at a later start.
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
MAX_INPUT_BYTES = 2**31  # what `Server.run` hands over: the grader's own data, already capped by wire
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


SERVER_USES = 200  # inputs one Server child takes before a fresh fork takes over
SERVER_GROWTH_BYTES = 64 * 2**20  # a Server child whose data segment grew by more ends


class Server:
    """A fork that runs `fn(input)` for one input after another, each under its own limits (a
    time limit from the parent, a CPU and a memory limit of the child's counted from where the
    input starts), until it is closed. `start` forks it ahead of its first input (the
    grader does so while the sandbox runs a submission). Before each input the child puts the
    random generators of Python, torch and numpy back as they were when it was forked; after
    each, it ends (and the next input gets a fresh fork) when the input failed, when
    `watched()` (or taking it failed), torch's global settings or the process's own state
    (`_process_state`: a signal handler or alarm, a thread, the working folder, ...) differ
    from when it was forked, when its data segment grew by more than SERVER_GROWTH_BYTES, or
    after SERVER_USES inputs. A fork that is gone by the time an input comes is replaced. Not
    for use across a fork of its owner: a forked owner starts a child of its own."""

    def __init__(self, fn: Callable[[bytes], Any], watched: Callable[[], object] | None = None) -> None:
        self._fn = fn
        self._watched = watched
        self._pid = 0
        self._owner = os.getpid()
        self.forks = 0  # children started so far (by this owner)

    def start(self) -> None:
        """Fork the child now, unless one is waiting."""
        if self._owner != os.getpid():  # inherited from the process that forked us: not ours
            self._pid, self._owner, self.forks = 0, os.getpid(), 0
        if self._pid:
            return
        _reap(block=len(_answered) > 8)
        input_r, self._input = os.pipe()
        self._answers, answer_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(self._input)
            os.close(self._answers)
            _serve(self._fn, input_r, answer_w, self._watched)
        self._pid = pid
        self.forks += 1
        os.close(input_r)
        os.close(answer_w)

    def run(self, data: bytes, *, seconds: float, memory_mb: int) -> Outcome:
        """`fn(data)` in the child under the limits."""
        limits = json.dumps([seconds, memory_mb]).encode()
        for attempt in range(2):
            self.start()
            try:
                frames.write_frame(self._input, limits)
                frames.write_frame(self._input, data)
                break
            except OSError:  # it ended while it waited (killed from outside): a fresh fork
                _answered.append(self._drop(kill=True))
                if attempt:
                    return Outcome(FAILED, detail="its process could not be started")
        deadline = time.monotonic() + seconds
        payload, timed_out, too_large = _framed_answer(self._answers, deadline)
        answer = _answer(payload) if payload is not None else None
        if answer is not None and "value" in answer:
            if answer.get("last"):
                _answered.append(self._drop())
            return Outcome(OK, value=answer["value"])
        pid = self._drop(kill=timed_out or too_large)
        return _ended(pid, answer, timed_out, too_large, seconds, memory_mb)

    def _drop(self, kill: bool = False) -> int:
        """Close the pipes to the child (a waiting child reads the end of its input and exits),
        SIGKILL it if asked, and forget it: its pid, for the caller to reap (0 if none)."""
        pid, self._pid = self._pid, 0
        if not pid:
            return 0
        os.close(self._input)
        os.close(self._answers)
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pid

    def close(self) -> None:
        """Let the child go (it ends without running anything more)."""
        if self._owner == os.getpid() and (pid := self._drop()):
            _answered.append(pid)  # reaped at a later start


class _Fresh:
    """What a fresh fork of the owner starts from, taken in a Server child as it starts: the
    random generators' states (put back before each input) and torch's global settings (an
    input that changed them ends the child)."""

    def __init__(self) -> None:
        import random

        self.random = random.getstate()
        torch = sys.modules.get("torch")
        self.torch = torch.random.get_rng_state() if torch is not None else None
        numpy = sys.modules.get("numpy")
        self.numpy = numpy.random.get_state() if numpy is not None else None
        self.settings = _torch_settings()
        self.process = _process_state()

    def restore(self) -> None:
        import random

        random.setstate(self.random)
        if self.torch is not None:
            sys.modules["torch"].random.set_rng_state(self.torch)
        numpy = sys.modules.get("numpy")
        if self.numpy is not None and numpy is not None:
            numpy.random.set_state(self.numpy)


def _torch_settings() -> tuple:
    torch = sys.modules.get("torch")
    if torch is None:
        return ()
    return (
        torch.get_default_dtype(),
        torch.is_grad_enabled(),
        torch.is_inference_mode_enabled(),
        torch.are_deterministic_algorithms_enabled(),
        torch.get_num_threads(),
        str(torch.get_default_device()),
    )


_TIMERS = ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF")
_PER_ITEM = "PYTEST_CURRENT_TEST"  # pytest sets and removes it around each item (a grader under pytest has it)


def _process_state() -> tuple:
    """What an input could leave behind in the process itself, beyond the suite's modules and
    torch's settings, that a fresh fork would not have and that would change how the next
    input is judged: a signal handler or a pending alarm (a judge's own time limit, which would
    go off in the next input's judging), a thread left running (its CPU time counts against the
    next input's limit), the working folder, umask, environment, warnings filters, recursion
    limit and torch's and numpy's print options (which feedback messages show)."""
    umask = os.umask(0o22)
    os.umask(umask)
    handlers = []
    for number in sorted(signal.valid_signals()):
        try:
            handlers.append((int(number), id(signal.getsignal(number))))
        except (ValueError, OSError):
            pass
    timers = tuple(signal.getitimer(getattr(signal, name)) for name in _TIMERS if hasattr(signal, name))
    threads = None
    try:
        with open("/proc/self/status", "rb") as status:
            threads = next((line for line in status if line.startswith(b"Threads:")), None)
    except OSError:
        pass
    import threading
    import warnings

    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")
    try:
        folder = os.getcwd()
    except OSError:  # removed meanwhile (a judge's temporary folder)
        folder = None
    return (
        folder,
        umask,
        hash(frozenset(item for item in os.environ.items() if item[0] != _PER_ITEM)),
        tuple(handlers),
        timers,
        threading.active_count(),
        threads,
        tuple(warnings.filters),
        sys.getrecursionlimit(),
        tuple(sorted(vars(torch._tensor_str.PRINT_OPTS).items())) if torch is not None else None,
        tuple(sorted(numpy.get_printoptions().items(), key=lambda kv: kv[0])) if numpy is not None else None,
    )


_UNREADABLE = object()  # what `watched` gave when it failed: the child serves one input only


def _picture(watched: Callable[[], object] | None) -> object:
    """`watched()` (None without one); _UNREADABLE if it failed, so that the child ends after
    its input, as a fresh fork would: a picture that cannot be taken must not fail judging."""
    if watched is None:
        return None
    try:
        return watched()
    except Exception:
        return _UNREADABLE


def _serve(fn: Callable[[bytes], Any], input_r: int, answer_w: int, watched: Callable[[], object] | None) -> None:
    """In a Server's child: one input after another, each answered as a frame. Never returns."""
    code = _EXIT_ERROR
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        torch = sys.modules.get("torch")  # the grader's (a fork does not import it again)
        if torch is not None:
            torch.set_num_threads(1)  # deliberate: judging is small, and many run at once
        # It outlives the input it was forked for: it must not keep the grader's other pipes
        # open (its sandbox host's, its pool's), whose other ends wait for their end of file.
        isolation.close_other_fds({0, 1, 2, input_r, answer_w})
        fresh = _Fresh()
        seen = _picture(watched)
        base = isolation.data_segment_bytes()
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        data_hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        with os.fdopen(input_r, "rb") as stream:
            for served in range(1, SERVER_USES + 1):
                limits = frames.read_frame(stream, 4096)
                if limits is None:  # let go
                    code = 0
                    break
                data = frames.read_frame(stream, MAX_INPUT_BYTES)
                seconds, memory_mb = json.loads(limits)
                # Only the soft limits, counted from here: the next input raises them again.
                now = isolation.data_segment_bytes()
                if now is not None:
                    cap = now + memory_mb * 2**20
                    if data_hard != resource.RLIM_INFINITY:
                        cap = min(cap, data_hard)
                    resource.setrlimit(resource.RLIMIT_DATA, (cap, data_hard))
                usage = resource.getrusage(resource.RUSAGE_SELF)
                cpu = int(usage.ru_utime + usage.ru_stime + seconds) + 2
                if cpu_hard != resource.RLIM_INFINITY:
                    cpu = min(cpu, cpu_hard)
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_hard))
                fresh.restore()
                try:
                    answer = {"value": fn(data)}
                except MemoryError:
                    code = _EXIT_MEMORY
                    raise
                except BaseException as exc:  # a bug of ours: report it, the grader records it
                    answer = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                data = None
                grown = base is not None and (isolation.data_segment_bytes() or 0) - base > SERVER_GROWTH_BYTES
                last = (
                    "error" in answer
                    or served == SERVER_USES
                    or grown
                    or _torch_settings() != fresh.settings
                    or _process_state() != fresh.process
                    or seen is _UNREADABLE
                    or _picture(watched) != seen
                )
                frames.write_frame(answer_w, json.dumps({**answer, "last": last}, allow_nan=True).encode("utf-8"))
                if last:
                    code = 0
                    break
        os.close(answer_w)
    except BaseException:
        pass
    finally:
        os._exit(code)


def _framed_answer(read_fd: int, deadline: float) -> tuple[bytes | None, bool, bool]:
    """One answer frame from a Server child, waiting until `deadline`: (the frame or None if
    the child ended first, whether the time ran out, whether the answer was too large)."""
    reader = frames.FrameReader(MAX_RESULT_BYTES)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, True, False
        ready, _, _ = select.select([read_fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            return None, False, False
        try:
            got = reader.feed(chunk)
        except frames.DataError:
            return None, False, True
        if got:
            return got[0], False, False


def _ended(pid: int, answer: dict | None, timed_out: bool, too_large: bool, seconds: float, memory_mb: int) -> Outcome:
    """How a child that gave no value went (it is waited for): its time, its memory, its
    result's size, or the error it reported."""
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return Outcome(TIMED_OUT, detail=f"it took longer than {seconds:g} s")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return Outcome(TIMED_OUT, detail=f"it used more than {seconds:g} s of CPU time")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_MEMORY:
        return Outcome(OUT_OF_MEMORY, detail=f"it needed more than {memory_mb} MB of memory")
    if too_large:
        return Outcome(FAILED, detail="its result was too large")
    if answer is not None and "error" in answer:
        return Outcome(FAILED, detail=str(answer["error"]))
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            # the kernel's OOM killer, or a cgroup limit
            return Outcome(OUT_OF_MEMORY, detail=f"it was killed (out of memory, limit {memory_mb} MB)")
        return Outcome(FAILED, detail="it ended without a result")
    return Outcome(FAILED, detail="its result was malformed")


def _answer(data: bytes) -> dict | None:
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) and ("value" in message or "error" in message) else None
