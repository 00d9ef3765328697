"""Attacks on the host's template (autograder/sandbox/template.py), through the sandbox host.

The template forks every sandbox child, reaps it and reports its exit; the host hands the child
its request through a pipe. A child must hold nothing of its template's or its host's (their
socket, wake-up pipe, epoll, pidfds: a way to ask for forks, or to confuse exit reports), and
one submission may cost only itself, whatever it does with the processors it shares with the
other workers of a batch.
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from autograder.catalog import Limits
from autograder.sandbox import cgroups
from autograder.sandbox.client import SandboxHost, Submission
from autograder.sandbox.host import _Child
from autograder.sandbox.template import Template

from .conftest import ready_host
from conftest import children_of

PROBES = Path(__file__).resolve().parents[1] / "sandbox_probes.py"
IS_ROOT = os.geteuid() == 0
MODES = ["root", "user"] if IS_ROOT else ["user"]  # never hostile code in the basic sandbox as root


def _host(mode: str, **kwargs):
    return ready_host([PROBES], mode, **kwargs)


def _first(host: SandboxHost, source: str, limits: Limits):
    done = host.run(Submission("student", "student.py", source, ("f", "g")), [("first", None)], limits)
    return done.outcomes[("first", None)]


DESCRIPTORS = """
import os

def f():
    held = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            held[int(name)] = os.readlink("/proc/self/fd/" + name)
        except OSError:
            pass  # the listing's own descriptor, closed already
    return sorted(held.items())
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_child_holds_no_descriptor_of_its_template_or_its_host(mode):
    """What a child holds beyond its stdin, stdout and stderr is its own data pipe: no end of
    the template's socket (with it, code could ask the template for forks or forge exit
    reports), its wake-up pipe or epoll, no pidfd, and nothing of the host's."""
    limits = Limits(probe_seconds=10, submission_seconds=30, memory_mb=512)
    with _host(mode, warm_up=True, memory_mb=512) as host:
        for _ in range(2):  # the first child, and one forked after an answer
            outcome = _first(host, DESCRIPTORS, limits)
            assert outcome.ok, outcome.error
            extra = {fd: target for fd, target in outcome.data if fd > 2}
            assert len(extra) == 1 and next(iter(extra.values())).startswith("pipe:"), outcome.data


@pytest.mark.parametrize("mode", MODES)
def test_a_host_whose_template_is_killed_costs_at_most_the_submission_in_flight(mode):
    """A template killed from outside (the kernel's OOM killer, say: no submission can signal
    it) leaves its host unable to fork a child. The host must then end, so that the grader
    starts a new one: not answer every later submission with an internal error."""
    limits = Limits(probe_seconds=10, submission_seconds=30, memory_mb=512)
    honest = "def f():\n    return 7\n"
    with _host(mode, warm_up=True, memory_mb=512) as host:
        assert _first(host, honest, limits).data == 7
        (template,) = children_of(host._proc.pid)
        os.kill(template, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while template in children_of(host._proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        submission = Submission("student", "student.py", honest, ("f", "g"))
        host.run(submission, [("first", None)], limits)  # the one in flight may be lost (its host could not run it)
        for _ in range(2):
            done = host.run(submission, [("first", None)], limits)
            outcome = done.outcomes.get(("first", None))
            assert done.internal is None and outcome is not None and outcome.data == 7, done


HOG = """
import os, time

def f():
    # every process its own session: with the scheduler's autogroups, each session is a
    # group of its own and gets a share of the processors as large as a whole other run's
    end = time.monotonic() + 5
    for _ in range({count}):
        if os.fork() == 0:
            os.setsid()
            while time.monotonic() < end:
                pass
            os._exit(0)
    while time.monotonic() < end:
        pass
"""

VICTIM = """
import time

def f():
    started = time.process_time()
    while time.process_time() - started < 0.5:  # half a second of work
        pass
    return "done"
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs processor affinity (Linux)")
def test_a_run_that_floods_the_processors_costs_no_other_worker_its_points():
    """Two hosts, as a batch's two workers, on one processor (what a batch of one worker per
    core comes to). One submission fills its process limit with busy processes, each in a
    session of its own (which the scheduler's autogroups would each give a whole share), while
    the other's probe needs half a second of work against a three-second limit: each run's
    cgroup has one equal share of the processors, whatever it starts."""
    try:
        shares = cgroups.detect().shares_cpu
    except cgroups.CgroupUnavailable:
        shares = False
    if not shares:
        pytest.skip("no cpu cgroup here: the processors are shared by the scheduler alone (a host downgrade)")
    count = 30
    hog_limits = Limits(probe_seconds=8, submission_seconds=10, memory_mb=512, processes=count + 2)
    limits = Limits(probe_seconds=3, submission_seconds=10, memory_mb=512)
    processors = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(processors)})  # inherited by the hosts and all they start
    try:
        with _host(MODES[0]) as hog, _host(MODES[0]) as worker:
            alone = _first(worker, VICTIM, limits)
            assert alone.ok, alone.error  # the work fits its limit by far on an idle processor
            flooding = threading.Thread(target=_first, args=(hog, HOG.format(count=count), hog_limits))
            flooding.start()
            try:
                time.sleep(1.0)  # its processes started
                beside = _first(worker, VICTIM, limits)
            finally:
                flooding.join()
            assert beside.ok, f"another run's flood cost this one its check: {beside.status}: {beside.error}"
    finally:
        os.sched_setaffinity(0, processors)


def _spawn_with_pid(pid: int) -> subprocess.Popen | None:
    """A process of someone else's, in a session of its own, given the process id `pid` (free
    again) by asking the kernel for it (`ns_last_pid`: root only); None if another process took
    it first."""
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid - 1))
    other = subprocess.Popen(["sleep", "30"], start_new_session=True)
    if other.pid == pid:
        return other
    other.kill()
    other.wait()
    return None


@pytest.mark.skipif(not IS_ROOT, reason="asking the kernel for a process id takes root")
def test_cleaning_up_after_a_child_kills_no_later_process_that_got_its_number():
    """Once the template has reaped a child, its process id is free, and any process may get it:
    a student can wrap the ids round (32768 of them, 13,000 threads a second) so that it comes
    back at once. Cleaning up must then kill nothing by that number: not the process group of
    another worker's fresh child (or anyone's) that got it."""
    template = Template({}, None)
    try:
        kid = _Child(64, template)
        os.close(kid.go_w)  # let go unused: the child exits, and the template reaps it
        kid.go_w = -1
        assert kid.wait() is not None
        other = None
        for _ in range(20):  # (another process on the machine may take the number first)
            other = _spawn_with_pid(kid.pid)
            if other is not None:
                break
        if other is None:
            pytest.skip("the machine kept taking the number back")
        try:
            kid.close()
            time.sleep(0.1)
            assert other.poll() is None, "the clean-up of a reaped child killed a later process that had its number"
        finally:
            other.kill()
            other.wait()
    finally:
        template.close()
