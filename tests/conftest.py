"""Shared fixtures of the kit's tests: the repository's course and a place to grade into."""

from pathlib import Path

import pytest

from autograder.catalog import Course, course_at

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def course() -> Course:
    found = course_at(REPO)
    assert found is not None and found.layout == "source"
    return found


# Property tests are derandomized: the same examples on every run, so they cannot flake.
from hypothesis import settings  # noqa: E402

settings.register_profile("kit", derandomize=True, deadline=None, database=None, max_examples=150)
settings.load_profile("kit")
