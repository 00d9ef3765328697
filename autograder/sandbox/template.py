"""The template: a clean copy of a sandbox host, which forks the host's children.

A host reads everything its children print and return, and freed memory keeps those bytes
until they are reused: a child forked from the host would hold earlier submissions' output
and results, and code that scans its own memory could hand another student's answers in as
its own. So each host forks its template once it is set up, before its first request, and the
template forks every sandbox child. The template never receives anything of a submission:
only which memory cgroup and folder a child gets, and the child's ends of its pipes (the host
holds the other ends and hands the child its request). It reaps its children and reports each
exit; the host supervises them as before (the same uid, an ancestor PID namespace), and kills
them through the pidfd the template hands it, which names that process and no later one.

The template is a child subreaper, so that whatever a child starts stays below it (the host's
watchdog and clean-up walk the template's descendants), and it dies with its host; its
children die with it.
"""

from __future__ import annotations

import array
import json
import os
import selectors
import signal
import socket
import struct

from autograder.sandbox import isolation, namespaces

MAX_MESSAGE = 4096
_LENGTH = struct.Struct("!I")  # each message's length, before it
MAX_FDS = 3  # a fork's: the child's ends of its data, output and go pipes


class Op:
    """The messages between a host and its template: JSON objects, each with its `op`."""

    FORK = "fork"  # host -> template: {cgroup: path | None, workdir}; fds: the child's data, output, go ends
    FORKED = "forked"  # template -> host: {pid} and the child's pidfd, or {error}
    WARM_UP = "warm up"  # host -> template: take torch's first-use costs here (host.warm_up_torch)
    WARMED = "warmed"  # template -> host
    PING = "ping"  # host -> template: are you there?
    PONG = "pong"  # template -> host
    EXITED = "exited"  # template -> host, whenever a child it forked has ended: {pid, status}


class TemplateGone(OSError):
    """The template ended (it dies only with its host, or killed from outside)."""


