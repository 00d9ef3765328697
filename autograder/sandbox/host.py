"""The sandbox host: a preloaded process that runs submissions in children its template forks.

Started by the grader as a fresh interpreter with a scrubbed environment, it sets up the
sandbox (namespaces, seccomp, cgroups: each checked in a throwaway child, while the process is
still small), imports torch and the suite's probe modules once (never a judge), forks its
`template` (which forks every child: nothing a host reads of one submission may be in the
memory of the next one's child), then serves requests on stdin: for each submission it has a
child forked (`child.run`), hands it the request, watches it against the per-probe and
per-submission deadlines and the memory limit, captures and caps its output, and answers on
stdout with frames: a JSON header, then each finished probe's JSON and safetensors.
A child that has reported everything is killed at once and answered for; what is left to do
(reaping it, removing its cgroup and folder) is done after the answer, while the grader judges.

A host that serves many submissions (a batch worker's) also has the next child forked ahead,
into its memory cgroup (a step that waits on the kernel), so that a request finds it waiting;
and has its template take torch's first-use costs once (`warm_up_torch`) when the probes or a
submission use an optimizer, so that no child pays them against its time limit.

A batch starts one host process as a *zygote* (`zygote` in its first frame): it sets up and
imports once, then forks a host for each worker that asks (`HostFactory` in the client), so
that a batch pays one start of torch on the sandbox's side, not one per worker.

A probe that hangs or crashes costs only itself: the host kills the child, records it, and
has a fresh child forked for the probes that remain.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import importlib
import json
import os
import re
import select
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable

from autograder import frames
from autograder.probing import load_probe_modules
from autograder.sandbox import isolation, namespaces, protocol
from autograder.sandbox.protocol import MAX_REQUEST_BYTES, ProbeStatus
from autograder.sandbox.template import Template

# `child` and `wire` import torch: main() imports them once the sandbox is set up.

MAX_INIT_BYTES = 2**20  # a zygote's first message (the probe files, the sandbox asked for)
HOST_EXIT_SECONDS = 5.0  # what a forked host asked to end may take (it lets its spare child go)
SETUP_SECONDS = 30.0  # from fork to the first student statement: our own work only
WATCH_INTERVAL = 0.1
# A request marked `more` is followed by the next as soon as the grader has read its answer:
# the host waits this long for it before doing its chores (see `serve`) rather than after.
MORE_WAIT_SECONDS = 0.05
PAYLOAD_BUDGET_FACTOR = 2  # a submission's results together: twice what one probe may return
PRELOAD = ("numpy.random",)  # what every child would import again (its seeding does), imported once here
# Source that reaches for an optimizer (whose first step imports some 800 modules): the host
# takes that cost once, before the child's limits start (see `warm_up_torch`).
OPTIMIZER_USE = re.compile(rb"\boptim\b")  # searched in the source's bytes (see serve)
# Children a host that serves a batch keeps forked ahead: joining its memory cgroup takes a
# child 10-20 ms of waiting (the kernel's RCU grace period, on cgroup v1), more than a
# submission's judging leaves it, so each is forked a whole submission before its request.
SPARES = 2

_baseline: list[int] = []  # the host's own proportional set size, read once


def memory_used(tree: set[int], group=None) -> int:
    """What the sandbox child `tree` holds beyond what it shares with the host: its memory
    cgroup's (`group`) count where it has one (exact, one small read), else the sum of the processes'
    proportional set sizes less the host's own, read once per host rather than per submission
    (reading /proc/PID/smaps_rollup of a process that holds torch walks all its pages)."""
    if group is not None:
        used = group.usage_bytes()
        if used is not None:
            return used
    if not _baseline:
        _baseline.append(isolation.resident_bytes([os.getpid()]))
    return isolation.resident_bytes(tree) - _baseline[0]


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "it was still running and was stopped"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        reasons = {
            "SIGSEGV": " (a segmentation fault)",
            "SIGXCPU": " (the CPU-time limit)",
            "SIGXFSZ": " (the file-size limit)",
            "SIGKILL": " (killed)",
            "SIGABRT": " (aborted)",
        }
        return f"the process was ended by {name}{reasons.get(name, '')}"
    if os.WIFEXITED(status):
        return f"the process exited with status {os.WEXITSTATUS(status)}"
    return "the process ended"


class OutputCapture:
    """The first and last `cap/2` bytes of a stream; what falls between is counted, not kept."""

    def __init__(self, cap: int) -> None:
        self.half = max(1, cap // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.half:
                excess = len(self.tail) - self.half
                self.dropped += excess
                del self.tail[:excess]

    def summary(self) -> dict:
        text = self.head.decode("utf-8", "replace")
        if self.dropped:
            text += f"\n[… {self.dropped} bytes of output left out …]\n"
        text += self.tail.decode("utf-8", "replace")
        return {"text": text, "dropped": self.dropped}


class _Child:
    """A sandbox child, forked by the host's template, and what the host holds for it: its
    pipes, its folder, its nonce, a pidfd for it.

    Forked ahead of its request, it joins its memory cgroup, builds its sandbox (namespaces,
    root: all but what the request decides) and waits there until `start` hands it the request:
    a request finds it ready."""

    def __init__(self, memory_mb, template: Template) -> None:
        self.memory_mb = int(memory_mb)
        self.template = template
        self.status: int | None = None  # its exit status, once the template has reported it
        self.workdir = tempfile.mkdtemp(prefix="blockgrade-run-")
        self.data_r, data_w = os.pipe()
        self.out_r, out_w = os.pipe()
        go_r, self.go_w = os.pipe()
        self.nonce = protocol.new_nonce()
        self.cgroup = isolation.GUARDS.new_cgroup(self.memory_mb)  # its memory cgroup, where there are any
        try:
            self.pid, self.pidfd = template.fork(self.cgroup and self.cgroup.path, self.workdir, [data_w, out_w, go_r])
        except BaseException:
            if self.cgroup is not None:
                self.cgroup.remove()
            for fd in (self.data_r, self.out_r, self.go_w):
                os.close(fd)
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        finally:
            for fd in (data_w, out_w, go_r):
                os.close(fd)

    def start(self, frame: bytes, source: bytearray) -> bool:
        """Hand the waiting child its nonce, its request and the module's source (written from
        the buffer itself: no copy); False if it is not there to take them."""
        try:
            frames.write_frame(self.go_w, self.nonce.encode("ascii"))
            frames.write_frame(self.go_w, frame)
            frames.write_frame(self.go_w, source)
            return True
        except OSError:
            return False
        finally:
            os.close(self.go_w)
            self.go_w = -1

    def poll(self) -> int | None:
        """Its exit status, if it has ended."""
        if self.status is None:
            self.status = self.template.exit_status(self.pid, wait=False)
        return self.status

    def wait(self) -> int | None:
        """Its exit status, once it has ended (None if its template is gone, and it with it)."""
        if self.status is None:
            self.status = self.template.exit_status(self.pid, wait=True)
        return self.status

    def stop(self) -> None:
        """SIGKILL, now: the child (its process group goes when it has: the template kills the
        group before it reaps the child, while the number is still the child's; here, the
        template may have reaped it already, and the number be anyone's)."""
        try:
            if self.pidfd >= 0:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            elif self.status is None:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self, drain=None, keep: frozenset[int] = frozenset()) -> None:
        """Kill whatever the child started, remove its cgroup, read what it printed last
        (into `drain`), close its pipes and remove its folder. `keep`: the spare children
        waiting meanwhile, which are not this child's (see `isolation.kill_tree`).

        The child is killed and its exit waited for first (a wait, not a poll), then its cgroup
        is removed (which waits until every process in it is gone), so that the scan of the
        process table for anything left below the template is, as a rule, made once."""
        if self.poll() is None:
            self.stop()
            self.wait()
        cgroup, self.cgroup = self.cgroup, None
        if cgroup is not None:
            cgroup.remove()
        isolation.kill_tree(self.template.pid, keep=keep)  # what it left outside its group, below the template
        if drain is not None:
            drain(self.out_r)
        for fd in (self.data_r, self.out_r, self.go_w, self.pidfd):
            if fd >= 0:
                os.close(fd)
        self.data_r = self.out_r = self.go_w = self.pidfd = -1
        shutil.rmtree(self.workdir, ignore_errors=True)


