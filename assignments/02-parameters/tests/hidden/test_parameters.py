"""Hidden judges of assignment 2 (parameters). They run in the grader on the probes' plain data.

The judges build the same reference networks as the probes, so every expectation here is
computed in the grader: names, shapes and counts from the architecture, outputs and gradients
from the probes' `given` inputs and weights (rebuilt here), never from values a probe reports.
"""

import torch
from torch import nn
from torch.nn import functional as F

from autograder.judging import assert_close, assert_nonempty, assert_same_inputs, error_type, matches, task, unwrap


def block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def reference_rgnet():
    inner = nn.Sequential()
    inner.add_module("block 0", block1())
    inner.add_module("block 1", block1())
    return nn.Sequential(inner, nn.Linear(4, 1))


def reference_tied():
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def description(net):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters()]


def linear(n_in, n_out):
    return {"kind": "Linear", "in": n_in, "out": n_out}


RELU = {"kind": "ReLU", "children": []}
BLOCK1 = {
    "kind": "Sequential",
    "children": [["0", linear(4, 8)], ["1", RELU], ["2", linear(8, 4)], ["3", RELU]],
}


def block2_structure(n):
    return {"kind": "Sequential", "children": [[f"block {i}", BLOCK1] for i in range(n)]}


# ------------------------------------------------------------------ describe_parameters


def check_description(got, expected, what):
    assert isinstance(got, list), f"describe_parameters({what}) should return a list, not a {type(got).__name__}"
    for entry in got:
        assert isinstance(entry, tuple) and len(entry) == 2, (
            f"describe_parameters({what}) should hold (name, shape) tuples; it holds {entry!r:.80}"
        )
        assert isinstance(entry[1], tuple), f"shapes should be tuples of ints, like (8, 4), not {entry[1]!r:.60}"
    assert got == expected, f"describe_parameters({what}) returned {got}, expected {expected}"


@task("describe_parameters", points=2)
def test_describe_nested(described):
    "names and shapes of a nested network, in registration order"
    check_description(unwrap(described["nested"], "describe_parameters(net)"), description(reference_rgnet()), "rgnet")
    check_description(unwrap(described["empty"], "describe_parameters(...)"), [], "a net without parameters")
    frozen = unwrap(described["frozen"], "describe_parameters(frozen net)")
    check_description(frozen, description(reference_rgnet()), "a net whose parameters do not require grad")


@task("describe_parameters", points=1)
def test_describe_tied_once(described):
    "a tied parameter is listed once"
    got = unwrap(described["tied"], "describe_parameters(tied net)")
    expected = description(reference_tied())
    if isinstance(got, list) and len(got) == len(expected) + 2:
        raise AssertionError(
            "describe_parameters lists the shared layer's weight and bias twice: named_parameters() "
            "yields a tied parameter once, under its first name"
        )
    check_description(got, expected, "a net with a shared layer")


# ---------------------------------------------------------------- block1 / block2 / rgnet


@task("block1", points=1)
def test_block1(blocks):
    "block1() is Sequential(Linear(4, 8), ReLU, Linear(8, 4), ReLU)"
    got = unwrap(blocks["block1"], "block1()")["structure"]
    assert got == BLOCK1, f"block1() is {got}, expected {BLOCK1}"


@task("block1", points=2)
def test_block2(blocks):
    'block2(n) holds n fresh block1() children named "block 0" ... "block {n-1}"'
    cases = [(str(n), blocks["block2"][str(n)], n) for n in (4, 2, 1)] + [("", blocks["block2_default"], 4)]
    for arg, made, n in cases:
        got = unwrap(made, f"block2({arg})")
        names = [name for name, _ in got["structure"].get("children", [])]
        if n > 1 and len(names) == 1:
            raise AssertionError(f"block2({arg}) holds one block: does it return inside its loop?")
        expected_names = [f"block {i}" for i in range(n)]
        assert names == expected_names, f"block2({arg})'s children are named {names}, expected {expected_names}"
        assert got["structure"] == block2_structure(n), f"block2({arg})'s children should each be a block1()"
        assert got["distinct_parameters"] == got["parameters"] == 4 * n, (
            f"block2({arg})'s blocks share parameters: call block1() once per block"
        )


def loaded(data, what):
    """Fail unless the probe could give every parameter of the network its given value."""
    wrong = unwrap(data["wrong"], f"setting the weights of {what}")
    assert not wrong, f"{what} has no parameter {wrong[0]!r} of the expected shape" + (
        f" (nor {len(wrong) - 1} more)" if len(wrong) > 1 else ""
    )


