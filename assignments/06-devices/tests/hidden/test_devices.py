"""Hidden judges of assignment 6 (devices). They run in the grader on the probes' plain data.

References come from the probes' given inputs (the fixtures `<probe>_given`, rebuilt here) and
from the recipe of the GPU fixture, never from values a probe reports. A message names a cause
(`Mistake`) only where the data shows that cause; otherwise it says what differs.

Judges that take a device run on `cpu` and on `cuda:0` (a GPU, or the sandbox's stand-in for
one), each worth half: device mistakes show on `cuda:0`, where a tensor left on the CPU mixes
with the device's and a result left on the device is not on the host.
"""

import structure
import torch

from autograder.i18n import N_
from autograder.judging import Mistake, assert_close, assert_nonempty, assert_same_inputs, describe, task, unwrap

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


def is_device_name(value) -> bool:
    if type(value) is not str:
        return False
    try:
        torch.device(value)
    except (RuntimeError, ValueError):
        return False
    return True


def answer(gpus, setting, key, call):
    got = unwrap(gpus[setting][key], call)
    if key in ("try_gpu", "try_gpu_1", "try_gpu_2") and not isinstance(got, torch.device):
        if is_device_name(got):
            raise Mistake("device-as-string", f"{call} returned the string {got!r}: return a torch.device")
        raise AssertionError(f"{call} returned {shown(got)}, expected a torch.device")
    return got


def same_devices(got, expected) -> bool:
    return len(got) == len(expected) and all(isinstance(g, torch.device) and g == e for g, e in zip(got, expected))


SETTINGS = (("0", 0, N_("without a GPU")), ("1", 1, N_("with 1 GPU")), ("2", 2, N_("with 2 GPUs")))
WHERE = {s: w for s, _, w in SETTINGS}


def settings():
    return [*SETTINGS, ("here", runner_gpus(), N_("on this runner"))]


@task("num_gpus", points=1)
def test_num_gpus(gpus):
    "num_gpus counts the GPUs (0, 1, 2, and this runner's)"
    for setting, count, where in settings():
        got = answer(gpus, setting, "num_gpus", "num_gpus()")
        assert type(got) is int and got == count, f"{where}, num_gpus() returned {shown(got)}, expected {count}"


@task("num_gpus", points=1)
def test_try_gpu_finds_existing(gpus):
    "try_gpu(i) gives cuda:i when that GPU exists"
    for setting, key, call in (
        ("1", "try_gpu", "try_gpu()"),
        ("2", "try_gpu", "try_gpu()"),
        ("2", "try_gpu_1", "try_gpu(1)"),
    ):
        got = answer(gpus, setting, key, call)
        expected = expected_answers(int(setting))[key]
        assert got == expected, f"{WHERE[setting]}, {call} returned {got}, expected {expected}"


@task("num_gpus", points=1)
def test_try_gpu_falls_back(gpus):
    "try_gpu(i) gives the CPU when cuda:i does not exist"
    cases = [
        ("0", "try_gpu", "try_gpu()", 0),
        ("0", "try_gpu_1", "try_gpu(1)", 1),
        ("1", "try_gpu_1", "try_gpu(1)", 1),
        ("2", "try_gpu_2", "try_gpu(2)", 2),
    ]
    for setting, key, call, index in cases:
        got = answer(gpus, setting, key, call)
        if got == torch.device(f"cuda:{index}"):
            raise Mistake(
                "unchecked-gpu",
                f"{WHERE[setting]}, {call} returned cuda:{index}, which does not exist: check that the GPU "
                "exists (torch.cuda.device_count()) before returning it, else return the CPU",
            )
        assert got == CPU, f"{WHERE[setting]}, {call} returned {got}, expected cpu"
    here = answer(gpus, "here", "try_gpu", "try_gpu()")
    assert here == expected_answers(runner_gpus())["try_gpu"], f"on this runner, try_gpu() returned {here}"


