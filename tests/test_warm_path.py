"""The batch's fixed start and its warm path: judges collected once and run afresh for each
submission, sandbox hosts forked from one preloaded process (the zygote), spare children, the
optimizers' first-use cost taken only where a suite or a submission needs it, and the worker
count. What they cost is for benchmarks/speed.py to say; these check that they change nothing
a grade depends on."""

import json
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from autograder.catalog import Limits, course_at
from autograder.grading import FORK_WORKERS, default_workers, grade_batch
from autograder.sandbox.client import HostFactory, SandboxHost, Submission
from autograder.sandbox.host import SPARES

from conftest import sandbox_children

PROBES = Path(__file__).resolve().parent / "sandbox_probes.py"
LIMITS = Limits(probe_seconds=5, submission_seconds=30, memory_mb=1024)

TOML = """\
id = "tiny"
title = "Tiny"
module = "tiny.py"

[[tasks]]
id = "value"
points = 4
summary = "value() returns a number below 1."
"""

SUITE_PROBES = """
from autograder.contract import Attempt, Float, Record
from autograder.probing import attempt, probe


@probe(task="value", returns=Record(x=Attempt(Float())))
def reported(sub):
    return {"x": attempt(sub.value)}
"""

JUDGES = """
import os

import pytest

from autograder.judging import task, unwrap

def pytest_generate_tests(metafunc):  # pytest calls it for each judge each time it collects this module
    with open(os.environ["TINY_COLLECTED"], "a") as log:
        log.write(metafunc.function.__name__ + "\\n")

SEEN = []  # what earlier submissions' judging left here, if anything leaked


@pytest.fixture
def doubled():
    return 2


@task("value", points=1)
def test_below_one(reported):
    "value is below 1"
    assert unwrap(reported["x"], "value()") < 1, "value() should be below 1"


@task("value", points=1)
def test_nothing_left_from_others(reported):
    "judged afresh"
    SEEN.append(reported["x"])
    assert len(SEEN) == 1, f"judging saw {len(SEEN) - 1} earlier submission(s)"


@task("value", points=1)
def test_fixtures(reported, tmp_path, doubled):
    "pytest's fixtures and the module's own"
    (tmp_path / "x").write_text("x")
    assert doubled == 2 and (tmp_path / "x").read_text() == "x"


@task("value", points=1)
def test_fail_message(reported):
    "pytest.fail's message reaches the student"  # (as the grader's own failure: not an assertion)
    if unwrap(reported["x"], "value()") >= 1:
        pytest.fail("value() is far too large")
"""


def tiny_course(root: Path, judges: str = JUDGES):
    base = root / "assignments" / "01-tiny"
    suite = base / "tests" / "hidden"
    suite.mkdir(parents=True)
    (base / "assignment.toml").write_text(TOML)
    (base / "README.md").write_text("# Tiny\n")
    (suite / "probes.py").write_text(SUITE_PROBES)
    (suite / "test_tiny.py").write_text(judges)
    (root / "solutions" / "01-tiny").mkdir(parents=True)
    solution = "def value():\n    ### BEGIN SOLUTION\n    return 0.5\n    ### END SOLUTION\n"
    (root / "solutions" / "01-tiny" / "tiny.py").write_text(solution)
    return course_at(root)


def test_judges_are_collected_once_and_every_submission_is_judged_afresh(tmp_path, monkeypatch):
    collected = tmp_path / "collected.log"
    monkeypatch.setenv("TINY_COLLECTED", str(collected))
    course = tiny_course(tmp_path / "course")
    assignment = course.get("tiny")
    subs = tmp_path / "subs"
    for i, value in enumerate([0.5, 0.25, 2.0, 0.75, 0.125, 3.0]):
        (subs / f"s{i}").mkdir(parents=True)
        (subs / f"s{i}" / "tiny.py").write_text(f"def value():\n    return {value}\n")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    batch = grade_batch(course, assignment, sorted(subs.iterdir()), tmp_path / "out", workers=2, sandbox=sandbox)
    results = {r.name: r for r in batch.results}
    assert len(results) == 6
    for name in ("s0", "s1", "s3", "s4"):
        assert (results[name].score, results[name].status) == (4, "graded"), [t.message for t in results[name].tests]
    for name in ("s2", "s5"):
        messages = {t.test.title: t.message for t in results[name].tests}
        assert results[name].score == 2, messages
        assert messages["value is below 1"].startswith("value() should be below 1"), messages
        assert "value() is far too large" in messages["pytest.fail's message reaches the student"], messages
    if FORK_WORKERS:  # the batch's process collected the suite; its workers and their judging forks reuse it
        assert sorted(collected.read_text().splitlines()) == [
            "test_below_one",
            "test_fail_message",
            "test_fixtures",
            "test_nothing_left_from_others",
        ]


