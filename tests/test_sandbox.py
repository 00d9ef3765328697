"""The sandbox host and its children: results, errors, limits, and what a run leaves behind."""

import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import torch

from autograder.catalog import Limits
from autograder.sandbox.client import SandboxHost, Submission

from conftest import sandbox_children

PROBES = Path(__file__).resolve().parent / "sandbox_probes.py"
LIMITS = Limits(probe_seconds=3, submission_seconds=20, memory_mb=1024)


def modes():
    """Every sandbox mode this machine can run: namespaces as root, as a user, and the basic one."""
    found = ["root"] if os.geteuid() == 0 else []
    found.append("user")
    return [*found, "basic"]


@pytest.fixture(scope="module", params=modes())
def host(request):
    os.environ["BLOCKGRADE_TEST_SECRET"] = "do-not-leak"
    try:
        with SandboxHost([PROBES], sandbox=request.param) as h:
            try:
                h.ready()
            except Exception as exc:  # user namespaces may be disabled on a developer's machine
                if request.param == "user":
                    pytest.skip(f"user namespaces are not available here: {exc}")
                raise
            assert h.sandbox == request.param
            yield h
    finally:
        del os.environ["BLOCKGRADE_TEST_SECRET"]


def run(host, source, jobs=(("first", None), ("second", None)), **limits):
    submission = Submission("student", "student.py", textwrap.dedent(source), ("f", "g"))
    return host.run(submission, list(jobs), LIMITS.replace(**limits))


def status(result, probe="first", device=None):
    return result.outcomes[(probe, device)].status


def test_values_come_back_as_plain_data(host):
    result = run(host, "import torch\ndef f(): return {'t': torch.ones(2), 'n': (1, 'x')}\ndef g(): return None\n")
    data = result.outcomes[("first", None)].data
    assert torch.equal(data["t"], torch.ones(2)) and data["n"] == (1, "x")
    assert status(result, "second") == "ok" and result.import_info["present"] == ["f", "g"]


def test_an_exception_shows_student_frames_only(host):
    result = run(
        host, "def helper():\n    raise ValueError('bad value')\ndef f():\n    return helper()\ndef g(): return 1\n"
    )
    error = result.outcomes[("first", None)].error
    assert (error["type"], error["message"]) == ("ValueError", "bad value")
    assert 'File "student.py", line 4, in f' in error["traceback"]
    assert 'File "student.py", line 2, in helper' in error["traceback"]
    assert "sandbox_probes" not in error["traceback"] and "autograder" not in error["traceback"]


@pytest.mark.parametrize("raise_", ["SystemExit(0)", "KeyboardInterrupt()", "GeneratorExit()"])
def test_exits_and_interrupts_are_errors_not_passes(host, raise_):
    result = run(host, f"def f():\n    raise {raise_}\ndef g(): return 1\n")
    assert status(result) == "error" and status(result, "second") == "ok"


def test_a_hanging_probe_times_out_and_the_next_one_still_runs(host):
    started = time.monotonic()
    result = run(host, "def f():\n    while True: pass\ndef g(): return 2\n", jobs=[("quick", None), ("second", None)])
    assert status(result, "quick") == "timed out"
    assert result.outcomes[("second", None)].data == 2
    assert time.monotonic() - started < 8


def test_a_crashing_probe_costs_only_itself(host):
    result = run(host, "import os\ndef f():\n    os._exit(0)\ndef g(): return 3\n")
    assert status(result) == "crashed" and result.outcomes[("second", None)].data == 3


def test_a_segfault_is_a_crash(host):
    result = run(host, "import ctypes\ndef f():\n    ctypes.string_at(0)\ndef g(): return 3\n")
    assert status(result) == "crashed"
    assert "SIGSEGV" in result.outcomes[("first", None)].error["message"]


def test_an_import_that_ends_the_process(host):
    result = run(host, "import os\nos._exit(1)\ndef f(): return 1\n")
    assert result.import_info["failed"] == "crashed"
    assert {o.status for o in result.outcomes.values()} == {"not run"}


def test_an_import_that_never_ends(host):
    result = run(host, "while True:\n    pass\n", probe_seconds=1)
    assert result.import_info["failed"] == "timed out"


def test_the_submission_time_limit_stops_everything(host):
    result = run(
        host,
        "import time\ndef f():\n    time.sleep(1.5)\ndef g():\n    time.sleep(1.5)\n",
        jobs=[("first", None), ("second", None), ("first", None)],
        submission_seconds=2,
    )
    assert status(result) in ("ok", "timed out") and status(result, "second") == "timed out"


