"""Visible tests of assignment 1 (blocks): `blockgrade check` runs these on your blocks.py.

They are a subset of what grading runs. Read them: each message says what is expected.
"""

from torch.nn import functional as F

from autograder.judging import assert_close, assert_same_inputs, error_type, expect_tensor, task, unwrap


def linear(state, X):
    return F.linear(X, state["weight"], state["bias"])


@task("MLP")
def test_mlp_output(mlp_output, mlp_output_given):
    "MLP() maps (2, 20) inputs to out(relu(hidden(X))) of shape (2, 10)"
    unwrap(mlp_output["made"], "MLP()")
    wrong = unwrap(mlp_output["wrong_layers"], "setting the weights of MLP().hidden and MLP().out")
    assert not wrong, (
        f"MLP needs two nn.Linear attributes named hidden and out, of sizes (20, 256) and (256, 10): "
        f"check {' and '.join(wrong)}"
    )
    Y = expect_tensor(unwrap(mlp_output["Y"], "MLP()(X)"), "MLP()(X)")
    assert tuple(Y.shape) == (2, 10), f"MLP()(X) has shape {tuple(Y.shape)}, expected (2, 10)"
    given = mlp_output_given
    X = given["X"]
    assert_same_inputs(mlp_output["X"], X, "The input X")
    expected = linear(given["out"], F.relu(linear(given["hidden"], X)))
    assert_close(Y, expected, "MLP()(X) should be out(relu(hidden(X)))")


@task("MySequential")
def test_sequential(sequential, sequential_given):
    "MySequential registers its modules like nn.Sequential and chains them"
    keys = sequential["state_keys"]
    assert keys == ["0.weight", "0.bias", "2.weight", "2.bias"], (
        f"state_dict keys are {keys}, expected ['0.weight', '0.bias', '2.weight', '2.bias']: "
        "register each module under str(i)"
    )
    X = sequential_given["X"]
    first, _, last = sequential_given["layers"]
    expected = F.linear(F.relu(first(X)), last.weight, last.bias).detach()
    Y = unwrap(sequential["Y"], "net(X)")
    assert_same_inputs(sequential["X"], X, "The input X")
    assert_close(Y, expected, "MySequential's output should match nn.Sequential's")
    assert unwrap(sequential["len"], "len(net)") == 3, "len(net) should be the number of modules"
    assert unwrap(sequential["last_is_last"], "net[-1]") is True, "net[-1] should be the last module"


@task("FixedHiddenMLP")
def test_fixed_hidden(fixed_hidden):
    "FixedHiddenMLP has two parameters, a rand_weight buffer, and returns one number"
    assert fixed_hidden["params"] == ["linear.weight", "linear.bias"], (
        f"FixedHiddenMLP's parameters are {fixed_hidden['params']}, expected ['linear.weight', 'linear.bias']"
    )
    assert fixed_hidden["buffers"] == ["rand_weight"], "rand_weight should be registered as a buffer"
    Y = expect_tensor(unwrap(fixed_hidden["Y"], "FixedHiddenMLP()(X)"), "FixedHiddenMLP()(X)")
    assert Y.dim() == 0, "forward should return X.sum(): a single number"


@task("NestMLP")
def test_nested(nested):
    "NestMLP() maps (2, 20) inputs to (2, 16) through net, then linear"
    assert nested["children"] == ["net", "linear"], (
        f"NestMLP's submodules are {nested['children']}, expected net, linear"
    )
    Y = expect_tensor(unwrap(nested["Y"], "NestMLP()(X)"), "NestMLP()(X)")
    assert tuple(Y.shape) == (2, 16), f"NestMLP()(X) has shape {tuple(Y.shape)}, expected (2, 16)"


@task("Parallel")
def test_parallel(parallel):
    "Parallel(Linear(4, 3), Linear(4, 5)) registers both and outputs shape (2, 8)"
    assert parallel["children"] == ["net1", "net2"], f"Parallel's submodules are {parallel['children']}"
    Y = expect_tensor(unwrap(parallel["Y"], "Parallel(...)(X)"), "Parallel(...)(X)")
    assert tuple(Y.shape) == (2, 8), f"Parallel(...)(X) has shape {tuple(Y.shape)}, expected (2, 8)"


@task("replicate")
def test_replicate(replicated):
    "replicate(factory, 4) chains 4 modules; replicate(factory, 0) raises ValueError"
    unwrap(replicated["net"], "replicate(factory, 4)")
    assert replicated["children"] == 4, f"replicate(factory, 4) holds {replicated['children']} modules, expected 4"
    kind = error_type(replicated["rejects_zero"])
    assert kind == "ValueError", f"replicate(factory, 0) should raise ValueError ({kind or 'nothing'} was raised)"
