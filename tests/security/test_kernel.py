"""The kernel boundary: seccomp, memory cgroups, keyrings, uids, and the basic sandbox as root.

The hostile submissions of `kernel_attacks.py` are graded in one batch beside honest ones, in
each namespace mode this machine offers (never in the basic sandbox as root). Each reports
what it got through its exception message; the tests read that back from the feedback.
"""

import errno
import json
import os
import re
import shutil
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.catalog import Limits, course_at
from autograder.cli import main
from autograder.grading import UnsafeSandboxError, grade_batch
from autograder.sandbox import cgroups, seccomp
from autograder.sandbox.client import SandboxHost, Submission
from autograder.sandbox.host import SPARES

from .attacks import HONEST as HONEST_POINTS
from .conftest import HONEST, REPO, honest_partial, ready_host, skip_unless_the_sandbox_starts
from .kernel_attacks import kernel_attacks
from .test_red_team import running_with

LIMITS = {"probe_seconds": 4, "submission_seconds": 30, "memory_mb": 256, "processes": 32, "output_kb": 64}
PROBES = REPO / "tests" / "sandbox_probes.py"
IS_ROOT = os.geteuid() == 0


def _seccomp_here() -> bool:
    try:
        seccomp.compile_filter()
        return True
    except seccomp.SeccompUnavailable:
        return False


def _cgroups_here() -> bool:
    try:
        cgroups.detect()
        return True
    except cgroups.CgroupUnavailable:
        return False


SECCOMP = _seccomp_here()
CGROUPS = _cgroups_here()


@pytest.fixture(scope="module", params=["root", "user"] if IS_ROOT else ["user"])
def kernel_batch(request, tmp_path_factory):
    mode = request.param
    skip_unless_the_sandbox_starts(mode)
    course = course_at(REPO)
    a = course.get("blocks")
    root = tmp_path_factory.mktemp(f"kernel-{mode}")
    subs = root / "subs"
    subs.mkdir()
    marker = f"71.{os.getpid()}{int(time.time() * 1000) % 100000}"
    chosen = {x.name: x for x in kernel_attacks(marker)}
    honest = honest_partial(a)
    for name in HONEST:
        (subs / name).mkdir()
        shutil.copyfile(a.solution_dir / a.module, subs / name / a.module)
    for name, attack in chosen.items():
        (subs / name).mkdir()
        (subs / name / a.module).write_text(honest + "\n\n" + attack.code)
    limits = a.limits.replace(**LIMITS)
    # one worker: the keyring attack needs its two halves graded one after the other by one host
    batch = grade_batch(
        course, a, sorted(subs.iterdir()), root / "out", limits=limits, sandbox=mode, devices=["cpu"], workers=1
    )
    return mode, batch, marker, {r.name: r for r in batch.results}


def report(result, tag: str) -> dict | None:
    """What an attack reported (`TAG {json}` in a failed check's message), or None."""
    for test in result.tests:
        found = re.search(re.escape(tag) + r" (\{.*?\})", test.message or "")
        if found:
            return json.loads(found.group(1))
    return None


def earned_honest_work_only(batch, name):
    result = batch[name]
    assert result.score <= HONEST_POINTS, f"{name} earned {result.score}"
    assert result.sandbox in ("root", "user")
    return result


def test_the_batch_finishes_and_honest_work_gets_full_marks(kernel_batch):
    mode, batch, marker, results = kernel_batch
    assert not batch.interrupted and len(results) == batch.count
    for name in HONEST:
        assert (results[name].score, results[name].status) == (20, "graded"), results[name].notes
        assert results[name].sandbox == mode
    for name in results:
        if name not in HONEST:
            earned_honest_work_only(results, name)


def test_nothing_the_attacks_started_is_still_running(kernel_batch):
    _, _, marker, _ = kernel_batch
    assert running_with(marker) == []
    if CGROUPS:  # and no memory cgroup outlives its run (their names carry their host's pid)
        parent = cgroups.detect().parent
        left = [n for n in os.listdir(parent) if n.startswith("blockgrade-")]
        assert [n for n in left if not os.path.exists(f"/proc/{n.split('-')[1]}")] == [], left


def test_memfd_hoarding_stays_within_the_memory_limit(kernel_batch):
    _, _, _, results = kernel_batch
    result = earned_honest_work_only(results, "kernel-memfd-hoard")
    got = report(result, "HOARD")
    if SECCOMP:  # memfd_create is refused with a clean error, the rest is bounded by tmpfs sizes
        assert got is not None, [t.message for t in result.tests if t.outcome == "failed"]
        assert got["how"].startswith("memfd refused"), got
    if got is not None:
        assert got["mb"] <= LIMITS["memory_mb"], got


