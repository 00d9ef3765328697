"""Linux namespaces for the sandbox: a private, whitelisted view of the machine.

A sandbox child in `root` or `user` mode runs in new mount, PID, network, IPC and UTS
namespaces, on a root filesystem built from scratch: a tmpfs into which only what Python and
torch need is bound read-only (system directories, the interpreter's prefixes, site-packages,
the `autograder` package), with a minimal /dev, a fresh /proc, and a private /tmp holding the
work directory. Nothing else of the machine exists for it: not the course folder with its
hidden tests and solutions, not the grading outputs, not the other submissions. The network
namespace has no interface up. The child is PID 1 of its PID namespace, so when it ends the
kernel ends everything it started.

- `root` mode (the grader runs as root, as on Gradescope): after building its root the child
  drops to an unprivileged uid of its own and sets no_new_privs.
- `user` mode (an unprivileged user on a kernel that allows user namespaces): the child is
  root of a new user namespace mapped to the grader's uid, and drops every capability once its
  root is built. Asked of a grader running as root, the namespace's root is mapped to an
  unprivileged uid of the child's own instead (never to the machine's root): a process still
  in the parent namespace writes the mapping, and the child takes that uid once its root is built.

In root mode and in user mode as root each child gets a uid of its own (derived from its pid
outside), so nothing kept per uid by the kernel (keyrings, process counts) is shared between
two submissions.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import signal
import sys
from dataclasses import dataclass, field, replace

from autograder.sandbox.isolation import _LIBC, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, prctl

# How /proc/self/mountinfo writes a space, tab, newline or backslash in a path (`\040`): every
# other byte (a non-ASCII name, /home/josé or /home/张伟, in UTF-8) as it is. Compiled now: while
# a root is built, the interpreter's files may be out of reach.
_ESCAPED = re.compile(rb"\\([0-7]{3})")

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
PR_CAPBSET_DROP = 24
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_STATVFS_TO_MOUNT = {
    1: MS_RDONLY,
    2: MS_NOSUID,
    4: MS_NODEV,
    8: MS_NOEXEC,
    1024: MS_NOATIME,
    2048: MS_NODIRATIME,
    4096: MS_RELATIME,
}

DEVICE_NODES = ("null", "zero", "full", "random", "urandom")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys", "/opt/conda")
SANDBOX_UID_BASE = 200_000  # root mode (and user mode as root): each child runs as BASE + its pid outside


class NamespaceError(OSError):
    """A step of building the sandbox failed (the mode is not usable here)."""


@dataclass(frozen=True)
class Plan:
    """What a sandbox child builds, computed once by the host."""

    mode: str  # "root" or "user"
    mountpoint: str  # an empty directory where the new root is mounted (in the child's namespace)
    binds: tuple[str, ...]  # paths visible read-only, outermost first
    devices: tuple[str, ...]  # /dev nodes passed through (null, zero, ..., nvidia*)
    uid: int  # root mode: the uid to drop to; user mode: the uid outside that 0 inside maps to
    gid: int
    privileged: bool = False  # built by root: each child gets a fresh unprivileged uid in `enter`
    tmp_mb: int = 64
    extra: dict = field(default_factory=dict)


def _errcheck(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise NamespaceError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    if _LIBC is None:
        raise NamespaceError(0, "unshare: no libc")
    _errcheck(_LIBC.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _errcheck(_LIBC.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def umount(target: str) -> None:
    _errcheck(_LIBC.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise NamespaceError(0, f"pivot_root: unknown syscall number on {platform.machine()}")
    _errcheck(_LIBC.syscall(number, new_root.encode(), put_old.encode()), "pivot_root")


# ------------------------------------------------------------------------------ the plan


def _library_dir(path: str, prefixes: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == p or real.startswith(p + os.sep) for p in prefixes) or os.path.basename(real) in (
        "site-packages",
        "dist-packages",
    )


def visible_paths(package_dir: str) -> list[str]:
    """What a sandbox sees: system directories, the interpreter, its libraries, the engine.

    Deliberately not the current directory, PYTHONPATH-like entries, or the folder the engine
    was installed from (in an editable install that folder holds the hidden tests).
    """
    prefixes = sorted(
        {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    )
    wanted = set(SYSTEM_PATHS) | set(prefixes) | {package_dir}
    wanted |= {p for p in sys.path if p and os.path.isdir(p) and _library_dir(p, prefixes)}
    wanted |= {p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p}
    wanted.add(os.path.dirname(os.path.realpath(sys.executable)))
    for path in list(wanted):
        if os.path.islink(path) or os.path.realpath(path) != path:
            wanted.add(os.path.realpath(path))
    existing = sorted(p for p in (os.path.abspath(p) for p in wanted) if os.path.exists(p))
    kept: list[str] = []
    for path in existing:  # sorted, so a parent comes before what it contains
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def device_nodes() -> list[str]:
    nodes = [n for n in DEVICE_NODES if os.path.exists(f"/dev/{n}")]
    try:
        nodes += sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))
    except OSError:
        pass
    return nodes


def make_plan(mode: str, package_dir: str, mountpoint: str, tmp_mb: int = 64) -> Plan:
    privileged = os.geteuid() == 0
    if mode == "root" or privileged:
        uid = SANDBOX_UID_BASE + os.getpid() % 100_000  # replaced per child by `enter`
        gid = uid
    else:
        uid, gid = os.getuid(), os.getgid()
    binds = tuple(visible_paths(package_dir))
    return Plan(mode, mountpoint, binds, tuple(device_nodes()), uid, gid, privileged=privileged, tmp_mb=tmp_mb)


# -------------------------------------------------------------------- in the sandbox child


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _mount_flags(path: str) -> int:
    flags = 0
    st = os.statvfs(path)
    for bit, ms in _STATVFS_TO_MOUNT.items():
        if st.f_flag & bit:
            flags |= ms
    return flags


def _submounts(target: str) -> list[str]:
    """`target` and the mount points below it, as the mount table lists them. Compared as bytes:
    a path that is not ASCII must be found (a bind it missed would stay writable)."""
    points = []
    wanted = os.fsencode(target)
    below = wanted.rstrip(b"/") + b"/"
    # while the root is built /proc is not mounted yet; the old root's shows the same (our) view
    info = "/proc/self/mountinfo" if os.path.exists("/proc/self/mountinfo") else "/.old-root/proc/self/mountinfo"
    with open(info, "rb") as f:
        for line in f:
            point = line.split()[4]
            if b"\\" in point:
                point = _ESCAPED.sub(lambda m: bytes([int(m[1], 8)]), point)
            if point == wanted or point.startswith(below):
                points.append(os.fsdecode(point))
    return points


def _bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    mount(source, target, None, MS_BIND | MS_REC)
    for point in _submounts(target):
        flags = _mount_flags(point) | MS_RDONLY | MS_NOSUID | MS_NODEV
        try:
            mount(None, point, None, MS_BIND | MS_REMOUNT | flags)
        except NamespaceError:
            if point == target:
                raise  # the bind itself must be read-only; a submount we cannot lock stays hidden below
            umount(point)


def fork_child(plan: Plan | None) -> int:
    """os.fork() for a sandbox child. In root mode the child is born PID 1 of a PID namespace
    of its own (unshare(CLONE_NEWPID) concerns the caller's next child only; the caller then
    goes back to its own namespace with setns, so that the next call can make another), and
    needs no second fork in `enter`: one fork of a process that holds torch, not two.
    Elsewhere (user mode: no CAP_SYS_ADMIN outside) this is os.fork() and `enter` forks."""
    if plan is None or plan.mode != "root":
        return os.fork()
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        unshare(CLONE_NEWPID)
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:  # the caller (the child goes on, in its namespace)
                _errcheck(_LIBC.setns(own, CLONE_NEWPID), "setns back to the host's PID namespace")
    finally:
        os.close(own)  # (the child closes its copy with every descriptor it does not keep)
    return pid


def enter(plan: Plan) -> Plan:
    """Called in the sandbox child (its own session). Returns in a process that is PID 1 of new
    namespaces: the child itself when it was born PID 1 (`fork_child`), else a
    grandchild, the child in between waiting for it and exiting as it did. Returns the plan
    with the uid this child runs as (a fresh one when the grader is root)."""
    born_inside = os.getpid() == 1
    if plan.privileged:
        # unique among live children, new for each one: the pid outside (which /proc, still the
        # host's, tells a child born inside)
        outside = int(os.readlink("/proc/self")) if born_inside else os.getpid()
        uid = SANDBOX_UID_BASE + outside
        plan = replace(plan, uid=uid, gid=uid)
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (0 if born_inside else CLONE_NEWPID)
    if plan.mode == "user" and plan.privileged:
        _unshare_mapped_by_parent(flags | CLONE_NEWUSER, plan.uid, plan.gid)
    elif plan.mode == "user":
        unshare(flags | CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {plan.uid} 1")
        _write("/proc/self/gid_map", f"0 {plan.gid} 1")
    else:
        unshare(flags)
    if not born_inside:
        pid = os.fork()
        if pid:
            _relay_exit(pid)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the child in between dies with the host; so does this
    return plan


def _unshare_mapped_by_parent(flags: int, uid: int, gid: int) -> None:
    """unshare(flags) with a new user namespace whose root is `uid`/`gid` outside. Only a process
    left in the parent namespace with CAP_SETUID may write a mapping to another uid than the
    creator's, so a helper forked first writes it."""
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    target = os.getpid()
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(done_r)
            if os.read(go_r, 1) == b"u":
                _write(f"/proc/{target}/setgroups", "deny")
                _write(f"/proc/{target}/uid_map", f"0 {uid} 1")
                _write(f"/proc/{target}/gid_map", f"0 {gid} 1")
                os.write(done_w, b"m")
                code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(done_w)
    try:
        os.setgroups([])  # the machine's root's groups must not come along (no setgroups inside)
        unshare(flags)
        os.write(go_w, b"u")
        mapped = os.read(done_r, 1) == b"m"
    finally:
        os.close(go_w)
        os.close(done_r)
        os.waitpid(helper, 0)
    if not mapped:
        raise NamespaceError(0, "the user namespace could not be mapped to an unprivileged uid")


