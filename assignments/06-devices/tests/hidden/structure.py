"""Nested containers for `to_device`, and how a result's structure is described and compared.

Imported by the hidden probes (in the sandbox) and the hidden judges (in the grader). `layout`
turns a value into plain data that the boundary carries whole: each container with its kind and
class name (a named tuple's, an OrderedDict's, which the wire alone would lose), dict keys in
their order, each value that is not a tensor by its type and repr, each tensor by its device,
dtype and shape. `difference` says where two layouts first differ.
"""

from collections import OrderedDict, namedtuple

import torch

Pair = namedtuple("Pair", ["first", "second"])
MAX_DEPTH = 8  # containers deeper than this are described as values (the given ones reach 6)
TEXT_CHARS = 80


def nested():
    """Tensors at every depth, beside a value of every kind that must stay as it is."""
    return {
        "z": torch.ones(2, 3),  # the keys are not in sorted order, and some are not strings
        "b": [torch.zeros(1), (torch.arange(3), "label", 7, None), [], ()],
        "a": OrderedDict([("d", torch.eye(2, dtype=torch.float64)), ("e", 2.5), ("flag", True)]),
        3: Pair(torch.tensor([1, 2]), Pair("x", torch.tensor(True))),
        None: [[[({"t": torch.full((2,), 4.0), "u": -1},)]]],
        "values": (torch.float16, torch.device("cpu"), "cuda", 0, None, {}),
        "scalar": torch.tensor(3.5),
    }


def _text(value) -> str:
    try:
        return repr(value)[:TEXT_CHARS]
    except Exception:  # a value whose repr fails is described by its type alone
        return "?"


def layout(value, device=None, depth: int = 0):
    """Plain data describing `value`; with `device`, its tensors are described as if on it."""
    if isinstance(value, torch.Tensor):
        where = str(value.device) if device is None else str(device)
        return ["tensor", where, str(value.dtype).replace("torch.", ""), list(value.shape)]
    name = type(value).__qualname__[:TEXT_CHARS]
    if depth < MAX_DEPTH and isinstance(value, dict):
        return ["dict", name, [[_text(k), layout(v, device, depth + 1)] for k, v in value.items()]]
    if depth < MAX_DEPTH and isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return [kind, name, [layout(v, device, depth + 1) for v in value]]
    return ["value", name, _text(value)]


def tensor_paths(node, path="result", depth=0):
    """(path, depth, device) of every tensor in a layout; depth 0 is the value itself."""
    kind = node[0]
    if kind == "tensor":
        return [(path, depth, node[1])]
    if kind == "dict":
        return [found for key, child in node[2] for found in tensor_paths(child, f"{path}[{key}]", depth + 1)]
    if kind in ("list", "tuple"):
        return [found for i, child in enumerate(node[2]) for found in tensor_paths(child, f"{path}[{i}]", depth + 1)]
    return []


def shown(node) -> str:
    """A layout node as a message shows it."""
    kind = node[0]
    if kind == "tensor":
        return f"a {node[2]} tensor of shape {tuple(node[3])} on {node[1]}"
    if kind == "value":
        return node[2]
    article = "an" if node[1][:1].lower() in "aeiou" else "a"
    return f"{article} {node[1]} of {len(node[2])} item{'' if len(node[2]) == 1 else 's'}"


def difference(got, expected, path="result", devices=True):
    """The first place where two layouts differ, as (path, got node, expected node), or None.
    Without `devices`, tensors on different devices count as the same."""
    kind = got[0]
    if kind != expected[0] or (kind != "tensor" and got[1] != expected[1]):
        return path, got, expected
    if kind == "tensor":
        same = got[2:] == expected[2:] and (not devices or got[1] == expected[1])
        return None if same else (path, got, expected)
    if kind == "value":
        return None if got[2] == expected[2] else (path, got, expected)
    if len(got[2]) != len(expected[2]):
        return path, got, expected
    if kind == "dict":
        if [k for k, _ in got[2]] != [k for k, _ in expected[2]]:
            return path, got, expected
        pairs = [(f"{path}[{k}]", a, b) for (k, a), (_, b) in zip(got[2], expected[2])]
    else:
        pairs = [(f"{path}[{i}]", a, b) for i, (a, b) in enumerate(zip(got[2], expected[2]))]
    for where, a, b in pairs:
        found = difference(a, b, where, devices)
        if found:
            return found
    return None


def without_plain_values(node):
    """A container layout without its items that are neither tensors nor containers."""
    kept = [item for item in node[2] if (item[1] if node[0] == "dict" else item)[0] != "value"]
    return [node[0], node[1], kept]
