"""Hidden judges of assignment 2 (parameters). They run in the grader on the probes' plain data.

The judges build the same reference networks as the probes, so every expectation here is
computed in the grader: names, shapes and counts from the architecture, outputs and gradients
from the probes' `given` inputs and weights (rebuilt here), never from values a probe reports.
A message names a cause (judging.Mistake) only where the data shows exactly that mistake:
a description or count that equals what the mistaken code computes, a call count, identities.
"""

import torch
from torch import nn
from torch.nn import functional as F

from autograder.i18n import N_
from autograder.judging import (
    Mistake,
    assert_close,
    assert_nonempty,
    assert_same_inputs,
    describe,
    error_type,
    matches,
    task,
    unwrap,
)


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


def tied_distinct():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    net[2].weight = net[0].weight
    return net


def batchnorm_net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.1), nn.Linear(4, 2))


NETS = {
    "nested": (reference_rgnet, "rgnet(2)"),
    "tied": (reference_tied, N_("a net with one layer at two places")),
    "tied_distinct": (tied_distinct, N_("a net whose layers 0 and 2 share their weight")),
    "empty": (lambda: nn.Sequential(nn.ReLU()), N_("a net without parameters")),
    "frozen": (lambda: reference_rgnet().requires_grad_(False), N_("a net whose parameters do not require grad")),
    "bare": (lambda: nn.Linear(3, 2), N_("nn.Linear(3, 2) itself")),
    "batchnorm": (batchnorm_net, "Sequential(Linear, BatchNorm1d, Dropout, Linear)"),
}


def description(net, remove_duplicate=True):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters(remove_duplicate=remove_duplicate)]


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


def check_description(described, key):
    build, what = NETS[key]
    got = unwrap(described[key], f"describe_parameters({what})")
    expected = description(build())
    assert isinstance(got, list), f"describe_parameters({what}) should return a list, not {describe(got)}"
    for entry in got:
        assert isinstance(entry, tuple) and len(entry) == 2, (
            f"describe_parameters({what}) should hold (name, shape) tuples; it holds {entry!r:.80}"
        )
        assert isinstance(entry[1], tuple), f"shapes should be tuples of ints, like (8, 4), not {entry[1]!r:.60}"
    net = build()
    with_buffers = [(name, tuple(t.shape)) for name, t in net.state_dict().items()]
    if got != expected and len(list(net.buffers())) and got == with_buffers:
        raise Mistake(
            "lists-buffers",
            f"describe_parameters({what}) lists its buffers too ({', '.join(n for n, _ in net.named_buffers())}): "
            "a BatchNorm's running statistics are buffers, not parameters (state_dict() holds both)",
        )
    if got != expected and got == description(net, remove_duplicate=False):
        raise Mistake(
            "tied-twice",
            f"describe_parameters({what}) lists a shared parameter under each of its names: "
            "named_parameters() yields a tied parameter once, under its first name",
        )
    assert got == expected, f"describe_parameters({what}) returned {got}, expected {expected}"


@task("describe_parameters", points=2)
def test_describe_nested(described):
    "names and shapes of a nested network, in registration order; parameters only, not buffers"
    for key in ("nested", "empty", "frozen", "bare", "batchnorm"):
        check_description(described, key)