def test_a_key_planted_by_one_submission_is_not_there_for_the_next(kernel_batch):
    _, _, _, results = kernel_batch
    planted = report(earned_honest_work_only(results, "kernel-keyring-1-plant"), "KEYS")
    found = report(earned_honest_work_only(results, "kernel-keyring-2-read"), "KEYS")
    assert found is not None and found["found"] == [], found
    if SECCOMP:
        assert planted is not None and planted["planted"] == [], planted


def test_kernel_interfaces_no_exercise_needs_are_refused(kernel_batch):
    _, _, _, results = kernel_batch
    result = earned_honest_work_only(results, "kernel-surfaces")
    got = report(result, "SURFACES")
    assert got is not None, [t.message for t in result.tests if t.outcome == "failed"]
    if not SECCOMP:
        pytest.skip("no seccomp filter here: only the namespaces hold (README)")
    assert got["reached"] == [], f"reached the kernel: {got['reached']}"


def test_no_submission_runs_as_the_machines_root(kernel_batch):
    mode, _, _, results = kernel_batch
    got = report(earned_honest_work_only(results, "kernel-read-shadow"), "SHADOW")
    assert got is not None and got["read"] is False, got
    if mode == "user":  # uid_map: inside, outside, count
        inside, outside, count = (int(x) for x in got["uid_map"])
        assert (inside, count) == (0, 1) and outside != 0, got
    else:
        assert got["uid"] >= 200_000, got


# ----------------------------------------------------------------- the basic sandbox as root


def _one_honest(tmp_path: Path) -> tuple:
    course = course_at(REPO)
    a = course.get("blocks")
    folder = tmp_path / "subs" / "honest"
    folder.mkdir(parents=True)
    shutil.copyfile(a.solution_dir / a.module, folder / a.module)
    return course, a, folder


@pytest.mark.skipif(not IS_ROOT, reason="the refusal concerns a grader running as root")
def test_the_basic_sandbox_as_root_is_refused_unless_forced(tmp_path):
    course, a, folder = _one_honest(tmp_path)
    with pytest.raises(UnsafeSandboxError, match="--unsafe-basic-as-root"):
        grade_batch(course, a, [folder], tmp_path / "out", sandbox="basic")
    assert not (tmp_path / "out" / "honest").exists()
    # honest code only, forced: it grades, and says where it ran
    batch = grade_batch(course, a, [folder], tmp_path / "forced", sandbox="basic", unsafe_basic_as_root=True)
    (result,) = batch.results
    assert (result.score, result.sandbox) == (20, "basic")


@pytest.mark.skipif(not IS_ROOT, reason="the refusal concerns a grader running as root")
def test_the_cli_refuses_the_basic_sandbox_as_root(tmp_path, monkeypatch):
    _, _, folder = _one_honest(tmp_path)
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(
        main, ["grade", "-a", "blocks", "-o", str(tmp_path / "out"), "--sandbox", "basic", str(folder)]
    )
    assert result.exit_code == 2, result.output
    assert "refusing to grade in the basic sandbox as root" in result.output
    assert "Traceback" not in result.output


def test_grade_says_which_sandbox_it_used(tmp_path, monkeypatch):
    _, _, folder = _one_honest(tmp_path)
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["grade", "-a", "blocks", "-o", str(tmp_path / "out"), str(folder)])
    assert result.exit_code == 0, result.output
    assert re.search(r"^sandbox: (root|user|basic)$", result.output, re.M), result.output


# ------------------------------------------------------------- honest work under the filter


def _host_modes() -> list[str]:
    return ["root", "user"] if IS_ROOT else ["user", "basic"]


@pytest.fixture(scope="module", params=_host_modes())
def host(request):
    with SandboxHost([PROBES], sandbox=request.param) as h:
        try:
            h.ready()
        except Exception as exc:
            if request.param == "user":
                pytest.skip(f"user namespaces are not available here: {exc}")
            raise
        yield h


def run(host, source, jobs=(("first", None),), **limits):
    submission = Submission("student", "student.py", textwrap.dedent(source), ("f", "g"))
    return host.run(submission, list(jobs), Limits(probe_seconds=20, submission_seconds=40).replace(**limits))


def test_the_host_says_which_kernel_guards_hold(host):
    text = " ".join(host.downgrades)
    assert ("no seccomp filter" in text) != SECCOMP, host.downgrades
    assert ("not counted by the kernel" in text) != CGROUPS, host.downgrades


