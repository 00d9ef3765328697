"""Memory cgroups for sandbox children: the kernel counts a submission's memory and enforces it.

Where the grader may create memory cgroups (as root with cgroup v1, or below a delegated cgroup
v2 subtree) the host gives each sandbox child a fresh cgroup limited to the submission's
memory, places the child in it before anything else runs there, and removes it once the child
and everything it started have ended. The kernel then counts what the watchdog's sampling
cannot: page cache and tmpfs pages (/tmp, /dev/shm), kernel memory, memory allocated between
two samples; past the limit its OOM killer ends the cgroup's processes, which the host reports
as the submission using more memory than it may.

- cgroup v1: a child of the host's own memory cgroup, with memory.limit_in_bytes and, where the
  kernel has swap accounting, memory.memsw.limit_in_bytes (memory plus swap) set to the limit.
- cgroup v2: a child of `$BLOCKGRADE_CGROUP` (a delegated directory) or of the host's own cgroup
  where `memory` is already enabled in its cgroup.subtree_control, with memory.max set to the
  limit and memory.swap.max to 0.

Elsewhere `detect` says why not, and the host's watchdog (proportional set size, sampled) and
the seccomp filter (no memfd, no userfaultfd) are what bound memory.

Where the cpu controller can be had too (v1: a cgroup of the same name in its own hierarchy;
v2: `cpu` enabled beside `memory`), each child's cgroup also gets an equal share of the
processors: whatever a submission starts (a flood of busy processes, each in a session of its
own, which the scheduler's autogroups would each give a whole share) shares that one, so it
cannot starve another worker's run into running out of wall-clock time.
"""

from __future__ import annotations

import errno
import itertools
import os

V1_ROOT = "/sys/fs/cgroup/memory"
ENV_V2 = "BLOCKGRADE_CGROUP"


class CgroupUnavailable(OSError):
    """No memory cgroup can be made here (the message says why)."""


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _mounts() -> dict[str, str]:
    """cgroup filesystem -> where it is mounted: 'memory' and 'cpu' (v1), 'unified' (v2)."""
    found: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                fstype, options = fields[sep + 1], fields[sep + 3].split(",")
                point = fields[4]
                root = fields[3]
                if fstype == "cgroup" and "memory" in options:
                    found.setdefault("memory", point if root == "/" else "")
                if fstype == "cgroup" and "cpu" in options:
                    found.setdefault("cpu", point if root == "/" else "")
                elif fstype == "cgroup2":
                    found.setdefault("unified", point if root == "/" else "")
    except (OSError, ValueError, IndexError):
        pass
    return found


def _own_cgroups() -> dict[str, str]:
    """controller ('memory', or '' for v2) -> this process's cgroup path."""
    own = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c] = path
    return own


class MemoryCgroups:
    """Makes one cgroup per sandbox child below `parent`, and where `shares_cpu`, gives it its
    share of the processors (v1: a cgroup of the same name below `cpu_parent`)."""

    def __init__(self, version: int, parent: str, cpu_parent: str | None = None) -> None:
        self.version = version
        self.parent = parent
        self.cpu_parent = cpu_parent  # v1's cpu hierarchy; v2: `parent` itself, where cpu is enabled
        self._serial = itertools.count()

    @property
    def shares_cpu(self) -> bool:
        return self.cpu_parent is not None

    def describe(self) -> str:
        return f"cgroup v{self.version} ({self.parent}{', processors shared per run' if self.shares_cpu else ''})"

    def child(self, path: str) -> "ChildCgroup":
        """The child cgroup at `path` (made by `create`, possibly in another process)."""
        cpu = None
        if self.version == 1 and self.cpu_parent is not None:
            cpu = os.path.join(self.cpu_parent, os.path.basename(path))
        return ChildCgroup(self.version, path, cpu)

    def create(self, limit_bytes: int) -> "ChildCgroup":
        # named after its host: its pid and when that process started (a pid alone comes back)
        pid = os.getpid()
        path = os.path.join(self.parent, f"blockgrade-{pid}-{_started(pid)}-{next(self._serial)}")
        os.mkdir(path)
        group = self.child(path)
        try:
            if group.cpu is not None:
                os.mkdir(group.cpu)  # its default share (cpu.shares 1024), as every other run's
            if self.version == 1:
                _write(os.path.join(path, "memory.limit_in_bytes"), str(limit_bytes))
                memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
                if os.path.exists(memsw):  # after the memory limit: memsw may never be below it
                    _write(memsw, str(limit_bytes))
                try:
                    _write(os.path.join(path, "memory.swappiness"), "0")
                except OSError:
                    pass  # some kernels keep swappiness global; memsw still bounds swap
            else:
                _write(os.path.join(path, "memory.max"), str(limit_bytes))
                swap = os.path.join(path, "memory.swap.max")
                if os.path.exists(swap):
                    _write(swap, "0")
                if os.path.exists(os.path.join(path, "memory.oom.group")):
                    _write(os.path.join(path, "memory.oom.group"), "1")
        except BaseException:
            group.remove()
            raise
        return group


