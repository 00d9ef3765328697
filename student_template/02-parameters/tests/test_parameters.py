"""Visible tests of assignment 2 (parameters): `blockgrade check` runs these on your parameters.py.

They are a subset of what grading runs. Read them: each message says what is expected.
"""

from autograder.judging import task, unwrap


@task("describe_parameters")
def test_describe(described):
    "describe_parameters lists (name, shape) in registration order"
    got = unwrap(described["described"], "describe_parameters(net)")
    expected = [("0.weight", (8, 4)), ("0.bias", (8,)), ("2.weight", (1, 8)), ("2.bias", (1,))]
    assert got == expected, f"describe_parameters(net) is {got}, expected {expected}"


@task("block1")
def test_rgnet(nested):
    'rgnet(2) nests block2(2), whose children are named "block 0" and "block 1"'
    unwrap(nested["net"], "rgnet(2)")
    keys = nested["keys"]
    assert keys == ["0.block 0.0.weight", "0.block 0.0.bias", "0.block 0.2.weight", "0.block 0.2.bias"], (
        f"rgnet(2)'s first state_dict keys are {keys}"
    )
    Y = unwrap(nested["Y"], "rgnet(2)(X)")
    assert tuple(Y.shape) == (3, 1), f"rgnet(2) maps (3, 4) to {tuple(Y.shape)}, expected (3, 1)"


@task("get_parameter")
def test_get_parameter(found):
    'get_parameter(net, "2.bias") returns the very Parameter net[2].bias'
    assert unwrap(found["found_is_bias"], "get_parameter(net, '2.bias')") is True, "it should be net[2].bias itself"


@task("count_parameters")
def test_count(counted):
    "count_parameters counts scalars"
    got = unwrap(counted["count"], "count_parameters(net)")
    assert got == 4 * 8 + 8 + 8 + 1, (
        f"count_parameters(Sequential(Linear(4, 8), ReLU, Linear(8, 1))) is {got}, expected 49"
    )


@task("tied_mlp")
def test_tied_mlp(tied):
    "tied_mlp()[2] and tied_mlp()[4] are the same module"
    assert unwrap(tied["shares"], "tied_mlp()[2] is tied_mlp()[4]"), (
        "create the shared layer once and use it at both places"
    )


@task("tie_weights")
def test_tie_weights(tying):
    "tie_weights(net, 0, 2) makes net[2].weight the very Parameter net[0].weight"
    assert unwrap(tying["tie_weights"], "tie_weights(net, 0, 2)") is True, (
        "net[2].weight is not the Parameter object net[0].weight: net[2] must use net[0]'s Parameters themselves"
    )
