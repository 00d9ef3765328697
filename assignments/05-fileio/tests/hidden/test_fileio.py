"""Hidden judges of assignment 5 (fileio). They run in the grader on the probes' plain data.

The grader never opens a file a student's code wrote: the probes read them in the sandbox and
hand back tensors and facts. Expected values come from the probes' given inputs (the fixtures
`<probe>_given`, rebuilt here: the samples, the models that were saved, the uninterrupted
training run) and from the recipe of the GPU fixture, never from values a probe reports.
"""

import torch

from autograder.judging import assert_close, assert_nonempty, describe, task, unwrap


def state_of(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def gpu_state(like):
    """The values of the committed fixture data/gpu_params.pt (see data/make_gpu_fixture.py),
    for a model shaped like `like`."""
    state = {}
    for key, value in like.state_dict().items():
        if value.dim() == 0:
            state[key] = torch.tensor(5)
        else:
            state[key] = torch.arange(value.numel(), dtype=value.dtype).reshape(value.shape) * 0.01
    return state


def keys_text(keys) -> str:
    return str(sorted(str(k) for k in keys))


def same_structure(got, expected, where):
    """Exact equality of values, dtypes, shapes and container types (bounded by `expected`)."""
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
        assert set(got) == set(expected), (
            f"{where} came back with keys {keys_text(got)}, expected {keys_text(expected)}"
        )
        for key in expected:
            same_structure(got[key], expected[key], f"{where}[{key!r}]")
    else:
        assert len(got) == len(expected), f"{where} came back with {len(got)} items, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected)):
            same_structure(a, b, f"{where}[{i}]")


def same_state(got, expected, what):
    """`got` (a state_dict a probe reports) holds exactly `expected`'s keys and values."""
    assert_nonempty(expected, f"{what}: the expected state_dict")
    assert set(got) == set(expected), f"{what}: the keys are {keys_text(got)}, expected {keys_text(expected)}"
    for key in expected:
        assert_close(got[key].cpu(), expected[key].cpu(), f"{what}: {key}", rtol=0, atol=0)


# ---------------------------------------------------------------- save_tensors / load_tensors


def check_roundtrip(data, given, name):
    entry = data[name]
    unwrap(entry["saved"], f"save_tensors({name} sample, path)")
    loaded = unwrap(entry["loaded"], "load_tensors(path)")
    same_structure(loaded, given[name], f"a saved {name}")


@task("save_tensors", points=2)
def test_tensors_and_dicts_roundtrip(tensor_roundtrips, tensor_roundtrips_given):
    "a tensor and a dict of tensors round-trip exactly (values, dtype, shape)"
    for name in ("tensor", "integers", "dict"):
        check_roundtrip(tensor_roundtrips, tensor_roundtrips_given, name)
    assert tensor_roundtrips["dict"]["plain_file"], (
        "the file written by save_tensors holds pickled objects: neither torch.load(path, weights_only=True) "
        "nor safetensors can read it"
    )


@task("save_tensors", points=1)
def test_lists_and_tuples_roundtrip(tensor_roundtrips, tensor_roundtrips_given):
    "a list and a tuple of tensors come back as a list and a tuple"
    for name in ("list", "tuple"):
        check_roundtrip(tensor_roundtrips, tensor_roundtrips_given, name)


@task("save_tensors", points=1)
def test_pickled_objects_are_refused(refuses_pickles, refuses_pickles_given):
    "load_tensors refuses a file holding a pickled object (weights_only=True)"
    clean = unwrap(refuses_pickles["clean"], "load_tensors(a file holding {'x': tensor})")
    same_structure(clean, refuses_pickles_given["clean"], "a clean file")
    assert not refuses_pickles["unpickled"], (
        "load_tensors unpickled an arbitrary object, which can run any code: pass weights_only=True to torch.load "
        "(do not rely on the default, which differs between torch versions)"
    )
    assert refuses_pickles["error"] is not None, (
        "load_tensors loaded a file holding a pickled object instead of refusing it"
    )


# -------------------------------------------------------------------- save_params / load_params


@task("save_params", points=1)
def test_save_params_writes_a_state_dict(params_roundtrip, params_roundtrip_given):
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
    expected = list(params_roundtrip_given["net"].state_dict())
    assert_nonempty(expected, "the model's state_dict")
    assert sorted(map(str, keys)) == sorted(expected), f"the saved state_dict has keys {keys}: buffers included?"


@task("save_params", points=1)
def test_load_params_restores_everything(params_roundtrip, params_roundtrip_given):
    "load_params restores every parameter and buffer"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    same_state(params_roundtrip["restored"], state_of(params_roundtrip_given["net"]), "after load_params")


@task("save_params", points=1)
def test_load_params_returns_eval_mode(params_roundtrip):
    "load_params returns the instance itself, in eval() mode"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    returned = unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    assert returned is True, "load_params should return the instance it was given"
    assert params_roundtrip["training"] is False, (
        "load_params should put the network in eval() mode (for BatchNorm, dropout)"
    )


@task("save_params", points=1)
def test_load_params_from_another_device(params_from_a_gpu, params_from_a_gpu_given):
    "load_params loads a file saved on a GPU onto the instance's device"
    unwrap(params_from_a_gpu["loaded"], "load_params(net on the CPU, a file saved on cuda:0)")
    expected = gpu_state(params_from_a_gpu_given["fresh"])
    same_state(params_from_a_gpu["restored"], expected, "after loading the file saved on cuda:0")


# ------------------------------------------------------------ save_safetensors / load_safetensors


@task("save_safetensors", points=1)
def test_safetensors_format(safetensors_plain, safetensors_plain_given):
    "the file is in the safetensors format, holds every tensor, and loads back into the model"
    unwrap(safetensors_plain["saved"], "save_safetensors(net, path)")
    keys = unwrap(safetensors_plain["keys"], "reading the file as safetensors")
    expected = state_of(safetensors_plain_given["net"])
    assert keys == sorted(expected), f"the safetensors file holds {keys}: every parameter and buffer"
    assert unwrap(safetensors_plain["loaded"], "load_safetensors(fresh, path)") is True, "return the model"
    same_state(safetensors_plain["restored"], expected, "after load_safetensors")


@task("save_safetensors", points=2)
def test_safetensors_tied(safetensors_tied, safetensors_tied_given):
    "a model with tied parameters saves, loads back equal, and stays tied"
    unwrap(safetensors_tied["saved"], "save_safetensors(tied net, path)")
    unwrap(safetensors_tied["loaded"], "load_safetensors(fresh tied net, path)")
    same_state(safetensors_tied["restored"], state_of(safetensors_tied_given["net"]), "after loading a tied model")
    assert safetensors_tied["still_tied"], "after loading, the tied layers no longer share their parameters"


@task("save_safetensors", points=1)
def test_safetensors_device(safetensors_device, safetensors_device_given):
    "load_safetensors puts the model on the requested device"
    data = safetensors_device
    unwrap(data["saved"], "save_safetensors(net, path)")
    unwrap(data["loaded"], f"load_safetensors(net, path, device={data['device']!r})")
    assert data["devices"] == [data["device"]], (
        f"after loading onto {data['device']} the model's tensors are on {data['devices']}"
    )
    same_state(data["restored"], state_of(safetensors_device_given["net"]), f"after loading onto {data['device']}")


# ---------------------------------------------------------------------------------- transplant


@task("transplant", points=1)
def test_transplant_copies_the_first_children(transplanted, transplanted_given):
    "copies the parameters of the first n children, leaves the rest, returns dst"
    data = transplanted
    returned = unwrap(data["result"], "transplant(src, dst, 2)")
    src, before = state_of(transplanted_given["src"]), state_of(transplanted_given["dst"])
    after = data["after"]
    for key in ("0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"):
        assert key in after, f"after transplant(src, dst, 2), dst has no {key}"
    for key in ("0.weight", "0.bias", "1.weight", "1.bias"):
        assert_close(after[key], src[key], f"after transplant(src, dst, 2), dst.{key} should equal src's")
    for key in ("2.weight", "2.bias"):
        assert_close(after[key], before[key], f"transplant(src, dst, 2) changed dst.{key}", rtol=0, atol=0)
    assert not data["shares_with_src"], "dst now shares Parameter objects with src: copy the values, do not tie"
    assert returned is True, "transplant should return dst"


@task("transplant", points=1)
def test_transplant_copies_buffers(transplanted, transplanted_given):
    "copies buffers too (a BatchNorm's running statistics)"
    data = transplanted
    unwrap(data["result"], "transplant(src, dst, 2)")
    src = state_of(transplanted_given["src"])
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        got = data["after"].get(key)
        assert isinstance(got, torch.Tensor) and got.shape == src[key].shape and torch.equal(got, src[key]), (
            f"dst.{key} was not copied: copy buffers as well as parameters (load_state_dict does both)"
        )


@task("transplant", points=1)
def test_transplant_refuses_a_mismatch(transplant_mismatch, transplant_mismatch_given):
    "a shape mismatch raises ValueError and leaves dst entirely unchanged"
    error = transplant_mismatch["error"]
    assert error is not None and error["type"] == "ValueError", (
        "transplant(src, dst, 3) with different third children should raise ValueError"
        + (f", not {error['type']}" if error else "")
    )
    before, after = state_of(transplant_mismatch_given["dst"]), transplant_mismatch["after"]
    unchanged = set(after) == set(before) and all(
        after[k].shape == before[k].shape and after[k].dtype == before[k].dtype and torch.equal(after[k], before[k])
        for k in before
    )
    assert unchanged, "transplant raised but had already changed dst: check every child before copying anything"


# ----------------------------------------------------------------- save_checkpoint / load_checkpoint


def check_resume(data, given, kind, name):
    entry = data[kind]
    unwrap(entry["saved"], f"save_checkpoint(path, model, {name}, 3)")
    unwrap(entry["epoch"], f"load_checkpoint(path, model, {name})")
    continued, resumed = given[kind]["continued"], entry["resumed"]
    if resumed is None or not torch.equal(resumed, continued):
        differs = resumed is None or bool(resumed[0] != continued[0])
        first = "the first loss already differs" if differs else "the first step matches"
        got = [round(x, 6) for x in resumed.tolist()] if resumed is not None else None
        raise AssertionError(
            f"training with {name} resumes differently after load_checkpoint ({first}): "
            f"losses {got}, expected {[round(x, 6) for x in continued.tolist()]}"
        )


@task("save_checkpoint", points=2)
def test_resume_sgd_momentum(checkpoint_resume, checkpoint_resume_given):
    "training with SGD and momentum resumes bit for bit"
    check_resume(checkpoint_resume, checkpoint_resume_given, "sgd", "SGD(momentum=0.9)")


@task("save_checkpoint", points=2)
def test_resume_adam(checkpoint_resume, checkpoint_resume_given):
    "training with Adam resumes bit for bit"
    check_resume(checkpoint_resume, checkpoint_resume_given, "adam", "Adam")


def is_three(epoch) -> bool:
    if isinstance(epoch, torch.Tensor):
        return epoch.numel() == 1 and not epoch.is_complex() and epoch.item() == 3
    return type(epoch) in (int, float) and epoch == 3


@task("save_checkpoint", points=1)
def test_load_checkpoint_returns_the_epoch(checkpoint_resume):
    "load_checkpoint returns the saved epoch"
    for kind in ("sgd", "adam"):
        unwrap(checkpoint_resume[kind]["saved"], "save_checkpoint(path, model, optimizer, 3)")
        epoch = unwrap(checkpoint_resume[kind]["epoch"], "load_checkpoint(path, model, optimizer)")
        shown = repr(epoch)[:80] if type(epoch) in (int, float, str, bool) or epoch is None else describe(epoch)
        assert is_three(epoch), f"load_checkpoint returned {shown}, expected the saved epoch 3"
