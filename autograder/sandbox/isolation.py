"""Operating-system limits for the sandbox: rlimits, process-tree cleanup, a clean environment.

Everything here degrades gracefully: a facility the platform lacks is skipped, and
`capabilities()` says what held, so the docs and the grader can be honest about it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import time

IS_LINUX = sys.platform.startswith("linux")

# Variables a sandboxed run may inherit: locale and the GPU's own settings, nothing else.
PASSED_ENV = ("LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES", "SYSTEMROOT")

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


def _libc():
    if not IS_LINUX:
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def prctl(option: int, value: int) -> bool:
    if _LIBC is None:
        return False
    return _LIBC.prctl(option, value, 0, 0, 0) == 0


def sandbox_environment(home: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": env.get("LANG", "C.UTF-8"),
        }
    )
    return env


def tasks_of(uid: int) -> int:
    """How many processes and threads `uid` runs now (what RLIMIT_NPROC counts)."""
    total = 0
    for entry in os.listdir("/proc") if IS_LINUX else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 ").split()[0]) == uid:
            total += int(fields.get("Threads", "1").strip())
    return total


def set_rlimits(
    *, cpu_seconds: float, memory_bytes: int | None, file_bytes: int, open_files: int, processes: int | None = None
) -> None:
    """Limits for the calling process (a sandbox child), inherited by whatever it starts."""
    import resource

    def cap(kind, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            old_soft, old_hard = resource.getrlimit(kind)
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            pass  # a platform without this limit: the wall-clock watchdog still holds

    cpu = max(1, int(cpu_seconds) + 1)
    cap(resource.RLIMIT_CPU, cpu, cpu + 2)
    cap(resource.RLIMIT_FSIZE, file_bytes)
    cap(resource.RLIMIT_NOFILE, open_files)
    cap(resource.RLIMIT_CORE, 0)
    if memory_bytes is not None and hasattr(resource, "RLIMIT_DATA"):
        cap(resource.RLIMIT_DATA, memory_bytes)
    if processes is not None and hasattr(resource, "RLIMIT_NPROC"):
        cap(resource.RLIMIT_NPROC, processes)


def data_segment_bytes() -> int | None:
    """This process's private writable memory (VmData), which RLIMIT_DATA bounds."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


MADV_COLLAPSE = 25  # Linux 6.1
HUGE_PAGE = 2 << 20
COLLAPSE_STEP = 8 * HUGE_PAGE
COLLAPSE_SECONDS = 1.0  # at most, however slow the kernel is to find huge pages (0.3 s here)
# "always [madvise] never", the machine's choice in brackets: MADV_COLLAPSE is independent of
# it by design (it would collapse under "never"), so an administrator's "never" is read here
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def _huge_pages_turned_off() -> bool:
    try:
        with open(THP_SETTING) as f:
            return "[never]" in f.read()
    except OSError:
        return False  # no such setting: the kernel answers for itself (EINVAL)


def collapse_huge_pages() -> int:
    """Back this process's private anonymous memory (the interpreter's and torch's heaps, some
    120 MB) with transparent huge pages where the kernel can (MADV_COLLAPSE): a process that
    forks a sandbox child for each submission then has one page-table entry to copy per 2 MiB
    instead of 512, and each child's exit as many fewer to undo (fork and exit 16 -> 5 ms of CPU
    here). A child still copies only the 4 KiB it writes: the kernel splits a shared huge page
    where a write lands. Returns the bytes collapsed: 0 where the kernel cannot (before Linux
    6.1, huge pages turned off, not Linux); the memory stays as it was."""
    if _LIBC is None or _huge_pages_turned_off():
        return 0
    madvise = _LIBC.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    collapsed = 0
    try:
        with open("/proc/self/maps") as f:
            maps = f.read().splitlines()
    except OSError:
        return 0
    deadline = time.monotonic() + COLLAPSE_SECONDS
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        address, perms, inode, name = fields[0], fields[1], fields[4], fields[5] if len(fields) > 5 else ""
        # private, writable, anonymous (no file, inode 0): the heaps; not stacks or files
        if perms[:2] != "rw" or perms[3] != "p" or inode != "0" or name not in ("", "[heap]"):
            continue
        low, high = (int(x, 16) for x in address.split("-"))
        first, end = -(-low // HUGE_PAGE) * HUGE_PAGE, high // HUGE_PAGE * HUGE_PAGE  # whole huge pages
        # a few huge pages a call, so that a machine short of free huge pages (each collapse
        # may compact memory first) costs COLLAPSE_SECONDS at most
        for start in range(first, end, COLLAPSE_STEP):
            if time.monotonic() > deadline:
                return collapsed
            size = min(COLLAPSE_STEP, end - start)
            if madvise(start, size, MADV_COLLAPSE) == 0:
                collapsed += size
    return collapsed


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) for every process this user can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after its last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            table[int(entry)] = (int(fields[1]), fields[0].decode("ascii", "replace"))
    return table