def grade_values(grader, folder: Path, values: list[float]) -> list[float]:
    """Grade, in order, one tiny submission per value (`def value(): return <value>`): their scores."""
    scores = []
    for i, value in enumerate(values):
        (folder / f"s{i}").mkdir()
        (folder / f"s{i}" / "tiny.py").write_text(f"def value():\n    return {value}\n")
        scores.append(grader.grade(folder / f"s{i}").score)
    return scores


LOGGING_JUDGES = """
import os

import torch

from autograder.judging import task, unwrap

SEEN = []


@task("value", points=4)
def test_below_one(reported):
    "value is below 1"
    with open(os.environ["TINY_JUDGED"], "a") as log:  # which process judged, and what it drew
        log.write(f"{os.getpid()} {torch.rand(1).item()}\\n")
    KEEP  # (replaced: a judge that keeps something of each submission, or one that does not)
    assert unwrap(reported["x"], "value()") < 1, "value() should be below 1"
"""


@pytest.mark.parametrize("keeps", [False, True], ids=["keeps nothing", "keeps a list"])
def test_one_judging_process_judges_submission_after_submission_unless_judging_keeps_something(
    tmp_path, monkeypatch, keeps
):
    """A judging process is kept from one submission to the next while judging leaves nothing
    behind in the suite's modules, each submission drawing from the same random state; a judge
    that keeps something (a list it appends to) gets a fresh process for every submission."""
    from autograder.grading import Grader

    log = tmp_path / "judged.log"
    monkeypatch.setenv("TINY_JUDGED", str(log))
    judges = LOGGING_JUDGES.replace("KEEP", "SEEN.append(reported)" if keeps else "pass")
    assignment = tiny_course(tmp_path / "course", judges).get("tiny")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    with Grader(assignment, sandbox=sandbox, warm_up=True) as grader:
        assert grade_values(grader, tmp_path, [0.5, 2.0, 0.25, 0.75]) == [4, 0, 4, 4]
    judged = [line.split() for line in log.read_text().splitlines()]
    assert len(judged) == 4
    assert len({pid for pid, _ in judged}) == (4 if keeps else 1)
    assert len({drawn for _, drawn in judged}) == 1


SPOILING_PROBES = """
import torch

from autograder.contract import Anything, Attempt, Float, Record
from autograder.probing import attempt, probe


def inputs():
    torch.manual_seed(0)
    x = torch.ones(3)
    return {"x": x, "same_x": x, "layer": torch.nn.Linear(2, 1), "sizes": [1, 2]}


@probe(task="value", given=inputs, returns=Anything())
def reported(sub, given):
    y = torch.full((3,), 2.0)
    return {"x": attempt(sub.value), "y": y, "items": [1, 2], "nested": {"k": (y.clone(), "s")}}
"""

# The first judge changes, in place, everything it was given; the second, run after it in the
# same judging process, must see none of it (each judge gets its own copy; a given tensor held
# twice stays one tensor, as deepcopy keeps it).
SPOILING_JUDGES = """
import torch

from autograder.judging import task


@task("value", points=2)
def test_a_spoils(reported, reported_given):
    "a judge that changes its data"
    reported["y"].add_(100)
    reported["items"].append(3)
    reported["nested"]["k"][0].zero_()
    reported["extra"] = 1
    reported_given["x"].add_(100)
    reported_given["sizes"].append(3)
    with torch.no_grad():
        reported_given["layer"].weight.fill_(7)
    assert reported_given["same_x"] is reported_given["x"], "one tensor twice stays one tensor"


@task("value", points=2)
def test_b_sees_none_of_it(reported, reported_given):
    "a judge after it"
    assert reported["y"].tolist() == [2.0] * 3 and reported["nested"]["k"][0].tolist() == [2.0] * 3, reported
    assert reported["items"] == [1, 2] and "extra" not in reported, reported
    assert reported_given["x"].tolist() == [1.0] * 3 and reported_given["sizes"] == [1, 2], reported_given
    assert reported_given["same_x"] is reported_given["x"], "one tensor twice stays one tensor"
    assert not (reported_given["layer"].weight == 7).any(), reported_given["layer"].weight
"""


def test_what_one_judge_changes_in_its_data_no_other_judge_sees(tmp_path):
    from autograder.grading import Grader

    course = tiny_course(tmp_path / "course", SPOILING_JUDGES)
    (course.root / "assignments" / "01-tiny" / "tests" / "hidden" / "probes.py").write_text(SPOILING_PROBES)
    assignment = course_at(course.root).get("tiny")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    with Grader(assignment, sandbox=sandbox) as grader:
        for submission in range(2):  # the second in the same judging process as the first
            result = grader.grade(_tiny(tmp_path / f"s{submission}", 0.5))
            assert result.score == 4, [t.message for t in result.tests]