@task("describe_parameters", points=1)
def test_describe_tied_once(described):
    "a tied parameter is listed once: a layer used twice, or two layers sharing a weight"
    for key in ("tied", "tied_distinct"):
        check_description(described, key)


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
        expected_names = [f"block {i}" for i in range(n)]
        if n > 1 and names == ["block 0"] and got["block1_calls"] == 1:
            raise Mistake(
                "returns-in-loop",
                f"block2({arg}) called block1() once and holds only 'block 0': its loop stopped after the first "
                "block, as it does when `return` sits inside the loop",
            )
        assert names == expected_names, f"block2({arg})'s children are named {names}, expected {expected_names}"
        assert got["structure"] == block2_structure(n), f"block2({arg})'s children should each be a block1()"
        if n > 1 and got["distinct_children"] == 1 and got["block1_calls"] == 1:
            raise Mistake(
                "reused-block",
                f"block2({arg}) called block1() once and added that one block {n} times, so its blocks share "
                "their parameters: call block1() once per block",
            )
        assert got["distinct_parameters"] == got["parameters"] == 4 * n, (
            f"block2({arg}) holds {got['distinct_parameters']} distinct parameters, expected {4 * n}: "
            "its blocks share parameters"
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


def check_found(looked_up, group):
    assert_nonempty(looked_up[group], "The list of paths looked up")
    for key, found in looked_up[group].items():
        net, path = key.split(":", 1)
        call = f"get_parameter({NETS[net][1]}, {path!r})"
        got = unwrap(found, call)
        assert got != "copy", (
            f"{call} returned a tensor equal to the network's parameter, but not the Parameter object itself "
            "(a copy or its .data cannot be trained or tied)"
        )
        assert got == "same", f"{call} returned an object of type {got}, expected the network's own Parameter"


@task("get_parameter", points=1.5)
def test_get_parameter_returns_the_object(looked_up):
    "resolves a dotted path (names with spaces too) to the very Parameter object"
    check_found(looked_up, "found")


@task("get_parameter", points=0.5)
def test_get_parameter_tied(looked_up):
    "a tied parameter is found under each of its names, e.g. the second use of a shared layer"
    check_found(looked_up, "tied")


@task("get_parameter", points=1)
def test_get_parameter_unknown_path(looked_up):
    "a path that names no parameter (a module, a buffer, a missing name) raises KeyError naming the path"
    assert_nonempty(looked_up["unknown"], "The list of unknown paths looked up")
    for key, got in looked_up["unknown"].items():
        net, path = key.split(":", 1)
        call = f"get_parameter({NETS[net][1]}, {path!r})"
        kind = error_type(got)
        assert kind == "KeyError", f"{call} should raise KeyError, " + (
            f"it raised {kind}" if kind else f"it returned an object of type {got.get('value')}"
        )
        assert path in got["error"]["message"], f"the KeyError of {call} should name the path"


# -------------------------------------------------------------------- count_parameters


def numel(net, trainable_only=False, remove_duplicate=True):
    params = (p for _, p in net.named_parameters(remove_duplicate=remove_duplicate))
    return sum(p.numel() for p in params if p.requires_grad or not trainable_only)


def number(attempted, call):
    """What count_parameters returned, as a number (a one-element tensor counts as its value)."""
    got = unwrap(attempted, call)
    if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_complex():
        got = got.item()
    assert type(got) in (int, float), f"{call} should return a number, but it returned {describe(got)}"
    return got


def partly_frozen():
    net = reference_rgnet()
    net[0].requires_grad_(False)
    return net


def check_count(counted, key, build, what, trainable_only=False):
    call = f"count_parameters({what}{', trainable_only=True' if trainable_only else ''})"
    got = number(counted[key], call)
    net = build()
    expected = numel(net, trainable_only)
    buffers = sum(b.numel() for b in net.buffers())
    if got != expected and buffers and got == expected + buffers:
        raise Mistake(
            "counts-buffers",
            f"{call} is {got}: the {expected} scalars of its parameters plus the {buffers} of its buffers "
            "(a BatchNorm's running statistics are buffers, not parameters)",
        )
    if got != expected and got == numel(net, trainable_only, remove_duplicate=False):
        raise Mistake(
            "counted-twice",
            f"{call} is {got}, which counts the shared parameters once per use: count each Parameter once "
            f"(expected {expected})",
        )
    assert got == expected, f"{call} is {got}, expected {expected}"


@task("count_parameters", points=1)
def test_count_nested(counted):
    "counts every scalar parameter of a nested network (not its buffers)"
    for key in ("nested", "batchnorm", "empty"):
        check_count(counted, key, *NETS[key])
    check_count(counted, "all_of_frozen", partly_frozen, N_("a net with block 0 frozen"))


@task("count_parameters", points=1)
def test_count_tied_once(counted):
    "a tied parameter is counted once: a layer used twice, or two layers sharing a weight"
    for key in ("tied", "tied_distinct"):
        check_count(counted, key, *NETS[key])


@task("count_parameters", points=1)
def test_count_trainable_only(counted):
    "trainable_only counts only parameters with requires_grad"
    check_count(counted, "trainable", partly_frozen, N_("a net with block 0 frozen"), trainable_only=True)


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
    data = unwrap(tied_structure, "tied_mlp()")
    assert data["structure"] == TIED_STRUCTURE, f"tied_mlp() is {data['structure']}, expected {TIED_STRUCTURE}"
    if not data["shared_module"]:
        if data["shared_weight"] and data["shared_bias"]:
            raise AssertionError(
                "tied_mlp()[2] and tied_mlp()[4] are two modules that share their Parameters: the task asks for "
                "one module, shared = nn.Linear(8, 8), placed at both indices"
            )
        if not data["shared_weight"] and not data["shared_bias"]:
            raise Mistake(
                "two-layers",
                "tied_mlp()[2] and tied_mlp()[4] are two different layers with parameters of their own: create "
                "shared = nn.Linear(8, 8) once and put that same module at both places",
            )
        raise AssertionError("tied_mlp()[2] and tied_mlp()[4] are two modules: put one shared module at both places")
    assert data["distinct_parameters"] == 6, (
        f"tied_mlp() holds {data['distinct_parameters']} distinct parameters, expected 6"
    )


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
    grads = unwrap(data["grads"], "tied_mlp()[2]'s gradients")
    grad = grads["weight"]
    assert grad is not None, "after backward(), tied_mlp()[2].weight has no gradient"
    if matches(grad, w1.grad, atol=1e-6) and not matches(grad, w1.grad + w2.grad, atol=1e-6):
        raise Mistake(
            "two-layers",
            "tied_mlp()[2].weight's gradient is the gradient of its use at index 2 alone: the layer at index 4 "
            "has parameters of its own, so the two uses are not one shared layer",
        )
    assert_close(grad, w1.grad + w2.grad, "the shared weight's gradient should be the sum over both uses")
    assert grads["bias"] is not None, "after backward(), tied_mlp()[2].bias has no gradient"
    assert_close(grads["bias"], b1.grad + b2.grad, "the shared bias's gradient should be the sum over both uses")


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


def tied_observed(data, given):
    unwrap(data["result"], "tie_weights(net, 0, 2)")
    assert_same_inputs(data["X"], given["X"], "The input X")
    observed = unwrap(data["observed"], "using the network after tie_weights(net, 0, 2)")
    if observed["reversed"] and not observed["same_weight"]:
        raise Mistake(
            "wrong-direction",
            "after tie_weights(net, 0, 2), net[0].weight is the Parameter net[2] had: the tie goes the wrong way. "
            "tie_weights(net, src, dst) makes net[dst] use the Parameters of net[src]",
        )
    return observed


@task("tie_weights", points=1)
def test_tie_shares_the_parameters(tied_by_student, tied_by_student_given):
    "net[dst] uses the very Parameters of net[src], with no autograd history, and net is returned"
    data = tied_by_student
    observed = tied_observed(data, tied_by_student_given)
    if not observed["same_weight"] and observed["equal_weight"]:
        raise Mistake(
            "copies-values",
            "after tie_weights(net, 0, 2), net[2].weight holds the values of net[0].weight but is another "
            "Parameter object: the values are copies of net[0]'s, not its Parameter",
        )
    assert observed["same_weight"], (
        "after tie_weights(net, 0, 2), net[2].weight is not net[0].weight, and its values differ from net[0].weight's"
    )
    assert observed["same_bias"], "after tie_weights(net, 0, 2), net[2].bias is not net[0].bias: tie the bias too"
    assert observed["leaf"], "net[2].weight should stay a leaf Parameter that requires grad (no autograd history)"
    assert unwrap(data["result"], "tie_weights(net, 0, 2)") is True, (
        "tie_weights should return the network it was given"
    )


@task("tie_weights", points=1)
def test_tie_sums_gradients(tied_by_student, tied_by_student_given):
    "after tying, the shared weight's gradient is the sum over both uses"
    observed = tied_observed(tied_by_student, tied_by_student_given)
    _, first, second = tie_reference(tied_by_student_given)
    grad = observed["grad_weight"]
    assert grad is not None, "net[0].weight has no gradient after backward()"
    if observed["equal_weight"] and not observed["same_weight"] and matches(grad, first, atol=1e-6):
        raise Mistake(
            "copies-values",
            "net[0].weight's gradient comes from its own use only: net[2] holds a copy of its values, "
            "not the Parameter itself, so the gradients are not summed",
        )
    assert_close(grad, first + second, "the tied weight's gradient should be the sum over both uses")


@task("tie_weights", points=0.5)
def test_tie_keeps_the_optimizer_working(tied_by_student, tied_by_student_given):
    "an optimizer built before tying still updates the shared Parameters"
    observed = tied_observed(tied_by_student, tied_by_student_given)
    W0, first, second = tie_reference(tied_by_student_given)
    stepped, other = observed["after_step"]["0"], observed["after_step"]["2"]
    assert not matches(stepped, W0), "SGD built before tie_weights did not change net[0].weight"
    if observed["equal_weight"] and not observed["same_weight"] and matches(stepped, W0 - 0.1 * first):
        raise Mistake(
            "copies-values",
            "SGD updated net[0].weight with the gradient of its own use only and net[2].weight drifted away "
            "from it: net[2] holds a copy of net[0]'s values, not its Parameter",
        )
    assert_close(stepped, W0 - 0.1 * (first + second), "one SGD step should update net[0].weight by -lr × its gradient")
    assert_close(other, stepped, "after one SGD step net[2].weight differs from net[0].weight")


@task("tie_weights", points=0.5)
def test_tie_without_bias(tied_without_bias):
    "layers built with bias=False tie too (their bias stays None)"
    data = tied_without_bias
    call = N_("tie_weights(net, 0, 2) on two nn.Linear(4, 4, bias=False)")
    assert unwrap(data["result"], call) is True, f"{call} should return the network it was given"
    assert data["same_weight"], f"after {call}, net[2].weight is not net[0].weight"
    assert data["bias_none"], f"after {call}, a layer has a bias: both should keep bias None"


MISMATCHED = {
    "out_features": N_("Linear(4, 4) and Linear(4, 3)"),
    "in_features": N_("Linear(4, 4) and Linear(3, 4)"),
    "bias_src_only": N_("Linear(4, 4) and Linear(4, 4, bias=False)"),
    "bias_dst_only": N_("Linear(4, 4, bias=False) and Linear(4, 4)"),
}


def check_refused(tie_mismatch, keys):
    for key in keys:
        what, data = MISMATCHED[key], tie_mismatch[key]
        kind = data["error"]["type"] if data["error"] else None
        assert kind == "ValueError", f"tying {what} should raise ValueError" + (
            f", not {kind}" if kind else "; it returned without one"
        )
        assert data["unchanged"], (
            f"tying {what} raised ValueError but changed net's parameters first: check before changing anything"
        )


@task("tie_weights", points=0.5)
def test_tie_refuses_mismatched_shapes(tie_mismatch):
    "weights of different shapes raise ValueError and leave net unchanged"
    check_refused(tie_mismatch, ("out_features", "in_features"))


@task("tie_weights", points=0.5)
def test_tie_refuses_a_missing_bias(tie_mismatch):
    "a layer with a bias and one without raise ValueError and leave net unchanged"
    check_refused(tie_mismatch, ("bias_src_only", "bias_dst_only"))
