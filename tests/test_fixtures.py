"""The committed GPU fixtures and the judge's side of the file boundary."""

import ast
import importlib.util
import zipfile

import pytest
import torch

from conftest import REPO

FIXTURES = sorted(REPO.glob("assignments/*/tests/*/data/gpu_params.pt"))


def recipe(fixture):
    spec = importlib.util.spec_from_file_location("make_gpu_fixture", fixture.parent / "make_gpu_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.gpu_state()


def test_there_are_fixtures():
    assert {p.parts[-5] for p in FIXTURES} == {"05-fileio", "06-devices"}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.parts[-5])
def test_fixture_is_tagged_cuda0_and_holds_the_recipe(fixture):
    with zipfile.ZipFile(fixture) as archive:
        pickled = next(archive.read(n) for n in archive.namelist() if n.endswith("data.pkl"))
    assert b"cuda:0" in pickled and b"cpu" not in pickled, "every storage must be tagged cuda:0"
    loaded = torch.load(fixture, map_location="cpu", weights_only=True)
    expected = recipe(fixture)
    assert sorted(loaded) == sorted(expected)
    for key in expected:
        assert torch.equal(loaded[key], expected[key]), key


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA runner the fixture loads without map_location")
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.parts[-5])
def test_fixture_needs_map_location_without_cuda(fixture):
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(fixture, weights_only=True)


GRADER_SIDE = sorted(REPO.glob("autograder/**/*.py")) + sorted(REPO.glob("assignments/*/tests/*/test_*.py"))
UNPICKLERS = {("torch", "load"), ("pickle", "load"), ("pickle", "loads"), ("dill", "load"), ("joblib", "load")}


def unpickling_calls(source: str) -> list[str]:
    """Calls of known unpicklers, and any call passing weights_only=False."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in UNPICKLERS:
                found.append(f"line {node.lineno}: {func.value.id}.{func.attr}(...)")
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "weights_only" and isinstance(value, ast.Constant) and value.value is False:
                found.append(f"line {node.lineno}: weights_only=False")
    return found


def test_the_guard_sees_unpicklers():
    assert unpickling_calls("import torch\ntorch.load(p)\nx.load(p, weights_only=False)\n") == [
        "line 2: torch.load(...)",
        "line 3: weights_only=False",
    ]
    assert unpickling_calls("msg = 'torch.load(path) failed'\n") == []


@pytest.mark.parametrize("path", GRADER_SIDE, ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_on_the_grader_side_unpickles(path):
    """Judges and the engine read data through `wire` only: no unpickler ever runs in the grader."""
    found = unpickling_calls(path.read_text())
    assert not found, f"{path.name} calls an unpickler: {found}"