@task("num_gpus", points=1)
def test_try_all_gpus(gpus):
    "try_all_gpus lists every GPU, or [cpu] when there is none"
    for setting, count, where in settings():
        got = answer(gpus, setting, "try_all_gpus", "try_all_gpus()")
        expected = expected_answers(count)["try_all_gpus"]
        assert isinstance(got, list), f"{where}, try_all_gpus() returned {shown(got)}: return a list of torch.device"
        if count == 0 and got and all(isinstance(g, torch.device) and g.type == "cuda" for g in got):
            raise Mistake(
                "unchecked-gpu",
                f"{where}, try_all_gpus() returned {shown(got)}, which does not exist: return [cpu] when there is no GPU",
            )
        assert same_devices(got, expected), f"{where}, try_all_gpus() returned {shown(got)}, expected {expected}"


# ------------------------------------------------------------------------------- to_device


def moved_layout(moved, call):
    unwrap(moved["result"], call)
    layout = moved["layout"]
    assert layout is not None, f"{call}: the sandbox returned malformed data"
    return layout


def keys_of(node) -> str:
    return "[" + ", ".join(key for key, _ in node[2]) + "]"


def check_structure(got, expected, call):
    """Containers, keys and values that are not tensors as given (tensors' devices aside)."""
    found = structure.difference(got, expected, devices=False)
    if found is None:
        return
    path, a, b = found
    if a[0] != b[0] or a[1] != b[1]:
        if a[0] == "list" and b[1] == "tuple":
            raise Mistake(
                "tuple-to-list", f"{call}: {path} became a list, expected a tuple: keep each container's type"
            )
        if a[1] == "tuple" and b[0] == "tuple":
            raise Mistake(
                "namedtuple-lost",
                f"{call}: {path} became a plain tuple, expected the named tuple {b[1]}: "
                "rebuild a named tuple with its own class, type(t)(*items)",
            )
        if a[0] == b[0] == "dict":
            raise Mistake(
                "container-type",
                f"{call}: {path} became {structure.shown(a)}, expected {structure.shown(b)}: keep each container's type",
            )
        raise AssertionError(f"{call}: {path} is {structure.shown(a)}, expected {structure.shown(b)}")
    if a[0] in ("dict", "list", "tuple"):
        kept = structure.without_plain_values(b)
        if len(a[2]) < len(b[2]) and (
            [k for k, _ in a[2]] == [k for k, _ in kept[2]]
            if a[0] == "dict"
            else [item[0] for item in a[2]] == [item[0] for item in kept[2]]
        ):
            raise Mistake(
                "dropped-values",
                f"{call}: {path} lost the items that are not tensors ({structure.shown(a)}, expected "
                f"{structure.shown(b)}): keep every value",
            )
        if a[0] == "dict" and sorted(k for k, _ in a[2]) == sorted(k for k, _ in b[2]):
            raise AssertionError(
                f"{call}: {path} has its keys in the order {keys_of(a)}, expected {keys_of(b)}: keep the keys' order"
            )
        keys = keys_of(a) if a[0] == "dict" else len(a[2])
        wanted = keys_of(b) if b[0] == "dict" else len(b[2])
        what = "keys" if a[0] == "dict" else "items"
        raise AssertionError(f"{call}: {path} has {what} {keys}, expected {wanted}")
    if a[0] == "tensor":
        raise AssertionError(f"{call}: {path} is {structure.shown(a)}, expected {structure.shown(b)}")
    raise AssertionError(f"{call}: {path} is {a[2]}, expected {b[2]}: values that are not tensors stay as they are")


