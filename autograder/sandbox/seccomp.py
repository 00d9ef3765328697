"""A seccomp filter for the sandbox child: the kernel interfaces no exercise needs are refused.

The host compiles the filter once, at start-up, with libseccomp (through `pyseccomp`, a ctypes
binding to the system's libseccomp.so.2) into a classic BPF program; each sandbox child loads
that program with one `seccomp(2)` call after its privileges are dropped and before any
student code runs. The filter allows by default and refuses, with an errno rather than a kill
(student code sees a clean OSError), what could reach past the sandbox or hide from its
limits:

- memory the watchdog cannot see or that outlives a run: memfd_create, memfd_secret,
  userfaultfd; the kernel keyrings (keyctl, add_key, request_key), which persist per uid;
- large kernel attack surfaces: io_uring, bpf, perf_event_open, socket families other than
  unix, inet, inet6 and netlink;
- other processes: ptrace, process_vm_readv/writev, pidfd_getfd, process_madvise, kcmp;
- namespaces and mounts: unshare, setns, clone with a CLONE_NEW* flag, mount, umount2,
  pivot_root, chroot, the new mount API (fsopen, fsconfig, fsmount, fspick, open_tree,
  move_mount, mount_setattr), open_by_handle_at, name_to_handle_at; clone3 answers ENOSYS
  (its flags live in memory a filter cannot read, and glibc then falls back to clone);
- the machine: kexec, modules, swap, reboot, syslog, acct, quotas, clocks, iopl/ioperm,
  modify_ldt, and ioctl(TIOCSTI/TIOCLINUX), which types into a terminal;
- every other system-call ABI: i386 through `int 0x80` and x32 on x86_64 (a filter written for
  one ABI's numbers would not hold for another's) answer ENOSYS.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import tempfile

SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_NR = {"x86_64": 317, "aarch64": 277}

# Refused with EPERM whatever their arguments.
DENIED = (
    # memory outside the watchdog's view, state that outlives a submission
    "memfd_create",
    "memfd_secret",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    # large kernel attack surfaces
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "fanotify_init",
    # other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "process_madvise",
    "kcmp",
    # namespaces, mounts, file handles
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_tree",
    "open_tree_attr",
    "move_mount",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    # the machine
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "acct",
    "quotactl",
    "quotactl_fd",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "modify_ldt",
    "uselib",
    "vhangup",
    "lookup_dcookie",
    "nfsservctl",
    "_sysctl",
)

CLONE_NEW_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
# socket(2) families allowed: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (glibc's getifaddrs)
ALLOWED_FAMILIES = (1, 2, 10, 16)
MAX_FAMILY = 64


class SeccompUnavailable(OSError):
    """No filter can be built or loaded here (the message says why)."""


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


class Filter:
    """A compiled filter: a BPF program ready to load in a sandbox child."""

    def __init__(self, program: bytes, skipped: list[str]) -> None:
        if len(program) % 8 or not program:
            raise SeccompUnavailable(0, "libseccomp produced no program")
        self.program = program
        self.skipped = skipped  # syscalls this libseccomp does not know (so not filtered)
        count = len(program) // 8
        self._instructions = (_SockFilter * count).from_buffer_copy(program)
        self._fprog = _SockFprog(count, self._instructions)
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._nr = _SECCOMP_NR.get(platform.machine())

    def load(self) -> None:
        """Install the filter on the calling thread (in a sandbox child: the only thread) for
        good: it is inherited by every process and thread started from here on."""
        if self._libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, needed without CAP_SYS_ADMIN
            raise SeccompUnavailable(ctypes.get_errno(), "no_new_privs could not be set")
        if self._nr is not None:
            result = self._libc.syscall(self._nr, SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(self._fprog))
        else:
            result = self._libc.prctl(22, 2, ctypes.byref(self._fprog), 0, 0)  # PR_SET_SECCOMP, FILTER
        if result != 0:
            err = ctypes.get_errno()
            raise SeccompUnavailable(err, f"the seccomp filter could not be loaded: {os.strerror(err)}")


def compile_filter() -> Filter:
    """Build the filter for this machine's native ABI; SeccompUnavailable if libseccomp is absent."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as exc:  # pyseccomp raises RuntimeError without libseccomp.so
        raise SeccompUnavailable(0, f"libseccomp is not available ({exc})") from None
    try:
        sc._libseccomp.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
        sc._libseccomp.seccomp_syscall_resolve_name.restype = ctypes.c_int
        f = sc.SyscallFilter(sc.ALLOW)
        # Another ABI's system calls (i386 via int 0x80, x32) are refused as a whole; libseccomp
        # also refuses x32's numbers on an x86_64 filter (they carry the x86_64 arch token).
        f.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.ENOSYS))
        f.set_attr(sc.Attr.CTL_NNP, 1)
        skipped: list[str] = []

        def number(name: str) -> int | None:
            nr = sc._libseccomp.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:  # unknown to this libseccomp, or not a syscall of this ABI
                skipped.append(name)
                return None
            return nr

        eperm = sc.ERRNO(errno.EPERM)
        for name in DENIED:
            nr = number(name)
            if nr is not None:
                f.add_rule(eperm, nr)
        clone3 = number("clone3")
        if clone3 is not None:
            f.add_rule(sc.ERRNO(errno.ENOSYS), clone3)
        clone = number("clone")
        for flag in CLONE_NEW_FLAGS.values():  # clone's flags are its first argument on every ABI
            f.add_rule(eperm, clone, sc.Arg(0, sc.MASKED_EQ, flag, flag))
        ioctl = number("ioctl")
        for request in (TIOCSTI, TIOCLINUX):  # the kernel reads the low 32 bits of the request
            f.add_rule(eperm, ioctl, sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
        socket = number("socket")
        refuse = sc.ERRNO(errno.EAFNOSUPPORT)
        for family in range(MAX_FAMILY):
            if family not in ALLOWED_FAMILIES:
                f.add_rule(refuse, socket, sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, family))
        f.add_rule(refuse, socket, sc.Arg(0, sc.GE, MAX_FAMILY))
        with tempfile.TemporaryFile() as out:
            f.export_bpf(out)
            out.seek(0)
            program = out.read()
        return Filter(program, skipped)
    except OSError as exc:
        raise SeccompUnavailable(exc.errno or 0, f"the seccomp filter could not be built: {exc}") from None