def _tiny(folder: Path, value: float) -> Path:
    folder.mkdir()
    (folder / "tiny.py").write_text(f"def value():\n    return {value}\n")
    return folder


CARELESS_HELPER = """
SEEN = []


def record(value):
    SEEN.append(value)
    return len(SEEN)
"""

# Judges a careless instructor could write: each keeps something of a submission where the
# module's globals hold it only indirectly (a closure, a helper imported by name, a reference
# network, a random generator, an array, a deque) and fails when it sees another's.
CARELESS_JUDGES = """
import collections
import random

import numpy as np
import torch

from autograder.judging import task, unwrap
from inputs import record

GENERATOR = torch.Generator().manual_seed(0)
FIRST = torch.rand(3, generator=torch.Generator().manual_seed(0))
REFERENCE = torch.nn.Sequential(torch.nn.Linear(2, 2))
REFERENCE_START = REFERENCE[0].weight.detach().clone()
ARRAY = np.zeros(3)
RNG = random.Random(0)
FIRST_DRAW = random.Random(0).random()
RECENT = collections.deque(maxlen=5)


def _counted():
    calls = []

    def judge(reported):
        "a judge made by a factory"
        calls.append(1)
        assert len(calls) == 1, "a closure kept an earlier submission's call"

    return judge


test_closure = task("value", points=1)(_counted())


@task("value", points=1)
def test_helper(reported):
    "a helper imported by name"
    assert record(reported["x"]) == 1, "a helper kept an earlier submission"


@task("value", points=1)
def test_generator(reported):
    "a torch generator of the module's"
    assert torch.equal(torch.rand(3, generator=GENERATOR), FIRST), "its generator was drawn from before"


@task("value", points=1)
def test_reference(reported):
    "a reference network"
    assert torch.equal(REFERENCE[0].weight, REFERENCE_START), "the reference network was changed before"
    with torch.no_grad():
        REFERENCE[0].weight.fill_(unwrap(reported["x"], "value()"))


@task("value", points=1)
def test_array(reported):
    "a numpy array"
    assert ARRAY.sum() == 0, "the array was changed before"
    ARRAY[0] = 1


@task("value", points=1)
def test_random(reported):
    "a random.Random of the module's"
    assert RNG.random() == FIRST_DRAW, "its generator was drawn from before"


@task("value", points=1)
def test_deque(reported):
    "a deque"
    RECENT.append(reported["x"])
    assert len(RECENT) == 1, "the deque kept an earlier submission"
"""


def test_what_a_careless_judge_keeps_of_a_submission_ends_its_judging_process(tmp_path, monkeypatch):
    """State a judge keeps where the suite's modules hold it only indirectly (a closure, a
    helper imported by name, a reference network, generators, an array, a deque) must not
    reach the next submission judged by the same process: each submission is judged as a
    fresh fork of the grader would judge it."""
    from autograder.grading import Grader

    monkeypatch.setenv("TINY_COLLECTED", os.devnull)
    root = tmp_path / "course"
    assignment = tiny_course(root, CARELESS_JUDGES).get("tiny")
    (Path(assignment.suite_dir("hidden")) / "inputs.py").write_text(CARELESS_HELPER)
    toml = root / "assignments" / "01-tiny" / "assignment.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 7"))
    assignment = course_at(root).get("tiny")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    with Grader(assignment, sandbox=sandbox, warm_up=True) as grader:
        for i, value in enumerate([0.5, 0.25, 0.75]):
            (tmp_path / f"s{i}").mkdir()
            (tmp_path / f"s{i}" / "tiny.py").write_text(f"def value():\n    return {value}\n")
            result = grader.grade(tmp_path / f"s{i}")
            failed = [(t.test.title, t.message) for t in result.tests if t.outcome != "passed"]
            assert failed == [], f"submission {i}"
        assert grader.judges._judging.forks == 3


def _alarm_left(data):
    """A judge's own time limit, left set: SIGALRM in a second, raising."""

    def stop(*_):
        raise TimeoutError("this check took too long")

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(1)


def _thread_left(data):
    import threading

    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()


def _print_options(data):
    import torch

    torch.set_printoptions(precision=1)


def _warnings_made_errors(data):
    import warnings

    warnings.simplefilter("error")


def _folder_changed(data):
    os.chdir("/")


def _environment_changed(data):
    os.environ["BLOCKGRADE_JUDGE_LEFT"] = "1"


