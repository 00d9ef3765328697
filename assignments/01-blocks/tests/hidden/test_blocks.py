"""Hidden judges of assignment 1 (blocks). They run in the grader on the probes' plain data.

Every reference is recomputed here with torch built-ins from the weights and inputs the
probes report; each assert's message names the mistake it catches.
"""

import math

import torch
from torch.nn import functional as F

from autograder.judging import assert_close, error_type, failed, matches, task, unwrap


def linear(layer, X):
    return F.linear(X, layer["weight"], layer["bias"])


def state_linear(state, X):
    return F.linear(X, state["weight"], state["bias"])


def pick(linears, n_in, n_out, what):
    for layer in linears:
        if (layer["in"], layer["out"]) == (n_in, n_out):
            return layer
    found = ", ".join(f"Linear({l['in']}, {l['out']})" for l in linears) or "none"
    raise AssertionError(f"{what} should hold an nn.Linear({n_in}, {n_out}); its linear layers are: {found}")


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
def test_mlp_forward(mlp_forward):
    "forward computes out(relu(hidden(X)))"
    X = mlp_forward["X"]
    Y = unwrap(mlp_forward["Y"], "MLP()(X)")
    hidden = pick(mlp_forward["linears"], 20, 256, "MLP()")
    out = pick(mlp_forward["linears"], 256, 10, "MLP()")
    if matches(Y, linear(out, linear(hidden, X))):
        raise AssertionError("MLP's output is out(hidden(X)): the ReLU between the two layers is missing")
    if matches(Y, F.relu(linear(out, F.relu(linear(hidden, X))))):
        raise AssertionError("MLP's output goes through a ReLU after `out`: only the hidden layer's output takes one")
    assert_close(Y, linear(out, F.relu(linear(hidden, X))), "MLP's output differs from out(relu(hidden(X)))")


# ------------------------------------------------------------------------ MySequential


