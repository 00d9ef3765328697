"""Hidden judges of assignment 1 (blocks). They run in the grader on the probes' plain data.

Every reference is recomputed here with torch built-ins from the probes' `given` inputs and
weights (rebuilt in the grader), never from inputs or weights a probe reports; an input a
probe reports after the student's call is only checked to be unchanged.
"""

import math

import torch
from torch.nn import functional as F

from autograder.i18n import N_
from autograder.judging import (
    Mistake,
    assert_close,
    assert_nonempty,
    assert_same_inputs,
    error_type,
    failed,
    matches,
    task,
    unwrap,
)

HALVINGS = 300  # FixedHiddenMLP's loop: far more halvings than finite float32 values need


def linear(state, X):
    return F.linear(X, state["weight"], state["bias"])


def module_linear(layer, X):
    return F.linear(X, layer.weight, layer.bias).detach()


def loaded(data, what, sizes):
    """Fail unless the probe could give each layer (path: (in, out)) the given weights."""
    report = unwrap(data["loaded"], f"looking up {what}'s layers")
    for path, (n_in, n_out) in sizes.items():
        entry = report[path]
        layer = entry["layer"]
        shown = f"nn.Linear({layer['in']}, {layer['out']})" if layer["kind"] == "Linear" else layer["kind"]
        assert entry["loaded"], f"{what}.{path} should be an nn.Linear({n_in}, {n_out}) with a bias, but it is {shown}"


# --------------------------------------------------------------------------------- MLP


@task("MLP", points=1)
def test_mlp_layers(mlp_shapes):
    "hidden and out are nn.Linear layers of the sizes asked for"
    sizes = {"default": (20, 256, 10), "custom": (5, 7, 3)}
    for key, (n_in, n_hidden, n_out) in sizes.items():
        call = "MLP()" if key == "default" else "MLP(in_features=5, hidden=7, out_features=3)"
        got = unwrap(mlp_shapes[key], call)
        for attr, want in (("hidden", (n_in, n_hidden)), ("out", (n_hidden, n_out))):
            layer = got[attr]
            assert layer["kind"] == "Linear", f"{call}.{attr} should be an nn.Linear, but it is {layer['kind']}"
            have = (layer["in"], layer["out"])
            assert have == want, f"{call}.{attr} is nn.Linear{have}, expected nn.Linear{want}" + (
                ": build the layers from the constructor's arguments, not fixed sizes" if key == "custom" else ""
            )


@task("MLP", points=2)
def test_mlp_forward(mlp_forward, mlp_forward_given):
    "forward computes out(relu(hidden(X)))"
    unwrap(mlp_forward["made"], "MLP()")
    given = mlp_forward_given
    X, hidden, out = given["X"], given["hidden"], given["out"]
    loaded(mlp_forward, "MLP()", {"hidden": (20, 256), "out": (256, 10)})
    Y = unwrap(mlp_forward["Y"], "MLP()(X)")
    assert_same_inputs(mlp_forward["X"], X, "The input X")
    if matches(Y, linear(out, linear(hidden, X))):
        raise Mistake("missing-relu", "MLP's output is out(hidden(X)): the ReLU between the two layers is missing")
    if matches(Y, F.relu(linear(out, F.relu(linear(hidden, X))))):
        raise Mistake(
            "relu-after-out", "MLP's output goes through a ReLU after `out`: only the hidden layer's output takes one"
        )
    assert_close(Y, linear(out, F.relu(linear(hidden, X))), "MLP's output differs from out(relu(hidden(X)))")


# ------------------------------------------------------------------------ MySequential


