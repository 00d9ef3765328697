"""Hidden judges of assignment 6 (devices). They run in the grader on the probes' plain data.

References come from the probes' given inputs (the fixtures `<probe>_given`, rebuilt here) and
from the recipe of the GPU fixture, never from values a probe reports.
"""

import torch

from autograder.judging import assert_close, assert_nonempty, assert_same_inputs, describe, task, unwrap
from autograder.wire import MetaTensor

CPU = torch.device("cpu")


def runner_gpus():
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def expected_answers(count):
    gpus = [torch.device(f"cuda:{i}") for i in range(count)]
    return {
        "num_gpus": count,
        "try_gpu": gpus[0] if count > 0 else CPU,
        "try_gpu_1": gpus[1] if count > 1 else CPU,
        "try_gpu_2": gpus[2] if count > 2 else CPU,
        "try_all_gpus": gpus or [CPU],
    }


def shown(value) -> str:
    """A student's answer as a message shows it: plain values by repr, others by kind."""
    if value is None or type(value) in (bool, int, float, str, torch.device):
        return repr(value)[:80]
    if type(value) is list and len(value) <= 8 and all(type(v) in (str, torch.device) for v in value):
        return repr(value)[:300]
    return describe(value)


def answer(gpus, setting, key, call):
    got = unwrap(gpus[setting][key], call)
    if key != "num_gpus" and key != "try_all_gpus" and not isinstance(got, torch.device):
        raise AssertionError(f"{call} returned {describe(got)}: return a torch.device")
    return got


def same_devices(got, expected) -> bool:
    return len(got) == len(expected) and all(isinstance(g, torch.device) and g == e for g, e in zip(got, expected))


SETTINGS = (("0", 0, "without a GPU"), ("2", 2, "with 2 GPUs"))


def settings():
    return [*SETTINGS, ("here", runner_gpus(), "on this runner")]


@task("num_gpus", points=1)
def test_num_gpus(gpus):
    "num_gpus counts the GPUs (0, 2, and this runner's)"
    for setting, count, where in settings():
        got = answer(gpus, setting, "num_gpus", "num_gpus()")
        assert type(got) is int and got == count, f"{where}, num_gpus() returned {shown(got)}, expected {count}"


@task("num_gpus", points=1)
def test_try_gpu_finds_existing(gpus):
    "try_gpu(i) gives cuda:i when that GPU exists"
    for key, call in (("try_gpu", "try_gpu()"), ("try_gpu_1", "try_gpu(1)")):
        got = answer(gpus, "2", key, call)
        expected = expected_answers(2)[key]
        assert got == expected, f"with 2 GPUs, {call} returned {got}, expected {expected}"


@task("num_gpus", points=1)
def test_try_gpu_falls_back(gpus):
    "try_gpu(i) gives the CPU when cuda:i does not exist"
    cases = [("0", "try_gpu", "try_gpu()"), ("0", "try_gpu_1", "try_gpu(1)"), ("2", "try_gpu_2", "try_gpu(2)")]
    for setting, key, call in cases:
        got = answer(gpus, setting, key, call)
        where = dict((s, w) for s, _, w in SETTINGS)[setting]
        assert got == CPU, (
            f"{where}, {call} returned {got}, expected cpu: check that the GPU exists before returning it"
        )
    here = answer(gpus, "here", "try_gpu", "try_gpu()")
    assert here == expected_answers(runner_gpus())["try_gpu"], f"on this runner, try_gpu() returned {here}"


@task("num_gpus", points=1)
def test_try_all_gpus(gpus):
    "try_all_gpus lists every GPU, or [cpu] when there is none"
    for setting, count, where in settings():
        got = answer(gpus, setting, "try_all_gpus", "try_all_gpus()")
        expected = expected_answers(count)["try_all_gpus"]
        assert isinstance(got, list), f"try_all_gpus() returned {describe(got)}: return a list of torch.device"
        assert same_devices(got, expected), f"{where}, try_all_gpus() returned {shown(got)}, expected {expected}"


# ------------------------------------------------------------------------------- to_device