def _relay_exit(pid: int) -> None:
    for fd in range(3, 1024):
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(70)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


def build_root(plan: Plan) -> str:
    """Mount the whitelisted root and switch to it; returns the work directory's path.

    The new root is a tmpfs at `plan.mountpoint`, made the process's root at once (the old
    root stays reachable at /.old-root until it is built, then goes)."""
    old = "/.old-root"
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    owner = "uid=0,gid=0"  # the namespace's root (the machine's root in root mode)
    mount("blockgrade", plan.mountpoint, "tmpfs", MS_NOSUID | MS_NODEV, f"size=1m,mode=0755,{owner}")
    os.chdir(plan.mountpoint)
    sources = {p: old + p for p in [*plan.binds, *(f"/dev/{n}" for n in plan.devices)]}
    handles: list[int] = []
    try:
        if plan.mode == "user" and plan.privileged:
            # The machine's root, unmapped in this namespace, can reach what is bound but cannot
            # create files here; the namespace's root (an unprivileged uid outside) can create
            # files but not reach /root or other private folders. So: a handle on each source
            # first, then become the namespace's root, then bind through the handles.
            for path in sources:
                handles.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
                sources[path] = f"{old}/proc/self/fd/{handles[-1]}"
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        os.mkdir(old[1:])
        pivot_root(".", old[1:])
        os.chdir("/")
        return _build_root(plan, sources, owner, old)
    finally:
        for fd in handles:  # a handle on a folder outside would be a way out: none stays open
            os.close(fd)