def test_output_is_captured_and_capped(host):
    result = run(
        host, "def f():\n    for i in range(200000): print('spam', i)\n    return 1\ndef g(): return 1\n", output_kb=8
    )
    assert status(result) == "ok"
    assert result.output["dropped"] > 1_000_000 and len(result.output["text"]) < 9000
    assert result.output["text"].startswith("spam 0") and "spam 199999" in result.output["text"]


def running_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_nothing_the_submission_started_outlives_it(host):
    marker = f"61.{os.getpid()}{int(time.time() * 1000) % 100000}"  # a sleep nobody else runs
    source = f"""
        import os, subprocess, time
        def f():
            subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
            if os.fork() == 0:            # a double fork: the grandchild is orphaned at once
                if os.fork() == 0:
                    os.setsid()
                    os.execvp("sleep", ["sleep", "{marker}"])
                os._exit(0)
            time.sleep(0.3)
            return "started"
        def g(): return 1
    """
    result = run(host, source)
    assert result.outcomes[("first", None)].data == "started"
    deadline = time.monotonic() + 2
    while running_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_with(marker) == []


def test_memory_beyond_the_limit_fails_that_probe_only(host):
    source = "import torch\ndef f():\n    return torch.ones(2**31, dtype=torch.uint8).sum()\ndef g(): return 4\n"
    result = run(host, source, memory_mb=512)
    assert status(result) in ("error", "crashed") and result.outcomes[("second", None)].data == 4


def test_too_much_data_is_refused(host):
    result = run(host, "import torch\ndef f(): return torch.zeros(2**20)\ndef g(): return 5\n", data_mb=1)
    assert status(result) in ("invalid", "crashed") and result.outcomes[("second", None)].data == 5


def test_the_environment_is_scrubbed_and_the_directory_private(host):
    result = run(
        host, "import os\ndef f(): return [dict(os.environ), os.getcwd(), sorted(os.listdir('.'))]\ndef g(): return 1\n"
    )
    env, cwd, files = result.outcomes[("first", None)].data
    assert "BLOCKGRADE_TEST_SECRET" not in env and env["HOME"] == cwd
    assert files == ["student.py"] and cwd != os.getcwd()


def test_an_import_only_run_reports_the_names(host):
    result = run(host, "def f(): pass\n", jobs=[])
    assert result.outcomes == {} and result.import_info["present"] == ["f"]


def test_devices_reach_probes(host):
    result = run(host, "def f(): return 1\ndef g(): return 1\n", jobs=[("on_device", "cpu")])
    assert result.outcomes[("on_device", "cpu")].data == {"device": "cpu", "value": 1}


def test_killing_the_host_costs_at_most_the_submission_that_tried(host):
    killer = (
        "import os, signal\n"
        "def f():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 'alive'\n"
        "def g(): return 1\n"
    )
    result = run(host, killer)
    if host.sandbox == "basic":  # its parent (the host's template) is within reach: only this submission pays
        assert status(result) == "crashed"
    else:  # in a PID namespace the parent is out of reach (getppid() is 0)
        assert result.outcomes[("first", None)].data == "alive"
    after = run(host, "def f(): return 6\ndef g(): return 7\n")
    assert after.outcomes[("first", None)].data == 6


def test_the_host_runs_no_judge_code(host):
    """Only probe files are loaded by the host: no test_*.py module is ever imported there."""
    result = run(
        host,
        "import sys\n"
        "def f(): return sorted(m for m in sys.modules if 'test_' in m or 'judg' in m)\n"
        "def g(): return 1\n",
    )
    assert result.outcomes[("first", None)].data == []


def test_a_fork_bomb_is_stopped(host):
    if host.sandbox == "basic" and os.geteuid() == 0:
        pytest.skip("as root without namespaces only the watchdog bounds a fork bomb: not on this machine")
    source = """
        import os, time
        def f():
            for _ in range(5000):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                except OSError:
                    return "refused"
            return "not stopped"
        def g(): return 8
    """
    result = run(host, source, processes=16)
    assert status(result) in ("ok", "crashed")
    assert result.outcomes[("first", None)].data != "not stopped"
    assert result.outcomes[("second", None)].data == 8