class Template:
    """The host's side: forks the template (`probes` and `plan` are the host's, set up) and
    asks it for children."""

    def __init__(self, probes: dict, plan) -> None:
        # a stream (macOS has no AF_UNIX SOCK_SEQPACKET): each message framed by its length
        host_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        host = os.getpid()
        pid = os.fork()
        if pid == 0:  # the template: never returns
            code = 1
            try:
                host_end.close()
                _serve(template_end, probes, plan, host)
                code = 0
            finally:
                os._exit(code)
        template_end.close()
        self.pid = pid
        self.sock = host_end
        self.exits: dict[int, int] = {}  # pid -> exit status, reported and not yet asked for
        self.gone = False

    def fork(self, cgroup: str | None, workdir: str, fds: list[int]) -> tuple[int, int]:
        """A new sandbox child with these ends of its pipes: (its pid, a pidfd for it, or -1
        where the kernel has none)."""
        self._send({"op": Op.FORK, "cgroup": cgroup, "workdir": workdir}, fds)
        reply, received = self._reply(Op.FORKED)
        if "pid" not in reply:
            raise OSError(0, f"the template could not fork a child: {reply.get('error')}")
        return int(reply["pid"]), received[0] if received else -1

    def warm_up(self) -> None:
        self._send({"op": Op.WARM_UP}, [])
        self._reply(Op.WARMED)

    def exit_status(self, pid: int, wait: bool) -> int | None:
        """`pid`'s exit status, once (None while it runs and `wait` is False, and None once the
        template is gone: its children die with it)."""
        while pid not in self.exits:
            if self.gone:
                return None
            if self._receive(block=wait) is None and not wait:
                return None
        return self.exits.pop(pid)

    def alive(self) -> bool:
        """Whether the template still answers. A template being killed never answers again, and
        its end of file comes once it is gone, so this is certain, not a race."""
        if not self.gone:
            try:
                self._send({"op": Op.PING}, [])
                self._reply(Op.PONG)
            except TemplateGone:
                pass
        return not self.gone

    def close(self) -> None:
        """End the template (an end of file on its socket) and wait for it."""
        self.sock.close()
        self.gone = True
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def _send(self, message: dict, fds: list[int]) -> None:
        try:
            _send(self.sock, message, fds)
        except OSError as exc:
            self.gone = True
            raise TemplateGone(exc.errno, "the sandbox template ended") from None

    def _reply(self, op: str) -> tuple[dict, list[int]]:
        while True:
            received = self._receive(block=True)
            if received is None:
                raise TemplateGone(0, "the sandbox template ended")
            if received[0]["op"] == op:
                return received
            for fd in received[1]:  # (an exit report, recorded: it carries none)
                os.close(fd)

    def _receive(self, block: bool) -> tuple[dict, list[int]] | None:
        """The next message (an exit is also recorded); None if none is there (`block` False)
        or the template is gone."""
        try:
            data, fds = _message(self.sock, 0 if block else socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None
        except OSError:
            data, fds = b"", []
        if not data:
            self.gone = True
            return None
        message = json.loads(data)
        if message["op"] == Op.EXITED:
            self.exits[int(message["pid"])] = int(message["status"])
        return message, fds


def _serve(sock: socket.socket, probes: dict, plan, host: int) -> None:
    """The template's loop: fork a child for each request, report each exit, until the host
    closes its end."""
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != host:
        return  # the host ended before this could ask to end with it
    isolation.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (a forked host's own handler is not this one's)
    isolation.close_other_fds({0, 1, 2, sock.fileno()})  # the host's pipes to its grader are not ours
    from autograder.sandbox import child

    child._seed(0)  # (see host._set_up: with CUDA, this reads the source of the frames here, once)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a child ended: wakes the select below
    signal.set_wakeup_fd(wake_w)
    forked: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                continue
            data, fds = _message(sock)
            if not data:
                return  # the host is done (its children end with this process)
            message = json.loads(data)
            if message["op"] == Op.FORK and len(fds) == 3:
                _fork(sock, message, fds, probes, plan, forked)
            else:
                for fd in fds:
                    os.close(fd)
                if message["op"] == Op.WARM_UP:
                    _warm_up()
                    _send(sock, {"op": Op.WARMED})
                elif message["op"] == Op.PING:
                    _send(sock, {"op": Op.PONG})
        while True:  # every child that ended (and whatever was left below this process)
            try:
                pid, status = _reap(forked)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in forked:
                forked.discard(pid)
                _send(sock, {"op": Op.EXITED, "pid": pid, "status": status})


def _reap(forked: set[int]) -> tuple[int, int]:
    """A child that ended, reaped: (pid, exit status), (0, 0) if none has. One this template
    forked has what it started in its process group killed first, while the number is still
    its own (a zombie's): once it is reaped, the number may be anyone's. (Without os.waitid,
    which can see a child end without reaping it, the host's walk of the descendants is left.)"""
    if not hasattr(os, "waitid"):
        return os.waitpid(-1, os.WNOHANG)
    ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if ended is None:
        return 0, 0
    if ended.si_pid in forked:
        try:
            os.killpg(ended.si_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return os.waitpid(ended.si_pid, 0)


def _fork(sock, message: dict, fds: list[int], probes: dict, plan, forked: set[int]) -> None:
    data_w, out_w, go_r = fds
    isolation.GUARDS.expect_child(message["cgroup"])
    try:
        pid = namespaces.fork_child(plan)
    except OSError as exc:
        isolation.GUARDS.forked()
        for fd in fds:
            os.close(fd)
        _send(sock, {"op": Op.FORKED, "error": str(exc)})
        return
    if pid == 0:  # the sandbox child: never returns
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # (SIGTERM is the default here already)
        from autograder.sandbox import child

        child.run(probes, message["workdir"], data_w, out_w, go_r, plan)
    isolation.GUARDS.forked()
    forked.add(pid)
    for fd in fds:
        os.close(fd)
    try:
        pidfd = [os.pidfd_open(pid)]  # not reaped before this loop's next turn: the pid is still its own
    except (AttributeError, OSError):
        pidfd = []  # a kernel before 5.3
    try:
        _send(sock, {"op": Op.FORKED, "pid": pid}, pidfd)
    finally:
        for fd in pidfd:
            os.close(fd)


def _warm_up() -> None:
    import gc

    import torch

    from autograder.sandbox.host import warm_up_torch

    warm_up_torch(torch)
    gc.freeze()


def _message(sock: socket.socket, flags: int = 0) -> tuple[bytes, list[int]]:
    """One message and the descriptors that came with it (on its first byte: see `_send`);
    b"" at the end of the stream. `flags` apply to its first bytes (MSG_DONTWAIT: BlockingIOError
    if none is there); the rest follows at once."""
    fds = array.array("i")
    head, ancillary, _flags, _address = sock.recvmsg(_LENGTH.size, socket.CMSG_LEN(MAX_FDS * fds.itemsize), flags)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    head += _exactly(sock, _LENGTH.size - len(head)) if head else b""
    (size,) = _LENGTH.unpack(head) if len(head) == _LENGTH.size else (0,)
    data = _exactly(sock, size) if 0 < size <= MAX_MESSAGE else b""
    if len(data) != size or not data:  # malformed, or cut short by the end of the stream
        for fd in fds:
            os.close(fd)
        return b"", []
    return data, list(fds)


def _exactly(sock: socket.socket, size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream."""
    data = b""
    while len(data) < size and (chunk := sock.recv(size - len(data))):
        data += chunk
    return data


def _send(sock: socket.socket, message: dict, fds: tuple[int, ...] | list[int] = ()) -> None:
    """One message, its length first, in one sendmsg: its descriptors ride on its first byte."""
    data = json.dumps(message).encode()
    socket.send_fds(sock, [_LENGTH.pack(len(data)) + data], list(fds))
