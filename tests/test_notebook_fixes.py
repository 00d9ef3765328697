"""What a notebook-only student met: a task cell under `%%time` or `%%capture` is graded as the
kernel runs it (a real kernel says which cell magics leave the cell's names defined); a syntax
error cites the cell and its lines, never the made-up module's; a notebook too large says that
its outputs count and how to clear them; and every note of these is a catalog message."""

import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from test_notebook_students import BLOCKS, STUB, TEMPLATE, grade_id, graded, solved_cells

from autograder.i18n import Localizer
from autograder.i18n_tools import engine_template
from autograder.notebook_check import module_from_history
from autograder.notebooks import NOT_DEFINED_SYNTAX, notebook_module, strip_magics
from autograder.results import FAILED, PASSED
from autograder.staging import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES, StagingError, stage

# ------------------------------------------------------------------------------ cell magics

CELL_MAGICS = [
    "%%time",
    "%%capture",
    "%%capture captured",
    "%%prun -q",
    "%%capture\n%%time",
    "%%timeit -n1 -r1",
    "%%bash",
    "%%script python3",
    "%%writefile {folder}/written.py",
    "%%html",
    "%%capture\n%%bash",
]


def test_grading_keeps_a_cell_exactly_when_the_kernel_defines_its_names(tmp_path):
    sources = [f"{magic.format(folder=tmp_path)}\nprobe_{i} = {i}\n" for i, magic in enumerate(CELL_MAGICS)]
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    cells.append(nbformat.v4.new_code_cell("print(sorted(n for n in dir() if n.startswith('probe_')))"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    defined = [f"'probe_{i}'" in printed for i in range(len(sources))]
    assert set(defined) == {True, False}, printed  # both kinds are here
    for magic, source, in_kernel in zip(CELL_MAGICS, sources, defined):
        assert ("probe_" in strip_magics(source)[0]) == in_kernel, (magic, printed)


def test_a_task_cell_under_time_is_graded_and_a_bash_cell_is_named(tmp_path):
    notebook = nbformat.read(TEMPLATE / BLOCKS.notebook, as_version=4)
    solved_cells(notebook)
    numbers = {}
    for number, cell in enumerate(notebook.cells, start=1):
        numbers[grade_id(cell)] = number
        if grade_id(cell) == "MLP":
            cell.source = "%%time\n" + cell.source
        elif grade_id(cell) == "MySequential":
            cell.source = "%%bash\n" + cell.source
    result = graded(notebook, tmp_path, ["MLP", "MySequential"])
    mlp = [t for t in result.tests if t.test.task == "MLP"]
    assert mlp and all(t.outcome == PASSED for t in mlp), [t.message for t in mlp]
    note = f"cell {numbers['MySequential']} (MySequential) starts with %%bash"
    assert any(n.startswith(note) and "not graded" in n for n in result.notes), result.notes
    mine = [t.message for t in result.tests if t.test.task == "MySequential" and t.outcome == FAILED]
    assert mine and all(m.startswith(f"`MySequential` is not defined in {BLOCKS.notebook} ") for m in mine), mine


def test_check_in_the_notebook_reads_task_cells_as_written(tmp_path):
    """The in-notebook check reads the cells as the student wrote them: a task cell under
    `%%time` is the task's (IPython's `In` holds it as a `run_cell_magic` call: the check took
    the stub's code instead), and a line magic above a task's code is no failing statement."""
    from test_notebook_students import outputs_text, run_notebook

    notebook = nbformat.read(TEMPLATE / BLOCKS.notebook, as_version=4)
    solved_cells(notebook)
    for cell in notebook.cells:
        if grade_id(cell) == "MLP":
            cell.source = "%%time\n" + cell.source
        elif grade_id(cell) == "MySequential":
            cell.source = "%config Application.log_level = 'WARN'\n" + cell.source
    wanted = ("check-MLP", "check-MySequential")
    notebook.cells = [c for c in notebook.cells if not grade_id(c).startswith("check-") or grade_id(c) in wanted]
    shutil.copytree(TEMPLATE.parent, tmp_path / "student")  # the stub module beside the notebook
    cells = run_notebook(notebook, tmp_path / "student" / BLOCKS.slug)
    for check in (c for c in cells if grade_id(c) in wanted):
        text = outputs_text(check)
        assert "passed" in text and "failed" not in text and "get_ipython" not in text, text


# ------------------------------------------------------------------------------ a syntax error

BROKEN = """\
class {name}(nn.Module):
    def forward(self, X)
        return X
"""


def test_a_syntax_error_cites_the_cell_and_its_lines_everywhere(tmp_path):
    notebook = nbformat.read(TEMPLATE / BLOCKS.notebook, as_version=4)
    numbers = {}
    for number, cell in enumerate(notebook.cells, start=1):
        numbers[grade_id(cell)] = number
        if grade_id(cell) in ("FixedHiddenMLP", "NestMLP"):
            cell.source = BROKEN.format(name=grade_id(cell))
        elif grade_id(cell) == "Parallel":  # blanked in the module: NestMLP's block runs on over it
            cell.source = "%matplotlib inline\n" + cell.source
    lines = BROKEN.splitlines()
    bad = next(i for i, line in enumerate(lines, start=1) if line.rstrip().endswith(")"))
    result = graded(notebook, tmp_path, ["FixedHiddenMLP", "NestMLP"])
    for name in ("FixedHiddenMLP", "NestMLP"):
        cell = f"cell {numbers[name]} ({name})"
        messages = [t.message for t in result.tests if t.test.task == name and t.outcome == FAILED]
        said = (
            f"`{name}` is not defined in {BLOCKS.notebook}: its definition ({cell}, lines 1–{len(lines)}) "
            f"has a syntax error at line {bad} ("
        )
        assert messages and all(m.startswith(said) for m in messages), messages
        assert not any(BLOCKS.module in m for m in messages), messages
        note = next(n for n in result.notes if n.startswith(f"{BLOCKS.notebook} {cell}, line {bad}: "))
        assert note.endswith(f"lines 1–{len(lines)} were left out, so `{name}` is not defined."), note


# ------------------------------------------------------------------------------ a notebook too large


def test_a_notebook_too_large_says_its_outputs_count_and_how_to_clear_them(tmp_path):
    notebook = json.loads((TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8"))
    mlp = next(c for c in notebook["cells"] if grade_id(c) == "MLP")
    mlp["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "tensor([" + "0.1234, " * (MAX_NOTEBOOK_BYTES // 8)}
    ]
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / BLOCKS.notebook).write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(StagingError) as raised:
        stage(tmp_path / "nb", BLOCKS)
    assert "outputs count" in raised.value.message and "Clear Outputs of All Cells" in raised.value.message
    (tmp_path / "py").mkdir()  # a module too large: nothing about outputs
    (tmp_path / "py" / BLOCKS.module).write_text(STUB + "#" * MAX_SOURCE_BYTES, encoding="utf-8")
    with pytest.raises(StagingError) as raised:
        stage(tmp_path / "py", BLOCKS)
    assert "larger than" in raised.value.message and "outputs" not in raised.value.message


# ------------------------------------------------------------------------------ in the catalogs


def test_what_a_notebook_student_reads_is_in_the_catalogs():
    """Each note is a message Babel extracts from the engine: a catalog translating every message
    (here, each marked as translated) translates each note whole."""
    messages = [m.id for m in engine_template() if m.id and isinstance(m.id, str)]
    localize = Localizer({m: "TRANSLATED " + m for m in messages})
    helper = "def helper(X):\n    return X\n"
    mlp = "class MLP(nn.Module):\n    def forward(self, X):\n        return helper(X)\n"
    checked = module_from_history(BLOCKS, STUB, ["", helper, mlp])
    notebook = json.loads((TEMPLATE / BLOCKS.notebook).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if grade_id(cell) == "MLP":
            cell["source"] = "%%bash\n" + "".join(cell["source"])
    made = notebook_module(notebook, BLOCKS.notebook)
    span = made.lines.spans[0]
    left_out = NOT_DEFINED_SYNTAX.format(
        name="MLP", module=BLOCKS.module, first=span.first, last=span.last, line=span.first, message="SyntaxError: x"
    )
    notes = checked.notes + made.notes + [made.lines.rewrite(left_out, BLOCKS.module)]
    assert BLOCKS.notebook in notes[-1] and BLOCKS.module not in notes[-1], notes[-1]
    assert any("helper" in n for n in checked.notes) and any("%%bash" in n for n in made.notes), notes
    for note in notes:
        assert localize(note).startswith("TRANSLATED "), note
