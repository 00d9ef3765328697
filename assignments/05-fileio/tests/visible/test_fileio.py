"""Visible tests of assignment 5 (fileio): `blockgrade check` runs these on your fileio.py.

They are a subset of what grading runs (grading also checks dtypes and containers, buffers,
refusing pickled objects, files saved on a GPU, devices, and Adam).
"""

import torch

from autograder.judging import task, unwrap


@task("save_tensors")
def test_tensors(files):
    "a dict of tensors round-trips"
    got = unwrap(files["tensors"], "save_tensors / load_tensors")
    assert isinstance(got, dict) and list(got) == ["a", "b"], f"it came back as {got!r:.80}"
    assert torch.equal(got["a"], torch.arange(4.0)) and torch.equal(got["b"], torch.tensor([1, 2]))


@task("save_params")
def test_params(files):
    "load_params restores the saved parameters and returns the net in eval mode"
    assert unwrap(files["params"], "save_params / load_params") is True, "the loaded weights differ from the saved ones"
    assert files["eval"], "load_params should put the network in eval() mode"


@task("save_safetensors")
def test_safetensors(files):
    "a model with a layer used twice saves and loads with safetensors"
    assert unwrap(files["safetensors"], "save_safetensors / load_safetensors") is True, "the loaded weights differ"


@task("transplant")
def test_transplant(files):
    "transplant(src, dst, 1) copies the first layer only"
    assert unwrap(files["transplant"], "transplant(src, dst, 1)") == [True, False], "copy the first child only"


@task("save_checkpoint")
def test_checkpoint(checkpoint):
    "training with SGD and momentum resumes exactly after load_checkpoint"
    assert unwrap(checkpoint["epoch"], "save_checkpoint / load_checkpoint") == 2, "load_checkpoint returns the epoch"
    assert checkpoint["resumed"] == checkpoint["expected"], "the resumed losses differ: save the optimizer's state too"
