"""The stand-in GPU (`autograder.standin`): on a runner without a GPU the `cuda:0` checks run on
it, so forgetting `.to(device)`, `device=` or the final `.cpu()` loses the points it would lose
on a GPU, while legitimate code keeps them; values stay real.

The first part drives the stand-in in this process (installed for the module, removed after);
the second grades a small course through the sandbox, as a CPU-only runner would."""

import io
import textwrap

import pytest
import torch
from torch import nn

from autograder import standin
from autograder.catalog import course_at
from autograder.grading import Grader
from autograder.judge_runner import JudgeSuite, available_devices, device_share

CUDA = torch.device("cuda:0")
MIXED = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"


@pytest.fixture
def active():
    standin.install()
    try:
        with standin.active():
            yield
    finally:
        standin.uninstall()


# ---------------------------------------------------------------------- in this process


def test_moves_tag_tensors_and_keep_their_values(active):
    x = torch.arange(6.0).reshape(2, 3)
    on = x.to(CUDA)
    assert on.device == CUDA and on.is_cuda and on.get_device() == 0
    assert torch.ones(2, device="cuda").device == CUDA and torch.zeros(1).cuda().device == CUDA
    assert (on * 2 + 1).device == CUDA  # results live where their inputs do
    back = (on * 2).cpu()
    assert back.device.type == "cpu" and not standin.on_stand_in(back)
    assert torch.equal(back, x * 2)  # real values: a judge compares numbers
    assert on.to("cuda") is on and on.to(CUDA).to(CUDA) is on  # no-op moves are no-ops
    assert on.cpu() is not on and on.cpu().data_ptr() != on.data_ptr()  # a copy, as a transfer is
    assert x.device.type == "cpu"  # the original stays where it was
    assert torch.cuda.is_available() and torch.cuda.device_count() == 1
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        x.to("cuda:1")


def test_mixing_devices_raises_cuda_error(active):
    on = torch.ones(3, device=CUDA)
    for mix in (lambda: on + torch.ones(3), lambda: torch.cat([on, torch.ones(3)]), lambda: torch.ones(3) @ on):
        with pytest.raises(RuntimeError) as raised:
            mix()
        assert str(raised.value) == MIXED
    assert (on * torch.tensor(2.0)).device == CUDA  # a CPU scalar tensor is fine, as on CUDA
    host = torch.zeros(3)
    host[0] = on.sum()  # copies across devices are allowed
    host.copy_(on)
    assert torch.equal(host, torch.ones(3))
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        on.numpy()


def test_legitimate_moves_keep_working(active):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 4), nn.Linear(4, 4))
    net[3].weight = net[2].weight  # tied across distinct modules
    weight = net[0].weight
    net.to(CUDA)
    assert net[0].weight is weight and net[2].weight is net[3].weight  # Module.to keeps identities
    assert {t.device for t in [*net.parameters(), *net.buffers()]} == {CUDA}
    X = torch.rand(5, 3, device=CUDA)
    loss = net(X).sum()
    loss.backward()
    optimizer = torch.optim.Adam(net.parameters())
    optimizer.step()
    assert weight.grad.device == CUDA and weight.device == CUDA
    by_hand = nn.Linear(3, 2)
    for p in by_hand.parameters():
        p.data = p.data.to(CUDA)  # the book's way
    assert by_hand(X).device == CUDA
    A = torch.randn(3, 3, device=CUDA)
    for value in (torch.linalg.matrix_norm(A @ A), torch.linalg.matrix_power(A, 2), torch.linalg.inv(A)):
        assert value.device == CUDA
    assert torch.allclose(torch.linalg.matrix_power(A, 2).cpu(), A.cpu() @ A.cpu())
    lazy = nn.Sequential(nn.LazyLinear(2)).to(CUDA)
    assert lazy(X).device == CUDA and lazy[0].weight.device == CUDA
    assert "device='cuda:0'" in repr(A)


def test_forgotten_moves_fail_as_on_a_gpu(active):
    X = torch.rand(5, 3, device=CUDA)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    for p in net.parameters():
        p.data = p.data.to(CUDA)  # the buffers stay behind
    with pytest.raises(RuntimeError, match="same device"):
        net(X)

    class PlainAttribute(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 3)
            self.weight = torch.rand(3, 3)  # not a buffer: .to() leaves it

        def forward(self, X):
            return self.linear(X) @ self.weight

    with pytest.raises(RuntimeError, match="same device"):
        PlainAttribute().to(CUDA)(X)
    with pytest.raises(RuntimeError, match="same device"):
        nn.Linear(3, 2)(X)  # a model never moved


def test_save_and_load_keep_the_stand_in_device(active):
    state = nn.Linear(2, 2).to(CUDA).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    for where, expected in ((None, CUDA), ("cpu", torch.device("cpu")), (CUDA, CUDA)):
        buffer.seek(0)
        loaded = torch.load(buffer, map_location=where, weights_only=True)
        assert {v.device for v in loaded.values()} == {expected}
        assert all(torch.equal(loaded[k].cpu(), state[k].cpu()) for k in state)
    host = io.BytesIO()
    torch.save({"w": torch.ones(2)}, host)
    host.seek(0)
    assert torch.load(host, map_location="cuda", weights_only=True)["w"].device == CUDA


def test_outside_active_torch_is_itself():
    standin.install()
    try:
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        with standin.active():
            assert torch.cuda.device_count() == 1
        assert torch.cuda.is_available() == (gpus > 0)  # installed, not active: torch's own answers
        plain = torch.ones(2)
        if gpus == 0:
            with pytest.raises((AssertionError, RuntimeError), match="CUDA"):
                plain.to("cuda")
    finally:
        standin.uninstall()
    assert not hasattr(torch.load, "__wrapped__") and torch.load is torch.serialization.load


