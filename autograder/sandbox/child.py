"""The sandbox child: a fork of the host's template that runs one submission's probes, then exits.

It never returns into the host's code: every path ends in os._exit. It talks to the host
only through frames on `data_fd` (see `protocol` and `wire`); its stdout and stderr go to a capture pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time

from autograder import frames, standin, wire
from autograder.probing import StudentFiles, build_given, describe_exception, seed_torch
from autograder.sandbox import isolation, namespaces, protocol
from autograder.sandbox.loader import load_module

EXIT_INTERNAL = 70  # the sandbox failed before any student code ran (the host checks which)


def _await_request(go: int) -> tuple[str, dict, list[list], str]:
    """In a child forked ahead of its request, its sandbox built: the run's nonce, the request
    (its frame exactly as the host sent it) and the module's source, or an exit when the host
    lets it go unused. The pipe is closed before anything of the request runs."""
    with os.fdopen(go, "rb") as stream:
        parts = [frames.read_frame(stream, protocol.MAX_REQUEST_BYTES) for _ in range(3)]
    if any(part is None for part in parts):
        os._exit(0)
    nonce, frame, source = parts
    request = json.loads(frame)
    jobs = [list(job) for job in request["jobs"]]
    return nonce.decode("ascii"), request, jobs, source.decode("utf-8", "surrogatepass")


def _stop_tracing() -> None:
    import threading

    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)


def _seed(seed: int) -> None:
    random.seed(seed)
    seed_torch(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def run(probes: dict, workdir: str, data_fd: int, output_fd: int, go_fd: int, plan=None) -> None:
    """Entry point in the freshly forked child. Never returns.

    With a namespace `plan` the child first moves into namespaces of its own and a root of
    its own (see `namespaces`); without one it works in `workdir` under rlimits only. Then it
    reads its request from `go_fd` (see `_await_request`): its limits and the student's code
    come after, from the host (the template that forked it never sees them).
    """
    code = EXIT_INTERNAL
    try:
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)  # first: a spare may wait long
        isolation.GUARDS.join()  # into its own memory cgroup, where the host made one
        os.setsid()  # its own process group: the host kills it and everything it starts at once
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        data_fd = protocol.high_fd(data_fd)  # not at a descriptor student code could guess
        isolation.close_other_fds({0, 1, 2, data_fd, go_fd})
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        sys.stdin = open(0, "r", closefd=False)

        if plan is not None:
            plan = namespaces.enter(plan)  # from here on: PID 1 of new namespaces, a uid of its own
            workdir = namespaces.build_root(plan)
        nonce, request, jobs, text = _await_request(go_fd)
        request = {**request, "source": text}
        limits = request["limits"]
        os.chdir(workdir)
        path = os.path.join(workdir, request["filename"])
        with open(path, "w", encoding="utf-8") as f:
            f.write(request["source"])
        os.environ.clear()
        os.environ.update(isolation.sandbox_environment(workdir))
        # the host's temporary folder, as its imports found it (under the grader's TMPDIR:
        # read-only, or absent, in here), is forgotten: temporary files go in the run's folder
        tempfile.tempdir = None
        if plan is not None:
            namespaces.drop_privileges(plan)
            # the kernel clears the parent-death signal when the uid changes: asked again, so
            # that student code ends with its host (root mode) or its relay (which does)
            isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
        memory = None
        stand_in = set(request.get("stand_in") or ())  # devices played by the stand-in, on the CPU
        if not any(device and device.startswith("cuda") and device not in stand_in for _, device in jobs):
            base = isolation.data_segment_bytes()
            memory = None if base is None else base + int(limits["memory_mb"]) * 2**20
        # root mode runs as a uid of its own, so its count starts at zero; otherwise the
        # grader's own processes count too
        processes = int(limits["processes"])
        if plan is None or plan.mode != "root":
            processes += isolation.tasks_of(os.getuid())
        isolation.set_rlimits(
            cpu_seconds=limits["submission_seconds"],
            memory_bytes=memory,
            file_bytes=int(limits["file_mb"]) * 2**20,
            open_files=256,
            processes=processes,
        )
        isolation.GUARDS.lock_down()  # the seccomp filter: the last step before student code

        channel = protocol.Sender(data_fd, nonce)
        del nonce
        StudentFiles.paths = frozenset({path})
        code = _run_probes(request, jobs, probes, path, channel)
    except BaseException:
        code = EXIT_INTERNAL
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


def _run_probes(request: dict, jobs: list[list], probes: dict, path: str, channel: protocol.Sender) -> int:
    import dataclasses

    import torch

    # What this runner calls, taken before any student code runs: copies of the specs, so
    # code that reaches the probe modules (through sys.modules) cannot swap a probe for its
    # own. (The modules stay importable: a probe may pickle one of its own functions. Code
    # that walks the frames can still reach this runner and what it reports, whatever the
    # integrity scan flags: the scan is for review, and the grader checks what it receives.)
    calls = [(dataclasses.replace(probes[name]), device) for name, device in jobs]
    del probes
    encode, describe, given_for = wire.encode, describe_exception, build_given

    stand_in = set(request.get("stand_in") or ())
    if stand_in:
        standin.install()  # before the submission is imported, which may bind torch.load or torch.cuda
    channel.event(protocol.IMPORT)
    _seed(0)
    module, notes = load_module(request["module"], path, request["source"])
    present = [n for n in request["names"] if n in module.__dict__]
    channel.event(protocol.IMPORTED, notes=notes, present=present)

    for index, (spec, device) in enumerate(calls):
        channel.event(protocol.START, job=index)
        _seed(0)
        started = time.perf_counter()
        try:
            args = [module] + ([torch.device(device)] if spec.takes_device else [])
            if spec.takes_given:
                args.append(given_for(spec))
            with standin.active(device) if device in stand_in else contextlib.nullcontext():
                result = spec.function(*args)
            _stop_tracing()  # a tracer the submission left must not rewrite what is encoded
        except BaseException as exc:
            seconds = time.perf_counter() - started
            channel.event(protocol.DONE, job=index, ok=False, error=describe(exc), seconds=seconds)
            continue
        seconds = time.perf_counter() - started
        try:
            text, blob = encode(result)
        except BaseException as exc:
            error = describe(exc)
            error["message"] = "the result could not be handed to the grader: " + error["message"]
            channel.event(protocol.DONE, job=index, ok=False, error=error, seconds=seconds)
            continue
        channel.result(index, text, blob, seconds)
        sys.stdout.flush()
    channel.event(protocol.FINISHED)
    return 0