def check_devices(got, device, call):
    """Every tensor of a layout is on `device`."""
    tensors = structure.tensor_paths(got)
    assert_nonempty(tensors, f"the tensors {call} returned")
    stayed = [(path, depth) for path, depth, where in tensors if where != device]
    if not stayed:
        return
    moved = [depth for _, depth, where in tensors if where == device]
    shallow = all(depth == 1 for depth in moved) and all(depth > 1 for _, depth in stayed) and moved
    paths = ", ".join(path for path, _ in stayed[:4]) + (", ..." if len(stayed) > 4 else "")
    if shallow:
        raise Mistake(
            "shallow-walk",
            f"{call}: the tensors at the top level moved, the {len(stayed)} nested deeper did not ({paths}): "
            "walk into every list, tuple and dict, at any depth",
        )
    raise AssertionError(f"{call}: {len(stayed)} of {len(tensors)} tensors are not on {device} ({paths})")


@task("to_device", points=2)
def test_every_tensor_moves(moved_to_meta, moved_to_meta_given):
    "every tensor reaches the device, at any depth"
    call = "to_device(nested, 'meta')"
    got = moved_layout(moved_to_meta, call)
    expected = structure.layout(moved_to_meta_given["nested"], device="meta")
    expected_count = len(structure.tensor_paths(expected))
    check_devices(got, "meta", call)
    count = len(structure.tensor_paths(got))
    assert count == expected_count, f"{call} returned {count} tensors, expected {expected_count}"


@task("to_device", points=1)
def test_containers_and_values_kept(moved_to_meta, moved_to_meta_given):
    "container types (named tuples, OrderedDicts), keys in their order, and values that are not tensors stay"
    call = "to_device(nested, 'meta')"
    got = moved_layout(moved_to_meta, call)
    check_structure(got, structure.layout(moved_to_meta_given["nested"], device="meta"), call)