def test_torch_works_under_the_filter(host):
    """What exercises do: training, saving and loading files (torch and safetensors), threads,
    forked workers (as a DataLoader's), a subprocess."""
    source = """
        import os, subprocess, threading, multiprocessing
        import torch
        from safetensors.torch import load_file, save_file

        def square(x):
            return x * x

        def f():
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
            optimizer = torch.optim.Adam(model.parameters())
            for _ in range(3):
                optimizer.zero_grad()
                model(torch.randn(16, 4)).pow(2).mean().backward()
                optimizer.step()
            torch.save(model.state_dict(), "model.pt")
            model.load_state_dict(torch.load("model.pt"))
            save_file({"w": model[0].weight.detach().contiguous()}, "model.safetensors")
            same = torch.equal(load_file("model.safetensors")["w"], model[0].weight)
            torch.set_num_threads(2)
            product = torch.randn(300, 300) @ torch.randn(300, 300)
            seen = []
            thread = threading.Thread(target=lambda: seen.append(1))
            thread.start()
            thread.join()
            with multiprocessing.get_context("fork").Pool(2) as pool:
                squares = pool.map(square, range(4))
            dataset = torch.utils.data.TensorDataset(torch.arange(8.0))
            loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2)
            total = sum(float(batch[0].sum()) for batch in loader)
            echo = subprocess.run(["echo", "hi"], capture_output=True, text=True).stdout.strip()
            return [same, tuple(product.shape), seen, squares, total, echo]
    """
    result = run(host, source, memory_mb=2048)
    outcome = result.outcomes[("first", None)]
    assert outcome.status == "ok", outcome.error
    assert outcome.data == [True, (300, 300), [1], [0, 1, 4, 9], 28.0, "hi"]


def test_memory_only_the_kernel_counts_ends_the_run(host):
    """Files on the sandbox's tmpfs are memory the watchdog's sampling does not see (nothing
    maps them); the child's memory cgroup counts them, and past the limit the run is stopped."""
    if not CGROUPS:
        pytest.skip("no memory cgroups here: the watchdog and tmpfs sizes bound this (README)")
    if host.sandbox == "basic":
        pytest.skip("the basic sandbox has no tmpfs of its own")
    source = """
        def f():
            chunk, written = b"x" * 2**20, 0
            for place in ("/tmp/fill", "/dev/shm/fill"):
                try:
                    with open(place, "wb") as out:
                        for _ in range(100):
                            out.write(chunk)
                            out.flush()
                            written += 1
                except OSError:
                    pass
            return written
    """
    result = run(host, source, memory_mb=72)  # ~80 MB of tmpfs on top of ~15 MB of its own
    outcome = result.outcomes[("first", None)]
    assert outcome.status == "crashed", (outcome.status, outcome.data)
    assert "more than 72 MB of memory" in outcome.error["message"]
    after = run(host, "def f(): return 6\n", memory_mb=72)
    assert after.outcomes[("first", None)].data == 6


# ------------------------------------------------------------- a host that dies


