"""Visible tests of assignment 6 (devices): `blockgrade check` runs these on your devices.py.

They are a subset of what grading runs (grading also pretends to have GPUs, runs on every
device the runner has, and checks ties, forward passes, safety and host copies).
"""

import torch

from autograder.judging import assert_close, describe, task, unwrap
from autograder.wire import MetaTensor


@task("num_gpus")
def test_gpus(gpus):
    "num_gpus, try_gpu and try_all_gpus agree with this machine"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    got = unwrap(gpus["num_gpus"], "num_gpus()")
    assert type(got) is int and got == count, f"this machine has {count} GPU(s), num_gpus() returned {describe(got)}"
    expected = torch.device("cuda:0") if count else torch.device("cpu")
    got = unwrap(gpus["try_gpu"], "try_gpu()")
    assert isinstance(got, torch.device) and got == expected, f"try_gpu() should be {expected}, not {describe(got)}"
    everything = [torch.device(f"cuda:{i}") for i in range(count)] or [torch.device("cpu")]
    got = unwrap(gpus["try_all_gpus"], "try_all_gpus()")
    assert isinstance(got, list) and len(got) == len(everything), f"try_all_gpus() should be {everything}"
    assert all(isinstance(g, torch.device) and g == e for g, e in zip(got, everything)), (
        f"try_all_gpus() should be {everything}"
    )


@task("to_device")
def test_to_device(to_device, to_device_given):
    "to_device moves nested tensors (here to the meta device) and keeps the rest"
    got = unwrap(to_device, "to_device(obj, 'meta')")
    obj = to_device_given["obj"]
    assert isinstance(got, dict) and set(got) == set(obj), f"to_device(obj, 'meta') returned {describe(got)}"
    assert isinstance(got["x"], MetaTensor) and got["x"].shape == tuple(obj["x"].shape), "obj['x'] did not move"
    assert isinstance(got["pair"], tuple) and len(got["pair"]) == 2, "the tuple should stay a tuple"
    assert isinstance(got["pair"][0], MetaTensor), "obj['pair'][0] did not move"
    assert type(got["pair"][1]) is str and got["pair"][1] == "keep", "values that are not tensors stay as they are"


@task("move_model")
def test_move_model(move_model):
    "move_model moves parameters and buffers"
    assert unwrap(move_model, "move_model(net, 'meta')") == ["meta"], "every parameter and buffer must move"


@task("load_to")
def test_load_to(load_to):
    "load_to loads tests/data/gpu_params.pt (saved on cuda:0) onto the CPU"
    keys = unwrap(load_to, "load_to('gpu_params.pt', cpu)")
    assert isinstance(keys, list) and "1.running_mean" in keys, f"load_to returned {describe(keys)}, not the state_dict"


@task("norms_on_device")
def test_norms(norms, norms_given):
    "norms_on_device gives the Frobenius norms of A @ A as a 1-D tensor"
    got = unwrap(norms, "norms_on_device([I, 2I], cpu)")
    expected = torch.stack([torch.linalg.matrix_norm(A @ A) for A in norms_given["mats"]])
    assert isinstance(got, torch.Tensor) and got.dim() == 1, f"expected a 1-D tensor, got {describe(got)}"
    assert_close(got, expected, "the norms", rtol=1e-5, atol=1e-5)