@task("MySequential", points=2)
def test_modules_registered(seq_registration):
    'modules are registered under "0", "1", ... like nn.Sequential'
    data = seq_registration
    if data["parameters"] == 0:
        raise Mistake(
            "modules-not-registered",
            "MySequential(Linear, ReLU, Linear) has no parameters: the modules are not registered. "
            "Modules kept in a plain Python list (or any container PyTorch does not track) are invisible "
            "to it; register each one with self.add_module(str(i), module) (or self._modules[str(i)] = module).",
        )
    assert data["children"] == ["0", "1", "2"], (
        f"MySequential's submodules are named {data['children']}, expected ['0', '1', '2'] "
        "(register the i-th module under str(i))"
    )
    expected_keys = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert data["state_keys"] == expected_keys, f"state_dict keys are {data['state_keys']}, expected {expected_keys}"
    assert data["applied"][:3] == ["Linear", "ReLU", "Linear"], (
        f"net.apply(fn) visited {data['applied']}: it should reach every registered module"
    )


@task("MySequential", points=1)
def test_sequential_forward(seq_forward, seq_forward_given):
    "forward chains the modules in order (same output as nn.Sequential)"
    X = seq_forward_given["X"]
    Y = unwrap(seq_forward["Y"], "MySequential(Linear, ReLU, Linear)(X)")
    assert_same_inputs(seq_forward["X"], X, "The input X")
    expected = torch.nn.Sequential(*seq_forward_given["layers"])(X).detach()
    if matches(Y, X):
        raise Mistake("returns-input", "MySequential's forward returned its input unchanged: it must run every module")
    assert_close(Y, expected, "MySequential's output differs from nn.Sequential's with the same layers")


@task("MySequential", points=1)
def test_shared_module_runs_twice(seq_shared, seq_shared_given):
    "a module passed twice runs twice"
    X, shared = seq_shared_given["X"], seq_shared_given["shared"]
    Y = unwrap(seq_shared["Y"], "MySequential(shared, ReLU(), shared)(X)")
    assert_same_inputs(seq_shared["X"], X, "The input X")
    expected = module_linear(shared, F.relu(module_linear(shared, X)))
    if matches(Y, F.relu(module_linear(shared, X))):
        raise Mistake(
            "shared-runs-once",
            "MySequential(shared, ReLU(), shared) ran `shared` only once (its output is relu(shared(X))). "
            "self.children() and sets list a module once even when it was added twice: iterate over "
            "self._modules.values() instead.",
        )
    assert_close(Y, expected, "MySequential(shared, ReLU(), shared)(X) should equal shared(relu(shared(X)))")


@task("MySequential", points=1)
def test_len_and_indexing(seq_indexing):
    "len(net) and net[i] work like nn.Sequential (negative i too)"
    length = unwrap(seq_indexing["len"], "len(net)")
    assert length == 3, f"len(MySequential(a, b, c)) is {length!r}, expected 3"
    for i, same in seq_indexing["items"].items():
        why = N_(" (negative indices count from the end, as for lists)") if i < 0 else ""
        if failed(same):
            error = same["error"]
            raise AssertionError(f"net[{i}] raised {error['type']}: {error['message']}{why}\n{error['traceback']}")
        assert same["value"] is True, f"net[{i}] is not the module passed at position {i}{why}"
    kind = error_type(seq_indexing["past_end"])
    assert kind == "IndexError", (
        "net[3] on a MySequential of 3 modules should raise IndexError, "
        + (f"it raised {kind}" if kind else "it returned a value")
        + " (Python's iteration and nn.Sequential rely on IndexError)"
    )


# ---------------------------------------------------------------------- FixedHiddenMLP