class Supervisor:
    """Runs one request (one submission) to the end, over as many children as it takes, each
    forked by `template`.

    `frame` is the request as received, which is what the first child reads. `serve` gives it
    the host's spares once it is made (`spare`, `keep`)."""

    def __init__(
        self,
        request: dict,
        probes: dict,
        template: Template,
        frame: bytes | None = None,
        source: bytearray | None = None,
    ) -> None:
        self.request = request
        self.source = source if source is not None else bytearray()  # the module's source, UTF-8
        self.probes = probes
        self.template = template
        self.spare: _Child | None = None  # a child forked ahead (see `_Child`): the first, where it fits
        self.frame = frame
        # the host's other spare children, waiting meanwhile: not this submission's processes
        # (not counted against its limits, not killed with its children)
        self.keep: frozenset[int] = frozenset()
        self.leftover: _Child | None = None  # a child that reported everything, to clean up after the answer
        # the host's chores left from the answer before (see `serve`), done once this request's
        # first child has it; they return the spares then waiting (the new `keep`)
        self.chores: Callable[[frozenset[int]], frozenset[int]] | None = None
        self.limits = request["limits"]
        self.jobs = [tuple(j) for j in request["jobs"]]
        self.results: list[dict | None] = [None] * len(self.jobs)
        self.payloads: dict[int, tuple[bytes, bytes]] = {}
        self.import_info: dict | None = None
        self.output = OutputCapture(int(self.limits["output_kb"]) * 1024)
        self.events: list[dict] = []
        self.internal: str | None = None
        from autograder.wire import MAX_JSON_BYTES

        self.max_frame = int(self.limits["data_mb"]) * 2**20 + MAX_JSON_BYTES
        self.protocol_error = "malformed frames"
        self.payload_bytes = 0  # what this submission's kept results hold, in bytes
        self.payload_budget = PAYLOAD_BUDGET_FACTOR * int(self.limits["data_mb"]) * 2**20
        self.voided: dict[int, int] = {}  # job -> times its result was voided

    def run(self) -> list[bytes]:
        started = time.monotonic()
        self.deadline = started + float(self.limits["submission_seconds"])
        for name, _ in self.jobs:
            if name not in self.probes:
                self.internal = f"unknown probe {name!r}"
        while self.internal is None:
            pending = [i for i, r in enumerate(self.results) if r is None]
            if not pending and self.import_info is not None:
                break  # (with no jobs at all, one child still runs: to report the import)
            if time.monotonic() >= self.deadline:
                self._finish_pending(ProbeStatus.TIMED_OUT, "the submission's time limit ran out before this ran")
                self.events.append({"kind": "submission timeout", "seconds": self.limits["submission_seconds"]})
                break
            if not self._run_child(pending):
                break
        if self.internal is not None:
            self._finish_pending(ProbeStatus.INTERNAL, self.internal)
        header = {
            "id": self.request.get("id"),  # the request this answers (the grader checks it)
            "import": self.import_info,
            "jobs": [
                {
                    "probe": n,
                    "device": d,
                    **(self.results[i] or {"status": ProbeStatus.NOT_RUN}),
                    "payload": i in self.payloads,
                }
                for i, (n, d) in enumerate(self.jobs)
            ],
            "output": self.output.summary(),
            "events": self.events,
            "internal": self.internal,
            "seconds": time.monotonic() - started,
        }
        reply = [frames.pack_json(header)]
        for i in sorted(self.payloads):
            text, blob = self.payloads[i]
            reply += [frames.pack_frame(text), frames.pack_frame(blob)]
        return reply

    def _finish_pending(self, status: str, message: str) -> None:
        for i, r in enumerate(self.results):
            if r is None:
                self.results[i] = {"status": status, "error": {"type": status, "message": message, "traceback": ""}}

    def _child(self, indices: list[int]) -> _Child:
        """A child started on the jobs `indices`: the spare where it fits, else a new one (which,
        if it cannot take its request, ends and is accounted for as a sandbox that did not start)."""
        if len(indices) == len(self.jobs) and self.frame is not None:
            frame = self.frame
        else:
            frame = json.dumps({**self.request, "jobs": [list(self.jobs[i]) for i in indices]}).encode()
        memory_mb = int(self.limits["memory_mb"])
        spare, self.spare = self.spare, None
        if spare is not None:
            if spare.memory_mb == memory_mb and spare.start(frame, self.source):
                return spare
            spare.close(keep=self.keep)
        kid = _Child(memory_mb, self.template)
        kid.start(frame, self.source)
        return kid

    def _run_child(self, indices: list[int]) -> bool:
        """One child for the jobs `indices`; False when no further child should be tried."""
        kid = self._child(indices)
        try:
            if self.chores is not None:  # done while the child runs: it has its request
                chores, self.chores = self.chores, None
                began = time.monotonic()
                self.keep = chores(frozenset({kid.pid}))
                # the host's own time (a last child slow to clean up, say): not this submission's
                self.deadline += time.monotonic() - began
            going_on = self._watch(kid, indices, protocol.Expect(kid.nonce, len(indices)))
        except BaseException:
            kid.close(self._drain, self.keep)
            raise
        if self.finished:
            # Everything is reported: nothing the child does from now on can count. Killed now
            # (what it printed is in the pipe), and cleaned up once the answer is on its way.
            kid.stop()
            self._drain(kid.out_r)
            self.leftover = kid
        else:
            kid.close(self._drain, self.keep)
        return going_on

    def _drain(self, fd: int) -> None:
        os.set_blocking(fd, False)
        while True:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.output.add(data)

    def _watch(self, kid: _Child, indices: list[int], expect: protocol.Expect) -> bool:
        data_r, out_r = kid.data_r, kid.out_r
        reader = frames.FrameReader(self.max_frame)
        self.child_results: list[int] = []  # every job this child reported, in order
        self.nonce_known = False  # whether a frame that broke the protocol carried the nonce
        selector = selectors.DefaultSelector()
        selector.register(data_r, selectors.EVENT_READ, "data")
        selector.register(out_r, selectors.EVENT_READ, "out")
        phase = "setup"  # setup -> import -> ready -> job -> ... -> finished
        current: int | None = None  # index into self.jobs of the running probe
        phase_deadline = time.monotonic() + SETUP_SECONDS
        self.finished = False
        awaiting: tuple[int, list[bytes], dict] | None = None  # a result's payload frames
        memory_cap = int(self.limits["memory_mb"]) * 2**20
        process_cap = int(self.limits["processes"]) + 2  # the child and, in user mode, its relay
        next_watch = time.monotonic() + WATCH_INTERVAL  # a child just forked has nothing to see yet
        ended_by = None  # why the loop stopped early: "timeout", "memory", "protocol"
        try:
            while True:
                now = time.monotonic()
                limit = min(phase_deadline, self.deadline)
                if now >= limit:
                    ended_by = "timeout"
                    break
                if now >= next_watch:
                    next_watch = now + WATCH_INTERVAL
                    tree = isolation.live_descendants(self.template.pid, self.keep)
                    if len(tree) > process_cap:  # RLIMIT_NPROC does not bind everywhere (root, some namespaces)
                        ended_by = "processes"
                        break
                    if tree and memory_used(tree, kid.cgroup) > memory_cap:
                        ended_by = "memory"
                        break
                events = selector.select(timeout=max(0.0, min(limit, next_watch) - now))
                eof = False
                for key, _ in events:
                    try:
                        data = os.read(key.fd, 65536)
                    except OSError:
                        data = b""
                    if key.data == "out":
                        if data:
                            self.output.add(data)
                        else:
                            selector.unregister(out_r)
                        continue
                    if not data:
                        eof = True
                        continue
                    for frame in reader.feed(data):
                        try:
                            message = expect.frame(frame)
                        except protocol.ProtocolError as exc:
                            ended_by, self.protocol_error = "protocol", str(exc)
                            self.nonce_known = exc.knew_nonce
                            break
                        if awaiting is not None:
                            job, parts, info = awaiting
                            parts.append(message)
                            if len(parts) == 2:
                                size = len(parts[0]) + len(parts[1])
                                if self.payload_bytes + size > self.payload_budget:
                                    # every probe may hand back data_mb, not every probe at once
                                    message = (
                                        "this submission's results together are larger than "
                                        f"{self.payload_budget // 2**20} MB"
                                    )
                                    info = {
                                        "status": ProbeStatus.INVALID,
                                        "error": {"type": "invalid", "message": message},
                                    }
                                    info["error"]["traceback"] = ""
                                else:
                                    self.payloads[job] = (parts[0], parts[1])
                                    self.payload_bytes += size
                                self.results[job] = info
                                self.child_results.append(job)
                                awaiting, current = None, None
                            continue
                        kind = message["e"]
                        if kind == protocol.IMPORT:
                            phase, phase_deadline = "import", time.monotonic() + float(self.limits["probe_seconds"])
                        elif kind == protocol.IMPORTED:
                            if self.import_info is None:
                                self.import_info = protocol.received_import(
                                    {"notes": message.get("notes", []), "present": message.get("present", [])}
                                )
                            phase, phase_deadline = "ready", self.deadline
                        elif kind == protocol.START:
                            current = indices[message["job"]]
                            spec = self.probes[self.jobs[current][0]]
                            phase = "job"
                            phase_deadline = time.monotonic() + float(spec.timeout or self.limits["probe_seconds"])
                        elif kind == protocol.DONE:
                            info = {
                                "status": ProbeStatus.OK if message.get("ok") else ProbeStatus.ERROR,
                                "seconds": protocol.received_seconds(message.get("seconds")),
                            }
                            if message.get("ok"):
                                awaiting = (current, [], info)
                            else:
                                info["error"] = protocol.received_error(message.get("error"))
                                self.results[current] = info
                                self.child_results.append(current)
                                current = None
                        elif kind == protocol.FINISHED:
                            phase = "finished"
                    if ended_by:
                        break
                if ended_by or phase == "finished" or eof:
                    break
        except (frames.DataError, ValueError, KeyError, IndexError, TypeError, ArithmeticError, RecursionError):
            ended_by = "protocol"  # what a child sent broke a check: its own doing, never the grader's
        finally:
            selector.close()

        if phase == "finished":
            self.finished = True  # its exit is not waited for: _run_child kills it
            return True
        status = self._wait_exit(kid, patient=ended_by is None)
        if ended_by is None and kid.cgroup is not None and kid.cgroup.oom_killed():
            ended_by = "memory"  # the kernel's OOM killer, in the child's memory cgroup
        return self._account(phase, current, indices, ended_by, status)

    def _void(self, job: int, how: str) -> bool:
        dropped = self.payloads.pop(job, None)
        if dropped is not None:
            self.payload_bytes -= len(dropped[0]) + len(dropped[1])
        self.voided[job] = self.voided.get(job, 0) + 1
        name, device = self.jobs[job]
        if self.voided[job] == 1:
            self.results[job] = None
            self.events.append({"kind": "voided", "probe": name, "device": device, "message": how})
        else:
            message = (
                "the process ended right after this check reported, twice, so its report was not trusted "
                f"(something other than the probe may have written it): {how}"
            )
            error = {"type": "invalid", "message": message, "traceback": ""}
            self.results[job] = {"status": ProbeStatus.INVALID, "error": error}
            self.events.append({"kind": "invalid", "probe": name, "device": device, "message": message})
        return True

    def _wait_exit(self, kid: _Child, patient: bool) -> int | None:
        """The child's exit status; give it a moment to exit on its own unless we are ending it."""
        wait_until = time.monotonic() + (2.0 if patient else 0.0)
        while True:
            status = kid.poll()
            if status is not None:
                return status
            if time.monotonic() >= wait_until:
                kid.stop()
                return kid.wait() if patient else None
            time.sleep(0.005)

    def _account(self, phase, current, indices, ended_by, status) -> bool:
        """Record why a child stopped early; True when another child should take the rest."""
        how = _describe_exit(status)
        if ended_by == "memory":
            how = f"it used more than {self.limits['memory_mb']} MB of memory and was stopped"
        elif ended_by == "processes":
            how = f"it started more than {self.limits['processes']} processes and was stopped"
        if phase == "setup":
            if ended_by == "timeout" and time.monotonic() >= self.deadline:
                self._finish_pending(ProbeStatus.TIMED_OUT, "the submission's time limit ran out")
                return False
            self.internal = f"the sandbox could not start ({how})"
            return False
        if phase == "import":
            timed_out = ended_by == "timeout"
            self.import_info = {
                "notes": [],
                "present": [],
                "failed": "timed out" if timed_out else "crashed",
                "message": (
                    f"importing the module took longer than {self.limits['probe_seconds']} s"
                    if timed_out
                    else f"importing the module ended the process: {how}"
                ),
            }
            self._finish_pending(ProbeStatus.NOT_RUN, self.import_info["message"])
            self.events.append({"kind": "import " + self.import_info["failed"], "message": self.import_info["message"]})
            return False
        if ended_by == "protocol" and self.nonce_known:
            # Frames out of place with the run's nonce: a writer that knew it could have sent
            # what was accepted before too, so nothing this child reported is trusted; each
            # result runs again, once, in a fresh child.
            for job in self.child_results:
                self._void(job, f"the channel was written out of order ({self.protocol_error})")
            if current is None:
                return True
        elif ended_by == "protocol" and current is None:
            self.events.append({"kind": "invalid", "message": self.protocol_error})
            return True
        elif current is None and self.child_results:
            # Ended right after a result, before the next probe or the end: the probe runner
            # never does that, but code that wrote a result on its channel and then stopped
            # the process would. That result is run again in a fresh child, once.
            return self._void(self.child_results[-1], how)
        if current is None:
            # between probes: the student's code cannot run here unless a probe left a thread
            self.events.append({"kind": "crash", "message": f"between probes: {how}"})
            pending = [i for i in indices if self.results[i] is None]
            if pending:
                self.results[pending[0]] = {
                    "status": ProbeStatus.CRASHED,
                    "error": {"type": "crashed", "message": how, "traceback": ""},
                }
            return True
        name, device = self.jobs[current]
        if ended_by == "timeout":
            seconds = self.probes[name].timeout or self.limits["probe_seconds"]
            if time.monotonic() >= self.deadline:
                message = f"the submission's time limit of {self.limits['submission_seconds']} s ran out"
            else:
                message = f"it took longer than {seconds} s (an endless loop?)"
            status_word = ProbeStatus.TIMED_OUT
        elif ended_by == "protocol":
            message = (
                "the sandbox received data this probe did not send "
                f"({self.protocol_error}): something in the submission wrote to the grader's channel"
            )
            status_word = ProbeStatus.INVALID
        elif ended_by in ("memory", "processes"):
            message, status_word = how, ProbeStatus.CRASHED
        else:
            message, status_word = how, ProbeStatus.CRASHED
        self.results[current] = {
            "status": status_word,
            "error": {"type": status_word, "message": message, "traceback": ""},
        }
        self.events.append({"kind": status_word, "probe": name, "device": device, "message": message})
        return True