def _umask_changed(data):
    os.umask(0o077)


LEFT_BEHIND = [_alarm_left, _thread_left, _print_options, _warnings_made_errors]
LEFT_BEHIND += [_folder_changed, _environment_changed, _umask_changed]


@pytest.mark.parametrize("leave", LEFT_BEHIND, ids=lambda f: f.__name__.strip("_"))
def test_what_an_input_leaves_in_the_judging_process_itself_ends_it(leave):
    """An input that leaves something in the process itself that would change how the next
    is judged (a pending alarm, a thread, print options, warnings filters, the working
    folder, environment or umask) ends the judging process: the next input gets a fresh fork.
    The alarm shows why: left in the process, it goes off in the next input's judging."""
    from autograder import limited

    def judge(data):
        if data == b"first":
            leave(data)
            return "left"
        time.sleep(1.5)  # a judge that takes a while: the alarm would go off here
        import torch

        return [repr(torch.tensor([0.123456])), os.getcwd(), "BLOCKGRADE_JUDGE_LEFT" in os.environ]

    here = os.getcwd()
    server = limited.Server(judge)
    try:
        assert server.run(b"first", seconds=10, memory_mb=256).value == "left"
        second = server.run(b"second", seconds=10, memory_mb=256)
        assert second.ok, second.detail
        assert second.value == [repr(__import__("torch").tensor([0.123456])), here, False]
        assert server.forks == 2
    finally:
        server.close()


SETTINGS_JUDGES = """
from autograder.judging import task, unwrap


class Settings:
    "Named settings, read as attributes (any other name: a KeyError, not an AttributeError)."

    values = {"limit": 1}

    def __getattr__(self, name):
        return self.values[name]


SETTINGS = Settings()


@task("value", points=4)
def test_below_limit(reported):
    "value is below the limit"
    assert unwrap(reported["x"], "value()") < SETTINGS.limit, "value() should be below 1"
"""


NAMED_FOLDER_JUDGES = """
from autograder.judging import task, unwrap


@task("value", points=4)
def test_saved(reported, tmp_path_factory):
    "saved and read back"
    folder = tmp_path_factory.mktemp("models", numbered=False)  # fails if the folder exists
    (folder / "value.txt").write_text(str(unwrap(reported["x"], "value()")))
    assert float((folder / "value.txt").read_text()) < 1, "value() should be below 1"
"""


def test_each_submission_gets_a_base_folder_of_its_own_for_tmp_path(tmp_path, monkeypatch):
    """A judge that makes a folder of a fixed name with tmp_path_factory (numbered=False) finds
    it free for every submission, as it did in a fresh fork, though one process judges them."""
    from autograder.grading import Grader

    monkeypatch.setenv("TINY_COLLECTED", os.devnull)
    assignment = tiny_course(tmp_path / "course", NAMED_FOLDER_JUDGES).get("tiny")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    with Grader(assignment, sandbox=sandbox, warm_up=True) as grader:
        assert grade_values(grader, tmp_path, [0.5, 0.25, 2.0]) == [4, 4, 0]
        assert grader.judges._judging.forks == 1


def test_a_suite_object_that_cannot_be_pictured_does_not_fail_judging(tmp_path, monkeypatch):
    """A judge module may hold an object whose __getattr__ raises a KeyError for names it does
    not know: picturing the suite's state must not make judging fail (every submission would
    get the grader's own failure), and it is judged as a fresh fork would judge it."""
    from autograder import limited
    from autograder.grading import Grader

    monkeypatch.setenv("TINY_COLLECTED", os.devnull)
    assignment = tiny_course(tmp_path / "course", SETTINGS_JUDGES).get("tiny")
    sandbox = "root" if os.geteuid() == 0 else "auto"
    with Grader(assignment, sandbox=sandbox, warm_up=True) as grader:
        assert grade_values(grader, tmp_path, [0.5, 2.0, 0.25]) == [4, 0, 4]
    server = limited.Server(lambda data: os.getpid(), watched=lambda: SETTINGS_JUDGES[len(SETTINGS_JUDGES)])
    answers = [server.run(b"", seconds=5, memory_mb=64) for _ in range(2)]
    assert all(a.ok for a in answers) and answers[0].value != answers[1].value  # a fresh fork each
    server.close()