@pytest.mark.parametrize("mode", [m for m in modes() if m != "basic"])
def test_libraries_under_tmp_stay_visible_beside_the_private_tmp(mode, tmp_path):
    """A clone or a virtual environment in /tmp (pytest's tmp_path is there too) must not be
    hidden by the sandbox's own /tmp: a lazy import from it would fail inside the sandbox."""
    from autograder.sandbox import namespaces

    library = tmp_path / "venv" / "site-packages"
    library.mkdir(parents=True)
    (library / "lazy_module.py").write_text("VALUE = 42\n")
    mountpoint = tmp_path / "root"
    mountpoint.mkdir()
    plan = namespaces.make_plan(mode, str(library), str(mountpoint))
    assert str(library) in plan.binds
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child builds the sandbox's root and looks for the library from inside
        try:
            os.close(read)
            namespaces.enter(plan)
            work = namespaces.build_root(plan)
            namespaces.drop_privileges(plan)
        except BaseException as exc:
            os.write(write, f"unavailable: {exc}".encode())
        else:
            module = library / "lazy_module.py"
            seen = module.is_file() and module.read_text() == "VALUE = 42\n" and os.path.isdir(work)
            os.write(write, b"seen" if seen else b"hidden")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1000).decode()
    os.close(read)
    os.waitpid(pid, 0)
    if mode == "user" and answer.startswith("unavailable"):
        pytest.skip(f"user namespaces are not available here: {answer}")
    assert answer == "seen"


def test_forked_workers_share_the_preloaded_memory(host):
    """Ten forked workers (as a DataLoader starts) hold the host's torch pages in common: the
    memory watchdog counts them once, not ten times (some 150 MB each) against the 1024 MB limit."""
    source = """
        import os, time, torch
        def f():
            children = []
            for _ in range(10):
                pid = os.fork()
                if pid == 0:
                    torch.ones(4).sum()  # touch torch, as a worker would
                    time.sleep(1.5)
                    os._exit(0)
                children.append(pid)
            for pid in children:
                os.waitpid(pid, 0)
            return "done"
        def g(): return 8
    """
    result = run(host, textwrap.dedent(source), processes=16)
    assert status(result) == "ok", result.outcomes[("first", None)].error
    assert result.outcomes[("first", None)].data == "done"


def test_each_run_is_pid_1_of_a_namespace_of_its_own_with_a_uid_of_its_own(host):
    """Root mode forks each child straight into a fresh PID namespace (namespaces.fork_child);
    user mode forks once more inside. Either way the probes run as PID 1 of a namespace of
    their own, and in root mode each child runs as a uid no other child has."""
    if host.sandbox == "basic":
        pytest.skip("the basic sandbox has no namespaces")
    source = "import os\ndef f(): return [os.getpid(), os.getppid(), os.getuid()]\ndef g(): return 1\n"
    seen = [run(host, source).outcomes[("first", None)].data for _ in range(3)]
    assert [(pid, parent) for pid, parent, _ in seen] == [(1, 0)] * 3
    if host.sandbox == "root":
        uids = [uid for _, _, uid in seen]
        assert len(set(uids)) == 3 and min(uids) >= 200_000, uids


@pytest.mark.skipif(os.geteuid() != 0, reason="a child's uid names its pid in root mode only")
def test_a_host_for_many_submissions_runs_each_in_a_child_forked_ahead_that_outlived_the_last():
    """A host that serves a batch forks its next children (SPARES of them) as soon as an answer
    is sent, and cleans up after the last child while they wait: each submission then runs in a
    child that was waiting before its request came, which the clean-up of the one before it
    (which kills whatever that child left) did not touch."""
    from autograder.sandbox import host as sandbox_host
    from autograder.sandbox.namespaces import SANDBOX_UID_BASE

    source = "import os\ndef f(): return os.getuid()\ndef g(): return 1\n"
    with SandboxHost([PROBES], sandbox="root", warm_up=True) as many:
        many.ready()
        host_pid = many._proc.pid
        run(many, source)  # the first request forks its own child; the spares come after it
        for _ in range(4):
            deadline = time.monotonic() + 5
            while len(waiting := sandbox_children(host_pid)) != sandbox_host.SPARES and time.monotonic() < deadline:
                time.sleep(0.02)  # (the last child may still be being cleaned up)
            assert len(waiting) == sandbox_host.SPARES, waiting
            result = run(many, source)
            assert status(result) == "ok"
            assert result.outcomes[("first", None)].data - SANDBOX_UID_BASE in waiting