MODES = ("root", "user", "basic")


def _check_cuda_inside() -> None:
    """On a machine with a GPU, CUDA must start inside the sandbox, or every cuda:0 probe would
    fail as the student's error. (Seen on an H100 runner: the driver's cudaGetDeviceCount gives
    error 304 once the namespaces are entered, so such a runner grades in another mode.)"""
    import torch

    try:
        torch.ones(1, device="cuda:0")
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable here
        message = str(exc).splitlines()[0][:200]
        raise RuntimeError(f"CUDA cannot start inside these namespaces ({message})") from None


def _try_plan(plan) -> str | None:
    """Build a sandbox with `plan` in a throwaway child; None if it works, else why not."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 1
        try:
            namespaces.enter(plan)
            work = namespaces.build_root(plan)
            namespaces.drop_privileges(plan)
            with open(os.path.join(work, "probe"), "w") as f:
                f.write("ok")
            if any(node.startswith("nvidia") for node in plan.devices):
                _check_cuda_inside()
            os.write(write, b"ok")
            code = 0
        except BaseException as exc:
            os.write(write, f"{type(exc).__name__}: {exc}".encode()[:500])
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 4096):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    message = b"".join(chunks).decode("utf-8", "replace")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and message == "ok":
        return None
    return message or "the test sandbox did not report back"


def choose_sandbox(requested: str, home: str, tmp_mb: int = 64) -> tuple[object, str, list[str]]:
    """(plan or None, mode, reasons for each stronger mode that could not be used)."""
    if requested not in ("auto", *MODES):
        raise ValueError(f"unknown sandbox mode {requested!r}")
    if requested == "basic" or not isolation.IS_LINUX:
        return None, "basic", [] if requested == "basic" else ["namespaces need Linux"]
    candidates = [requested] if requested != "auto" else (["root", "user"] if os.geteuid() == 0 else ["user"])
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # autograder/
    reasons = []
    for mode in candidates:
        mountpoint = tempfile.mkdtemp(prefix=f"root-{mode}-", dir=home)
        plan = namespaces.make_plan(mode, package_dir, mountpoint, tmp_mb)
        why = _try_plan(plan)
        if why is None:
            return plan, mode, reasons
        reasons.append(f"{mode} namespaces: {why}")
    if requested != "auto":
        raise RuntimeError(f"the {requested} sandbox cannot run here: {reasons[-1]}")
    return None, "basic", reasons


def warm_up_torch(torch) -> None:
    """Take once, here, the first-use costs that every forked child would otherwise pay against
    its time limit: an optimizer's first step imports some 800 modules (torch._dynamo, sympy),
    1.7 s on a quiet machine and several under a loaded batch. Taken only by a host that serves
    many submissions, and only when its probes (at its start) or a submission (before its
    child is forked) name `optim`: a suite that uses no optimizer never pays it, and a host
    that serves one submission (a check) would gain nothing, its one child paying the same."""
    layer = torch.nn.Linear(2, 2)
    layer(torch.ones(1, 2)).sum().backward()
    for optimizer in (torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9), torch.optim.Adam(layer.parameters())):
        optimizer.step()


def warm_up_common(torch) -> None:
    """Take once, here, what nearly every child does first and would otherwise do in its own
    copy of this process (torch's lazily built dispatch and autograd state, the encoder of the
    results): build a small network, run it forward and backward, encode an output. Each child
    of a warmed host then costs some 10 % less CPU (about 3050 -> 2790 page faults, 65 -> 58 ms,
    assignment 1's solution). CPU work only: it starts no GPU (see _can_warm_up)."""
    from autograder import wire

    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    out = net(torch.rand(3, 4))
    torch.stack([out, out]).sum().backward()
    wire.encode({"out": out.detach(), "shape": list(out.shape), "state": net.state_dict()})


def _can_warm_up(torch) -> bool:
    """False on a machine with a GPU: an optimizer's first step starts CUDA in this process, and
    a process that has started CUDA forks children that cannot use it ("Cannot re-initialize
    CUDA in forked subprocess"), which would fail every cuda:0 probe. The count comes from NVML
    (autograder sets PYTORCH_NVML_BASED_CUDA_CHECK), which leaves CUDA unstarted."""
    return torch.cuda.device_count() == 0


def _uses_optimizer(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return OPTIMIZER_USE.search(f.read()) is not None
    except (OSError, ValueError):
        return False


def _set_up(init: dict) -> tuple[dict, dict, object, bool]:
    """What a host does once: the sandbox first, its checks forked while this process is small
    (before torch: a fork copies what a process holds), then torch, what every child would
    import again, and the probe modules. Returns the ready message (or one saying why not),
    the probes, the namespace plan, and whether torch's optimizers are warmed up."""
    try:
        plan, mode, downgrades = choose_sandbox(init.get("sandbox", "auto"), os.getcwd())
        downgrades += isolation.GUARDS.setup()  # seccomp filter, memory cgroups
        import torch

        torch.set_num_threads(1)
        for module in PRELOAD:
            try:
                importlib.import_module(module)
            except ImportError:
                pass
        for module in init.get("preload", []):
            importlib.import_module(module)
        from autograder.sandbox import child  # (and wire: imported here, once)

        # Where CUDA can be had, seeding torch records the caller's stack (for CUDA's lazy start),
        # which reads the source of every frame: seeded once here, the child finds those files
        # read already (and the template's own, seeded there too).
        child._seed(0)
        probes = load_probe_modules(init["probe_files"])
        warmed = bool(init.get("warm_up")) and any(_uses_optimizer(path) for path in init["probe_files"])
        warmed = warmed and _can_warm_up(torch)
        if warmed:
            warm_up_torch(torch)
        if init.get("warm_up"):  # a host for many submissions (for one, its child would pay the same)
            warm_up_common(torch)
            child._seed(0)  # (the warm-up drew from the generators)
        gc.freeze()  # what is here stays: collections (here, in each child) need not walk it again
        if init.get("huge_pages"):  # a large batch's (see grading.HUGE_PAGES_FROM): last, once all is built
            isolation.collapse_huge_pages()
    except BaseException:
        return {"ready": False, "error": traceback.format_exc(limit=5)}, {}, None, False
    ready = {
        "ready": True,
        "pid": os.getpid(),
        "sandbox": mode,
        "downgrades": downgrades,
        "kernel": isolation.GUARDS.describe(),
        "probes": {n: {"takes_device": s.takes_device, "timeout": s.timeout} for n, s in probes.items()},
    }
    return ready, probes, plan, warmed


def serve(
    protocol_in, protocol_out, ready: dict, probes: dict, plan, many: bool, warmed: bool, memory_mb: int | None = None
) -> None:
    """Fork the template, answer the ready message, then one request after another until the
    grader closes the pipe. `many`: this host serves a batch (spare children, optimizers warmed
    up on demand). `memory_mb`: the memory limit the first request will name, where the grader
    knows it: the first child (SPARES of them for a batch) is forked ahead of it, as soon as the
    host is ready."""

    def send(reply: list[bytes]) -> None:
        for frame in reply:  # one at a time: no second copy of a large reply
            protocol_out.write(frame)
        protocol_out.flush()

    template = None
    if ready.get("ready"):
        try:
            template = Template(probes, plan)  # before anything of a submission is here
        except OSError:
            ready = {"ready": False, "error": traceback.format_exc(limit=5)}
    send([frames.pack_json(ready)])
    if template is None:
        return
    spares: collections.deque[_Child] = collections.deque()  # forked ahead, oldest first
    pending_chores = None  # the last answer's chores, where the next request came first
    due = None
    try:
        if memory_mb is not None:
            with _uninterrupted():
                _fork_spares(spares, SPARES if many else 1, memory_mb, template)
        while True:
            frame = frames.read_frame(protocol_in, MAX_REQUEST_BYTES)
            if frame is None:
                return
            # the submission's source, straight into one buffer, written to its child from
            # there (never decoded here: the child does that)
            source = frames.read_frame_into(protocol_in, MAX_REQUEST_BYTES)
            if source is None:
                return
            supervisor = None
            request = {}
            due, pending_chores = pending_chores, None  # the answer before's chores, if still to do
            try:
                request = json.loads(frame)
                if many and not warmed and OPTIMIZER_USE.search(source) is not None:
                    import torch

                    warmed = True  # asked once; never taken on a GPU machine (see _can_warm_up)
                    if _can_warm_up(torch):
                        while spares:  # forked before the warm-up: they would pay it again
                            spares.popleft().close()
                        template.warm_up()
                supervisor = Supervisor(request, probes, template, frame, source)
                # the oldest spare is this request's (taken once the request proved well formed:
                # it cannot be left unclosed), the others wait beside it
                supervisor.spare = spares.popleft() if spares else None
                supervisor.keep = frozenset(spare.pid for spare in spares)
                supervisor.chores = due
                reply = supervisor.run()
            except Exception as exc:
                traceback.print_exc()  # into host.log; the grader's answer names the error only (no paths)
                failure = f"the sandbox host failed: {type(exc).__name__}: {exc}"
                reply = [frames.pack_json({"id": request.get("id"), "internal": failure, "jobs": [], "import": None})]
            if due is not None:
                due(frozenset())  # (nothing left to do where this request's child did them)
            due = None
            if not template.alive():
                # killed from outside (in basic mode, by the submission's own code), during the
                # run or found forking a child: no child can be forked any more, nor from here.
                # Unanswered, this submission counts as crashed, and the grader starts a new
                # host for the next.
                isolation.kill_tree(os.getpid())  # what its children started, reparented here
                for kid in (supervisor.spare, supervisor.leftover) if supervisor is not None else ():
                    if kid is not None:
                        kid.close()  # (its cgroup and folder; it died with the template)
                return
            try:
                send(reply)
            finally:
                chores = _chores(spares, supervisor, _memory_named(frame), template, many)
                # The grader sends the next request before it judges this one's answer (a
                # batch's `Grader.grade_many`): one waiting now starts first, on a spare, and the
                # chores are done while its child runs (a host's half of each submission's time)
                more = isinstance(request, dict) and request.get("more") is True
                if spares and _readable(protocol_in, MORE_WAIT_SECONDS if more else 0):
                    pending_chores = chores
                else:
                    chores(frozenset())
    finally:
        _cleaning.append(True)  # from here on, a SIGTERM changes nothing (it would skip the spares)
        for chores in (due, pending_chores):  # not done yet (a SIGTERM before a child had them, say)
            if chores is not None:
                chores(frozenset())
        while spares:
            spares.popleft().close()
        if not template.alive():
            isolation.kill_tree(os.getpid())  # what its children started, reparented to this host
        template.close()


def _chores(
    spares: collections.deque, supervisor: Supervisor | None, memory_mb: int | None, template: Template, many: bool
) -> Callable[[frozenset[int]], frozenset[int]]:
    """What the host does after an answer: fork the spares again (SPARES children, each with a
    whole submission's time to build its sandbox before its request comes) and clean up the
    submission's last child (killed already). Returned as a function of the children to keep
    beside the spares (a request's child running meanwhile), which returns the spares' pids;
    done once, however often it is called (whoever comes first: the next request's child, or
    serve once that request is over, or its end)."""
    leftover = supervisor.leftover if supervisor is not None else None
    done = False

    def chores(running: frozenset[int]) -> frozenset[int]:
        nonlocal done
        if not done:
            done = True
            with _uninterrupted():  # (a SIGTERM meanwhile ends serve once both are done)
                if many and memory_mb:
                    _fork_spares(spares, SPARES, memory_mb, template)
                if leftover is not None:
                    leftover.close(keep=frozenset(spare.pid for spare in spares) | running)
        return frozenset(spare.pid for spare in spares)

    return chores


def _readable(stream, seconds: float) -> bool:
    """Whether `stream` (unbuffered) has something to read within `seconds`."""
    return bool(select.select([stream], [], [], seconds)[0])


def _memory_named(frame: bytes) -> int | None:
    """The memory limit a request `frame` names (None if none): the spares' for the next."""
    try:
        return int(json.loads(frame)["limits"]["memory_mb"])
    except (ValueError, KeyError, TypeError):
        return None


def _fork_spares(spares: collections.deque, count: int, memory_mb: int, template: Template) -> None:
    """Fork children ahead, waiting for requests that name `memory_mb`, until `spares` holds
    `count` (fewer if a fork fails: a request then forks its own)."""
    while len(spares) < count:
        try:
            spares.append(_Child(memory_mb, template))
        except OSError:
            return


def _zygote(sock: socket.socket) -> None:
    """A batch's one host start: set up once, then fork a host for each worker that sends
    `fork` with the two ends of its pipes (the host reads requests from the first and answers
    on the second, exactly as a host started alone does on its stdin and stdout); `kill PID`
    ends one of them. Ends when the batch closes its end of the socket."""
    hosts: dict[int, float] = {}  # the hosts forked, and when each asked to end must have ended

    signal.signal(signal.SIGTERM, _exit_on_signal)  # the batch's end: the hosts end first, then this
    try:
        _zygote_loop(sock, hosts)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        deadline = time.monotonic() + HOST_EXIT_SECONDS
        for pid in hosts:
            _signal(pid, signal.SIGTERM)  # each lets its spare child (and its cgroup) go, and exits
        while hosts and time.monotonic() < deadline:
            _reap_hosts(hosts)
            time.sleep(0.01)
        for pid in hosts:
            _signal(pid, signal.SIGKILL)
        for pid in hosts:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


_cleaning: list[bool] = []  # non-empty while a host cleans up after a child: a SIGTERM waits for the end of it
_stopped: list[bool] = []  # a SIGTERM that came meanwhile


def _exit_on_signal(signum, frame):
    """A forked host's SIGTERM (its batch is ending): leave `serve` through its clean-up, but
    never in the middle of one (a child's cgroup would be left behind)."""
    if _cleaning:
        _stopped.append(True)
    else:
        raise SystemExit(0)


@contextlib.contextmanager
def _uninterrupted():
    _cleaning.append(True)
    try:
        yield
    finally:
        _cleaning.pop()
    if _stopped and not _cleaning:
        raise SystemExit(0)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap_hosts(hosts: dict[int, float]) -> None:
    """Reap the hosts that ended; kill those asked to end that did not in time."""
    now = time.monotonic()
    for pid, deadline in list(hosts.items()):
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                del hosts[pid]
                continue
        except ChildProcessError:
            del hosts[pid]
            continue
        if now > deadline:
            _signal(pid, signal.SIGKILL)


def _zygote_loop(sock: socket.socket, hosts: dict[int, float]) -> None:
    init = json.loads(sock.recv(MAX_INIT_BYTES))
    ready, probes, plan, warmed = _set_up(init)
    zygote = os.getpid()
    sock.settimeout(0.5)
    while True:
        _reap_hosts(hosts)  # those that ended (their worker closed its pipes), or overran their end
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, 64, 2)
        except (TimeoutError, InterruptedError):
            continue
        except OSError:
            return
        if not data and not fds:
            return
        words = data.split()
        if words[:1] == [b"fork"] and len(words) <= 2 and len(fds) == 2:
            # "fork MB": the worker's first request will name MB: its children are forked ahead
            memory_mb = int(words[1]) if len(words) == 2 and words[1].isdigit() else None
            pid = os.fork()
            if pid == 0:  # the worker's host: never returns
                code = 0
                try:
                    signal.signal(signal.SIGTERM, _exit_on_signal)  # ends `serve` through its clean-up
                    sock.close()
                    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)  # ends with the zygote
                    isolation.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1)
                    if os.getppid() != zygote:
                        raise SystemExit(1)
                    # unbuffered in: a request's source is read straight into its own buffer
                    protocol_in, protocol_out = os.fdopen(fds[0], "rb", buffering=0), os.fdopen(fds[1], "wb")
                    ready_here = dict(ready, pid=os.getpid())
                    serve(protocol_in, protocol_out, ready_here, probes, plan, True, warmed, memory_mb)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            hosts[pid] = float("inf")
        elif len(words) == 2 and words[0] == b"kill" and words[1].isdigit() and int(words[1]) in hosts:
            # its worker closed its pipes: idle, it ends on its own; killed (its pid is still its
            # own: not reaped) if it has not within HOST_EXIT_SECONDS, busy or hung
            hosts[int(words[1])] = time.monotonic() + HOST_EXIT_SECONDS
        for fd in fds:
            os.close(fd)