def running_in(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd").startswith(str(folder)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cgroups_of(pids) -> list[str]:
    """The memory cgroups (v1) the hosts `pids` made for their children and left behind."""
    from autograder.sandbox import cgroups

    try:
        parent = Path(cgroups._mounts()["memory"]) / cgroups._own_cgroups()["memory"].lstrip("/")
        names = [p.name for p in parent.iterdir()]
    except (KeyError, OSError):
        return []
    return [n for n in names if any(n.startswith(f"blockgrade-{pid}-") for pid in pids)]


def submission(source: str) -> Submission:
    return Submission("student", "student.py", textwrap.dedent(source), ("f", "g"))


@pytest.mark.skipif(not FORK_WORKERS, reason="hosts are forked from a zygote on Linux only")
def test_hosts_forked_from_one_zygote_serve_like_hosts_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv("BLOCKGRADE_TEST_SECRET", "do-not-leak")
    factory = HostFactory([PROBES], folder=str(tmp_path))
    try:
        # the second host is told its first request's memory limit: its first children are forked ahead
        hosts = [SandboxHost([PROBES], warm_up=True, factory=factory, memory_mb=m) for m in (None, LIMITS.memory_mb)]
        modes = {host.ready() for host in hosts}
        pids = {host._pid for host in hosts}
        assert len(modes) == 1 and len(pids) == 2
        deadline = time.monotonic() + 5
        while len(sandbox_children(hosts[1]._pid)) < SPARES and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (len(sandbox_children(hosts[0]._pid)), len(sandbox_children(hosts[1]._pid))) == (0, SPARES)
        for round_ in range(3):  # the first child of each host is forked on demand, the next ones ahead
            for i, host in enumerate(hosts):
                source = f"import os\ndef f(): return [{round_}, {i}, sorted(os.environ)]\n"
                source += "def g(): return os.getcwd()\n"
                result = host.run(submission(source), [("first", None), ("second", None)], LIMITS)
                first = result.outcomes[("first", None)].data
                assert first[:2] == [round_, i] and "BLOCKGRADE_TEST_SECRET" not in first[2]
                assert result.outcomes[("second", None)].data != os.getcwd()  # its own private folder
        # a spare child made for another memory limit is not used: a fresh one is forked
        other_limits = LIMITS.replace(memory_mb=512)
        fresh = submission("def f(): return 'fresh'\ndef g(): return 2\n")
        result = hosts[0].run(fresh, [("first", None)], other_limits)
        assert result.outcomes[("first", None)].data == "fresh"
        # a child that crashes hands the rest of the submission to a fresh child
        crashing = submission("import os\ndef f(): os._exit(3)\ndef g(): return 'after'\n")
        result = hosts[0].run(crashing, [("first", None), ("second", None)], LIMITS)
        assert result.outcomes[("first", None)].status == "crashed"
        assert result.outcomes[("second", None)].data == "after"
        hosts[0].close()  # one host ends; the other goes on
        result = hosts[1].run(submission("def f(): return 7\ndef g(): return 8\n"), [("first", None)], LIMITS)
        assert result.outcomes[("first", None)].data == 7
        assert running_in(tmp_path)
    finally:
        factory.close()
    deadline = time.monotonic() + 10
    while running_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running_in(tmp_path)  # the zygote, its hosts and their children are gone
    assert not cgroups_of(pids)  # each host let its spare child go, with its cgroup
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("blockgrade-host-")]


def _zygote_given(folder: Path, init: bytes) -> tuple[int, str]:
    """A zygote started as a batch starts one, sent `init`, then its socket closed (the batch's
    end): its exit status and its host.log."""
    import socket
    import subprocess

    from autograder.sandbox.client import _host_process

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        with open(folder / "host.log", "w+b") as log:
            zygote = _host_process(str(folder), log, "zygote", stdin=theirs, stdout=subprocess.DEVNULL)
            theirs.close()
            ours.sendall(init)
            ours.close()
            code = zygote.wait(timeout=120)
    finally:
        theirs.close()
        ours.close()
    return code, (folder / "host.log").read_text(encoding="utf-8")


@pytest.mark.skipif(not FORK_WORKERS, reason="hosts are forked from a zygote on Linux only")
def test_a_zygote_that_fails_says_why_in_its_log_though_it_skips_the_teardown(tmp_path):
    """The zygote ends with os._exit (no interpreter teardown): what it died of is still in
    host.log, which a worker that gets no host reports, and its exit status says it failed."""
    code, logged = _zygote_given(tmp_path, b"{not an init")  # what no batch sends: it fails before torch
    assert code == 1
    assert "Traceback" in logged and "JSONDecodeError" in logged, logged


@pytest.mark.skipif(not FORK_WORKERS, reason="hosts are forked from a zygote on Linux only")
def test_what_a_zygote_printed_reaches_its_log_though_it_skips_the_teardown(tmp_path):
    """A stray print in the zygote (a probe file's, at import) goes to host.log, not to the
    protocol, and is still there once the zygote has ended without the interpreter's teardown."""
    loud = tmp_path / "loud_probes.py"
    loud.write_text('print("a probe file says hello")\n')
    code, logged = _zygote_given(tmp_path, json.dumps({"probe_files": [str(loud)], "sandbox": "auto"}).encode())
    assert code == 0
    assert "a probe file says hello" in logged, logged


