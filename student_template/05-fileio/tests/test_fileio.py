"""Visible tests of assignment 5 (fileio): `blockgrade check` runs these on your fileio.py.

They are a subset of what grading runs (grading also checks dtypes and containers, buffers,
refusing pickled objects, files saved on a GPU, devices, and Adam).
"""

import torch

from autograder.judging import assert_nonempty, describe, task, unwrap


def same_state(got, net, what):
    expected = {k: v.detach() for k, v in net.state_dict().items()}
    assert_nonempty(expected, "the model's state_dict")
    assert set(got) == set(expected), f"{what}: the keys are {sorted(got)}, expected {sorted(expected)}"
    for key, value in expected.items():
        assert got[key].shape == value.shape and torch.equal(got[key], value), f"{what}: {key} differs"


@task("save_tensors")
def test_tensors(tensors, tensors_given):
    "a dict of tensors round-trips"
    got = unwrap(tensors, "save_tensors / load_tensors")
    expected = tensors_given["sample"]
    assert isinstance(got, dict) and set(got) == set(expected), f"it came back as {describe(got)}"
    for key, value in expected.items():
        assert isinstance(got[key], torch.Tensor) and got[key].dtype == value.dtype, f"[{key!r}] came back changed"
        assert got[key].shape == value.shape and torch.equal(got[key], value), f"[{key!r}] came back changed"


@task("save_params")
def test_params(params, params_given):
    "load_params restores the saved parameters and returns the net in eval mode"
    assert unwrap(params["loaded"], "save_params / load_params") is True, "load_params should return the net"
    same_state(params["restored"], params_given["net"], "the loaded weights differ from the saved ones")
    assert params["eval"], "load_params should put the network in eval() mode"


@task("save_safetensors")
def test_safetensors(safetensors, safetensors_given):
    "a model with a layer used twice saves and loads with safetensors"
    unwrap(safetensors["loaded"], "save_safetensors / load_safetensors")
    same_state(safetensors["restored"], safetensors_given["tied"], "the loaded weights differ")


@task("transplant")
def test_transplant(transplant, transplant_given):
    "transplant(src, dst, 1) copies the first layer only"
    unwrap(transplant["moved"], "transplant(src, dst, 1)")
    after, src, dst = transplant["after"], transplant_given["src"], transplant_given["dst"]
    assert set(after) == set(dst.state_dict()), f"dst's keys changed: {sorted(after)}"
    assert torch.equal(after["0.weight"], src[0].weight.detach()), "the first layer was not copied"
    assert torch.equal(after["2.weight"], dst[2].weight.detach()), "copy the first child only"


@task("save_checkpoint")
def test_checkpoint(checkpoint, checkpoint_given):
    "training with SGD and momentum resumes exactly after load_checkpoint"
    epoch = unwrap(checkpoint["epoch"], "save_checkpoint / load_checkpoint")
    if isinstance(epoch, torch.Tensor):
        ok, shown = epoch.numel() == 1 and not epoch.is_complex() and epoch.item() == 2, describe(epoch)
    else:
        ok, shown = type(epoch) in (int, float) and epoch == 2, repr(epoch)[:80]
    assert ok, f"load_checkpoint returned {shown}: return the saved epoch, 2"
    resumed = checkpoint["resumed"]
    assert resumed is not None and torch.equal(resumed, checkpoint_given["expected"]), (
        "the losses after load_checkpoint differ from those of the run that was never interrupted: "
        "the checkpoint must restore everything training depends on (the model's and the optimizer's state)"
    )