@task("block1", points=1)
def test_rgnet(blocks, rgnet_forward, rgnet_forward_given):
    "rgnet(n) is Sequential(block2(n), Linear(4, 1)) and maps (N, 4) to (N, 1)"
    for n in (4, 3):
        got = unwrap(blocks["rgnet"][str(n)], f"rgnet({n})")["structure"]
        expected = {"kind": "Sequential", "children": [["0", block2_structure(n)], ["1", linear(4, 1)]]}
        assert got == expected, f"rgnet({n}) should be nn.Sequential(block2({n}), nn.Linear(4, 1))"
    unwrap(rgnet_forward["made"], "rgnet()")
    loaded(rgnet_forward, "rgnet()")
    state, X = rgnet_forward_given["state"], rgnet_forward_given["X"]
    H = X
    for i in range(4):
        for j in (0, 2):
            H = F.relu(F.linear(H, state[f"0.block {i}.{j}.weight"], state[f"0.block {i}.{j}.bias"]))
    expected = F.linear(H, state["1.weight"], state["1.bias"])
    Y = unwrap(rgnet_forward["Y"], "rgnet()(X)")
    assert_same_inputs(rgnet_forward["X"], X, "The input X")
    assert_close(Y, expected, "rgnet()(X) differs from the nested blocks")


# ----------------------------------------------------------------------- get_parameter


@task("get_parameter", points=2)
def test_get_parameter_returns_the_object(looked_up):
    "resolves a dotted path (names with spaces too) to the very Parameter object"
    assert_nonempty(looked_up["found"], "The list of paths looked up")
    for path, found in looked_up["found"].items():
        same = unwrap(found, f"get_parameter(net, {path!r})")
        assert same is True, (
            f"get_parameter(net, {path!r}) is not the network's own Parameter object "
            "(a copy or its .data cannot be trained or tied)"
        )


@task("get_parameter", points=1)
def test_get_parameter_unknown_path(looked_up):
    "a path that names no parameter raises KeyError naming the path"
    assert_nonempty(looked_up["unknown"], "The list of unknown paths looked up")
    for path, got in looked_up["unknown"].items():
        kind = error_type(got)
        assert kind == "KeyError", f"get_parameter(net, {path!r}) should raise KeyError, " + (
            f"it raised {kind}" if kind else f"it returned a {got.get('value')}"
        )
        assert path in got["error"]["message"], f"the KeyError for {path!r} should name the path"


# -------------------------------------------------------------------- count_parameters


def numel(net, trainable_only=False):
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


def number(attempted, call):
    """What count_parameters returned, as a number (a one-element tensor counts as its value)."""
    got = unwrap(attempted, call)
    if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_complex():
        got = got.item()
    assert type(got) in (int, float), f"{call} should return a number, but it returned a {type(got).__name__}"
    return got


@task("count_parameters", points=1)
def test_count_nested(counted):
    "counts every scalar of a nested network"
    expected = numel(reference_rgnet())
    assert number(counted["nested"], "count_parameters(net)") == expected, f"rgnet-like net has {expected} scalars"
    assert number(counted["all_of_frozen"], "count_parameters(net)") == expected, (
        "without trainable_only, frozen parameters count too"
    )


@task("count_parameters", points=1)
def test_count_tied_once(counted):
    "a tied parameter is counted once"
    expected = numel(reference_tied())
    got = number(counted["tied"], "count_parameters(tied net)")
    if got == expected + 8 * 8 + 8:
        raise AssertionError("count_parameters counts the shared layer twice: count each Parameter once")
    assert got == expected, f"count_parameters(tied net) is {got}, expected {expected}"


@task("count_parameters", points=1)
def test_count_trainable_only(counted):
    "trainable_only counts only parameters with requires_grad"
    net = reference_rgnet()
    net[0].requires_grad_(False)
    expected = numel(net, trainable_only=True)
    got = number(counted["trainable"], "count_parameters(net, trainable_only=True)")
    assert got == expected, f"count_parameters(net, trainable_only=True) is {got}, expected {expected}"


# ---------------------------------------------------------------------------- tied_mlp


TIED_STRUCTURE = {
    "kind": "Sequential",
    "children": [
        ["0", linear(4, 8)],
        ["1", RELU],
        ["2", linear(8, 8)],
        ["3", RELU],
        ["4", linear(8, 8)],
        ["5", RELU],
        ["6", linear(8, 1)],
    ],
}


@task("tied_mlp", points=1)
def test_tied_structure(tied_structure):
    "Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1) with one shared module"
    assert tied_structure["structure"] == TIED_STRUCTURE, f"tied_mlp() is {tied_structure['structure']}"
    assert tied_structure["shared_module"] and tied_structure["shared_weight"], (
        "tied_mlp()[2] and tied_mlp()[4] are two different layers: create shared = nn.Linear(8, 8) "
        "once and put that same module at both places"
    )
    assert tied_structure["distinct_parameters"] == 6, "tied_mlp() should hold 6 distinct parameters"


def tied_reference_grads(state, X):
    """The gradients of each use of the shared layer, from an untied copy of the network."""
    uses = [[state["2.weight"].clone().requires_grad_(), state["2.bias"].clone().requires_grad_()] for _ in range(2)]
    H = F.relu(F.linear(X, state["0.weight"], state["0.bias"]))
    H = F.relu(F.linear(H, *uses[0]))
    H = F.relu(F.linear(H, *uses[1]))
    F.linear(H, state["6.weight"], state["6.bias"]).sum().backward()
    return uses