def compare_moved(got, expected, where, on_meta):
    if isinstance(expected, torch.Tensor):
        if on_meta:
            assert isinstance(got, MetaTensor), f"{where} is {describe(got)}: it did not reach the meta device"
            assert got.shape == tuple(expected.shape) and got.dtype == expected.dtype, f"{where} changed shape or dtype"
        else:
            assert isinstance(got, torch.Tensor), f"{where} is {describe(got)}, expected a tensor"
            assert got.shape == expected.shape and got.dtype == expected.dtype and torch.equal(got, expected), (
                f"{where} changed its values"
            )
        return
    assert type(got) is type(expected), (
        f"{where} became a {type(got).__name__}, expected a {type(expected).__name__}: keep each container's type"
    )
    if isinstance(expected, dict):
        same_keys = len(got) == len(expected) and all(type(a) is type(b) and a == b for a, b in zip(got, expected))
        assert same_keys, f"{where} has keys {[str(k)[:40] for k in got]}, expected {list(expected)}: keep every value"
        for key in expected:
            compare_moved(got[key], expected[key], f"{where}[{key!r}]", on_meta)
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), f"{where} has {len(got)} items, expected {len(expected)}: keep every value"
        for i, (a, b) in enumerate(zip(got, expected)):
            compare_moved(a, b, f"{where}[{i}]", on_meta)
    else:
        assert got == expected, (
            f"{where} is {got!r}, expected {expected!r}: values that are not tensors stay as they are"
        )


def tensor_leaves(obj):
    """The leaves of nested lists, tuples and dicts (the probe's declaration bounds the nesting)."""
    if isinstance(obj, dict):
        return [leaf for value in obj.values() for leaf in tensor_leaves(value)]
    if isinstance(obj, (list, tuple)):
        return [leaf for value in obj for leaf in tensor_leaves(value)]
    return [obj]


@task("to_device", points=2)
def test_every_tensor_moves(moved_to_meta, moved_to_meta_given):
    "every tensor reaches the device, at any depth"
    got = unwrap(moved_to_meta["result"], "to_device(nested, 'meta')")
    leaves = [leaf for leaf in tensor_leaves(got) if isinstance(leaf, (torch.Tensor, MetaTensor))]
    stayed = [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]
    assert not stayed, f"{len(stayed)} tensor(s) did not reach the meta device: walk into every list, tuple and dict"
    expected = [t for t in tensor_leaves(moved_to_meta_given["nested"]) if isinstance(t, torch.Tensor)]
    assert_nonempty(expected, "the tensors given to to_device")
    assert len(leaves) == len(expected), f"to_device returned {len(leaves)} tensors, expected {len(expected)}"


@task("to_device", points=1)
def test_containers_and_values_kept(moved_to_meta, moved_to_meta_given):
    "container types, keys and values that are not tensors stay as they are"
    got = unwrap(moved_to_meta["result"], "to_device(nested, 'meta')")
    compare_moved(got, moved_to_meta_given["nested"], "the result", on_meta=True)


@task("to_device", points=1)
def test_to_the_runner_devices(moved_to, moved_to_given):
    "moving to a real device keeps the tensors' values, with the device given as a torch.device or a name"
    for key, call in (("result", "to_device(nested, device)"), ("as_string", "to_device(nested, 'cpu' or 'cuda:i')")):
        expected = [t for t in tensor_leaves(moved_to_given[key]) if isinstance(t, torch.Tensor)]
        assert_nonempty(expected, "the tensors given to to_device")
        got = [t for t in tensor_leaves(unwrap(moved_to[key], call)) if isinstance(t, torch.Tensor)]
        assert len(got) == len(expected), f"{call} returned {len(got)} tensors, expected {len(expected)}"
        for a, b in zip(got, expected):
            assert a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b), (
                f"{call} changed a tensor's values or dtype"
            )


# ------------------------------------------------------------------------------ move_model


@task("move_model", points=2)
def test_parameters_and_buffers_move(model_to_meta, model_to_meta_given):
    "parameters and buffers both move"
    unwrap(model_to_meta["result"], "move_model(net, 'meta')")
    devices, net = model_to_meta["devices"], model_to_meta_given["net"]
    for kind, names in (("parameters", net.named_parameters()), ("buffers", net.named_buffers())):
        expected = [name for name, _ in names]
        assert_nonempty(expected, f"the model's {kind}")
        missing = [name for name in expected if name not in devices[kind]]
        assert not missing, f"after move_model(net, 'meta') the model has lost its {kind} {missing}"
    left = [name for name, device in devices["parameters"].items() if device != "meta"]
    assert not left, f"after move_model(net, 'meta') the parameters {left} did not move"
    left = [name for name, device in devices["buffers"].items() if device != "meta"]
    assert not left, (
        f"after move_model(net, 'meta') the buffers {left} did not move: buffers must move with the parameters "
        "(net.to(device) moves both)"
    )


@task("move_model", points=1)
def test_ties_kept_and_model_returned(model_forward):
    "tied parameters stay tied, and the model is returned"
    returned = unwrap(model_forward["result"], f"move_model(net, {model_forward['device']!r})")
    assert model_forward["tied"], "after move_model the shared layer is no longer shared"
    assert returned is True, "move_model should return the model it moved"