@task("MySequential", points=2)
def test_modules_registered(seq_registration):
    'modules are registered under "0", "1", ... like nn.Sequential'
    data = seq_registration
    if data["parameters"] == 0:
        raise AssertionError(
            "MySequential(Linear, ReLU, Linear) has no parameters: the modules are not registered. "
            "Modules kept in a plain Python list are invisible to PyTorch; register each one with "
            "self.add_module(str(i), module) (or self._modules[str(i)] = module)."
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
def test_sequential_forward(seq_forward):
    "forward chains the modules in order (same output as nn.Sequential)"
    X = seq_forward["X"]
    Y = unwrap(seq_forward["Y"], "MySequential(Linear, ReLU, Linear)(X)")
    first, _, last = seq_forward["layers"]
    expected = state_linear(last, F.relu(state_linear(first, X)))
    if matches(Y, X):
        raise AssertionError("MySequential's forward returned its input unchanged: it must run every module")
    assert_close(Y, expected, "MySequential's output differs from nn.Sequential's with the same layers")


@task("MySequential", points=1)
def test_shared_module_runs_twice(seq_shared):
    "a module passed twice runs twice"
    X, shared = seq_shared["X"], seq_shared["shared"]
    Y = unwrap(seq_shared["Y"], "MySequential(shared, ReLU(), shared)(X)")
    expected = state_linear(shared, F.relu(state_linear(shared, X)))
    if matches(Y, F.relu(state_linear(shared, X))):
        raise AssertionError(
            "MySequential(shared, ReLU(), shared) ran `shared` only once: self.children() lists a module "
            "once even when it was added twice. Iterate over self._modules.values() instead."
        )
    assert_close(Y, expected, "MySequential(shared, ReLU(), shared)(X) should equal shared(relu(shared(X)))")


@task("MySequential", points=1)
def test_len_and_indexing(seq_indexing):
    "len(net) and net[i] work like nn.Sequential (negative i too)"
    length = unwrap(seq_indexing["len"], "len(net)")
    assert length == 3, f"len(MySequential(a, b, c)) is {length!r}, expected 3"
    for i, same in seq_indexing["items"].items():
        why = " (negative indices count from the end, as for lists)" if i < 0 else ""
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


def _fixed_reference(X, layer, R):
    """The recipe's result, and the results one halving away when the loop's stop is a near tie."""
    H = linear(layer, X)
    H = F.relu(H @ R + 1)
    H = linear(layer, H)
    total = H.abs().sum().item()
    while H.abs().sum() > 1:
        H = H / 2
    result = H.sum()
    near_tie = total > 1 and abs(math.log2(total) - round(math.log2(total))) < 1e-5
    return result, ([result * 2, result / 2] if near_tie else [])


@task("FixedHiddenMLP", points=2)
def test_fixed_forward(fixed_forward):
    "forward: linear, relu(X @ rand_weight + 1), linear again, halve while |X|.sum() > 1, then sum"
    data = fixed_forward
    Y = unwrap(data["Y"], "FixedHiddenMLP()(X)")
    R = data["rand_weight"]
    assert R is not None, "FixedHiddenMLP has no tensor rand_weight"
    assert data["rand_weight_device"] == data["device"], (
        f"after .to({data['device']!r}) rand_weight is still on {data['rand_weight_device']}: register it as a buffer"
    )
    layer = pick(data["linears"], 20, 20, "FixedHiddenMLP()")
    assert isinstance(Y, torch.Tensor) and Y.dim() == 0, "forward should return X.sum(), a tensor holding one number"
    X = data["X"]
    expected, alternatives = _fixed_reference(X, layer, R)
    if any(matches(Y, alt) for alt in alternatives):
        return  # a tie at the loop's threshold: one halving more or less is rounding, not a mistake
    H = F.relu(linear(layer, X) @ R)
    if matches(Y, _halve_sum(linear(layer, H))):
        raise AssertionError("FixedHiddenMLP's forward leaves out the `+ 1` in relu(X @ rand_weight + 1)")
    if matches(Y, linear(layer, F.relu(linear(layer, X) @ R + 1)).sum()):
        raise AssertionError("FixedHiddenMLP's forward skips the loop: halve X while X.abs().sum() > 1, then sum")
    assert_close(Y, expected, "FixedHiddenMLP's output differs from the recipe")


def _halve_sum(H):
    while H.abs().sum() > 1:
        H = H / 2
    return H.sum()


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
def test_nest_forward(nest_forward):
    "forward computes linear(net(X))"
    X = nest_forward["X"]
    Y = unwrap(nest_forward["Y"], "NestMLP()(X)")
    layers = nest_forward["linears"]
    l1, l2, l3 = (pick(layers, i, o, "NestMLP()") for i, o in ((20, 64), (64, 32), (32, 16)))
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
def test_parallel_default_dim(parallel_forward):
    "forward concatenates the two outputs along the last dimension by default"
    data = parallel_forward
    X = data["X"]
    Y = unwrap(data["Y"], "Parallel(net1, net2)(X) for X of shape (2, 6, 4)")
    expected = torch.cat((state_linear(data["net1"], X), state_linear(data["net2"], X)), dim=-1)
    assert_close(Y, expected, "Parallel's output should be torch.cat((net1(X), net2(X)), dim=-1)")


@task("Parallel", points=1)
def test_parallel_given_dim(parallel_dim):
    "forward concatenates along the dim it was given"
    data = parallel_dim
    X = data["X"]
    Y = unwrap(data["Y"], "Parallel(net1, net2, dim=0)(X)")
    expected = torch.cat((state_linear(data["net1"], X), state_linear(data["net2"], X)), dim=0)
    assert_close(Y, expected, "Parallel(net1, net2, dim=0) should concatenate along dim 0")


# --------------------------------------------------------------------------- replicate


@task("replicate", points=1)
def test_replicate_chains(replicate_result):
    "returns a MySequential of n modules made by the factory, chained in order"
    data = replicate_result
    unwrap(data["result"], "replicate(factory, 3)")
    assert data["type"] == "MySequential", f"replicate should return a MySequential, it returned a {data['type']}"
    assert data["n_children"] == 3, f"replicate(factory, 3) holds {data['n_children']} modules, expected 3"
    assert all(data["from_factory"]), "replicate(factory, 3) holds modules that factory() did not make"
    X = data["X"]
    expected = X
    for state in data["states"]:
        expected = state_linear(state, expected)
    Y = unwrap(data["Y"], "replicate(factory, 3)(X)")
    assert_close(Y, expected, "replicate(factory, 3)(X) should run the three modules one after the other")


@task("replicate", points=1)
def test_replicate_independent(replicate_result):
    "the n modules are independent: factory() is called n times and no parameter is shared"
    data = replicate_result
    unwrap(data["result"], "replicate(factory, 3)")
    if data["calls"] < 3 or data["distinct_children"] < data["n_children"]:
        raise AssertionError(
            f"replicate(factory, 3) called factory() {data['calls']} time(s) and reused the instance, so the copies "
            "share their parameters: call factory() once for each of the n modules"
        )
    assert data["distinct_parameters"] == data["parameters"], "the modules returned by replicate share parameters"


@task("replicate", points=1)
def test_replicate_rejects_n_below_one(replicate_invalid):
    "n < 1 raises ValueError"
    for n, outcome in replicate_invalid.items():
        kind = error_type(outcome)
        assert kind == "ValueError", f"replicate(factory, {n}) should raise ValueError, " + (
            f"it raised {kind}" if kind else "it returned a value"
        )