def main() -> None:
    zygote = sys.argv[2:3] == ["zygote"]
    if zygote:
        sock = socket.socket(fileno=os.dup(0))
    else:
        protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)  # see serve: the source's one buffer
        protocol_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print in the host must not corrupt the protocol
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    isolation.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1)
    isolation.prctl(isolation.PR_SET_DUMPABLE, 0)  # no same-uid process may read or trace this one
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when the host stops
    if zygote:
        code = 0
        try:
            _zygote(sock)
        except SystemExit:
            pass  # its SIGTERM: the batch's end, its hosts reaped
        except BaseException:
            traceback.print_exc()  # into host.log, which a worker that gets no host reports
            sys.stderr.flush()
            code = 1
        finally:
            # no interpreter teardown: with torch loaded it takes a quarter of a second, which
            # the batch's end would wait for; what it printed (a probe file, at import) is
            # written to host.log first, as the teardown did
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            os._exit(code)
    init = json.loads(frames.read_frame(protocol_in, MAX_REQUEST_BYTES))
    ready, probes, plan, warmed = _set_up(init)
    try:
        memory_mb = init.get("memory_mb")
        memory_mb = int(memory_mb) if isinstance(memory_mb, int) and memory_mb > 0 else None
        serve(protocol_in, protocol_out, ready, probes, plan, bool(init.get("warm_up")), warmed, memory_mb)
    finally:
        os._exit(0)  # its work is done (or its grader gone): no interpreter teardown, a second's CPU with torch


if __name__ == "__main__":
    main()
