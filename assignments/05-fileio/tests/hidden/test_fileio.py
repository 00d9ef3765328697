"""Hidden judges of assignment 5 (fileio). They run in the grader on the probes' plain data.

The grader never opens a file a student's code wrote: the probes read them in the sandbox and
hand back tensors and facts. Expected values are rebuilt here (the samples and the GPU fixture
follow fixed recipes; the models' architectures are known).
"""

import torch
from torch import nn

from autograder.judging import assert_close, describe, task, unwrap


def samples():
    grid = torch.arange(12.0).reshape(3, 4) / 7
    return {
        "tensor": grid,
        "integers": torch.arange(5, dtype=torch.int64) - 2,
        "list": [grid[0], torch.arange(3, dtype=torch.int32)],
        "tuple": (grid.T.contiguous(), torch.tensor([True, False, True])),
        "dict": {"weight": grid * 3, "step": torch.tensor(7), "half": torch.ones(2, dtype=torch.bfloat16)},
    }


def model():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def gpu_state():
    """The values of the committed fixture data/gpu_params.pt (see data/make_gpu_fixture.py)."""
    state = {}
    for key, value in model().state_dict().items():
        if value.dim() == 0:
            state[key] = torch.tensor(5)
        else:
            state[key] = torch.arange(value.numel(), dtype=value.dtype).reshape(value.shape) * 0.01
    return state


