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


def children_of(pid: int) -> set[int]:
    """The live (not zombie) children of the process `pid`, read from /proc."""
    import os

    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z" and os.path.isdir(entry):
                found.add(int(entry.name))
    return found


def sandbox_children(host_pid: int) -> set[int]:
    """A sandbox host's children: the live children of its template (the host's one child
    process, `autograder.sandbox.template`, which forks them)."""
    templates = children_of(host_pid)
    assert len(templates) <= 1, f"a host has one child, its template: {templates}"
    return set().union(*(children_of(pid) for pid in templates))