@task("tied_mlp", points=2)
def test_tied_gradient_is_the_sum(tied_gradient, tied_gradient_given):
    "the shared layer's gradient is the sum of the gradients of both uses"
    data, given = tied_gradient, tied_gradient_given
    unwrap(data["made"], "tied_mlp()")
    loaded(data, "tied_mlp()")
    unwrap(data["loss"], "tied_mlp()(X).sum()")
    assert_same_inputs(data["X"], given["X"], "The input X")
    (w1, b1), (w2, b2) = tied_reference_grads(given["state"], given["X"])
    grad = data["grad_weight"]
    assert grad is not None, "after backward(), tied_mlp()[2].weight has no gradient"
    if matches(grad, w1.grad, atol=1e-6) or matches(grad, w2.grad, atol=1e-6):
        raise AssertionError("the shared layer's gradient comes from one use only: the two layers are not one module")
    assert_close(grad, w1.grad + w2.grad, "the shared weight's gradient should be the sum over both uses")
    assert data["grad_bias"] is not None, "after backward(), tied_mlp()[2].bias has no gradient"
    assert_close(data["grad_bias"], b1.grad + b2.grad, "the shared bias's gradient should be the sum over both uses")


# ------------------------------------------------------------------------- tie_weights


def tie_reference(given):
    """(W0, the gradient of each use of net[0]'s weight) when net[2] shares net[0]'s parameters."""
    net, X = given["net"], given["X"]
    W0, b0 = net[0].weight.detach(), net[0].bias.detach()
    uses = [W0.clone().requires_grad_() for _ in range(2)]
    H = F.relu(F.linear(X, uses[0], b0))
    H = F.relu(F.linear(H, uses[1], b0))
    F.linear(H, net[4].weight.detach(), net[4].bias.detach()).sum().backward()
    return W0, uses[0].grad, uses[1].grad


@task("tie_weights", points=1)
def test_tie_shares_the_parameters(tied_by_student):
    "net[dst] uses the very Parameters of net[src], with no autograd history, and net is returned"
    data = tied_by_student
    returned = unwrap(data["result"], "tie_weights(net, 0, 2)")
    assert data["same_weight"] and data["same_bias"], (
        "after tie_weights(net, 0, 2), net[2].weight is not the same Parameter object as net[0].weight: "
        "the values are copies"
    )
    assert data["leaf"], "net[2].weight should stay a leaf Parameter that requires grad (no autograd history)"
    assert returned is True, "tie_weights should return the network it was given"


@task("tie_weights", points=1)
def test_tie_sums_gradients(tied_by_student, tied_by_student_given):
    "after tying, the shared weight's gradient is the sum over both uses"
    data = tied_by_student
    unwrap(data["result"], "tie_weights(net, 0, 2)")
    assert_same_inputs(data["X"], tied_by_student_given["X"], "The input X")
    _, first, second = tie_reference(tied_by_student_given)
    assert data["grad_weight"] is not None, "net[0].weight has no gradient after backward()"
    if matches(data["grad_weight"], first, atol=1e-6):
        raise AssertionError("net[0].weight's gradient comes from its own use only: the layers are copies, not tied")
    assert_close(data["grad_weight"], first + second, "the tied weight's gradient should be the sum")


@task("tie_weights", points=1)
def test_tie_keeps_the_optimizer_working(tied_by_student, tied_by_student_given):
    "an optimizer built before tying still updates the shared Parameters"
    data = tied_by_student
    unwrap(data["result"], "tie_weights(net, 0, 2)")
    W0, first, second = tie_reference(tied_by_student_given)
    stepped, other = data["after_step"]["0"], data["after_step"]["2"]
    if matches(stepped, W0):
        raise AssertionError("SGD built before tie_weights did not update net[0].weight")
    if matches(stepped, W0 - 0.1 * first) and not matches(other, stepped):
        raise AssertionError(
            "SGD updated net[0].weight with the gradient of its own use only and net[2].weight drifted away "
            "from it: the layers are copies, not tied"
        )
    assert_close(stepped, W0 - 0.1 * (first + second), "one SGD step should update net[0].weight by -lr × its gradient")
    assert_close(other, stepped, "net[2].weight drifted away from net[0].weight")


@task("tie_weights", points=1)
def test_tie_refuses_mismatched_shapes(tie_mismatch):
    "mismatched shapes raise ValueError and leave net unchanged"
    for case, what in (("shape", "Linear(4, 4) and Linear(4, 3)"),):
        data = tie_mismatch[case]
        kind = data["error"]["type"] if data["error"] else None
        assert kind == "ValueError", f"tying {what} should raise ValueError" + (f", not {kind}" if kind else "")
        assert data["unchanged"], f"tying {what} failed but changed net: check the shapes before changing anything"