@task("move_model", points=1)
def test_forward_on_the_device(model_forward, model_forward_given):
    "a forward pass with inputs on the device works, and gives the model's output from before the move"
    unwrap(model_forward["result"], f"move_model(net, {model_forward['device']!r})")  # True or not: forward counts
    Y = unwrap(model_forward["Y"], "net(X) with X on the device")
    with torch.no_grad():
        expected = model_forward_given["net"](model_forward_given["X"])
    assert_close(Y, expected, "the moved model's output (moving must not change any value)")


# --------------------------------------------------------------------------------- load_to


def gpu_state():
    """The values of the fixture tests/visible/data/gpu_params.pt (see make_gpu_fixture.py there)."""
    from torch import nn

    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    state = {}
    for key, value in net.state_dict().items():
        if value.dim() == 0:
            state[key] = torch.tensor(5)
        else:
            state[key] = torch.arange(value.numel(), dtype=value.dtype).reshape(value.shape) * 0.01
    return state


@task("load_to", points=2)
def test_gpu_file_loads_on_the_cpu(loaded_from_gpu):
    "a state_dict saved on cuda:0 loads onto the CPU"
    got = unwrap(loaded_from_gpu["cpu"], "load_to(a file saved on cuda:0, cpu)")
    assert isinstance(got, dict), f"load_to returned {describe(got)}, expected the state_dict"
    expected = gpu_state()
    assert set(got) == set(expected), f"the loaded state_dict has keys {sorted(str(k) for k in got)}"
    for key in expected:
        assert_close(got[key], expected[key], f"the loaded {key}", rtol=0, atol=0)


@task("load_to", points=1)
def test_loads_straight_onto_any_device(loaded_from_gpu):
    "loads straight onto the device asked for, here meta"
    got = unwrap(loaded_from_gpu["meta"], "load_to(a file saved on cuda:0, meta)")
    assert got["kind"] == "dict", f"load_to returned a {got['kind']}, expected the state_dict"
    assert got["devices"] == ["meta"], (
        f"load_to(path, 'meta') gave tensors on {got['devices']}: use map_location=device"
    )


@task("load_to", points=1)
def test_load_to_is_safe(load_to_refuses, loaded_from_gpu):
    "refuses a file holding pickled objects (weights_only=True)"
    unwrap(loaded_from_gpu["cpu"], "load_to(a file saved on cuda:0, cpu)")  # it must load what is safe
    assert not load_to_refuses["unpickled"], (
        "load_to unpickled an arbitrary object, which can run any code: pass weights_only=True to torch.load"
    )
    assert load_to_refuses["error"] is not None, "load_to loaded a file holding a pickled object instead of refusing it"


# ------------------------------------------------------------------------- norms_on_device


def check_inputs(norms, given):
    for i, (reported, A) in enumerate(zip(norms["mats"], given["mats"])):
        assert_same_inputs(reported, A, f"The input matrix mats[{i}]")


@task("norms_on_device", points=2)
def test_norm_values(norms, norms_given):
    "the Frobenius norms of A @ A, as a 1-D tensor on the CPU"
    got = unwrap(norms["result"], f"norms_on_device(mats, {norms['device']!r})")
    check_inputs(norms, norms_given)
    expected = torch.stack([torch.linalg.matrix_norm(A @ A) for A in norms_given["mats"]])
    assert isinstance(got, torch.Tensor) and got.dim() == 1, (
        f"norms_on_device returned {describe(got)}, expected a 1-D tensor"
    )
    assert norms["result_device"] == "cpu", f"the result is on {norms['result_device']}: copy it to the host at the end"
    assert_close(got, expected, "the norms", rtol=1e-5, atol=1e-5)


@task("norms_on_device", points=1)
def test_norms_computed_on_the_device(norms):
    "A @ A is computed on the device"
    unwrap(norms["result"], f"norms_on_device(mats, {norms['device']!r})")
    devices = norms["product_devices"]
    assert devices, "no matrix product was seen: compute A @ A"
    assert devices == [norms["device"]], (
        f"the products ran on {devices}, expected {norms['device']}: move A there first"
    )


@task("norms_on_device", points=1)
def test_one_copy_to_the_host(norms):
    "the norms are copied to the host once, at the end"
    unwrap(norms["result"], f"norms_on_device(mats, {norms['device']!r})")
    copies = norms["host_copies"]
    assert copies <= 1, (
        f"norms_on_device copied results to the host {copies} times: keep the norms on the device "
        "(no .item() or .cpu() in the loop), stack them, and copy once"
    )