def _build_root(plan: Plan, sources: dict[str, str], owner: str, old: str) -> str:
    # The private /tmp first, the binds after: an interpreter, a virtual environment or the
    # engine that lives under /tmp (a clone in /tmp) must stay visible, not be hidden by it.
    os.makedirs("/tmp", exist_ok=True)
    mount("blockgrade-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan.tmp_mb}m,mode=1777,{owner}")
    for path in plan.binds:
        _bind_read_only(sources[path], path)
    if os.path.isdir("/sys/fs/cgroup"):
        # the machine's cgroups, the host's children's among them (while a batch's host cleans up
        # the last child of the submission before this one, the memory that one used): none of a
        # child's business. It joined its own before this; the host reads them from outside.
        flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        mount("blockgrade-nocgroup", "/sys/fs/cgroup", "tmpfs", flags, f"size=4k,mode=0755,{owner}")
    dev = "/dev"
    os.makedirs(dev, exist_ok=True)
    mount("blockgrade-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, f"size=64k,mode=0755,{owner}")
    for node in plan.devices:
        source = sources[f"/dev/{node}"]
        if os.path.isdir(source):  # /dev/nvidia-caps: a folder of the driver's capability nodes
            os.makedirs(f"{dev}/{node}")
            mount(source, f"{dev}/{node}", None, MS_BIND | MS_REC)
        else:
            open(f"{dev}/{node}", "w").close()
            mount(source, f"{dev}/{node}", None, MS_BIND)
    os.makedirs(f"{dev}/shm")
    mount("blockgrade-shm", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size=16m,mode=1777,{owner}")
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{dev}/{name}")
    work = "/tmp/work"
    os.makedirs(work, mode=0o700)
    if plan.mode == "root":
        os.chown(work, plan.uid, plan.gid)
    os.makedirs("/proc", exist_ok=True)
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    except NamespaceError:  # inside some containers a fresh proc cannot be mounted: then none at all
        mount("blockgrade-noproc", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
    umount(old)
    os.rmdir(old)
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return work


def drop_privileges(plan: Plan) -> None:
    if plan.mode == "root":
        os.setgroups([])
        os.setresgid(plan.gid, plan.gid, plan.gid)
        os.setresuid(plan.uid, plan.uid, plan.uid)  # all capabilities go with uid 0
    else:
        for cap in range(64):
            _LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        _capset_empty()
    if not prctl(PR_SET_NO_NEW_PRIVS, 1):
        raise NamespaceError(0, "no_new_privs")


def _capset_empty() -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    _errcheck(_LIBC.capset(ctypes.byref(header), data), "capset")
