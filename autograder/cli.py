"""The `blockgrade` command: a thin click layer over the library.

Exit status: 0 done (for `grade`: grading ran, whatever the scores); 1 `check` found failing
tasks, `build --check` found drift or `audit` found surviving mutants; 2 bad input or
configuration (a clear message, no traceback); 3 an internal error of the kit.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import sys
from pathlib import Path

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograder import __version__, i18n
from autograder.catalog import Assignment, CatalogError, Course, course_at, find_course
from autograder.errors import BlockgradeError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

# An interpreter that holds torch spends a third of an `import torch` on its way out, most of it
# in the last garbage collections: the command's objects are frozen first (gc.freeze), so that
# those collections skip them (the process ends; its memory goes back to the system anyway).
atexit.register(gc.freeze)


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


INSTRUCTOR_EXTRA = "instructor"  # pyproject.toml's extra with the instructor tools


def missing_package(module: str) -> str:
    """What to do when a command needs a package that this install lacks."""
    return (
        f"this command needs the Python package `{module.split('.')[0]}`, which is not installed here. "
        "A student's install holds only what `check` and `submit` need; the instructor tools (grading a "
        "class, the report, building and exporting) are the kit's extra: in the kit's folder, "
        f"`pip install -c constraints.txt '.[{INSTRUCTOR_EXTRA}]'`."
    )


def _friendly(command):
    """Our own exceptions become a message and exit status 2; anything else a short report."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BlockgradeError as exc:
            click.echo(f"blockgrade: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except ModuleNotFoundError as exc:  # a student's install: the instructor tools are an extra
            if os.environ.get("BLOCKGRADE_DEBUG") or (exc.name or "").split(".")[0] == "autograder":
                raise
            click.echo(f"blockgrade: {missing_package(exc.name or str(exc))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:  # a bug of ours: say so plainly, traceback only on request
            if os.environ.get("BLOCKGRADE_DEBUG"):
                raise
            click.echo(
                f"blockgrade: internal error: {type(exc).__name__}: {exc}\n"
                "(set BLOCKGRADE_DEBUG=1 to see the traceback, and please report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _course(root: Path | None, prefer_student: bool = False) -> Course:
    if root is not None:
        course = course_at(root)
        if course is None:
            raise CatalogError(f"no assignments in {root}")
        if prefer_student and course.layout == "source":
            course = course_at(root / "student_template") or course
        return course
    return find_course(prefer_student=prefer_student)


root_option = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="BLOCKGRADE_ROOT",
    help="The course folder (default: found from the current directory).",
)


def _choose_language(ctx, param, value: str | None) -> None:
    if value is not None:
        i18n.set_language(value)


# the language of what this command shows and writes (autograder.i18n: else $BLOCKGRADE_LANG,
# the assignment's `language`, course.toml's, English)
lang_option = click.option(
    "--lang",
    type=click.Choice(i18n.LANGUAGES),
    expose_value=False,
    callback=_choose_language,
    help="Language of what students read: es, zh or en (default: $BLOCKGRADE_LANG, else the assignment's).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blockgrade")
def main() -> None:
    """Exercises and a sandboxed autograder for PyTorch building blocks."""
    # a command's --lang holds for that command only (a caller may run several in one process)
    i18n.set_language(None)
    click.get_current_context().call_on_close(lambda: i18n.set_language(None))


@main.command("list")
@root_option
@_friendly
def list_command(root: Path | None) -> None:
    """List the assignments, their tasks and points."""
    course = _course(root)
    console = _console()
    for a in course.assignments:
        table = Table(title=Text(f"{a.slug}: {a.title} ({a.module}, {a.max_score:g} points)"), title_justify="left")
        table.add_column("task")
        table.add_column("points", justify="right")
        table.add_column("what")
        for t in a.tasks:
            table.add_row(Text(" / ".join(t.names)), f"{t.points:g}", Text(t.summary))
        console.print(table)


def _assignment_here(course: Course, key: str | None) -> list[Assignment]:
    if key:
        return [course.get(key)]
    cwd = Path.cwd().resolve()
    for a in course.assignments:
        if cwd == a.folder or a.folder in cwd.parents:
            return [a]
    return list(course.assignments)


@main.command()
@click.argument("assignment", required=False)
@click.option("--task", "tasks", multiple=True, help="Check only this task (repeatable).")
@click.option("--file", "file", type=click.Path(exists=True, path_type=Path), help="The file or folder to check.")
@click.option("-v", "--verbose", is_flag=True, help="Also show what your code printed.")
@root_option
@lang_option
@_friendly
def check(assignment: str | None, tasks: tuple[str, ...], file: Path | None, verbose: bool, root: Path | None) -> None:
    """Run the visible tests and show, task by task, what passes and why not."""
    from autograder.sandbox.client import SandboxHost

    course = _course(root, prefer_student=True)
    chosen = _assignment_here(course, assignment)
    if file is not None and len(chosen) != 1:
        raise CatalogError(
            i18n._(
                "--file needs one assignment: name it, e.g. `blockgrade check {example} --file my.py`",
                example=course.assignments[0].id if course.assignments else "blocks",
            )
        )
    for a in chosen:
        for t in tasks:
            a.task(t)
    # The sandbox host (a fresh interpreter importing torch) starts before this process imports
    # the grader (pytest and the rest): the two overlap instead of following one another.
    first_host = SandboxHost(chosen[0].probe_files("visible"), memory_mb=chosen[0].limits.memory_mb) if chosen else None
    try:
        from autograder.checking import render, run_check
        from autograder.choosing import working_file

        console = _console()
        all_passed = True
        for i, a in enumerate(chosen):
            # the module or the notebook: the one with the work in it, and why (a note under the header)
            work = working_file(a) if file is None else None
            path = file if work is None else work.path
            note = "" if work is None else work.reason
            result = run_check(a, path, list(tasks) or None, host=first_host if i == 0 else None, note=note)
            all_passed &= render(result, console, set(tasks) or None, verbose)
            if not tasks:  # written questions: which are still unanswered (never a failure)
                from autograder.questions import check_lines

                for line in check_lines(a, path):
                    console.print(Text(line))
    finally:
        if first_host is not None:
            first_host.close()  # closed already by the grader that used it; here if none did
    sys.exit(0 if all_passed else EXIT_FAILED)


@main.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the zip.")
@click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The file to submit."
)
@click.option("--force", is_flag=True, help="Pack even if the file does not import cleanly.")
@root_option
@lang_option
@_friendly
def submit(assignment: str, output: Path | None, file: Path | None, force: bool, root: Path | None) -> None:
    """Check that your file can be graded and pack the zip to upload."""
    from autograder.choosing import working_file
    from autograder.packing import pack

    course = _course(root, prefer_student=True)
    a = course.get(assignment)
    i18n.set_language(i18n.resolve(assignment=a))
    if file is None:
        work = working_file(a, a.folder if course.layout == "student" else Path.cwd(), verb="is packed")
        path = work.path
        if work.reason:
            click.echo(i18n._("note: {note}", note=i18n.localize(work.reason, a)), err=True)
    else:
        path = file
    output = output or Path.cwd() / f"{a.id}-submission.zip"
    report = pack(a, path, output, force=force)
    for warning in report.warnings:
        click.echo(i18n._("warning: {warning}", warning=warning), err=True)
    click.echo(i18n._("wrote {zip} ({file}): upload this file", zip=report.zip_path, file=path.name))


@main.command()
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if the committed template differs.")
@root_option
@lang_option
@_friendly
def build(check_only: bool, root: Path | None) -> None:
    """Regenerate student_template/ from solutions/ and assignments/ (with --lang L:
    student_template-L/, in that language)."""
    from autograder.generate import check_template, template_path, write_template

    course = _source_course(root)
    if check_only:
        drift = check_template(course, i18n.chosen())
        if drift:
            folder = template_path(course, i18n.chosen()).name
            click.echo(f"{folder}/ is out of date; run `blockgrade build`:\n" + drift.describe())
            sys.exit(EXIT_FAILED)
        click.echo(f"{template_path(course, i18n.chosen()).name}/ is up to date")
        return
    target = write_template(course, i18n.chosen())
    click.echo(f"wrote {target}")


@main.command()
@click.option("-a", "--assignment", "assignment_key", required=True, help="Assignment id, folder or number.")
@click.option(
    "-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@click.option("-j", "--workers", type=click.IntRange(min=1), help="Parallel workers (default: up to one per core).")
@click.option("--suite", type=click.Choice(["hidden", "visible"]), default="hidden", show_default=True)
@click.option(
    "--sandbox",
    type=click.Choice(["auto", "root", "user", "basic"]),
    default="auto",
    show_default=True,
    help="Isolation for submissions: the strongest this machine allows, or a given one.",
)
@click.option(
    "--unsafe-basic-as-root",
    is_flag=True,
    help="Allow the basic sandbox when running as root: submissions then run as root. For trusted code only.",
)
@click.option(
    "--memory-mb", type=click.IntRange(min=64), help="Memory limit per submission (default: the assignment's)."
)
@click.option(
    "--module-name",
    metavar="GLOB",
    help="Which file names are the module, for renamed files (e.g. '*_hw1.py'): a loose file or a submission's "
    "file matching it is graded as the module. Without it, names holding the module's name are, and a loose "
    ".py or .ipynb file given here.",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@root_option
@lang_option
@_friendly
def grade(
    assignment_key: str,
    out_dir: Path,
    workers: int | None,
    suite: str,
    sandbox: str,
    unsafe_basic_as_root: bool,
    memory_mb: int | None,
    module_name: str | None,
    paths: tuple[Path, ...],
    root: Path | None,
) -> None:
    """Grade submission folders or zips (or a Gradescope export) into OUT/gradebook.csv,
    OUT/report.html and OUT/<submission>/."""
    from autograder.grading import grade_batch

    course = _course(root)
    a = course.get(assignment_key)
    limits = a.limits.replace(memory_mb=memory_mb)
    console = _console()
    with _progress(console) as progress:
        batch = grade_batch(
            course,
            a,
            list(paths),
            out_dir,
            suite=suite,
            workers=workers,
            limits=limits,
            sandbox=sandbox,
            unsafe_basic_as_root=unsafe_basic_as_root,
            on_start=progress.start,
            on_result=progress.advance,
            module_name=module_name,
        )
    used = sorted({r.sandbox for r in batch.results if r.sandbox})
    if used:
        click.echo(f"sandbox: {', '.join(used)}", err=True)
    if any(r.sandbox == "basic" for r in batch.results):
        click.echo(
            "warning: submissions ran in the basic sandbox (no namespaces here): a hostile submission could read "
            "or change files this user can. Grade untrusted code as root or where user namespaces are allowed; "
            "see README, 'What the sandbox guarantees'.",
            err=True,
        )
    _print_batch(console, a, batch)
    click.echo(f"wrote {batch.gradebook}" + (" (interrupted: graded submissions only)" if batch.interrupted else ""))
    click.echo(f"wrote {batch.report}")
    from autograder.manual import next_steps  # written questions and similar pairs

    for line in next_steps(out_dir, a):
        click.echo(line)
    if batch.interrupted:
        sys.exit(130)


@main.command("merge-manual")
@click.argument("gradebook_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@root_option
@lang_option
@_friendly
def merge_manual(gradebook_dir: Path, sheet: Path, root: Path | None) -> None:
    """Merge the filled sheet of written questions (GRADEBOOK_DIR/manual.csv, or nbgrader's
    export of formgrader's scores) into gradebook.csv, each results.json and feedback.md, and
    report.html. Checks the whole sheet first: nothing is written unless every row is right.
    Written in the language the batch was graded in, unless --lang says another."""
    from autograder.manual import merge

    report = merge(gradebook_dir, sheet, _course(root))
    click.echo(
        f"merged {report.questions} written question(s) of {report.submissions} submission(s) into {gradebook_dir} "
        "(gradebook.csv, each results.json and feedback.md, report.html)"
    )


def _source_course(root: Path | None) -> Course:
    course = _course(root)
    if course.layout != "source":
        raise CatalogError("this runs in the instructor's repository (the folder holding assignments/ and solutions/)")
    return course


def _output_option(default: str, folder: bool = False):
    kind = click.Path(file_okay=not folder, dir_okay=folder, path_type=Path)
    return click.option("-o", "--output", type=kind, help=f"Where to write it (default: {default}).")


@main.command()
@click.argument("assignment")
@_output_option("ID-student.zip")
@root_option
@lang_option
@_friendly
def release(assignment: str, output: Path | None, root: Path | None) -> None:
    """Pack what students get: stub module, notebook, handout, visible tests; nothing hidden."""
    from autograder.release import release_zip

    a = _source_course(root).get(assignment)
    target = release_zip(a, output or Path.cwd() / f"{a.id}-student.zip")
    click.echo(f"wrote {target}: hand it to students (no solution, no hidden test inside)")


@main.command()
@click.argument("assignment")
@_output_option("autograder.zip")
@root_option
@lang_option
@_friendly
def gradescope(assignment: str, output: Path | None, root: Path | None) -> None:
    """Write the Gradescope autograder zip (setup.sh, run_autograder, kit, hidden tests)."""
    from autograder.gradescope import build_bundle

    a = _source_course(root).get(assignment)
    target = build_bundle(a, output or Path.cwd() / "autograder.zip")
    click.echo(f"wrote {target}: upload it as the assignment's autograder (hidden tests: {a.hidden_visibility})")


@main.command()
@click.argument("assignment")
@_output_option("ID-classroom", folder=True)
@root_option
@lang_option
@_friendly
def classroom(assignment: str, output: Path | None, root: Path | None) -> None:
    """Write a GitHub Classroom starter repository with its autograding workflow."""
    from autograder.release import classroom_repository

    a = _source_course(root).get(assignment)
    target = classroom_repository(a, output or Path.cwd() / f"{a.id}-classroom")
    click.echo(
        f"wrote {target}: push it as the assignment's template repository; each task earns its points "
        "in Classroom when its visible tests pass (.github/workflows/classroom.yml)"
    )


@main.group()
def export() -> None:
    """Export the course for another tool."""


@export.command("nbgrader")
@click.argument("course_dir", type=click.Path(file_okay=False, path_type=Path))
@root_option
@lang_option
@_friendly
def export_nbgrader_command(course_dir: Path, root: Path | None) -> None:
    """Write COURSE_DIR/source/<assignment>/<module>.ipynb for `nbgrader generate_assignment`."""
    from autograder.nbgrader_export import export_nbgrader, nbgrader_next_steps

    click.echo(nbgrader_next_steps(export_nbgrader(_source_course(root), course_dir)))


@main.command("audit")
@click.argument("assignment")
@click.option("--suite", type=click.Choice(["hidden", "visible"]), default="hidden", show_default=True)
@click.option("-j", "--workers", type=click.IntRange(min=1), help="Parallel workers (default: up to one per core).")
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=0.98,
    show_default=True,
    help="Fail when a task kills less than this share of its non-equivalent mutants.",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the report here."
)
@click.option(
    "--probe-seconds",
    type=click.FloatRange(min=0.5),
    help="Time limit per probe (default: the assignment's, at most 5).",
)
@root_option
@_friendly
def audit_command(
    assignment: str,
    suite: str,
    workers: int | None,
    min_score: float,
    json_path: Path | None,
    probe_seconds: float | None,
    root: Path | None,
) -> None:
    """Mutation-test a suite: grade small mutants of the reference solution and list those it misses.

    Exits 1 when a mutant survives that no [[audit.equivalent]] in assignment.toml excuses, or
    when a task's score (killed / non-equivalent mutants) is below --min-score."""
    from autograder.audit import audit, audit_limits, render

    course = _source_course(root)
    a = course.get(assignment)
    console = _console()
    with _progress(console) as progress:
        report = audit(
            course,
            a,
            suite,
            workers,
            limits=audit_limits(a, probe_seconds),
            on_start=progress.start,
            on_result=progress.advance,
        )
    passed = render(report, console, min_score)
    if json_path is not None:
        click.echo(f"wrote {report.write_json(json_path, min_score)}")
    if report.interrupted:
        sys.exit(130)
    sys.exit(0 if passed else EXIT_FAILED)


@main.group("i18n")
def i18n_group() -> None:
    """Translations: the catalogs of the engine and of each assignment (README: Languages)."""


@i18n_group.command("update")
@root_option
@_friendly
def i18n_update(root: Path | None) -> None:
    """Bring every catalog up to date with the sources (new strings untranslated) and compile."""
    from autograder.i18n_tools import update_all

    course = _source_course(root)
    written = update_all(course)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} catalog file(s) written" if written else "every catalog was up to date")


@i18n_group.command("compile")
@root_option
@_friendly
def i18n_compile(root: Path | None) -> None:
    """Compile the catalogs (.po -> .mo) of the engine and of each assignment."""
    from autograder.i18n_tools import compile_assignment, compile_engine, engine_is_in

    course = _source_course(root)
    paths = compile_engine() if engine_is_in(course) else []
    for a in course.assignments:
        paths += compile_assignment(a)
    for path in paths:
        click.echo(f"wrote {path}")
    if not paths:
        click.echo("every compiled catalog was up to date")


@i18n_group.command("check")
@root_option
@_friendly
def i18n_check(root: Path | None) -> None:
    """List what a language lacks: untranslated strings, fields that differ, stale handouts."""
    from autograder.i18n_tools import assignment_problems, engine_problems, handout_problems

    problems = engine_problems()
    for a in _source_course(root).assignments:
        problems += assignment_problems(a) + handout_problems(a)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(problems)} problem(s)")
    sys.exit(EXIT_FAILED if problems else 0)


# A class-sized batch lists only its summary; the gradebook and the report list everyone.
MAX_LISTED = 40
NAME_CELLS = 40  # terminal cells a submission's name takes at most in the printed table


class _progress:
    """A progress bar on a terminal; nothing when output is captured or in CI."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = None
        self.task = None
        self.enabled = console.is_terminal and not os.environ.get("CI")

    def __enter__(self) -> "_progress":
        return self

    def start(self, total: int) -> None:
        if not self.enabled or total < 2:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            # no refresh thread: judging forks this process, and a fork must not copy a lock
            # another thread holds; the bar redraws on each result instead
            auto_refresh=False,
        )
        self.task = self.bar.add_task("grading", total=total)
        self.bar.start()

    def advance(self, result) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
            self.bar.refresh()

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_batch(console: Console, a: Assignment, batch) -> None:
    import statistics

    from autograder.outputs import fmt_points
    from autograder.results import status_counts, task_summaries, whose_code_was_read
    from autograder.text import terminal

    results = sorted(batch.results, key=lambda r: r.name)
    console.print(
        Text(f"{a.title}: {len(results)} of {batch.count} submission(s) graded in {batch.seconds:.1f} s", style="bold")
    )
    if len(results) <= MAX_LISTED:
        table = Table()
        # names are measured in terminal cells (a Chinese character takes two) and shown in at
        # most NAME_CELLS of them: a long one is cut with an ellipsis, never the score beside it
        score_cells = max([5] + [cell_len(f"{fmt_points(r.score)}/{fmt_points(r.max_score)}") for r in results])
        status_cells = max([6] + [cell_len(r.status) for r in results])
        room = console.width - score_cells - status_cells - 10  # (the borders and padding take 10)
        longest = max(cell_len(terminal(r.name)) for r in results) if results else 10
        name_cells = max(min(longest, NAME_CELLS, room), 10)
        table.add_column("submission", no_wrap=True, min_width=name_cells, max_width=name_cells)
        table.add_column("score", justify="right", no_wrap=True, min_width=score_cells)
        table.add_column("status", no_wrap=True, min_width=status_cells)
        # per-task columns only where they fit unabridged; gradebook.csv always has them
        needed = name_cells + 30 + sum(max(len(t), 4) + 3 for t in a.task_ids)
        show_tasks = console.width >= needed
        for t in a.task_ids if show_tasks else []:
            table.add_column(t, justify="right", no_wrap=True)
        for r in results:
            tasks = {s.task: s.score for s in r.task_scores()}
            cells = [fmt_points(tasks[t]) for t in a.task_ids] if show_tasks else []
            table.add_row(Text(terminal(r.name)), f"{fmt_points(r.score)}/{fmt_points(r.max_score)}", r.status, *cells)
        console.print(table)
        if not show_tasks:
            click.echo("(points per task are in gradebook.csv; a wider terminal shows them here)")
    if not results:
        return
    status_line = "status: " + ", ".join(f"{n} {status}" for status, n in status_counts(results))
    # Submissions that were not graded (no module, a bad archive) are listed above and
    # counted in the status line, not in the means and rates: as in the report.
    graded = whose_code_was_read(results)
    if not graded:
        console.print(status_line, highlight=False)
        return
    title = "summary (graded submissions only)" if len(graded) < len(results) else "summary"
    summary = Table(title=title, title_justify="left")
    summary.add_column("task")
    summary.add_column("points", justify="right")
    summary.add_column("mean", justify="right")
    summary.add_column("full marks", justify="right")
    for t in task_summaries(a, graded):
        summary.add_row(t.task, fmt_points(t.points), f"{t.mean:.1f}", f"{t.full}/{t.count}")
    scores = [r.score for r in graded]
    summary.add_row(
        Text("total", style="bold"),
        fmt_points(a.max_score),
        f"{statistics.fmean(scores):.1f}",
        f"{sum(1 for s in scores if s >= a.max_score - 1e-9)}/{len(scores)}",
        end_section=True,
    )
    console.print(summary)
    console.print(status_line, highlight=False)


def run() -> None:
    """The console script: `main`, then a prompt exit.

    Everything is written and closed by the time a command returns; skipping the interpreter's
    teardown (most of a second with torch loaded) is what a student feels on every check.
    """
    try:
        main.main(prog_name="blockgrade")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