def close_other_fds(keep: set[int]) -> None:
    """Close every descriptor of this process but `keep`: a fork must not hold what its
    parent holds (a pipe whose other end waits for an end of file, say)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def live_descendants(pid: int, keep: frozenset[int] = frozenset()) -> set[int]:
    """Processes below `pid` that have not exited yet (zombies are left to `reap`), less the
    processes `keep` and all below them."""
    if not IS_LINUX:
        return set()
    table = _process_table()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, (pp, _) in table.items() if pp in frontier and p not in found and p not in keep}
        found |= frontier
    return {p for p in found if table[p][1] not in ("Z", "X")}


def resident_bytes(pids) -> int:
    """The memory `pids` hold between them: the sum of their proportional set sizes, so that
    pages shared after a fork (all of torch, from the preloaded host) count once, not once per
    process; their resident set sizes where the kernel has no smaps_rollup."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss = next((line for line in f if line.startswith("Pss:")), None)
            if pss is not None:
                total += int(pss.split()[1]) * 1024
                continue
        except (OSError, IndexError, ValueError):
            pass
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_tree(root: int, keep: frozenset[int] = frozenset()) -> bool:
    """SIGKILL every live descendant of `root` (the host's template) but the children `keep`
    (spares, which have run nothing of a submission) and theirs.

    The template is a child subreaper, so processes that double-forked or called setsid to
    escape are still its descendants (an orphan goes to its nearest subreaper ancestor: never
    into a spare's tree); it has no children other than sandbox processes, and reaps them.
    Returns whether everything is gone.
    """
    for attempt in range(200):
        targets = live_descendants(root, keep)
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not targets:
            return True
        time.sleep(0.005 if attempt < 20 else 0.05)
    return False


class KernelGuards:
    """What the kernel enforces beyond rlimits, set up once per host: a seccomp filter loaded in
    every sandbox child, and a memory cgroup per child where the host may create one. Each
    facility that cannot be had here is named in `downgrades`; the host carries on without it."""

    def __init__(self) -> None:
        self.filter = None  # seccomp.Filter
        self.cgroups = None  # cgroups.MemoryCgroups
        self.current = None  # the cgroup of the child about to be forked (`expect_child`)
        self.downgrades: list[str] = []

    def setup(self) -> list[str]:
        from autograder.sandbox import cgroups, seccomp

        if not IS_LINUX:
            self.downgrades = ["no seccomp filter and no memory cgroup: they need Linux"]
            return self.downgrades
        try:
            self.filter = seccomp.compile_filter()
            _check_filter(self.filter)
        except seccomp.SeccompUnavailable as exc:
            self.filter = None
            self.downgrades.append(f"no seccomp filter: {exc.strerror or exc}")
        try:
            self.cgroups = cgroups.detect()
        except cgroups.CgroupUnavailable as exc:
            self.downgrades.append(f"memory is watched by sampling, not counted by the kernel: {exc.strerror or exc}")
        if self.cgroups is None or not self.cgroups.shares_cpu:
            self.downgrades.append("the processors are shared by the scheduler alone, not per run: no cpu cgroup here")
        return self.downgrades

    def describe(self) -> dict:
        return {
            "seccomp": self.filter is not None,
            "memory": self.cgroups.describe() if self.cgroups is not None else "watchdog",
        }

    # in the host, for each child
    def new_cgroup(self, memory_mb: int):
        """A fresh cgroup for a child about to be forked, limited to the submission's memory
        (None without cgroups): the host's template hands its path to that child, which joins
        it first thing (`expect_child`, `join`). Each child's is its own (a spare may wait
        while another child runs); the host removes it."""
        return self.cgroups.create(int(memory_mb) * 2**20) if self.cgroups is not None else None

    # in the template, for each child
    def expect_child(self, path: str | None) -> None:
        """The cgroup (made by the host) that the child about to be forked joins."""
        self.current = None if path is None or self.cgroups is None else self.cgroups.child(path)

    def forked(self) -> None:
        """Once the child is forked: its cgroup is the child's to join, not ours."""
        self.current = None

    # in the sandbox child
    def join(self) -> None:
        """First thing in a child: into its cgroup, before it allocates anything of its own."""
        if self.current is not None:
            self.current.join()

    def lock_down(self) -> None:
        """Last thing before student code: the seccomp filter, for this process and all it starts."""
        if self.filter is not None:
            self.filter.load()


def _check_filter(filter_) -> None:
    """Load the filter in a throwaway child and check that it refuses what it should."""
    import errno as _errno

    from autograder.sandbox.seccomp import SeccompUnavailable

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            filter_.load()
            try:
                os.close(os.memfd_create("blockgrade-check"))
            except OSError as exc:
                code = 0 if exc.errno == _errno.EPERM else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        raise SeccompUnavailable(0, "the kernel did not apply the seccomp filter")


GUARDS = KernelGuards()  # the host's, set up in its main(); forked children inherit it