class ChildCgroup:
    def __init__(self, version: int, path: str, cpu: str | None = None) -> None:
        self.version = version
        self.path = path
        self.cpu = cpu  # v1: its cgroup in the cpu hierarchy, where it shares the processors

    def join(self) -> None:
        """Move the calling process into this cgroup (in the sandbox child, first thing)."""
        for path in (self.path, self.cpu):
            if path is not None:
                _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer ended a process of this cgroup."""
        try:
            if self.version == 1:
                text = _read(os.path.join(self.path, "memory.oom_control"))
                counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
                if "oom_kill" in counts:
                    return int(counts["oom_kill"]) > 0
                return int(_read(os.path.join(self.path, "memory.failcnt"))) > 0  # older kernels
            text = _read(os.path.join(self.path, "memory.events"))
            counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
            return int(counts.get("oom_kill", 0)) > 0
        except (OSError, ValueError):
            return False

    def usage_bytes(self) -> int | None:
        """What the kernel counts against this cgroup's limit now (one small read)."""
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            return int(_read(os.path.join(self.path, name)))
        except (OSError, ValueError):
            return None

    def peak_bytes(self) -> int | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int(_read(os.path.join(self.path, name)))
        except (OSError, ValueError):
            return None

    def remove(self) -> bool:
        """Remove the cgroup once its processes are gone; False if it could not be removed.

        A process the host has just reaped may still be leaving the cgroup for a moment."""
        import time

        give_up = time.monotonic() + 2.0
        pause = 0.0002
        left = [path for path in (self.path, self.cpu) if path is not None]
        while left:
            try:
                os.rmdir(left[0])
                left.pop(0)
                continue
            except FileNotFoundError:
                left.pop(0)
                continue
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > give_up:
                    return False
            _kill_members(left[0])
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        return True


def _kill_members(path: str) -> None:
    import signal

    try:
        pids = [int(p) for p in _read(os.path.join(path, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def detect() -> MemoryCgroups:
    """Memory cgroups this process may create, checked by making (and removing) one;
    CgroupUnavailable, saying why, where there are none."""
    if not os.path.exists("/proc/self/cgroup"):
        raise CgroupUnavailable(0, "no cgroups on this system")
    try:
        own = _own_cgroups()
    except (OSError, ValueError) as exc:
        raise CgroupUnavailable(0, f"/proc/self/cgroup could not be read: {exc}") from None
    mounts = _mounts()
    candidates: list[tuple[int, str]] = []
    delegated = os.environ.get(ENV_V2)
    if delegated:
        candidates.append((2, delegated))
    if "memory" in own and mounts.get("memory"):
        candidates.append((1, os.path.join(mounts["memory"], own["memory"].lstrip("/"))))
    if "" in own and mounts.get("unified") and not delegated:
        parent = os.path.join(mounts["unified"], own[""].lstrip("/"))
        try:
            if "memory" in _read(os.path.join(parent, "cgroup.subtree_control")).split():
                candidates.append((2, parent))
        except OSError:
            pass
    if not candidates:
        raise CgroupUnavailable(0, "no memory cgroup controller is mounted for this process")
    reasons = []
    for version, parent in candidates:
        _remove_stale(parent)
        # with each run's share of the processors where that can be had, else memory alone
        for cpu_parent in dict.fromkeys([_cpu_parent(version, parent, own, mounts), None]):
            cgroups = MemoryCgroups(version, parent, cpu_parent)
            try:
                probe = cgroups.create(64 * 2**20)
            except OSError as exc:
                reasons.append(f"v{version} {parent}: {exc.strerror or exc}")
                continue
            joined = _try_join(probe)
            if not probe.remove():
                reasons.append(f"v{version} {parent}: a cgroup could not be removed")
                continue
            if joined is not None:
                reasons.append(f"v{version} {parent}: a process could not be moved into one: {joined}")
                continue
            return cgroups
    raise CgroupUnavailable(0, "memory cgroups cannot be created: " + "; ".join(reasons))


def _cpu_parent(version: int, parent: str, own: dict[str, str], mounts: dict[str, str]) -> str | None:
    """Where each child's share of the processors is made, None where it cannot be: v1, this
    process's cgroup in the cpu hierarchy (stale children of a host that is gone removed);
    v2, the memory cgroups' parent itself where `cpu` is enabled for its children."""
    if version == 2:
        try:
            return parent if "cpu" in _read(os.path.join(parent, "cgroup.subtree_control")).split() else None
        except OSError:
            return None
    if "cpu" not in own or not mounts.get("cpu"):
        return None
    cpu_parent = os.path.join(mounts["cpu"], own["cpu"].lstrip("/"))
    _remove_stale(cpu_parent)
    return cpu_parent


def _try_join(group: ChildCgroup) -> str | None:
    """Move a throwaway child into `group`; None if that worked, else why not."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            group.join()
            os.write(write, b"ok")
        except BaseException as exc:
            os.write(write, str(exc).encode()[:300])
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 400).decode("utf-8", "replace")
    os.close(read)
    os.waitpid(pid, 0)
    return None if answer == "ok" else answer or "no answer"


def _remove_stale(parent: str) -> None:
    """Empty cgroups left by a host that was killed while a child ran (the client kills, not asks)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) not in (3, 4) or parts[0] != "blockgrade" or not all(p.isdigit() for p in parts[1:]):
            continue
        if len(parts) == 4 and _started(int(parts[1])) == int(parts[2]):
            continue  # its host still runs
        if len(parts) == 3 and os.path.exists(f"/proc/{parts[1]}"):
            continue  # (a name of an older version: its pid alone) its host may still run
        try:
            os.rmdir(os.path.join(parent, name))
        except OSError:
            pass


def _started(pid: int) -> int | None:
    """When the process `pid` started (clock ticks since boot), None if there is none: with its
    pid, what tells a host still running from a later process given the same pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rfind(b")") + 2 :].split()[19])
