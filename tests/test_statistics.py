"""The statistical judges of assignment 3 are sound: they pass fresh samples of the right
distribution under many seeds (so no correct implementation fails by chance) and fail
samples of the distributions that common mistakes produce."""

import importlib.util
import math

import pytest
import torch

from conftest import REPO

SEEDS = range(100)
SHAPE = (256, 512)  # out_features x in_features: the probes' nn.Linear(512, 256)


@pytest.fixture(scope="module")
def judges():
    path = REPO / "assignments/03-initialization/tests/hidden/test_initialization.py"
    spec = importlib.util.spec_from_file_location("initialization_judges", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample(weight):
    return {"result": {"value": True}, "weight": weight, "bias": torch.zeros(SHAPE[0]), "before": {}}


def normal(g, std=0.01):
    return torch.randn(SHAPE, generator=g) * std


def uniform(g, bound):
    return (torch.rand(SHAPE, generator=g) * 2 - 1) * bound


def my_init(g, zero=0.5, low=5.0):
    u = torch.rand(SHAPE, generator=g)
    magnitude = low + (10 - low) * torch.rand(SHAPE, generator=g)
    sign = torch.where(torch.rand(SHAPE, generator=g) < 0.5, -1.0, 1.0)
    return torch.where(u < zero, torch.zeros(SHAPE), sign * magnitude)


XAVIER = math.sqrt(6 / (512 + 256))
CORRECT = {
    "test_normal_distribution": normal,
    "test_xavier_distribution": lambda g: uniform(g, XAVIER),
    "test_my_init_proportions": my_init,
    "test_my_init_magnitudes": my_init,
}
WRONG = {
    "std 0.1": ("test_normal_distribution", lambda g: normal(g, 0.1)),
    "variance 0.01": ("test_normal_distribution", lambda g: normal(g, 0.01**2)),
    "uniform with std 0.01": ("test_normal_distribution", lambda g: uniform(g, 0.01 * math.sqrt(3))),
    "std 0.0103": ("test_normal_distribution", lambda g: normal(g, 0.0103 * 1.03)),
    "xavier normal": ("test_xavier_distribution", lambda g: normal(g, math.sqrt(2 / 768))),
    "bound from fan_in only": ("test_xavier_distribution", lambda g: uniform(g, math.sqrt(6 / 512))),
    "a third zeros": ("test_my_init_proportions", lambda g: my_init(g, zero=1 / 3)),
    "magnitudes from 4": ("test_my_init_magnitudes", lambda g: my_init(g, low=4.0)),
    "values kept below 5": (
        "test_my_init_magnitudes",
        lambda g: torch.where(uniform(g, 10).abs() < 5, uniform(g, 10), torch.zeros(SHAPE)),
    ),
}


@pytest.mark.parametrize("judge", sorted(CORRECT))
def test_correct_samples_always_pass(judges, judge):
    check = getattr(judges, judge)
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        check(sample(CORRECT[judge](g)))  # raises on a failure


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_mistaken_samples_always_fail(judges, mistake):
    judge, draw = WRONG[mistake]
    check = getattr(judges, judge)
    for seed in SEEDS[:20]:
        with pytest.raises(AssertionError):
            check(sample(draw(torch.Generator().manual_seed(seed))))