def _descendants(root: int) -> set[int]:
    """The live (not zombie) processes below `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", _host_modes()[:1] + (["user"] if IS_ROOT else []))
def test_student_code_ends_with_its_host(mode):
    """A host killed outright (the grader's machine kills it, it crashes) takes the submission it
    runs with it: student code must not live on, orphaned, once nothing watches its limits.
    (The kernel clears a process's parent-death signal when its uid changes: the child must
    ask for it again once it has dropped its privileges.)"""
    if mode == "basic":
        pytest.skip("the basic sandbox changes no uid")
    source = "import time\ntime.sleep(30)\ndef f():\n    pass\n"
    seen: list[set[int]] = []
    with ready_host([PROBES], mode) as host:

        def meanwhile() -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not seen:
                time.sleep(0.2)
                below = _descendants(host._proc.pid)
                if below and any(open(f"/proc/{p}/cmdline", "rb").read() for p in below if _alive(p)):
                    time.sleep(1.0)  # into the submission's sleep
                    seen.append(_descendants(host._proc.pid))
            os.kill(host._proc.pid, 9)

        submission = Submission("student", "student.py", source, ("f",))
        sent = host.send(submission, [("first", None)], Limits())
        meanwhile()
        lost = host.answer(sent)
        assert not lost.outcomes[("first", None)].ok, lost  # the host died under it
    assert seen and seen[0], "no child was seen below the host"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in seen[0]):
        time.sleep(0.05)
    left = [p for p in seen[0] if _alive(p)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"processes of the sandbox outlived their host: {left}"


SCAN_OWN_MEMORY = '''
import ctypes, re

def f():
    """Every token of the form SEC+RET-<hex> this process's readable private memory holds."""
    wanted = re.compile(b"SEC" + b"RET-([0-9a-f]{32})")
    found = set()
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for parts in regions:
        if not parts[1].startswith("r") or not parts[1].endswith("p") or (len(parts) > 5 and parts[5] != "[heap]"):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        for at in range(start, end, 1 << 24):
            chunk = ctypes.string_at(at, min(1 << 24, end - at) + 0)
            found.update(m.group(1).decode() for m in wanted.finditer(chunk))
    return sorted(found)

def g():
    return 1
'''


@pytest.mark.parametrize("mode", _host_modes()[:1])
def test_a_submission_cannot_read_the_source_of_the_one_before_it(mode):
    """A host serves a batch's submissions one after another, each in a child forked from it:
    what the host held of one submission's source must not be in the memory of the next
    submission's child (freed memory keeps its bytes until it is reused)."""
    import secrets

    if mode == "basic":
        pytest.skip("the basic sandbox runs as this user: nothing of its memory is private")
    token = secrets.token_hex(16)
    first = f"# SECRET-{token}\n" * 200 + "def f():\n    return 1\ndef g():\n    return 2\n"
    names = ("f", "g")
    with SandboxHost([PROBES], sandbox=mode, warm_up=True) as host:
        host.ready()
        limits = Limits(**{**LIMITS, "memory_mb": 1024})
        done = host.run(Submission("student", "student.py", first, names), [("first", None)], limits)
        assert done.outcomes[("first", None)].ok, done
        for _ in range(2):  # the spare child forked after the first, and the one after that
            scan = host.run(Submission("student", "student.py", SCAN_OWN_MEMORY, names), [("first", None)], limits)
            outcome = scan.outcomes[("first", None)]
            assert outcome.ok, outcome.error
            assert token not in outcome.data, "the next submission read the first one's source"


@pytest.mark.parametrize("mode", _host_modes()[:1])
def test_a_submission_cannot_read_what_the_ones_before_it_printed_or_returned(mode):
    """The host reads each submission's printed output and results, and freed memory keeps
    their bytes: the next submissions' children are therefore forked by the host's template,
    which never held any of it (a child forked from the host itself would, and a scan of its
    own memory would hand another student's answers in as its own)."""
    import secrets

    if mode == "basic":
        pytest.skip("the basic sandbox runs as this user: nothing of its memory is private")
    tokens = [secrets.token_hex(16) for _ in range(3)]
    names = ("f", "g")
    with SandboxHost([PROBES], sandbox=mode, warm_up=True, memory_mb=1024) as host:
        host.ready()
        limits = Limits(**{**LIMITS, "memory_mb": 1024})
        for token in tokens:
            # the token is built at run time (its source holds it reversed): found only in
            # what the submission printed and returned
            answer = f"def f():\n    t = 'SEC' + 'RET-' + {token[::-1]!r}[::-1]\n"
            answer += "    print(t * 50)\n    return [t] * 50\ndef g():\n    return 2\n"
            done = host.run(Submission("student", "student.py", answer, names), [("first", None)], limits)
            assert done.outcomes[("first", None)].ok, done
            assert done.outcomes[("first", None)].data[0].endswith(token) and token in done.output["text"], done
        for _ in range(SPARES + 1):  # the spares forked meanwhile, and a child forked after them
            scan = host.run(Submission("student", "student.py", SCAN_OWN_MEMORY, names), [("first", None)], limits)
            outcome = scan.outcomes[("first", None)]
            assert outcome.ok, outcome.error
            assert not set(outcome.data) & set(tokens), "a submission read what an earlier one printed or returned"


@pytest.mark.parametrize("mode", [m for m in _host_modes() if m != "basic"])
def test_what_the_sandbox_sees_stays_read_only_whatever_its_paths_are_called(mode, tmp_path, monkeypatch):
    """Each folder the sandbox shows of the machine (the interpreter's, the virtual
    environment's, the kit's, each LD_LIBRARY_PATH entry) is bound read-only, also where its
    path is not ASCII or holds a space: a course kept under /home/josé or /home/张伟. The mount
    table lists such a path as it is (only a space, a tab, a newline and a backslash escaped),
    and a bind not found there would stay writable: in user mode, by the grader's own uid."""
    folder = tmp_path / "cours de josé 张伟"
    folder.mkdir()
    folder.chmod(0o777)  # writable by any uid, the sandbox's own included: only the mount stops it
    monkeypatch.setenv("LD_LIBRARY_PATH", str(folder))  # the host binds each of its folders
    planted = folder / "planted.py"
    source = textwrap.dedent(
        f"""
        import os

        def f():
            try:
                with open({str(planted)!r}, "w") as out:
                    out.write("import os  # runs in the grader's next process")
                return "written"
            except OSError as exc:
                return os.strerror(exc.errno)
        """
    )
    with ready_host([PROBES], mode) as host:
        result = host.run(Submission("student", "student.py", source, ("f",)), [("first", None)], Limits(**LIMITS))
    outcome = result.outcomes[("first", None)]
    assert outcome.ok, outcome.error
    assert outcome.data == os.strerror(errno.EROFS)
    assert not planted.exists()