@task("FixedHiddenMLP", points=1)
def test_rand_weight_is_a_buffer(fixed_structure):
    "rand_weight is a constant buffer drawn with torch.rand: saved in state_dict, never trained"
    for key, n in (("default", 20), ("custom", 8)):
        data = fixed_structure[key]
        call = "FixedHiddenMLP()" if key == "default" else "FixedHiddenMLP(in_features=8)"
        kind = data["rand_weight_kind"]
        assert kind != "missing", f"{call} has no attribute rand_weight"
        assert kind != "Parameter", (
            f"{call}.rand_weight is an nn.Parameter, so an optimizer would train it; it must stay constant: "
            "register it with self.register_buffer('rand_weight', torch.rand(...))"
        )
        assert kind == "Tensor", f"{call}.rand_weight should be a tensor, it is {kind}"
        assert "rand_weight" in data["buffers"], (
            f"{call}.rand_weight is a plain tensor attribute: state_dict() does not save it and .to(device) "
            "does not move it. Register it with self.register_buffer('rand_weight', torch.rand(...))"
        )
        assert "rand_weight" in data["state_keys"], (
            f"{call}.rand_weight is a non-persistent buffer: state_dict() must save it (persistent=True)"
        )
        assert not data["rand_weight_requires_grad"], f"{call}.rand_weight requires grad: it must be a constant"
        rw = data["rand_weight"]
        assert tuple(rw.shape) == (n, n), f"{call}.rand_weight has shape {tuple(rw.shape)}, expected ({n}, {n})"
        assert rw.is_floating_point(), f"{call}.rand_weight holds {rw.dtype} values: draw it with torch.rand"
        assert rw.min() >= 0 and rw.max() < 1 and rw.std() > 0, (
            f"{call}.rand_weight should be drawn with torch.rand (uniform values in [0, 1))"
        )


@task("FixedHiddenMLP", points=1)
def test_two_parameters(fixed_structure):
    "exactly two parameters, linear.weight and linear.bias: one layer used twice"
    for key, n in (("default", 20), ("custom", 8)):
        params = fixed_structure[key]["params"]
        names = [name for name, _ in params]
        call = "FixedHiddenMLP()" if key == "default" else "FixedHiddenMLP(in_features=8)"
        if "rand_weight" in names:
            raise AssertionError(f"{call} counts rand_weight among its parameters: it must be a buffer")
        assert len(params) <= 2, (
            f"{call} has {len(params)} parameters ({', '.join(names)}): use one nn.Linear twice, not two layers"
        )
        expected = [["linear.weight", [n, n]], ["linear.bias", [n]]]
        assert sorted(params) == sorted(expected), (
            f"{call}'s parameters are {params}, "
            f"expected linear.weight of shape ({n}, {n}) and linear.bias of shape ({n},)"
        )


def _halve_sum(H):
    """Halve H while H.abs().sum() > 1, then sum; None if that takes more than HALVINGS steps."""
    for _ in range(HALVINGS):
        if not H.abs().sum() > 1:
            return H.sum()
        H = H / 2
    return None


def _fixed_reference(X, layer, R):
    """The recipe's result, and the results one halving away when the loop's stop is a near tie."""
    H = linear(layer, X)
    H = F.relu(H @ R + 1)
    H = linear(layer, H)
    total = H.abs().sum().item()
    result = _halve_sum(H)
    assert result is not None, "the grader's reference did not converge (not your doing)"
    near_tie = total > 1 and abs(math.log2(total) - round(math.log2(total))) < 1e-5
    return result, ([result * 2, result / 2] if near_tie else [])