def tensor_leaves(obj):
    """The tensors of nested lists, tuples and dicts, in order (the probe's declaration bounds the nesting)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [leaf for value in obj.values() for leaf in tensor_leaves(value)]
    if isinstance(obj, (list, tuple)):
        return [leaf for value in obj for leaf in tensor_leaves(value)]
    return []


@task("to_device", points=1)
def test_to_the_runner_devices(moved_to, moved_to_given):
    "moving to the runner's devices keeps every value, with the device given as a torch.device or a name"
    device = moved_to["device"]
    for key, call in (("result", f"to_device(nested, {device!r})"), ("as_string", f"to_device(nested, '{device}')")):
        got = moved_layout(moved_to[key], call)
        check_devices(got, device, call)
        check_structure(got, structure.layout(moved_to_given[key], device=device), call)
        expected = tensor_leaves(moved_to_given[key])
        values = tensor_leaves(moved_to[key]["result"]["value"])
        assert len(values) == len(expected), f"{call} returned {len(values)} tensors, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(values, expected)):
            assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), (
                f"{call}: its tensor number {i + 1} holds other values than the one given"
            )


# ------------------------------------------------------------------------------ move_model


def observed(data, call):
    unwrap(data["result"], call)
    seen = data["observed"]
    assert seen is not None, f"{call}: the sandbox returned malformed data"
    return seen


def expected_names(net, kind):
    return [name for name, _ in (net.named_parameters() if kind == "parameters" else net.named_buffers())]


def check_placed(seen, net, device, call):
    """Every parameter and buffer of the given model is on `device`, none lost."""
    for kind in (N_("parameters"), N_("buffers")):
        expected = expected_names(net, kind)
        assert_nonempty(expected, f"the model's {kind}")
        missing = [name for name in expected if name not in seen[kind]]
        assert not missing, f"after {call} the model has lost its {kind} {missing}"
    left = {kind: [n for n, where in seen[kind].items() if where != device] for kind in ("parameters", "buffers")}
    if left["buffers"] and not left["parameters"] and len(left["buffers"]) == len(seen["buffers"]):
        raise Mistake(
            "buffers-left",
            f"after {call} the parameters moved and the buffers {left['buffers']} did not: buffers must move "
            "with the parameters (net.to(device) moves both)",
        )
    for kind in (N_("parameters"), N_("buffers")):
        assert not left[kind], f"after {call} the {kind} {left[kind]} are not on {device}"


@task("move_model", points=2)
def test_parameters_and_buffers_move(model_forward, model_forward_given):
    "parameters and buffers (saved or not) all move"
    device = model_forward["device"]
    call = f"move_model(net, {device!r})"
    check_placed(observed(model_forward, call), model_forward_given["net"], device, call)


@task("move_model", points=1)
def test_model_kept_and_returned(model_forward, model_forward_given):
    "the model is returned, its shared and tied parameters stay shared, frozen ones stay frozen"
    call = f"move_model(net, {model_forward['device']!r})"
    seen = observed(model_forward, call)
    if seen["returned"] == "None":
        raise Mistake("no-return", f"{call} returned None: return the model it moved")
    assert seen["returned"] == "net", f"{call} returned a {seen['returned']}, expected the model it was given"
    assert seen["shared_layer"], f"after {call} the layer used twice is two layers"
    assert seen["tied"], f"after {call} the two layers that shared one weight have a weight each"
    assert seen["frozen"] == ["frozen"], (
        f"after {call} the parameters that do not require grad are {seen['frozen']}, expected ['frozen']"
    )
    assert not seen["training"], f"after {call} the model is in training mode: moving must not change it"


@task("move_model", points=1)
def test_forward_on_the_device(model_forward, model_forward_given):
    "a forward pass on the device gives the model's output from before the move"
    unwrap(model_forward["result"], f"move_model(net, {model_forward['device']!r})")
    Y = unwrap(model_forward["Y"], "net(X) with X on the device")
    with torch.no_grad():
        expected = model_forward_given["net"](model_forward_given["X"])
    assert_close(Y, expected, "the moved model's output differs from the model's output before the move")


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


def check_state(got, expected, call):
    assert isinstance(got, dict), f"{call} returned {describe(got)}, expected the state_dict"
    assert set(got) == set(expected), f"{call} gave the keys {sorted(str(k) for k in got)}, expected {sorted(expected)}"
    for key in expected:
        assert_close(got[key], expected[key], f"{call}: the loaded {key}", rtol=0, atol=0)


@task("load_to", points=1)
def test_gpu_file_loads_on_the_cpu(loaded_from_gpu):
    "a state_dict saved on cuda:0 loads onto the CPU of a runner without a GPU"
    call = "load_to(a file saved on cuda:0, cpu)"
    check_state(unwrap(loaded_from_gpu["cpu"], call), gpu_state(), call)


@task("load_to", points=1)
def test_loads_straight_onto_any_device(loaded_from_gpu):
    "loads straight onto the device asked for, here meta"
    got = unwrap(loaded_from_gpu["meta"], "load_to(a file saved on cuda:0, meta)")
    assert got["kind"] == "dict", f"load_to returned a {got['kind']}, expected the state_dict"
    assert got["devices"] == ["meta"], f"load_to(path, 'meta') gave tensors on {got['devices']}, expected meta"


@task("load_to", points=1)
def test_loads_onto_the_runner_devices(loaded_onto, loaded_onto_given):
    "files saved on the CPU and on cuda:0 load onto the runner's devices, given as a device or a name"
    device = loaded_onto["device"]
    calls = [
        ("from_cpu", f"load_to(a file saved on cpu, {device!r})", loaded_onto_given["state"]),
        ("from_gpu", f"load_to(a file saved on cuda:0, {device!r})", gpu_state()),
        ("as_string", f"load_to(a file saved on cpu, '{device}')", loaded_onto_given["state"]),
    ]
    for (key, call, expected), placed in zip(calls, loaded_onto["placed"]):
        check_state(unwrap(loaded_onto[key], call), expected, call)
        where = unwrap(placed, call)["devices"]
        assert where == [device], f"{call} gave tensors on {where}, expected {device}"


@task("load_to", points=1)
def test_load_to_is_safe(load_to_refuses, loaded_from_gpu):
    "refuses a file holding pickled objects (weights_only=True)"
    unwrap(loaded_from_gpu["cpu"], "load_to(a file saved on cuda:0, cpu)")  # it must load what is safe
    if load_to_refuses["unpickled"]:
        raise Mistake(
            "unsafe-load",
            "load_to unpickled an arbitrary object, which can run any code: pass weights_only=True to torch.load",
        )
    assert load_to_refuses["error"] is not None, "load_to loaded a file holding a pickled object instead of refusing it"


# ------------------------------------------------------------------------- norms_on_device


def check_inputs(norms, given):
    for key in ("mats", "single"):
        for i, (reported, A) in enumerate(zip(norms[key], given[key])):
            assert_same_inputs(reported, A, f"The input matrix {key}[{i}]")


def calls(norms):
    """(what the call was, what it gave, the key of its matrices in the given inputs) per call."""
    device = norms["device"]
    return [
        (f"norms_on_device(four matrices, {device!r})", norms["four"], "mats"),
        (f"norms_on_device([a 1×1 float64 matrix], {device!r})", norms["one"], "single"),
    ]


@task("norms_on_device", points=1)
def test_norm_values(norms, norms_given):
    "the Frobenius norms of A @ A, as a 1-D tensor"
    for call, data, _ in calls(norms):
        unwrap(data["result"], call)
    check_inputs(norms, norms_given)  # before the values: changed inputs explain wrong values
    for call, data, key in calls(norms):
        got = data["result"]["value"]
        expected = torch.stack([torch.linalg.matrix_norm(A @ A) for A in norms_given[key]]).to(torch.float64)
        assert isinstance(got, torch.Tensor) and got.dim() == 1, (
            f"{call} returned {describe(got)}, expected a 1-D tensor"
        )
        assert got.is_floating_point(), f"{call} returned a tensor of {got.dtype}, expected floating-point norms"
        assert_close(got.to(torch.float64), expected, f"{call}: the norms", rtol=1e-5, atol=1e-5)


@task("norms_on_device", points=1)
def test_result_on_the_host(norms):
    "the result is copied to the host: a CPU tensor"
    for call, data, _ in calls(norms):
        unwrap(data["result"], call)
        where = data["result_device"]
        if where == norms["device"] and where != "cpu":
            raise Mistake("no-host-copy", f"{call} returned a tensor on {where}: copy the norms to the host at the end")
        got = data["result"]["value"]
        assert isinstance(got, torch.Tensor), f"{call} returned {describe(got)}, expected a CPU tensor"
        assert where == "cpu", f"{call} returned a tensor on {where}, expected a CPU tensor"


@task("norms_on_device", points=1)
def test_norms_computed_on_the_device(norms):
    "A @ A is computed on the device"
    for call, data, _ in calls(norms):
        unwrap(data["result"], call)
        devices = data["product_devices"]
        assert devices, f"{call}: no matrix product was seen: compute A @ A"
        if devices == ["cpu"] and norms["device"] != "cpu":
            raise Mistake(
                "computed-on-host",
                f"{call}: the products ran on the CPU, expected {norms['device']}: move each matrix to the device first",
            )
        assert devices == [norms["device"]], f"{call}: the products ran on {devices}, expected {norms['device']}"


SHOWN_COPIES = {"setitem": "out[i] = norm into a CPU tensor", "float": "float()", "int": "int()", "bool": "bool()"}


@task("norms_on_device", points=1)
def test_one_copy_to_the_host(norms):
    "the norms are copied to the host once, at the end"
    for call, data, _ in calls(norms):
        unwrap(data["result"], call)
        copies = data["host_copies"]
        counts = {name: copies.count(name) for name in dict.fromkeys(copies)}
        made = ", ".join(f"{SHOWN_COPIES.get(name, f'.{name}()')} ×{n}" for name, n in counts.items())
        assert len(copies) <= 1, (
            f"{call} copied results to the host {len(copies)} times ({made}): keep the norms on the device, "
            "stack them, and copy once"
        )
