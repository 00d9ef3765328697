"""Visible tests of assignment 6 (devices): `blockgrade check` runs these on your devices.py.

They are a subset of what grading runs (grading also pretends to have GPUs, and checks ties,
forward passes, safety and host copies). The checks marked [cuda:0] run on your GPU, or on a
machine without one on a stand-in for it: `blockgrade check` says which.
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
    device = move_model["device"]
    got = unwrap(move_model["devices"], f"move_model(net, {device!r})")
    assert got == [device], f"after move_model(net, {device!r}) the parameters and buffers are on {got}: all must move"


@task("load_to")
def test_load_to(load_to):
    "load_to loads tests/data/gpu_params.pt (saved on cuda:0) onto the CPU"
    keys = unwrap(load_to, "load_to('gpu_params.pt', cpu)")
    assert isinstance(keys, list) and "1.running_mean" in keys, f"load_to returned {describe(keys)}, not the state_dict"


@task("norms_on_device")
def test_norms(norms, norms_given):
    "norms_on_device gives the Frobenius norms of A @ A as a 1-D CPU tensor"
    call = f"norms_on_device([[[1, 2], [0, 1]], 2I], {norms['device']!r})"
    got = unwrap(norms["result"], call)
    expected = torch.stack([torch.linalg.matrix_norm(A @ A) for A in norms_given["mats"]])
    assert isinstance(got, dict), f"{call} returned {describe(got)}, expected a 1-D tensor"
    assert isinstance(got["norms"], torch.Tensor) and got["norms"].dim() == 1, (
        f"{call} returned {describe(got['norms'])}, expected a 1-D tensor"
    )
    assert_close(got["norms"], expected, f"{call}: the norms", rtol=1e-5, atol=1e-5)
    assert got["device"] == "cpu", f"{call} returned a tensor on {got['device']}: copy the norms to the host at the end"