@task("FixedHiddenMLP", points=2)
def test_fixed_forward(fixed_forward, fixed_forward_given):
    "forward: linear, relu(X @ rand_weight + 1), linear again, halve while |X|.sum() > 1, then sum"
    data, given = fixed_forward, fixed_forward_given
    X, layer, R = given["X"], given["linear"], given["rand_weight"]
    has_rand_weight = unwrap(data["rand_weight_loaded"], "FixedHiddenMLP().rand_weight")
    assert has_rand_weight, "FixedHiddenMLP() has no tensor rand_weight of shape (20, 20)"
    assert data["rand_weight_device"] == data["device"], (
        f"after .to({data['device']!r}) rand_weight is still on {data['rand_weight_device']}: register it as a buffer"
    )
    loaded(data, "FixedHiddenMLP()", {"linear": (20, 20)})
    Y = unwrap(data["Y"], "FixedHiddenMLP()(X)")
    assert isinstance(Y, torch.Tensor) and Y.dim() == 0, "forward should return X.sum(), a tensor holding one number"
    assert_same_inputs(data["X"], X, "The input X")
    expected, alternatives = _fixed_reference(X, layer, R)
    if any(matches(Y, alt) for alt in alternatives):
        return  # a tie at the loop's threshold: one halving more or less is rounding, not a mistake
    H = F.relu(linear(layer, X) @ R)
    no_one = _halve_sum(linear(layer, H))
    if no_one is not None and matches(Y, no_one):
        raise Mistake("missing-plus-one", "FixedHiddenMLP's forward leaves out the `+ 1` in relu(X @ rand_weight + 1)")
    if matches(Y, linear(layer, F.relu(linear(layer, X) @ R + 1)).sum()):
        raise Mistake(
            "skips-loop", "FixedHiddenMLP's forward skips the loop: halve X while X.abs().sum() > 1, then sum"
        )
    assert_close(Y, expected, "FixedHiddenMLP's output differs from the recipe")


# ----------------------------------------------------------------------------- NestMLP


@task("NestMLP", points=1)
def test_nest_structure(nest_structure):
    "net is Sequential(Linear(20, 64), ReLU, Linear(64, 32), ReLU) and linear is Linear(32, 16)"
    expected = [
        {"kind": "Linear", "in": 20, "out": 64},
        {"kind": "ReLU"},
        {"kind": "Linear", "in": 64, "out": 32},
        {"kind": "ReLU"},
    ]
    net = nest_structure["net"]
    assert isinstance(net, list), f"NestMLP().net should be an nn.Sequential, it is {net['kind']}"
    assert net == expected, f"NestMLP().net holds {net}, expected {expected}"
    assert nest_structure["linear"] == {"kind": "Linear", "in": 32, "out": 16}, (
        f"NestMLP().linear is {nest_structure['linear']}, expected nn.Linear(32, 16)"
    )


@task("NestMLP", points=1)
def test_nest_forward(nest_forward, nest_forward_given):
    "forward computes linear(net(X))"
    given = nest_forward_given
    X = given["X"]
    Y = unwrap(nest_forward["Y"], "NestMLP()(X)")
    loaded(nest_forward, "NestMLP()", {"net.0": (20, 64), "net.2": (64, 32), "linear": (32, 16)})
    assert_same_inputs(nest_forward["X"], X, "The input X")
    l1, l2, l3 = given["net.0"], given["net.2"], given["linear"]
    expected = linear(l3, F.relu(linear(l2, F.relu(linear(l1, X)))))
    assert_close(Y, expected, "NestMLP's output differs from linear(net(X))")


# ---------------------------------------------------------------------------- Parallel


@task("Parallel", points=1)
def test_parallel_registration(parallel_registration):
    "net1 and net2 are registered submodules"
    data = parallel_registration
    assert data["same_objects"] == [True, True], "Parallel(net1, net2) should keep the two networks as .net1 and .net2"
    assert data["children"][:2] == ["net1", "net2"], (
        f"Parallel's submodules are {data['children']}: register net1 and net2 as submodules"
    )
    expected = ["net1.weight", "net1.bias", "net2.weight", "net2.bias"]
    assert data["state_keys"] == expected, f"Parallel's state_dict keys are {data['state_keys']}, expected {expected}"


@task("Parallel", points=1)
def test_parallel_default_dim(parallel_forward, parallel_forward_given):
    "forward concatenates the two outputs along the last dimension by default"
    given = parallel_forward_given
    X = given["X"]
    Y = unwrap(parallel_forward["Y"], "Parallel(net1, net2)(X) for X of shape (2, 6, 4)")
    assert_same_inputs(parallel_forward["X"], X, "The input X")
    expected = torch.cat((module_linear(given["net1"], X), module_linear(given["net2"], X)), dim=-1)
    assert_close(Y, expected, "Parallel's output should be torch.cat((net1(X), net2(X)), dim=-1)")


