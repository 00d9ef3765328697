"""Visible tests of assignment 6 (devices): `blockgrade check` runs these on your devices.py.

They are a subset of what grading runs (grading also pretends to have GPUs, runs on every
device the runner has, and checks ties, forward passes, safety and host copies).
"""

import torch

from autograder.judging import task, unwrap
from autograder.wire import MetaTensor


@task("num_gpus")
def test_gpus(devices):
    "num_gpus, try_gpu and try_all_gpus agree with this machine"
    count = devices["count"]
    assert unwrap(devices["num_gpus"], "num_gpus()") == count, f"this machine has {count} GPU(s)"
    expected = torch.device("cuda:0") if count else torch.device("cpu")
    assert unwrap(devices["try_gpu"], "try_gpu()") == expected, f"try_gpu() should be {expected}"
    everything = [torch.device(f"cuda:{i}") for i in range(count)] or [torch.device("cpu")]
    assert unwrap(devices["try_all_gpus"], "try_all_gpus()") == everything, f"try_all_gpus() should be {everything}"


@task("to_device")
def test_to_device(devices):
    "to_device moves nested tensors (here to the meta device) and keeps the rest"
    got = unwrap(devices["to_device"], "to_device(obj, 'meta')")
    assert isinstance(got["x"], MetaTensor), "obj['x'] did not move"
    assert isinstance(got["pair"], tuple) and isinstance(got["pair"][0], MetaTensor), "the tuple should stay a tuple"
    assert got["pair"][1] == "keep", "values that are not tensors stay as they are"


@task("move_model")
def test_move_model(devices):
    "move_model moves parameters and buffers"
    assert unwrap(devices["move_model"], "move_model(net, 'meta')") == ["meta"], "every parameter and buffer must move"


@task("load_to")
def test_load_to(devices):
    "load_to loads tests/data/gpu_params.pt (saved on cuda:0) onto the CPU"
    keys = unwrap(devices["load_to"], "load_to('gpu_params.pt', cpu)")
    assert "1.running_mean" in keys, f"the state_dict's keys are {keys}"


@task("norms_on_device")
def test_norms(devices):
    "norms_on_device gives the Frobenius norms of A @ A as a 1-D tensor"
    got = unwrap(devices["norms"], "norms_on_device([I, 2I], cpu)")
    assert torch.allclose(got, torch.tensor([2**0.5, 4 * 3**0.5])), f"expected [1.4142, 6.9282], got {got}"