@pytest.mark.skipif(os.geteuid() != 0, reason="a child's uid names its pid in root mode only")
def test_a_host_told_the_first_memory_limit_forks_the_first_child_before_the_request():
    """A host that knows the first request's memory limit (`check`, Gradescope's one run) forks
    that request's child as soon as it is ready, so the request finds its sandbox built."""
    from autograder.sandbox.namespaces import SANDBOX_UID_BASE

    source = "import os\ndef f(): return os.getuid()\ndef g(): return 1\n"
    with SandboxHost([PROBES], sandbox="root", memory_mb=LIMITS.memory_mb) as once:
        once.ready()
        deadline = time.monotonic() + 5
        while not (waiting := sandbox_children(once._proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(waiting) == 1, waiting
        result = run(once, source)
        assert result.outcomes[("first", None)].data - SANDBOX_UID_BASE in waiting
    with SandboxHost([PROBES], sandbox="root") as unknown:  # no limit known: nothing forked ahead
        unknown.ready()
        time.sleep(0.3)
        assert sandbox_children(unknown._proc.pid) == set()
        assert status(run(unknown, source)) == "ok"


def test_a_cgroup_left_by_a_host_that_is_gone_is_removed_even_when_its_pid_came_back():
    """A killed host leaves its children's cgroups; the next host removes those whose host is
    gone. A cgroup's name holds its host's pid and start time, so one whose pid now belongs to
    another process (pid 1 of a namespace, a pid reused) is removed too, and a running host's
    is kept."""
    from autograder.sandbox import cgroups

    try:
        parent = cgroups.detect().parent
    except cgroups.CgroupUnavailable as exc:
        pytest.skip(f"no memory cgroups here: {exc}")
    me = os.getpid()
    running = Path(parent) / f"blockgrade-{me}-{cgroups._started(me)}-900"
    reused = Path(parent) / f"blockgrade-{me}-{cgroups._started(me) + 1}-901"  # an earlier process with this pid
    gone = Path(parent) / "blockgrade-4194303-12345-902"  # a pid no process has
    for path in (running, reused, gone):
        path.mkdir()
    try:
        cgroups._remove_stale(parent)
        assert (running.exists(), reused.exists(), gone.exists()) == (True, False, False)
    finally:
        for path in (running, reused, gone):
            if path.exists():
                path.rmdir()


def test_every_probe_draws_from_generators_seeded_afresh(host):
    """Each probe starts from the same seed (0), whatever the probes before it drew or set: a
    probe's random inputs are the same in every submission's run."""
    import random

    source = (
        "import random, torch\n"
        "def f():\n"
        "    drawn = [torch.rand(3).tolist(), random.random()]\n"
        "    torch.rand(1000); random.random(); torch.manual_seed(7); random.seed(7)\n"
        "    return drawn\n"
        "def g(): return 1\n"
    )
    result = run(host, source, jobs=[("first", None), ("quick", None)])
    torch.manual_seed(0)
    random.seed(0)
    expected = [torch.rand(3).tolist(), random.random()]
    assert result.outcomes[("first", None)].data == result.outcomes[("quick", None)].data == expected


@pytest.mark.parametrize("mode", [m for m in modes() if m != "basic"])
def test_temporary_files_work_whatever_the_graders_tmpdir(mode, monkeypatch):
    """An instructor's TMPDIR outside /tmp (a cluster's scratch, say): the host's folder lives
    there, and what the host's imports cached of it must not be the child's temporary folder
    (read-only, or absent, in its sandbox: torch's optimizers then failed to make their cache)."""
    scratch = Path(tempfile.mkdtemp(prefix="blockgrade-test-tmpdir-", dir="/var/tmp"))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    source = """
        import os
        import tempfile

        def f():
            handle, path = tempfile.mkstemp()
            os.write(handle, b"written")
            os.close(handle)
            return open(path, "rb").read().decode()

        def g():
            return None
    """
    try:
        with SandboxHost([PROBES], sandbox=mode) as host:
            try:
                host.ready()
            except Exception as exc:
                pytest.skip(f"the {mode} sandbox does not start here: {exc}")
            result = run(host, source, jobs=(("first", None),))
        outcome = result.outcomes[("first", None)]
        assert outcome.status == "ok", outcome.error
        assert outcome.data == "written"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