# ---------------------------------------------------------------- judge items and points


def test_device_share_gives_the_cpu_half_and_the_gpus_the_other():
    assert device_share(None, 0) == device_share(None, 2) == 1.0
    assert device_share("cpu", 0) == 1.0
    assert device_share("cpu", 1) == device_share("cuda:0", 1) == 0.5
    assert device_share("cpu", 2) == 0.5 and device_share("cuda:1", 2) == 0.25


# ------------------------------------------------------------------ through the sandbox

TOML = """\
id = "tiny"
title = "Tiny"
module = "tiny.py"

[[tasks]]
id = "affine"
points = 2
summary = "affine(X, W, device): X @ W computed on device, returned on the CPU."
"""

PROBES = """
import torch

from autograder.contract import Attempt, Record, Str, Tensor
from autograder.probing import attempt, probe


def affine_given():
    return {"X": torch.rand(3, 4), "W": torch.rand(4, 2)}


@probe(task="affine", given=affine_given, returns=Record(Y=Attempt(Tensor()), where=Str(), device=Str()))
def affine(sub, device, given):
    W = given["W"].to(device)  # the weights are on the device already; X is not
    Y = attempt(sub.affine, given["X"], W, device)
    where = str(Y["value"].device) if "value" in Y and isinstance(Y["value"], torch.Tensor) else "-"
    return {"Y": Y, "where": where, "device": str(device)}
"""

JUDGES = """
from autograder.judging import assert_close, task, unwrap


@task("affine", points=2)
def test_affine(affine, affine_given):
    "X @ W, on the CPU"
    Y = unwrap(affine["Y"], "affine(X, W, device)")
    assert_close(Y, affine_given["X"] @ affine_given["W"], "affine's result")
    assert affine["where"] == "cpu", f"the result is on {affine['where']}: copy it to the host"
"""

SUBMISSIONS = {
    "right": "def affine(X, W, device):\n    return (X.to(device) @ W).cpu()\n",
    "redundant": "def affine(X, W, device):\n    return (X.to(device).to(device) @ W.to(device)).to(device).cpu()\n",
    "no-move": "def affine(X, W, device):\n    return (X @ W).cpu()\n",
    "no-copy": "def affine(X, W, device):\n    return X.to(device) @ W\n",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin-course")
    folder = root / "assignments" / "01-tiny"
    (folder / "tests" / "hidden").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML)
    (folder / "README.md").write_text("# Tiny\n")
    (folder / "tests" / "hidden" / "probes.py").write_text(textwrap.dedent(PROBES))
    (folder / "tests" / "hidden" / "test_tiny.py").write_text(textwrap.dedent(JUDGES))
    (root / "solutions" / "01-tiny").mkdir(parents=True)
    (root / "solutions" / "01-tiny" / "tiny.py").write_text(SUBMISSIONS["right"])
    subs = {}
    for name, source in SUBMISSIONS.items():
        (root / "subs" / name).mkdir(parents=True)
        (root / "subs" / name / "tiny.py").write_text(source)
        subs[name] = root / "subs" / name
    return course_at(root).get("tiny"), subs


@pytest.fixture(scope="module")
def graded(tiny):
    assignment, subs = tiny
    with Grader(assignment, "hidden", devices=["cpu"]) as grader:
        return {name: grader.grade(path) for name, path in subs.items()}


def test_a_cpu_only_runner_judges_cuda_on_the_stand_in(tiny):
    assignment, _ = tiny
    suite = JudgeSuite(assignment, "hidden", devices=["cpu"])
    assert suite.stand_in == {"cuda:0"}
    assert [(t.device, t.runs, t.stand_in, t.points) for t in suite.tests] == [
        ("cpu", True, False, 1.0),
        ("cuda:0", True, True, 1.0),
    ]
    with_gpu = JudgeSuite(assignment, "hidden", devices=["cpu", "cuda:0"])  # the real device, no stand-in
    assert not with_gpu.stand_in and [t.points for t in with_gpu.tests] == [1.0, 1.0]
    assert not any(t.stand_in for t in with_gpu.tests)
    here = JudgeSuite(assignment, "hidden")  # this runner: its real GPU if it has one, else the stand-in
    gpus = [d for d in available_devices() if d != "cpu"]
    assert here.stand_in == (set() if gpus else {"cuda:0"}) and set(gpus) <= here.devices_present
    without = JudgeSuite(assignment, "hidden", devices=["cpu"], stand_in=False)
    assert [(t.device, t.runs, t.points) for t in without.tests] == [("cpu", True, 2.0), ("cuda:0", False, 0.0)]


def test_correct_code_keeps_full_marks_and_the_feedback_says_a_stand_in_ran(graded):
    for name in ("right", "redundant"):
        result = graded[name]
        assert (result.score, result.max_score) == (2, 2), [(t.test.name, t.message) for t in result.tests]
        assert any("stand-in" in note for note in result.notes)
        assert len([n for n in result.notes if "stand-in" in n]) == 1  # a note, not one per test


def test_forgetting_a_move_loses_the_gpu_half(graded):
    no_move = {t.test.device: t for t in graded["no-move"].tests}
    assert no_move["cpu"].outcome == "passed"
    assert no_move["cuda:0"].outcome == "failed" and MIXED in no_move["cuda:0"].message
    no_copy = {t.test.device: t for t in graded["no-copy"].tests}
    assert no_copy["cpu"].outcome == "passed"
    assert no_copy["cuda:0"].outcome == "failed" and "the result is on cuda:0" in no_copy["cuda:0"].message
    assert graded["no-move"].score == graded["no-copy"].score == 1