def test_a_host_for_many_submissions_warms_the_optimizers_up_only_when_asked_for():
    """The optimizers' first step (it imports torch._dynamo) is taken once by the host, before
    the child of the first submission that names `optim`, and never for one that does not."""
    source = "import sys\n{}def f(): return 'torch._dynamo' in sys.modules\ndef g(): return 1\n"
    with SandboxHost([PROBES], warm_up=True) as host:
        plain = host.run(submission(source.format("")), [("first", None)], LIMITS)
        named = host.run(submission(source.format("from torch import optim\n")), [("first", None)], LIMITS)
        after = host.run(submission(source.format("")), [("first", None)], LIMITS)
        pid = host._proc.pid
    assert not cgroups_of([pid])  # closed, the host let its spare child go, with its cgroup
    assert plain.outcomes[("first", None)].data is False
    assert named.outcomes[("first", None)].data is True
    assert after.outcomes[("first", None)].data is True  # taken once, kept
    with SandboxHost([PROBES]) as host:  # one submission (a check): its child would pay the same
        alone = host.run(submission(source.format("from torch import optim\n")), [("first", None)], LIMITS)
    assert alone.outcomes[("first", None)].data is False


def _huge_page_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("AnonHugePages:"))


def _kernel_collapses() -> bool:
    """Whether this kernel backs a process's memory with huge pages when asked (MADV_COLLAPSE,
    Linux 6.1+), and only then (the setting is "madvise"): tried on a small mapping of this
    test's own."""
    import ctypes
    import mmap

    from autograder.sandbox import isolation

    if isolation._LIBC is None or isolation._huge_pages_turned_off():  # "never": the grader asks for none
        return False
    try:
        with open(isolation.THP_SETTING) as f:
            if "[always]" in f.read():  # every process gets huge pages anyway: a host that asked is no different
                return False
    except OSError:
        pass
    region = mmap.mmap(-1, 2 * isolation.HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        region.write(b"x" * len(region))
        address = ctypes.addressof(ctypes.c_char.from_buffer(region))
        start = -(-address // isolation.HUGE_PAGE) * isolation.HUGE_PAGE
        madvise = isolation._LIBC.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        end = address + len(region)
        return end - start >= isolation.HUGE_PAGE and madvise(start, isolation.HUGE_PAGE, isolation.MADV_COLLAPSE) == 0
    finally:
        del address
        region.close()


HUGE_PAGES_SKIP = "huge pages come here only on request (MADV_COLLAPSE, Linux 6.1+) where the setting is madvise"


@pytest.mark.skipif(not _kernel_collapses(), reason=HUGE_PAGES_SKIP)
def test_a_host_for_a_large_batch_forks_its_children_from_huge_pages():
    """Asked to (a large batch), the host backs its memory with huge pages before it forks
    anything; its children run the same submissions to the same results, and the memory limit
    holds for them as for any child (a child copies only what it writes)."""
    source = "def f(): return list(range(5))\ndef g():\n    return len(bytearray({size}))\n"
    with SandboxHost([PROBES], warm_up=True, huge_pages=True) as huge, SandboxHost([PROBES], warm_up=True) as plain:
        huge.ready(), plain.ready()
        assert _huge_page_bytes(huge._proc.pid) - _huge_page_bytes(plain._proc.pid) >= 64 << 20
        for host in (huge, plain):
            small = host.run(submission(source.format(size=10)), [("first", None), ("second", None)], LIMITS)
            assert small.outcomes[("first", None)].data == [0, 1, 2, 3, 4]
            assert small.outcomes[("second", None)].data == 10
            over = host.run(submission(source.format(size=2 * LIMITS.memory_mb << 20)), [("second", None)], LIMITS)
            assert not over.outcomes[("second", None)].ok  # (a MemoryError: the limit holds)


def test_huge_pages_the_administrator_turned_off_stay_off(tmp_path, monkeypatch):
    """MADV_COLLAPSE ignores the machine's transparent-huge-page setting: its "never" is read
    by the grader, which then collapses nothing (where the kernel would have, asked)."""
    from autograder.sandbox import isolation

    setting = tmp_path / "enabled"
    setting.write_text("always madvise [never]\n")  # the setting's own format, "never" chosen
    monkeypatch.setattr(isolation, "THP_SETTING", str(setting))
    assert isolation.collapse_huge_pages() == 0


@pytest.mark.skipif(not FORK_WORKERS, reason="hosts are forked from a zygote on Linux only")
@pytest.mark.skipif(not _kernel_collapses(), reason=HUGE_PAGES_SKIP)
@pytest.mark.parametrize("large", [False, True], ids=["small batch", "large batch"])
def test_a_large_batch_and_only_a_large_one_forks_its_hosts_from_huge_pages(tmp_path, monkeypatch, large):
    import autograder.grading

    monkeypatch.setenv("TINY_COLLECTED", os.devnull)
    monkeypatch.setattr(autograder.grading, "HUGE_PAGES_FROM", 3 if large else 4)  # a batch of 3 is "large" or not
    course = tiny_course(tmp_path / "course")
    for i in range(3):
        (tmp_path / "subs" / f"s{i}").mkdir(parents=True)
        (tmp_path / "subs" / f"s{i}" / "tiny.py").write_text("def value():\n    return 0.5\n")
    seen = []

    def zygote_pages(result) -> None:  # while the batch runs: its zygote is this process's child
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    words = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == os.getpid() and b"zygote" in words:
                seen.append(_huge_page_bytes(pid))

    sandbox = "root" if os.geteuid() == 0 else "auto"
    batch = grade_batch(
        course,
        course.get("tiny"),
        sorted((tmp_path / "subs").iterdir()),
        tmp_path / "out",
        workers=2,
        sandbox=sandbox,
        on_result=zygote_pages,
    )
    assert [r.score for r in batch.results] == [4, 4, 4]
    assert len(seen) == 3
    if large:
        assert min(seen) >= 64 << 20
    else:
        assert max(seen) < 64 << 20


def test_the_worker_count_pays_for_itself():
    assert default_workers(1, cores=8) == 1
    assert default_workers(400, cores=1) == 1
    assert default_workers(400, cores=2) == 2 and default_workers(400, cores=8) == 8
    counts = [default_workers(n, cores=4) for n in range(1, 60)]
    assert counts == sorted(counts) and max(counts) == 4
    assert default_workers(2, cores=2) == 1  # a second worker's start costs more than a submission


def test_a_failure_inside_the_host_reaches_the_grader_as_a_note():
    """The host answers a request it cannot run (here: limits without an output cap) with an
    internal error, and the grader gets it as the run's `internal` note, not as an exception."""
    import types

    limits = types.SimpleNamespace(**{k: v for k, v in LIMITS.__dict__.items() if k != "output_kb"})
    with SandboxHost([PROBES]) as host:
        broken = host.run(submission("def f(): return 1\ndef g(): return 2\n"), [("first", None)], limits)
        assert broken.internal and "output_kb" in broken.internal
        after = host.run(submission("def f(): return 1\ndef g(): return 2\n"), [("first", None)], LIMITS)
    assert after.outcomes[("first", None)].data == 1


def _ended(pid: int) -> bool:
    """Whether the child `pid` has ended (a zombie, or reaped already)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


KEPT: list = []  # what a served function leaves behind in this module, for `watched`


def test_a_judging_process_serves_input_after_input_as_a_fresh_fork_would():
    """`limited.Server` keeps its fork for one input after another, each under limits of its own
    and starting from the random state a fresh fork has; after an input
    that fails, overruns or changes what its owner watches, the next gets a fresh fork."""
    import random
    import signal

    from autograder import limited

    server = limited.Server(lambda data: [data.decode()[::-1], random.random(), os.getpid()])
    answers = [server.run(b"abc", seconds=5, memory_mb=64).value for _ in range(4)]
    assert {a[0] for a in answers} == {"cba"}
    assert len({a[2] for a in answers}) == 1 and server.forks == 1  # one process served all four
    assert len({a[1] for a in answers}) == 1  # each input drew from the same random state

    def forever(data):
        while data != b"stop":
            pass
        return os.getpid()

    looping = limited.Server(forever)
    assert looping.run(b"", seconds=1, memory_mb=64).status == limited.TIMED_OUT
    assert looping.run(b"stop", seconds=5, memory_mb=64).ok and looping.forks == 2  # a fresh fork

    def hog(data):
        if data == b"hog":
            blocks = []
            while True:
                blocks.append(bytearray(64 * 2**20))
        return "fine"

    hungry = limited.Server(hog)
    assert hungry.run(b"hog", seconds=20, memory_mb=128).status == limited.OUT_OF_MEMORY
    assert hungry.run(b"", seconds=5, memory_mb=128).value == "fine"

    def burn(data):  # 1.1 s of CPU each: four of them exceed a limit counted from the fork's start
        end = time.process_time() + 1.1
        while time.process_time() < end:
            pass
        return os.getpid()

    busy = limited.Server(burn)
    # (2.5 s of wall time for 1.1 s of CPU: room for a machine that others share)
    pids = {busy.run(b"", seconds=2.5, memory_mb=64).value for _ in range(4)}
    assert len(pids) == 1 and None not in pids  # each input's CPU limit counts from where it starts

    def keep(data):
        KEPT.append(data)
        return len(KEPT)

    stateful = limited.Server(keep, watched=lambda: len(KEPT))
    assert [stateful.run(b"x", seconds=5, memory_mb=64).value for _ in range(3)] == [1, 1, 1]
    assert stateful.forks == 3  # what an input left behind ended its process

    gone = limited.Server(lambda data: len(data))
    gone.start()
    os.kill(gone._pid, signal.SIGKILL)
    time.sleep(0.2)
    assert gone.run(b"four", seconds=5, memory_mb=64).value == 4  # killed while it waited: replaced
    idle = limited.Server(lambda data: None)
    idle.start()
    pid = idle._pid
    idle.close()
    assert _ended(pid), "a judging process let go did not end"
    for each in (server, looping, hungry, busy, stateful, gone):
        each.close()  # (a child left waiting would outlive this test as a child of this process)


HELD = """
import functools

import numpy
import torch

COUNT = 0
SEEN = []
BY_NAME = {"a": [1]}
NESTED = {"x": {"y": [1, 2]}}
WEIGHTS = torch.zeros(3)
TABLE = numpy.zeros(3)


@functools.lru_cache(maxsize=None)
def cached(n):
    return n * 2


def defaults(x, memo={}):
    return memo


class Holder:
    kept = []


def reads_only():
    return COUNT + len(SEEN) + BY_NAME["a"][0] + NESTED["x"]["y"][0] + float(WEIGHTS.sum()) + float(TABLE.sum())
"""

CHANGES = {
    "a counter rebound": "global COUNT; COUNT += 1",
    "a list appended to": "SEEN.append(1)",
    "a value inside a dict changed in place": "BY_NAME['a'].append(2)",
    "three levels down": "NESTED['x']['y'][0] = 5",
    "a tensor changed in place": "WEIGHTS.add_(1)",
    "an array changed in place": "TABLE[0] = 1",
    "a cache filled": "cached(3)",
    "a default argument filled": "defaults(0)['k'] = 1",
    "a class attribute": "Holder.kept.append(1)",
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_the_suite_state_notices_what_a_judge_leaves_behind(change):
    """`JudgeSuite._suite_state` pictures the suite's modules: reading them leaves the picture as
    it was; each way a judge can keep something of a submission in them changes it (and so ends
    the judging process: see the test above)."""
    import types

    from autograder.judge_runner import _SHAPE_DEPTH, _shape

    module = types.ModuleType("judges_under_test")
    exec(HELD, module.__dict__)
    own = frozenset({module.__name__})

    def picture():
        return [(n, _shape(v, _SHAPE_DEPTH, own)) for n, v in vars(module).items() if not n.startswith("__")]

    before = picture()
    module.reads_only()
    assert picture() == before
    exec("def judge():\n    " + CHANGES[change] + "\njudge()\n", module.__dict__)
    del module.__dict__["judge"]
    assert picture() != before


def test_a_picture_of_a_suite_holding_a_huge_structure_gives_up_within_its_budget():
    """A module-level structure of a million values would cost every submission a fifth of a
    second to picture: past `_PICTURE_VALUES` the picture fails (and the judging process then
    judges one submission only, as `test_a_suite_object_that_cannot_be_pictured...` shows)."""
    from autograder.judge_runner import _PICTURE_VALUES, _SHAPE_DEPTH, PictureTooLarge, _Budget, _shape

    huge = [list(range(1000)) for _ in range(1000)]
    budget = _Budget()
    with pytest.raises(PictureTooLarge):
        _shape(huge, _SHAPE_DEPTH, frozenset(), budget)
    assert -1 <= budget.left < 0  # it stopped as soon as the budget was spent
    small = _Budget()
    _shape([[1, 2]] * 100, _SHAPE_DEPTH, frozenset(), small)
    assert small.left == _PICTURE_VALUES - 301


def test_the_cli_starts_without_torch():
    """A batch starts the sandbox's zygote (which imports torch) before its own process imports
    torch to collect the judges, so that the two imports run side by side: importing the CLI
    and the grading path must not import torch already (one module importing it at its top made
    them follow one another: a batch of 20 took 1.5 s longer)."""
    import subprocess
    import sys

    code = "import sys, autograder.cli, autograder.grading, autograder.judge_runner; print('torch' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