@task("Parallel", points=1)
def test_parallel_given_dim(parallel_dim, parallel_dim_given):
    "forward concatenates along the dim it was given"
    given = parallel_dim_given
    X = given["X"]
    Y = unwrap(parallel_dim["Y"], "Parallel(net1, net2, dim=0)(X)")
    assert_same_inputs(parallel_dim["X"], X, "The input X")
    expected = torch.cat((module_linear(given["net1"], X), module_linear(given["net2"], X)), dim=0)
    assert_close(Y, expected, "Parallel(net1, net2, dim=0) should concatenate along dim 0")


# --------------------------------------------------------------------------- replicate


@task("replicate", points=1)
def test_replicate_chains(replicate_result, replicate_result_given):
    "returns a MySequential of n modules made by the factory, chained in order"
    data, given = replicate_result, replicate_result_given
    unwrap(data["result"], "replicate(factory, 3)")
    assert data["type"] == "MySequential", f"replicate should return a MySequential, it returned a {data['type']}"
    assert data["n_children"] == 3, f"replicate(factory, 3) holds {data['n_children']} modules, expected 3"
    order = data["order"]
    assert len(order) == 3 and all(i >= 0 for i in order), (
        "replicate(factory, 3) holds modules that factory() did not make"
    )
    layers = given["layers"]
    if any(i >= len(layers) for i in order):
        raise AssertionError(
            f"replicate(factory, 3) called factory() {data['calls']} times: call it once for each of the n modules"
        )
    X = given["X"]
    expected = X
    for i in order:
        expected = module_linear(layers[i], expected)
    Y = unwrap(data["Y"], "replicate(factory, 3)(X)")
    assert_same_inputs(data["X"], X, "The input X")
    assert_close(Y, expected, "replicate(factory, 3)(X) should run the three modules one after the other")


@task("replicate", points=1)
def test_replicate_independent(replicate_result):
    "the n modules are independent: factory() is called n times and no parameter is shared"
    data = replicate_result
    unwrap(data["result"], "replicate(factory, 3)")
    if data["calls"] == 1 and data["n_children"] > 1 and data["distinct_children"] == 1:
        raise Mistake(
            "reused-instance",
            f"replicate(factory, 3) called factory() once and holds that one instance {data['n_children']} times, "
            "so the copies share their parameters: call factory() once for each of the n modules",
        )
    assert data["distinct_children"] == data["n_children"], (
        f"replicate(factory, 3) holds {data['n_children']} modules but only {data['distinct_children']} distinct "
        "objects: each of the n modules must be a new one made by factory()"
    )
    assert data["calls"] >= 3, (
        f"replicate(factory, 3) called factory() {data['calls']} time(s): call it once for each of the n modules"
    )
    assert data["parameters"] > 0, (
        f"replicate(factory, 3) holds {data['n_children']} modules with no parameters: there is nothing to check"
    )
    assert data["distinct_parameters"] == data["parameters"], "the modules returned by replicate share parameters"


@task("replicate", points=1)
def test_replicate_rejects_n_below_one(replicate_invalid):
    "n < 1 raises ValueError"
    assert_nonempty(replicate_invalid, "The results of replicate(factory, n) for n < 1")
    one = replicate_invalid.pop(1)
    assert not failed(one), (
        f"replicate(factory, 1) raised {error_type(one)}: n = 1 is valid (a MySequential of one module); "
        "only n < 1 raises ValueError"
    )
    for n, outcome in replicate_invalid.items():
        kind = error_type(outcome)
        assert kind == "ValueError", f"replicate(factory, {n}) should raise ValueError, " + (
            f"it raised {kind}" if kind else "it returned a value"
        )
