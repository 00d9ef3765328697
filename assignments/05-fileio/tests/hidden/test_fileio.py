"""Hidden judges of assignment 5 (fileio). They run in the grader on the probes' plain data.

The grader never opens a file a student's code wrote: the probes read them in the sandbox and
hand back tensors and facts. Expected values come from the probes' given inputs (the fixtures
`<probe>_given`, rebuilt here: the samples, the models that were saved, the uninterrupted
training run) and from the recipe of the GPU fixture, never from values a probe reports.
"""

import torch

from autograder.i18n import N_
from autograder.judging import Mistake, assert_close, assert_nonempty, describe, task, unwrap


def state_of(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def gpu_state(like):
    """The values of the committed fixture data/gpu_params.pt (see data/make_gpu_fixture.py),
    for a model shaped like `like`."""
    state = {}
    for key, value in like.state_dict().items():
        if value.dim() == 0:
            state[key] = torch.tensor(5)
        else:
            state[key] = torch.arange(value.numel(), dtype=value.dtype).reshape(value.shape) * 0.01
    return state


def keys_text(keys) -> str:
    return str(sorted(str(k) for k in keys))


def same_structure(got, expected, where):
    """Exact equality of values, dtypes, shapes and container types (bounded by `expected`)."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, torch.Tensor), f"{where} came back as {describe(got)}, expected a tensor"
        assert got.dtype == expected.dtype, f"{where} came back as {got.dtype}, expected {expected.dtype}"
        assert tuple(got.shape) == tuple(expected.shape), (
            f"{where} came back with shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        )
        assert torch.equal(got.cpu(), expected), f"{where} came back with different values"
        return
    if not isinstance(expected, (list, tuple, dict)):
        assert type(got) is type(expected) and got == expected, f"{where} is {got!r:.80}, expected {expected!r:.80}"
        return
    assert type(got) is type(expected), (
        f"{where} came back as a {type(got).__name__}, expected a {type(expected).__name__}: "
        "the container type must survive"
    )
    if isinstance(expected, dict):  # the keys must survive; their order is not part of the contract
        assert set(got) == set(expected), (
            f"{where} came back with keys {keys_text(got)}, expected {keys_text(expected)}"
        )
        for key in expected:
            same_structure(got[key], expected[key], f"{where}[{key!r}]")
    else:
        assert len(got) == len(expected), f"{where} came back with {len(got)} items, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected)):
            same_structure(a, b, f"{where}[{i}]")


def same_state(got, expected, what):
    """`got` (a state_dict a probe reports) holds exactly `expected`'s keys and values."""
    assert_nonempty(expected, f"{what}: the expected state_dict")
    assert set(got) == set(expected), f"{what}: the keys are {keys_text(got)}, expected {keys_text(expected)}"
    for key in expected:
        assert_close(got[key].cpu(), expected[key].cpu(), f"{what}: {key}", rtol=0, atol=0)


def differing(got, expected) -> list[str]:
    """The keys of `expected` whose tensors `got` lacks or holds with other values."""
    return [
        k
        for k in expected
        if not (
            isinstance(got.get(k), torch.Tensor)
            and got[k].shape == expected[k].shape
            and got[k].dtype == expected[k].dtype
            and torch.equal(got[k].cpu(), expected[k].cpu())
        )
    ]


def raised(error, kinds=("ValueError",)) -> bool:
    return error is not None and error.get("type") in kinds


# ---------------------------------------------------------------- save_tensors / load_tensors


def check_roundtrip(data, given, name, what):
    entry = data[name]
    unwrap(entry["saved"], f"save_tensors({what}, path)")
    loaded = unwrap(entry["loaded"], f"load_tensors(path) after save_tensors({what}, path)")
    same_structure(loaded, given[name], f"a saved {what}")


@task("save_tensors", points=1)
def test_tensors_and_dicts_roundtrip(tensor_roundtrips, tensor_roundtrips_given):
    "tensors and dicts of tensors round-trip exactly (values, dtype, shape), views and empty dicts too"
    for name, what in (
        ("tensor", "tensor"),
        ("integers", "int64 tensor"),
        ("scalar", "0-d float64 tensor"),
        ("strided", "transposed (non-contiguous) tensor"),
        ("dict", "dict of tensors of eight dtypes"),
        ("aliased", "dict of two views of one tensor"),
        ("empty_dict", "empty dict"),
    ):
        check_roundtrip(tensor_roundtrips, tensor_roundtrips_given, name, what)


@task("save_tensors", points=1)
def test_lists_and_tuples_roundtrip(tensor_roundtrips, tensor_roundtrips_given):
    "lists and tuples of tensors come back as lists and tuples (one item, or none, too)"
    for name, what in (
        ("list", "list of tensors"),
        ("tuple", "tuple of tensors"),
        ("one", "tuple of one tensor"),
        ("empty_list", "empty list"),
    ):
        check_roundtrip(tensor_roundtrips, tensor_roundtrips_given, name, what)


@task("save_tensors", points=1)
def test_the_file_is_safe_to_read(tensor_roundtrips):
    "the file save_tensors writes can be read by a safe loader (torch.load with weights_only=True, or safetensors)"
    for name in ("tensor", "dict"):
        entry = tensor_roundtrips[name]
        unwrap(entry["saved"], f"save_tensors({name} sample, path)")
        facts = entry["file"]
        if facts["safe"]:
            continue
        if facts["pickle_stream"]:
            raise Mistake(
                "plain-pickle",
                "the file save_tensors wrote is a raw pickle stream (as pickle.dump writes): loading it runs "
                "whatever code it names, and torch.load(path, weights_only=True) cannot read it. Save with torch.save",
            )
        if facts["unsafe_globals"]:
            raise AssertionError(
                f"the file save_tensors wrote holds objects that torch.load(path, weights_only=True) refuses: "
                f"{facts['unsafe_globals']}"
            )
        raise AssertionError(
            "neither torch.load(path, weights_only=True) nor safetensors can read the file save_tensors wrote"
        )


@task("save_tensors", points=1)
def test_pickled_objects_are_refused(refuses_pickles, refuses_pickles_given):
    "load_tensors refuses a file holding a pickled object (weights_only=True)"
    if refuses_pickles["unpickled"]:
        raise Mistake(
            "ran-pickled-code",
            "load_tensors unpickled an object from the file, which runs code the file names: pass weights_only=True "
            "to torch.load (do not rely on the default, which differs between torch versions and settings)",
        )
    assert refuses_pickles["error"] is not None, (
        "load_tensors returned normally on a file holding a pickled object: it should refuse it (raise)"
    )
    clean = unwrap(refuses_pickles["clean"], "load_tensors(a file torch.save wrote holding {'x': tensor})")
    same_structure(clean, refuses_pickles_given["clean"], "a file torch.save wrote")


# -------------------------------------------------------------------- save_params / load_params


@task("save_params", points=0.5)
def test_save_params_writes_a_state_dict(params_roundtrip, params_roundtrip_given):
    "save_params writes the state_dict (parameters and buffers), not the pickled module, and leaves the net as it was"
    data, net = params_roundtrip, params_roundtrip_given["net"]
    unwrap(data["saved"], "save_params(net, path)")
    keys = data["file_keys"]
    if keys is None:
        unsafe = [g for g in (data["file"] or {}).get("unsafe_globals") or [] if g.startswith("torch.nn.modules.")]
        if unsafe:
            raise Mistake(
                "pickled-module",
                f"the file save_params wrote holds a pickled module ({unsafe[0]}): torch.save(net) pickles the "
                "module object, which loading must unpickle. Save net.state_dict()",
            )
        error = data["file_error"]
        raise AssertionError(
            "torch.load(path, weights_only=True) does not read the file save_params wrote as a dict"
            + (f" (it raised {error['type']})" if error else "")
            + ": save net.state_dict() with torch.save"
        )
    expected = list(net.state_dict())
    assert_nonempty(expected, "the model's state_dict")
    parameters = [name for name, _ in net.named_parameters()]
    if sorted(map(str, keys)) == sorted(parameters) != sorted(expected):
        raise Mistake(
            "missing-buffers",
            f"the file save_params wrote holds the parameters only: the buffers "
            f"{sorted(set(expected) - set(parameters))} are missing. net.state_dict() holds both",
        )
    assert sorted(map(str, keys)) == sorted(expected), (
        f"the file save_params wrote holds the keys {keys_text(keys)}, expected those of net.state_dict(), "
        f"{keys_text(expected)}"
    )
    changed = differing(data["net_after"], state_of(net))
    assert not changed, f"save_params changed the net it saved: {changed} differ afterwards"
    assert all(data["net_modes"]), "save_params changed the mode of the net it saved (it was in training mode)"


@task("save_params", points=1)
def test_load_params_restores_everything(params_roundtrip, params_roundtrip_given):
    "load_params restores every parameter and buffer"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    same_state(params_roundtrip["restored"], state_of(params_roundtrip_given["net"]), N_("after load_params"))


@task("save_params", points=0.5)
def test_load_params_returns_eval_mode(params_roundtrip, params_roundtrip_given):
    "load_params returns the instance itself with every module in eval() mode (batch norm, dropout)"
    unwrap(params_roundtrip["saved"], "save_params(net, path)")
    returned = unwrap(params_roundtrip["loaded"], "load_params(fresh, path)")
    assert returned is True, "load_params should return the instance it was given"
    modes = params_roundtrip["modes"]
    names = [type(m).__name__ for m in params_roundtrip_given["fresh"].modules()]
    training = [name for name, mode in zip(names, modes) if mode]
    if modes and not modes[0] and training:
        raise Mistake(
            "submodules-still-training",
            f"after load_params the network's own `training` is False but its submodules {training} still train: "
            "net.eval() sets the mode of every module",
        )
    assert not training, f"after load_params, {training} are in training mode: return net.eval()"


def check_cross(entry, expected, target, what, function):
    """A load into a fresh net on `target`: it returned the net, on `target`, holding `expected`."""
    returned = unwrap(entry["loaded"], f"{function}(fresh net on {target}, {what})")
    assert returned is True, f"{function} should return the instance it was given"
    assert entry["devices"] == [target], (
        f"after {function} of {what} into a net on {target}, its tensors are on {entry['devices']}: "
        f"they should be on {target}"
    )
    same_state(
        entry["restored"],
        expected,
        N_("after {function} of {what} into a net on {target}", function=function, what=what, target=target),
    )


@task("save_params", points=1)
def test_load_params_any_device(params_devices, params_devices_given, params_from_a_gpu, params_from_a_gpu_given):
    "files saved on any device (a GPU this runner lacks too) load onto the fresh instance's device"
    data, device = params_devices, params_devices["device"]
    expected = state_of(params_devices_given["net"])
    unwrap(params_from_a_gpu["loaded"], "load_params(net on the CPU, a file saved on cuda:0)")
    same_state(
        params_from_a_gpu["restored"],
        gpu_state(params_from_a_gpu_given["fresh"]),
        "after loading a file saved on cuda:0",
    )
    check_cross(data["absent"], expected, device, "a state_dict saved on a GPU this machine lacks", "load_params")
    unwrap(data["saved"], f"save_params(net, path) for a net on the CPU and on {device}")
    check_cross(data["to_device"], expected, device, N_("the file save_params wrote from a net on the CPU"), "load_params")
    check_cross(data["to_cpu"], expected, "cpu", N_("the file save_params wrote from a net on {device}", device=device), "load_params")


@task("save_params", points=1)
def test_load_params_refuses_pickles(params_refuses_pickles, params_refuses_pickles_given):
    "load_params refuses a file holding a pickled object (weights_only=True) and leaves the net unchanged"
    data = params_refuses_pickles
    if data["unpickled"]:
        raise Mistake(
            "ran-pickled-code",
            "load_params unpickled an object from the file, which runs code the file names: pass weights_only=True "
            "to torch.load (do not rely on the default, which differs between torch versions and settings)",
        )
    assert data["error"] is not None, (
        "load_params returned normally on a file holding a pickled object: it should raise"
    )
    unwrap(data["clean"], "load_params(fresh, a file torch.save wrote holding a state_dict)")
    changed = differing(data["restored"], state_of(params_refuses_pickles_given["fresh"]))
    assert not changed, f"load_params refused the file but had changed the net: {changed}"


# ------------------------------------------------------------ save_safetensors / load_safetensors


@task("save_safetensors", points=1)
def test_safetensors_format(safetensors_plain, safetensors_plain_given):
    "the file is in the safetensors format, holds every tensor, and loads back into the model"
    unwrap(safetensors_plain["saved"], "save_safetensors(net, path)")
    keys = unwrap(safetensors_plain["keys"], "reading the file save_safetensors wrote as safetensors")
    expected = state_of(safetensors_plain_given["net"])
    assert keys == sorted(expected), (
        f"the safetensors file holds {keys}, expected every parameter and buffer: {sorted(expected)}"
    )
    assert unwrap(safetensors_plain["loaded"], "load_safetensors(fresh, path)") is True, (
        "load_safetensors should return the instance it was given"
    )
    same_state(safetensors_plain["restored"], expected, "after load_safetensors")


def check_tied(entry, net, what):
    unwrap(entry["saved"], f"save_safetensors({what}, path)")
    unwrap(entry["loaded"], f"load_safetensors(a fresh {what}, path)")
    assert entry["still_tied"], f"after loading {what}, its layers 0 and 2 no longer share their Parameters"
    same_state(entry["restored"], state_of(net), N_("after loading {what}", what=what))


@task("save_safetensors", points=1)
def test_safetensors_tied(safetensors_tied, safetensors_tied_given):
    "a model using one module twice saves, loads back equal, and stays tied"
    check_tied(safetensors_tied["shared"], safetensors_tied_given["net"], "a net using one Linear twice")


@task("save_safetensors", points=1)
def test_safetensors_tied_distinct(safetensors_tied, safetensors_tied_given):
    "two distinct layers sharing one weight (their biases apart) save, load back equal, and stay tied"
    check_tied(
        safetensors_tied["distinct"], safetensors_tied_given["distinct"], N_("a net whose layers 0 and 2 share a weight")
    )


@task("save_safetensors", points=1)
def test_safetensors_device(safetensors_device, safetensors_device_given):
    "load_safetensors puts the model on the requested device, the CPU by default"
    data = safetensors_device
    device = data["device"]
    unwrap(data["saved"], "save_safetensors(net, path)")
    check_cross(
        {"loaded": data["loaded"], "devices": data["devices"], "restored": data["restored"]},
        state_of(safetensors_device_given["net"]),
        device,
        N_("a file with device={device!r}", device=device),
        "load_safetensors",
    )
    check_cross(
        data["back"],
        state_of(safetensors_device_given["net"]),
        "cpu",
        "a file (device left at its default)",
        "load_safetensors",
    )


# ---------------------------------------------------------------------------------- transplant

COPIED = ("0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias")
BUFFERS = ("0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked")
KEPT = ("2.weight", "2.bias")


@task("transplant", points=0.75)
def test_transplant_copies_the_first_children(transplanted, transplanted_given):
    "copies the parameters of the first n children (a nested block too), leaves the rest and src, returns dst"
    data = transplanted
    returned = unwrap(data["result"], "transplant(src, dst, 2)")
    src, before = state_of(transplanted_given["src"]), state_of(transplanted_given["dst"])
    after = data["after"]
    missing = [k for k in (*COPIED, *KEPT) if k not in after]
    assert not missing, f"after transplant(src, dst, 2), dst has no {missing}"
    if not differing(data["src_after"], {k: before[k] for k in COPIED}) and differing(
        after, {k: src[k] for k in COPIED}
    ):
        raise Mistake(
            "copied-into-src",
            "transplant(src, dst, 2) copied dst's values into src: copy from src into dst",
        )
    for key in COPIED:
        assert_close(
            after[key], src[key], f"after transplant(src, dst, 2), dst.{key} should equal src's", rtol=0, atol=0
        )
    for key in KEPT:
        assert_close(after[key], before[key], f"transplant(src, dst, 2) changed dst.{key}", rtol=0, atol=0)
    changed = differing(data["src_after"], src)
    assert not changed, f"transplant(src, dst, 2) changed src: {changed}"
    assert returned is True, "transplant should return dst"


@task("transplant", points=0.5)
def test_transplant_copies_buffers(transplanted, transplanted_given):
    "copies buffers too (a BatchNorm's running statistics)"
    data = transplanted
    unwrap(data["result"], "transplant(src, dst, 2)")
    src, before = state_of(transplanted_given["src"]), state_of(transplanted_given["dst"])
    wrong = differing(data["after"], {k: src[k] for k in BUFFERS})
    if (
        wrong
        and not differing(data["after"], {k: before[k] for k in BUFFERS})
        and not differing(data["after"], {k: src[k] for k in COPIED})
    ):
        raise Mistake(
            "buffers-not-copied",
            f"transplant(src, dst, 2) copied the parameters but left dst's buffers {list(BUFFERS)} as they were: "
            "copy buffers as well (load_state_dict copies both)",
        )
    assert not wrong, f"after transplant(src, dst, 2), dst's {wrong} differ from src's"


@task("transplant", points=0.25)
def test_transplant_keeps_src_separate(transplanted):
    "dst gets copies: changing dst afterwards (training it) leaves src alone"
    data = transplanted
    unwrap(data["result"], "transplant(src, dst, 2)")
    if data["shares_with_src"]:
        raise Mistake(
            "shares-with-src",
            "after transplant, dst holds some of src's very Parameter or buffer objects: copy the values, do not tie",
        )
    # relative to src right after the call (whether the call itself left src alone is judged above)
    changed = differing(data["src_after_dst_changed"], data["src_after"])
    if changed:
        raise Mistake(
            "shares-memory",
            f"after transplant, changing dst in place (its parameters, and its batch-norm statistics by a forward "
            f"pass in training mode) changed src's {changed}: dst's tensors share memory with src's; copy the values",
        )


def check_refused(entry, before, what, kinds=("ValueError",)):
    error = entry["error"]
    changed = differing(entry["after"], before)
    if raised(error, kinds) and changed:
        raise Mistake(
            "changed-before-raising",
            f"{what} raised {error['type']} but had already changed dst ({changed}): check every child before "
            "copying anything",
        )
    assert raised(error, kinds), f"{what} should raise {' or '.join(kinds)}" + (
        f", not {error['type']}: {error['message']}" if error else ""
    )
    assert not changed, f"{what} changed dst: {changed}"


@task("transplant", points=0.5)
def test_transplant_refuses_a_mismatch(transplant_mismatch, transplant_mismatch_given):
    "a shape mismatch raises ValueError and leaves dst entirely unchanged"
    _, dst, _ = transplant_mismatch_given["shape"]
    check_refused(
        transplant_mismatch["shape"],
        state_of(dst),
        N_("transplant(src, dst, 3) with third children Linear(8, 3) and Linear(8, 5)"),
    )


@task("transplant", points=0.5)
def test_transplant_refuses_other_mismatches(transplant_mismatch, transplant_mismatch_given):
    "a buffer of another shape, or a parameter dst lacks, is a mismatch too"
    for kind, what in (
        ("buffer", N_("transplant(src, dst, 2) with BatchNorm1d(8, affine=False) and BatchNorm1d(6, affine=False)")),
        ("missing", "transplant(src, dst, 2) with Linear(8, 8) and Linear(8, 8, bias=False)"),
    ):
        _, dst, _ = transplant_mismatch_given[kind]
        check_refused(transplant_mismatch[kind], state_of(dst), what)


@task("transplant", points=0.25)
def test_transplant_too_few_children(transplant_mismatch, transplant_mismatch_given):
    "n larger than the number of children raises (ValueError or IndexError) and leaves dst unchanged"
    _, dst, _ = transplant_mismatch_given["too_few"]
    check_refused(
        transplant_mismatch["too_few"],
        state_of(dst),
        "transplant(src, dst, 4) for models of 3 children",
        kinds=("ValueError", "IndexError"),
    )


@task("transplant", points=0.25)
def test_transplant_bounds(transplant_bounds, transplant_bounds_given):
    "n = every child copies everything; n = 0 copies nothing"
    src = state_of(transplant_bounds_given["src"])
    assert unwrap(transplant_bounds["all"]["result"], "transplant(src, dst, 3)") is True, "transplant should return dst"
    same_state(transplant_bounds["all"]["after"], src, N_("after transplant(src, dst, 3) of two nets with 3 children"))
    assert unwrap(transplant_bounds["zero"]["result"], "transplant(src, dst, 0)") is True, (
        "transplant should return dst"
    )
    changed = differing(transplant_bounds["zero"]["after"], state_of(transplant_bounds_given["zero_dst"]))
    assert not changed, f"transplant(src, dst, 0) changed dst: {changed}"


# ----------------------------------------------------------------- save_checkpoint / load_checkpoint


def same_tree(got, expected, where) -> str | None:
    """Where `got` differs from `expected` (nested dicts, lists, tuples, tensors, plain values), or None."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape or got.dtype != expected.dtype:
            return f"{where} is {describe(got)}, expected {describe(expected)}"
        return None if torch.equal(got.cpu(), expected) else f"{where} holds other values"
    if isinstance(expected, (dict, list, tuple)):
        if type(got) is not type(expected):
            return f"{where} is {describe(got)}, expected a {type(expected).__name__}"
        if isinstance(expected, dict):
            if set(got) != set(expected):
                return f"{where} has the keys {keys_text(got)}, expected {keys_text(expected)}"
            pairs = [(got[k], expected[k], f"{where}[{k!r}]") for k in expected]
        else:
            if len(got) != len(expected):
                return f"{where} has {len(got)} items, expected {len(expected)}"
            pairs = [(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(got, expected))]
        for a, b, w in pairs:
            problem = same_tree(a, b, w)
            if problem:
                return problem
        return None
    return (
        None
        if type(got) is type(expected) and got == expected
        else f"{where} is {got!r:.60}, expected {expected!r:.60}"
    )


def check_resume(data, given, kind, name):
    entry = data[kind]
    unwrap(entry["saved"], f"save_checkpoint(path, model, {name}, 3)")
    unwrap(entry["epoch"], f"load_checkpoint(path, model, {name})")
    continued, resumed = given[kind]["continued"], entry["resumed"]
    if resumed is not None and torch.equal(resumed, continued):
        return
    saved_state = given[kind]["optimizer"].state_dict()
    restored = entry["optimizer_state"]
    if saved_state["state"] and isinstance(restored, dict) and restored.get("state") == {}:
        raise Mistake(
            "optimizer-state-lost",
            f"training with {name} resumes differently after load_checkpoint, whose optimizer holds no state "
            "(momentum buffers, Adam's moments and step counts): the optimizer lost its state",
        )
    differs = resumed is None or bool(resumed[0] != continued[0])
    first = "the first loss already differs" if differs else "the first step matches"
    got = [round(x, 6) for x in resumed.tolist()] if resumed is not None else None
    raise AssertionError(
        f"training with {name} resumes differently after load_checkpoint ({first}): "
        f"losses {got}, expected {[round(x, 6) for x in continued.tolist()]}"
    )


@task("save_checkpoint", points=1.25)
def test_resume_sgd_momentum(checkpoint_resume, checkpoint_resume_given):
    "training with SGD and momentum (its learning rate lowered by a schedule) resumes bit for bit"
    check_resume(checkpoint_resume, checkpoint_resume_given, "sgd", "SGD(momentum=0.9)")


@task("save_checkpoint", points=1.25)
def test_resume_adam(checkpoint_resume, checkpoint_resume_given):
    "training with Adam resumes bit for bit"
    check_resume(checkpoint_resume, checkpoint_resume_given, "adam", "Adam")


@task("save_checkpoint", points=0.5)
def test_checkpoint_restores_state(checkpoint_resume, checkpoint_resume_given):
    "load_checkpoint restores every parameter and buffer, and the optimizer's whole state"
    for kind, name in (("sgd", "SGD(momentum=0.9)"), ("adam", "Adam")):
        entry, given = checkpoint_resume[kind], checkpoint_resume_given[kind]
        unwrap(entry["saved"], f"save_checkpoint(path, model, {name}, 3)")
        unwrap(entry["epoch"], f"load_checkpoint(path, model, {name})")
        expected, fresh = state_of(given["model"]), state_of(given["fresh"])
        wrong = differing(entry["restored"], expected)
        parameters = {n for n, _ in given["model"].named_parameters()}
        buffers = [k for k in expected if k not in parameters]
        if wrong and set(wrong) == set(buffers) and not differing(entry["restored"], {k: fresh[k] for k in buffers}):
            raise Mistake(
                "missing-buffers",
                f"after load_checkpoint the model's parameters are restored but its buffers {buffers} keep their "
                "initial values: save model.state_dict(), which holds both",
            )
        assert not wrong, f"after load_checkpoint (with {name}) the model's {wrong} differ from the saved model's"
        problem = same_tree(entry["optimizer_state"], given["optimizer"].state_dict(), "optimizer.state_dict()")
        assert problem is None, f"after load_checkpoint with {name}, {problem} (compared with the saved optimizer's)"


@task("save_checkpoint", points=0.5)
def test_load_checkpoint_returns_the_epoch(checkpoint_resume):
    "load_checkpoint returns the saved epoch"
    for kind in ("sgd", "adam"):
        unwrap(checkpoint_resume[kind]["saved"], "save_checkpoint(path, model, optimizer, 3)")
        epoch = unwrap(checkpoint_resume[kind]["epoch"], "load_checkpoint(path, model, optimizer)")
        assert is_three(epoch), f"load_checkpoint returned {shown(epoch)}, expected the saved epoch 3"


def is_three(epoch) -> bool:
    if isinstance(epoch, torch.Tensor):
        return epoch.numel() == 1 and not epoch.is_complex() and epoch.item() == 3
    return type(epoch) in (int, float) and epoch == 3


def shown(epoch) -> str:
    return repr(epoch)[:80] if type(epoch) in (int, float, str, bool) or epoch is None else describe(epoch)


@task("save_checkpoint", points=0.25)
def test_save_checkpoint_leaves_the_run_alone(checkpoint_resume, checkpoint_resume_given):
    "save_checkpoint leaves the model and optimizer it saves as they were"
    for kind, name in (("sgd", "SGD(momentum=0.9)"), ("adam", "Adam")):
        entry, given = checkpoint_resume[kind], checkpoint_resume_given[kind]
        unwrap(entry["saved"], f"save_checkpoint(path, model, {name}, 3)")
        changed = differing(entry["model_after"], state_of(given["model"]))
        assert not changed, f"save_checkpoint changed the model it saved: {changed}"
        problem = same_tree(entry["optimizer_after"], given["optimizer"].state_dict(), "optimizer.state_dict()")
        assert problem is None, f"save_checkpoint changed the optimizer ({name}) it saved: {problem}"


@task("save_checkpoint", points=0.5)
def test_load_checkpoint_refuses_pickles(checkpoint_refuses_pickles, checkpoint_refuses_pickles_given):
    "load_checkpoint refuses a file holding a pickled object (weights_only=True), leaving model and optimizer alone"
    data = checkpoint_refuses_pickles
    if data["unpickled"]:
        raise Mistake(
            "ran-pickled-code",
            "load_checkpoint unpickled an object from the file, which runs code the file names: pass "
            "weights_only=True to torch.load (do not rely on the default, which differs between torch versions "
            "and settings)",
        )
    assert data["error"] is not None, (
        "load_checkpoint returned normally on a file holding a pickled object: it should raise"
    )
    unwrap(data["clean"], "save_checkpoint(path, model, optimizer, 3), then load_checkpoint(path, fresh, optimizer)")
    fresh, fresh_optimizer = checkpoint_refuses_pickles_given["fresh"][0]
    changed = differing(data["restored"], state_of(fresh))
    assert not changed, f"load_checkpoint refused the file but had changed the model: {changed}"
    problem = same_tree(data["optimizer_state"], fresh_optimizer.state_dict(), "optimizer.state_dict()")
    assert problem is None, f"load_checkpoint refused the file but had changed the optimizer: {problem}"


@task("save_checkpoint", points=0.75)
def test_checkpoint_any_device(checkpoint_devices, checkpoint_devices_given):
    "checkpoints saved on any device (a GPU this runner lacks too) load onto the model's device"
    data, device = checkpoint_devices, checkpoint_devices["device"]
    expected = state_of(checkpoint_devices_given["model"])
    unwrap(data["saved"], f"save_checkpoint(path, model, optimizer, 3) for a model on the CPU and on {device}")
    cases = [
        ("absent", device, N_("a checkpoint saved on a GPU this machine lacks")),
        ("to_device", device, "the checkpoint of a model on the CPU"),
        ("to_cpu", "cpu", f"the checkpoint of a model on {device}"),
    ]
    for key, target, what in cases:
        entry = data[key]
        if entry is None and key == "absent":
            continue  # not a torch.save archive: its tensors carry no device to map
        epoch = unwrap(entry["epoch"], f"load_checkpoint({what}, model on {target}, optimizer)")
        assert is_three(epoch), f"load_checkpoint of {what} returned {shown(epoch)}, expected 3"
        for part, devices in (("model", entry["devices"]), ("optimizer's state", entry["state_devices"])):
            assert devices == [target], (
                f"after load_checkpoint of {what} into a model on {target}, the {part} is on {devices}"
            )
        same_state(
            entry["restored"],
            expected,
            N_("after load_checkpoint of {what} into a model on {target}", what=what, target=target),
        )
