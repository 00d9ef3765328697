"""The student template: stubs from solution markers, and the drift check."""

import shutil
import textwrap

import nbformat
import pytest

from autograder.catalog import course_at
from autograder.generate import GenerateError, check_template, compare, stub_source
from autograder.notebooks import module_source_from_notebook

from conftest import REPO

SOLUTION = textwrap.dedent(
    '''\
    import torch


    class Net:
        """Kept docstring."""

        def forward(self, X):
            """Forward docstring."""
            ### BEGIN SOLUTION
            return X * 2
            ### END SOLUTION


    def helper(n):
        total = 0
        ### BEGIN SOLUTION
        for i in range(n):
            total += i
        ### END SOLUTION
        return total
    '''
)


def test_regions_become_stubs_and_the_rest_is_kept():
    stub = stub_source(SOLUTION, "s.py")
    assert '"""Kept docstring."""' in stub and '"""Forward docstring."""' in stub
    assert 'raise NotImplementedError("Net.forward is not implemented yet")' in stub
    assert 'raise NotImplementedError("helper is not implemented yet")' in stub
    assert "X * 2" not in stub and "total += i" not in stub
    assert "\n    return total\n" in stub  # code after a region stays
    namespace = {}
    exec(compile(stub, "s.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="helper"):
        namespace["helper"](3)


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without a"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside a function"),
        ("def f():\n    ### BEGIN SOLUTION\n    x = 1\n  ### END SOLUTION\n", "indentation"),
        ('def f():\n    ### BEGIN SOLUTION\n    """doc"""\n    ### END SOLUTION\n', "docstring"),
        ("def f():\n    return 1\n", "no ### BEGIN"),
        ("def f(:\n", "does not parse"),
    ],
)
def test_misplaced_markers_are_refused_with_the_line(source, message):
    with pytest.raises(GenerateError, match=message):
        stub_source(source, "s.py")


def test_committed_template_is_in_sync(course):
    drift = check_template(course)
    assert not drift, "run `blockgrade build`:\n" + drift.describe()


def test_drift_is_detected_and_named(tmp_path):
    copy = tmp_path / "repo"
    for part in ("assignments", "solutions", "student_template"):
        shutil.copytree(REPO / part, copy / part)
    course = course_at(copy)
    assert not check_template(course)
    a = course.assignments[0]
    solution = a.solution_dir / a.module
    solution.write_text(solution.read_text() + "\n\nEXTRA = 1\n")
    stray = copy / "student_template" / a.slug / "stray.txt"
    stray.write_text("left over")
    drift = check_template(course)
    assert drift.changed == sorted([f"{a.slug}/{a.module}", f"{a.slug}/{a.notebook}"])
    assert drift.removed == [f"{a.slug}/stray.txt"]


@pytest.mark.parametrize(
    "folder, course_id", [("curso de redes", "curso-de-redes"), ("作业", "course"), ("作业 2", "2")]
)
def test_an_nbgrader_export_names_its_course_after_its_folder_in_plain_characters(tmp_path, folder, course_id):
    from autograder.nbgrader_export import export_nbgrader

    copy = tmp_path / folder
    for part in ("assignments", "solutions"):
        shutil.copytree(REPO / part, copy / part)
    export = export_nbgrader(course_at(copy), tmp_path / "nbgrader")
    assert f"c.CourseDirectory.course_id = {course_id!r}" in export.config.read_text(encoding="utf-8")


def test_template_notebook_is_valid_nbgrader_and_makes_the_stub_module(course):
    for a in course.assignments:
        folder = REPO / "student_template" / a.slug
        notebook = nbformat.read(folder / a.notebook, as_version=4)
        nbformat.validate(notebook)
        ids = [
            c.metadata.nbgrader["grade_id"] for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")
        ]
        assert ids[0] == a.tasks[0].id and set(t.id for t in a.tasks) <= set(ids)
        source, _ = module_source_from_notebook(notebook)
        namespace = {}
        exec(compile(source, a.notebook, "exec"), namespace)
        for task in a.tasks:
            for name in task.names:
                assert name in namespace, f"{a.notebook} does not define {name}"
        assert "check(" not in source, "check cells must not be part of the module"


def test_compare_lists_added_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "new.txt").write_text("x")
    assert compare(tmp_path / "a", tmp_path / "b").added == ["new.txt"]


def test_the_audit_table_never_reaches_students(course, tmp_path):
    """[[audit.equivalent]] quotes solution lines: the template's toml leaves [audit] out (the
    rest as written), and a release refuses any toml that still holds a solution line."""
    from autograder.generate import student_toml

    a = course.get("blocks")
    source = (a.folder / "assignment.toml").read_text(encoding="utf-8")
    assert "[[audit.equivalent]]" in source
    student = (REPO / "student_template" / a.slug / "assignment.toml").read_text(encoding="utf-8")
    assert student == student_toml(source) and "audit" not in student and "while X.abs()" not in student
    assert "[[tasks]]" in student and student.count("[[hints]]") == source.count("[[hints]]")