def same_structure(got, expected, where):
    """Exact equality of values, dtypes, shapes and container types."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, torch.Tensor), f"{where} came back as {describe(got)}, expected a tensor"
        assert got.dtype == expected.dtype, f"{where} came back as {got.dtype}, expected {expected.dtype}"
        assert tuple(got.shape) == tuple(expected.shape), f"{where} came back with shape {tuple(got.shape)}"
        assert torch.equal(got, expected), f"{where} came back with different values"
        return
    assert type(got) is type(expected), (
        f"{where} came back as a {type(got).__name__}, expected a {type(expected).__name__}: the container type must survive"
    )
    if isinstance(expected, dict):  # the keys must survive; their order is not part of the contract
        assert sorted(got) == sorted(expected), (
            f"{where} came back with keys {sorted(got)}, expected {sorted(expected)}"
        )
        for key in expected:
            same_structure(got[key], expected[key], f"{where}[{key!r}]")
    else:
        assert len(got) == len(expected), f"{where} came back with {len(got)} items, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected)):
            same_structure(a, b, f"{where}[{i}]")


def same_state(got, expected, what):
    assert sorted(got) == sorted(expected), f"{what}: the keys are {sorted(got)}, expected {sorted(expected)}"
    for key in expected:
        assert_close(got[key].cpu(), expected[key].cpu(), f"{what}: {key}", rtol=0, atol=0)


# ---------------------------------------------------------------- save_tensors / load_tensors


def check_roundtrip(data, name):
    entry = data[name]
    unwrap(entry["saved"], f"save_tensors({name} sample, path)")
    loaded = unwrap(entry["loaded"], "load_tensors(path)")
    same_structure(loaded, samples()[name], f"a saved {name}")


@task("save_tensors", points=2)
def test_tensors_and_dicts_roundtrip(tensor_roundtrips):
    "a tensor and a dict of tensors round-trip exactly (values, dtype, shape)"
    for name in ("tensor", "integers", "dict"):
        check_roundtrip(tensor_roundtrips, name)
    assert tensor_roundtrips["dict"]["plain_file"], (
        "the file written by save_tensors holds pickled objects: neither torch.load(path, weights_only=True) "
        "nor safetensors can read it"
    )


@task("save_tensors", points=1)
def test_lists_and_tuples_roundtrip(tensor_roundtrips):
    "a list and a tuple of tensors come back as a list and a tuple"
    for name in ("list", "tuple"):
        check_roundtrip(tensor_roundtrips, name)


@task("save_tensors", points=1)
def test_pickled_objects_are_refused(refuses_pickles):
    "load_tensors refuses a file holding a pickled object (weights_only=True)"
    clean = unwrap(refuses_pickles["clean"], "load_tensors(a file holding {'x': tensor})")
    same_structure(clean, {"x": torch.arange(3.0)}, "a clean file")
    assert not refuses_pickles["unpickled"], (
        "load_tensors unpickled an arbitrary object, which can run any code: pass weights_only=True to torch.load "
        "(do not rely on the default, which differs between torch versions)"
    )
    assert refuses_pickles["error"] is not None, (
        "load_tensors loaded a file holding a pickled object instead of refusing it"
    )


# -------------------------------------------------------------------- save_params / load_params


@task("save_params", points=1)
def test_save_params_writes_a_state_dict(params_roundtrip):
    "save_params writes the state_dict (parameters and buffers), not the pickled module"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    keys = params_roundtrip["file_keys"]
    if keys is None:
        error = params_roundtrip["file_error"]
        raise AssertionError(
            "the file written by save_params is not a plain state_dict"
            + (f" (torch.load(path, weights_only=True) raised {error['type']})" if error else "")
            + ": save net.state_dict(), not the module itself (torch.save(net) pickles its code)"
        )
    assert sorted(keys) == sorted(model().state_dict()), f"the saved state_dict has keys {keys}: buffers included?"


@task("save_params", points=1)
def test_load_params_restores_everything(params_roundtrip):
    "load_params restores every parameter and buffer"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    same_state(params_roundtrip["restored"], params_roundtrip["original"], "after load_params")


@task("save_params", points=1)
def test_load_params_returns_eval_mode(params_roundtrip):
    "load_params returns the instance itself, in eval() mode"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    returned = unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    assert returned is True, "load_params should return the instance it was given"
    assert not params_roundtrip["training"], (
        "load_params should put the network in eval() mode (for BatchNorm, dropout)"
    )


@task("save_params", points=1)
def test_load_params_from_another_device(params_from_a_gpu):
    "load_params loads a file saved on a GPU onto the instance's device"
    unwrap(params_from_a_gpu["loaded"], "load_params(net on the CPU, a file saved on cuda:0)")
    same_state(params_from_a_gpu["restored"], gpu_state(), "after loading the file saved on cuda:0")


# ------------------------------------------------------------ save_safetensors / load_safetensors


@task("save_safetensors", points=1)
def test_safetensors_format(safetensors_plain):
    "the file is in the safetensors format, holds every tensor, and loads back into the model"
    unwrap(safetensors_plain["saved"], "save_safetensors(net, path)")
    keys = unwrap(safetensors_plain["keys"], "reading the file as safetensors")
    assert keys == sorted(model().state_dict()), f"the safetensors file holds {keys}: every parameter and buffer"
    assert unwrap(safetensors_plain["loaded"], "load_safetensors(fresh, path)") is True, "return the model"
    same_state(safetensors_plain["restored"], safetensors_plain["original"], "after load_safetensors")


@task("save_safetensors", points=2)
def test_safetensors_tied(safetensors_tied):
    "a model with tied parameters saves, loads back equal, and stays tied"
    unwrap(safetensors_tied["saved"], "save_safetensors(tied net, path)")
    unwrap(safetensors_tied["loaded"], "load_safetensors(fresh tied net, path)")
    same_state(safetensors_tied["restored"], safetensors_tied["original"], "after loading a tied model")
    assert safetensors_tied["still_tied"], "after loading, the tied layers no longer share their parameters"


@task("save_safetensors", points=1)
def test_safetensors_device(safetensors_device):
    "load_safetensors puts the model on the requested device"
    data = safetensors_device
    unwrap(data["saved"], "save_safetensors(net, path)")
    unwrap(data["loaded"], f"load_safetensors(net, path, device={data['device']!r})")
    assert data["devices"] == [data["device"]], (
        f"after loading onto {data['device']} the model's tensors are on {data['devices']}"
    )
    same_state(data["restored"], data["original"], f"after loading onto {data['device']}")


# ---------------------------------------------------------------------------------- transplant


@task("transplant", points=1)
def test_transplant_copies_the_first_children(transplanted):
    "copies the parameters of the first n children, leaves the rest, returns dst"
    data = transplanted
    returned = unwrap(data["result"], "transplant(src, dst, 2)")
    for key in ("0.weight", "0.bias", "1.weight", "1.bias"):
        assert_close(
            data["after"][key], data["src"][key], f"after transplant(src, dst, 2), dst.{key} should equal src's"
        )
    for key in ("2.weight", "2.bias"):
        assert torch.equal(data["after"][key], data["before"][key]), f"transplant(src, dst, 2) changed dst.{key}"
    assert not data["shares_with_src"], "dst now shares Parameter objects with src: copy the values, do not tie"
    assert returned is True, "transplant should return dst"


@task("transplant", points=1)
def test_transplant_copies_buffers(transplanted):
    "copies buffers too (a BatchNorm's running statistics)"
    data = transplanted
    unwrap(data["result"], "transplant(src, dst, 2)")
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        assert torch.equal(data["after"][key], data["src"][key]), (
            f"dst.{key} was not copied: copy buffers as well as parameters (load_state_dict does both)"
        )


@task("transplant", points=1)
def test_transplant_refuses_a_mismatch(transplant_mismatch):
    "a shape mismatch raises ValueError and leaves dst entirely unchanged"
    error = transplant_mismatch["error"]
    assert error is not None and error["type"] == "ValueError", (
        "transplant(src, dst, 3) with different third children should raise ValueError"
        + (f", not {error['type']}" if error else "")
    )
    assert transplant_mismatch["unchanged"], (
        "transplant raised but had already changed dst: check every child before copying anything"
    )


# ----------------------------------------------------------------- save_checkpoint / load_checkpoint


def check_resume(data, kind, name):
    entry = data[kind]
    unwrap(entry["saved"], f"save_checkpoint(path, model, {name}, 3)")
    unwrap(entry["epoch"], f"load_checkpoint(path, model, {name})")
    continued, resumed = entry["continued"], entry["resumed"]
    if not torch.equal(resumed, continued):
        first = "the first loss already differs" if resumed[0] != continued[0] else "the first step matches"
        raise AssertionError(
            f"training with {name} resumes differently after load_checkpoint ({first}): "
            f"losses {[round(x, 6) for x in resumed.tolist()]}, expected {[round(x, 6) for x in continued.tolist()]}"
        )


@task("save_checkpoint", points=2)
def test_resume_sgd_momentum(checkpoint_resume):
    "training with SGD and momentum resumes bit for bit"
    check_resume(checkpoint_resume, "sgd", "SGD(momentum=0.9)")


@task("save_checkpoint", points=2)
def test_resume_adam(checkpoint_resume):
    "training with Adam resumes bit for bit"
    check_resume(checkpoint_resume, "adam", "Adam")


@task("save_checkpoint", points=1)
def test_load_checkpoint_returns_the_epoch(checkpoint_resume):
    "load_checkpoint returns the saved epoch"
    for kind in ("sgd", "adam"):
        unwrap(checkpoint_resume[kind]["saved"], "save_checkpoint(path, model, optimizer, 3)")
        epoch = unwrap(checkpoint_resume[kind]["epoch"], "load_checkpoint(path, model, optimizer)")
        assert epoch == 3, f"load_checkpoint returned {epoch!r}, expected the saved epoch 3"
