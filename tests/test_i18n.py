"""The kit in Spanish and Chinese (autograder.i18n): choosing a language, the catalogs' quality
(every student-visible string translated with the same fields, handouts in step with their
source, translated templates keeping the code), and what students and instructors read in
their language: `check`, `submit`, the feedback, results.json, a notebook's check and the
class report, which a real browser renders with CJK glyphs."""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

from autograder import i18n
from autograder.catalog import CatalogError, course_at
from autograder.cli import main
from autograder.generate import build_assignment, with_language
from autograder.grading import grade_batch
from autograder.i18n_tools import (
    MESSAGE,
    TRANSLATED,
    assignment_problems,
    engine_problems,
    engine_template,
    handout_problems,
    handout_stamp,
    stub_shape,
)

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
SOLUTION = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
# a mistake: the MLP forgets its activation function
MISTAKEN = SOLUTION.replace("return self.out(F.relu(self.hidden(X)))", "return self.out(self.hidden(X))")


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)


def translated(language: str, msgid: str, /, **fields) -> str:
    with i18n.using(language):
        return i18n._(msgid, **fields)


def before(language: str, msgid: str, field: str, /, **fields) -> str:
    """The translation of `msgid` up to where its `field` goes."""
    return translated(language, msgid, **{field: "\x00"}, **fields).split("\x00")[0]


def flat(text: str) -> str:
    return " ".join(text.split())


PASSING = "{passed} of {count} tasks pass the visible tests ({points} of {total} points if the hidden tests agree)."


def english_engine_phrases() -> list[str]:
    """Pieces of English engine text long enough to be telling, from the extracted catalog."""
    phrases = set()
    for message in engine_template():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for msgid in ids:
            if not msgid:
                continue
            for piece in re.split(r"\{[^{}]*\}|\n", msgid):
                piece = piece.strip(" .:;()`*#|-")
                if len(piece) >= 14 and re.search(r"[a-z]{3} [a-z]{2,}", piece) and not piece.startswith("blockgrade"):
                    phrases.add(piece)
    return sorted(phrases)


def leaks(text: str) -> list[str]:
    """English engine text in `text`, the lines a traceback quotes from the student's code aside."""
    prose = "\n".join(line for line in text.splitlines() if not re.match(r"\s*(raise |File \")", line))
    return [p for p in english_engine_phrases() if p in prose]


def write_course(root: Path, course_toml: str | None = None, assignment_language: str | None = None) -> Path:
    """A student course of one copy of assignment 1 under `root` (course.toml as given)."""
    folder = root / "01-blocks"
    shutil.copytree(REPO / "student_template" / "01-blocks", folder)
    if assignment_language is not None:
        toml = folder / "assignment.toml"
        toml.write_text(with_language(toml.read_text(encoding="utf-8"), assignment_language), encoding="utf-8")
    if course_toml is not None:
        (root / "course.toml").write_text(course_toml, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ choosing


def test_the_choice_order_argument_process_environment_assignment_course_english(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    write_course(tmp_path / "plain")
    assert course_at(tmp_path / "plain").get("blocks").language is None
    assert i18n.resolve(assignment=course_at(tmp_path / "plain").get("blocks")) == "en"

    write_course(tmp_path / "course", 'language = "es"\n')
    course = course_at(tmp_path / "course")
    assert course.language == "es" and course.get("blocks").language == "es"

    write_course(tmp_path / "both", 'language = "es"\n', assignment_language="zh")
    a = course_at(tmp_path / "both").get("blocks")
    assert a.language == "zh"  # the assignment's own setting overrides the course's
    assert i18n.resolve(assignment=a) == "zh"
    monkeypatch.setenv(i18n.ENV, "es_ES.UTF-8")
    assert i18n.resolve(assignment=a) == "es"  # the environment overrides the files
    assert i18n.resolve(assignment=a, environment=False) == "zh"  # not for what instructors build
    with i18n.using("en"):
        assert i18n.resolve(assignment=a) == "en"  # a command's choice overrides the environment
        assert i18n.resolve("zh", assignment=a) == "zh"  # an explicit argument overrides everything
    monkeypatch.setenv(i18n.ENV, "fr")  # a language the kit lacks: ignored, never a crash
    assert i18n.resolve(assignment=a) == "zh"


@pytest.mark.parametrize(
    "text, message",
    [
        ('langauge = "es"\n', "unknown key 'langauge'; did you mean 'language'?"),
        ('language = "fr"\n', "language 'fr' is not one of en, es, zh"),
        ("language = 3\n", "language must be a string"),
        ("[language]\nname = 'es'\n", "language must be a string, not a table"),
        ("[paths]\nroot = '.'\n", "unknown table 'paths' (valid here: language)"),
        ('language = "es\n', "cannot read"),
    ],
)
def test_course_toml_is_checked_strictly(tmp_path, text, message):
    write_course(tmp_path, text)
    with pytest.raises(CatalogError) as caught:
        course_at(tmp_path)
    assert str(tmp_path / "course.toml") in str(caught.value) and message in str(caught.value)
    result = invoke("check", "--root", tmp_path)  # a clear message and status 2, no traceback
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_an_assignment_toml_names_a_language_the_kit_has(tmp_path):
    folder = write_course(tmp_path)
    toml = folder / "assignment.toml"
    toml.write_text(with_language(toml.read_text(encoding="utf-8"), "fr"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"assignment.toml: language 'fr' is not one of en, es, zh"):
        course_at(tmp_path)


def test_with_language_sets_the_key_once_and_leaves_english_alone():
    text = (BLOCKS.folder / "assignment.toml").read_text(encoding="utf-8")
    assert with_language(text, "en") == text
    spanish = with_language(text, "es")
    assert spanish.count('language = "es"') == 1 and with_language(spanish, "es") == spanish
    chinese = with_language(spanish, "zh")
    assert 'language = "es"' not in chinese and chinese.count('language = "zh"') == 1
    import tomllib

    assert tomllib.loads(chinese)["language"] == "zh" and tomllib.loads(chinese)["tasks"]


# ------------------------------------------------------------------------------ fallbacks


def test_what_a_catalog_lacks_or_breaks_is_shown_in_english():
    with i18n.using("es"):
        assert i18n._("a sentence no catalog has: {x}", x=1) == "a sentence no catalog has: 1"
        assert i18n.localize("Some English nobody translated.") == "Some English nobody translated."
    # a translation whose fields do not match its English: the English text, filled
    assert i18n._fill("{nombre} falló", {"name": "MLP"}, "{name} failed") == "MLP failed"
    localize = i18n.Localizer({"Not run: {message}": "Sin ejecutar: {mensaje}"})
    assert localize("Not run: no GPU") == "Not run: no GPU"


def test_a_broken_assignment_catalog_costs_its_translations_only(tmp_path):
    folder = write_course(tmp_path)
    (folder / "locale" / "es.mo").write_bytes(b"\xde\x12\x04\x95 not a catalog")
    a = course_at(tmp_path).get("blocks")
    with i18n.using("es"):
        assert i18n.localize(a.title, a) == a.title
        assert i18n.localize("Hint: whatever", a) == translated("es", "Hint: {hint}", hint="whatever")


def test_localize_translates_nested_messages_hints_and_leaves_tracebacks():
    message = (
        "Your code raised NotImplementedError: MLP.__init__ is not implemented yet\n"
        '  File "blocks.py", line 20, in __init__\n'
        "Hint: Call `super().__init__()` first thing in `__init__`: `nn.Module` sets up its registries of "
        "parameters, buffers and submodules there."
    )
    for language in TRANSLATED:
        first, traceback, hint = i18n.localize(message, BLOCKS, language).split("\n")
        stub = translated(language, "{name} is not implemented yet", name="MLP.__init__")
        assert first == translated(
            language, "Your code raised {type}: {message}", type="NotImplementedError", message=stub
        )
        assert traceback == '  File "blocks.py", line 20, in __init__'
        assert hint.startswith(translated(language, "Hint: {hint}", hint="")) and "`super().__init__()`" in hint
        assert not leaks(hint) and "registries" not in hint
    assert i18n.localize(message, BLOCKS, "en") == message


@pytest.mark.parametrize("language", TRANSLATED)
def test_localize_reads_a_message_nested_in_another_as_nested(language):
    """A sentence inside another's field is translated inside it, whichever of the two is the
    longer message: the reason in a note, a call's description before "raised", a judge's
    message before what `assert_close` found."""
    from autograder import judging

    reason = i18n.N_("{chosen} has {mine:d} of {n:d} tasks written, {other} {theirs:d}", chosen="a.py", mine=6, n=6,
                     other="a.ipynb", theirs=0)
    note = i18n.N_("{name} was checked, not {other}: {why}.", name="a.py", other="a.ipynb", why=reason)
    assert i18n.localize(note, BLOCKS, language) == translated(
        language, "{name} was checked, not {other}: {why}.", name="a.py", other="a.ipynb",
        why=i18n.localize(reason, BLOCKS, language),
    )
    # a message a line, its last field before the end of the text: each line read on its own,
    # not the lines after it taken into that field
    below = i18n.N_("{name} was found in {folder}/.", name="a.py", folder="colab")
    assert i18n.localize(f"{note}\n{below}", BLOCKS, language) == "\n".join(
        i18n.localize(line, BLOCKS, language) for line in (note, below)
    )
    fileio = COURSE.get("fileio")
    call = "save_checkpoint(path, model, optimizer, 3) for a model on the CPU and on {device}".format(device="cpu")
    raised = i18n.N_("{what} raised {type}: {message}", what=call, type="NameError", message="name 'x' is not defined")
    assert i18n.localize(raised, fileio, language) == translated(
        language, "{what} raised {type}: {message}", what=i18n.localize(call, fileio, language), type="NameError",
        message="name 'x' is not defined",
    )
    assert i18n.localize(call, fileio, language) != call
    message = "MLP's output differs from out(relu(hidden(X)))"
    with pytest.raises(AssertionError) as failure:
        judging.assert_close(torch.zeros(2), torch.ones(2), message)
    differs = translated(language, "{bad:d} of {total:d} values differ; the largest difference is {largest:.4g} at "
                         "index {index} (allowed: {atol:g} + {rtol:g} × |expected|)", bad=2, total=2, largest=1.0,
                         index=(0,), atol=1e-05, rtol=1.3e-06)
    shown = i18n.localize(str(failure.value), BLOCKS, language)
    assert shown == f"{i18n.localize(message, BLOCKS, language)}: {differs}"


# ------------------------------------------------------------------------------ quality


def test_every_engine_string_has_both_translations_with_the_same_fields():
    problems = engine_problems()
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.slug)
def test_every_assignment_string_has_both_translations_with_the_same_fields(assignment):
    """Toml texts (title, summaries, hints), template docstrings and test titles."""
    problems = [p for p in assignment_problems(assignment) if p.kind != MESSAGE]
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.slug)
def test_every_judge_message_has_both_translations_with_the_same_fields(assignment):
    problems = [p for p in assignment_problems(assignment) if p.kind == MESSAGE]
    assert not problems, f"{len(problems)} judge messages:\n" + "\n".join(map(str, problems[:20]))


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.slug)
def test_translated_handouts_follow_their_source(assignment):
    problems = handout_problems(assignment)
    assert not problems, "\n".join(map(str, problems))


def test_a_missing_catalog_is_one_problem_that_says_to_run_update(tmp_path, monkeypatch):
    """An assignment's and the engine's es.po deleted (in scratch copies): `i18n check` says
    each is missing, once, and what writes it; not each of its strings as untranslated."""
    shutil.copytree(BLOCKS.folder, tmp_path / "assignments" / "01-blocks")
    shutil.copytree(BLOCKS.solution_dir, tmp_path / "solutions" / "01-blocks")
    (tmp_path / "assignments" / "01-blocks" / "locale" / "es.po").unlink()
    locale = tmp_path / "engine-locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    engine_es = locale / "es" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    engine_es.unlink()
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)  # where the engine's catalogs are looked for
    checked = invoke("i18n", "check", "--root", tmp_path)
    assert checked.exit_code != 0, checked.output
    lines = checked.output.splitlines()
    for where in ("assignments/01-blocks/locale/es.po", engine_es.as_posix()):
        about = [line for line in lines if line.startswith(f"{where} ") or line.startswith(where.removesuffix(".po"))]
        assert len(about) == 1, "\n".join(about[:5])
        assert "missing" in about[0] and "blockgrade i18n update" in about[0], about[0]
    # the other language's catalogs are there: nothing about them
    assert not [line for line in lines if "[zh]" in line and "handout" not in line], checked.output


def test_a_handout_that_drifts_from_its_source_is_caught(tmp_path):
    folder = tmp_path / "assignments" / "01-blocks"
    shutil.copytree(BLOCKS.folder, folder)
    shutil.copytree(BLOCKS.solution_dir, tmp_path / "solutions" / "01-blocks")
    a = course_at(tmp_path).get("blocks")
    assert not handout_problems(a)
    english = folder / "README.md"
    english.write_text(english.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert {p.language for p in handout_problems(a)} == set(TRANSLATED)  # both translate an older one
    english.write_text((BLOCKS.folder / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    spanish = folder / "README.es.md"
    spanish.write_text(spanish.read_text(encoding="utf-8").replace("`MySequential`", "`MiSecuencial`"), "utf-8")
    assert [p.what for p in handout_problems(a)][0].startswith("inline code differs")
    spanish.write_text(handout_stamp(folder) + "# Práctica 1\n", encoding="utf-8")
    assert "headings" in " ".join(p.what for p in handout_problems(a))


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translated_template_keeps_the_code_of_the_english_one(tmp_path, language):
    for a in COURSE.assignments:
        english, other = tmp_path / "en" / a.slug, tmp_path / language / a.slug
        build_assignment(a, english, "en")
        build_assignment(a, other, language)
        stub, translated_stub = (f / a.module for f in (english, other))
        assert stub_shape(translated_stub.read_text("utf-8")) == stub_shape(stub.read_text("utf-8")), a.slug
        module_doc = ast.get_docstring(ast.parse(translated_stub.read_text("utf-8")))
        assert module_doc and module_doc not in stub.read_text("utf-8"), a.slug  # the docstrings are translated
        cells = [json.loads(f.joinpath(a.notebook).read_text("utf-8"))["cells"] for f in (english, other)]
        for cell in cells[0] + cells[1]:
            cell["source"] = "".join(cell["source"])
        assert [(c["cell_type"], c["id"]) for c in cells[0]] == [(c["cell_type"], c["id"]) for c in cells[1]]
        for left, right in zip(*cells):
            if left["cell_type"] == "code" and left["id"] != "setup":
                assert stub_shape(right["source"]) == stub_shape(left["source"]), (a.slug, left["id"])
            elif left["id"] in {"handout", *(f"about-{t.id}" for t in a.tasks)}:
                assert right["source"] != left["source"], (a.slug, left["id"])  # the markdown is translated
        toml = (other / "assignment.toml").read_text("utf-8")
        assert f'language = "{language}"' in toml
        handout = (a.folder / f"README.{language}.md").read_text("utf-8").split("\n", 1)[1]  # without its stamp
        assert (other / "README.md").read_text("utf-8").startswith(handout.rstrip("\n"))
        assert (english / "assignment.toml").read_text("utf-8").count("language") == 0


def test_the_student_catalogs_leave_out_what_only_hidden_tests_say(tmp_path):
    import gettext

    from autograder.i18n_tools import judge_strings

    build_assignment(BLOCKS, tmp_path / "b", "es")
    with open(tmp_path / "b" / "locale" / "es.mo", "rb") as f:  # compiled: gettext reads it, no Babel
        shipped = gettext.GNUTranslations(f)
    hidden = {s.msgid for p in BLOCKS.judge_files("hidden") for s in judge_strings(BLOCKS, p)}
    visible = {s.msgid for p in BLOCKS.judge_files("visible") for s in judge_strings(BLOCKS, p)}
    source = i18n.assignment_entries(BLOCKS, "es")
    hidden_only = {m for m in hidden - visible if m in source}
    assert hidden_only and all(shipped.gettext(m) == m for m in hidden_only)  # left out
    assert {m for m in visible if m in source} and all(shipped.gettext(m) == source[m] for m in visible if m in source)
    assert shipped.gettext(BLOCKS.title) == source[BLOCKS.title] != BLOCKS.title


@pytest.mark.parametrize("assignment", COURSE.assignments, ids=lambda a: a.slug)
def test_the_written_questions_prompts_are_extracted_and_translated_keeping_their_code(assignment):
    """The completeness tests above cover the prompts only if the extractor collects them."""
    from autograder.i18n_tools import QUESTION, assignment_template

    template = assignment_template(assignment)
    assert assignment.questions
    for q in assignment.questions:
        entry = template.get(q.prompt.strip())
        assert entry is not None and QUESTION in entry.auto_comments, q.id
        for language in TRANSLATED:
            prompt = i18n.localize(q.prompt.strip(), assignment, language)
            assert prompt != q.prompt.strip(), (q.id, language)
            code = sorted(set(re.findall(r"`[^`]+`", q.prompt)))
            assert sorted(set(re.findall(r"`[^`]+`", prompt))) == code, (q.id, language)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translated_template_asks_the_written_questions_in_its_language(tmp_path, language):
    from autograder.questions import ANSWERS_FILE, PROMPT_PREFIX, WRITTEN_HEADER_ID, collect

    folder = tmp_path / language
    build_assignment(BLOCKS, folder, language)
    answers = (folder / ANSWERS_FILE).read_text("utf-8")
    cells = {c["id"]: "".join(c["source"]) for c in json.loads((folder / BLOCKS.notebook).read_text("utf-8"))["cells"]}
    assert answers.startswith(translated(language, "# Written questions: {title}", title=""))
    for q in BLOCKS.questions:
        prompt = i18n.localize(q.prompt.strip(), BLOCKS, language)
        assert all(line in answers for line in prompt.splitlines()), q.id  # quoted line by line
        assert prompt in cells[PROMPT_PREFIX + q.id] and q.prompt.strip() not in cells[PROMPT_PREFIX + q.id]
    written = [answers, cells[WRITTEN_HEADER_ID], *(cells[PROMPT_PREFIX + q.id] for q in BLOCKS.questions)]
    assert not english_lines("\n".join(written)), english_lines("\n".join(written))
    # answered under the translated prompts: grading reads back the answer alone
    first = BLOCKS.questions[0].id
    (folder / ANSWERS_FILE).write_text(answers.replace(f"## {first}\n", f"## {first}\n\nMi respuesta.\n"), "utf-8")
    found = collect(BLOCKS, folder / ANSWERS_FILE)
    assert [a.text for a in found] == ["Mi respuesta."] + [""] * (len(BLOCKS.questions) - 1)


# ------------------------------------------------------------------------------ what students read


@pytest.fixture
def student(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    shutil.copytree(REPO / "student_template", tmp_path / "template")
    folder = tmp_path / "template" / "01-blocks"
    monkeypatch.chdir(folder)
    return folder


def test_check_on_the_stub_in_spanish_and_in_chinese(student):
    spanish = invoke("check", "--lang", "es")
    assert spanish.exit_code == 1
    title = i18n.localize(BLOCKS.title, BLOCKS, "es")
    assert title != BLOCKS.title and title in spanish.output
    summary = translated("es", PASSING, passed=0, count=6, points="0", total="20")
    assert summary != PASSING.format(passed=0, count=6, points="0", total="20") and flat(summary) in flat(
        spanish.output
    )
    assert spanish.output.count(before("es", "failed ({failed} of {ran})", "failed", ran=1)) == len(BLOCKS.tasks)
    assert not leaks(spanish.output), leaks(spanish.output)
    chinese = invoke("check", env={i18n.ENV: "zh_CN.UTF-8"})  # the environment variable, as a notebook sets it
    assert chinese.exit_code == 1
    assert chinese.output.count(before("zh", "failed ({failed} of {ran})", "failed", ran=1)) == len(BLOCKS.tasks)
    assert i18n.localize(BLOCKS.title, BLOCKS, "zh") in chinese.output and not leaks(chinese.output)
    english = invoke("check")
    assert english.output.count("failed (") == len(BLOCKS.tasks) and "0 of 6 tasks pass" in english.output


ENGLISH_WORDS = re.compile(r"\b(the|is|was|were|not|should|expected|raised|with|and|your|has|have|are|when|but|only)\b")


def english_lines(text: str) -> list[str]:
    """Lines of prose with English words in them: code spans, quoted strings and traceback
    lines aside (a heuristic, for text meant to be in Spanish or Chinese)."""
    found = []
    for line in text.splitlines():
        if re.match(r"\s*(raise |File \"|Traceback|\^)", line):
            continue
        prose = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "", line)
        if ENGLISH_WORDS.search(prose):
            found.append(line.strip())
    return found


def test_nothing_english_reaches_a_spanish_student(student):
    (student / "blocks.py").write_text(MISTAKEN, encoding="utf-8")
    result = invoke("check", "--lang", "es", "-v")
    lines = english_lines(result.output)
    assert not lines, "\n".join(lines)


def test_check_of_a_mistaken_solution_in_chinese(student):
    (student / "blocks.py").write_text(MISTAKEN, encoding="utf-8")
    result = invoke("check", "--lang", "zh", "--task", "MLP")
    assert result.exit_code == 1
    title = next(t for t in _titles("visible") if t.startswith("MLP() maps"))
    assert i18n.localize(title, BLOCKS, "zh") in result.output and title not in result.output
    assert not leaks(result.output), leaks(result.output)


def _titles(suite: str) -> list[str]:
    from autograder.i18n_tools import judge_strings

    return [
        s.msgid for path in BLOCKS.judge_files(suite) for s in judge_strings(BLOCKS, path) if s.kind == "test title"
    ]


def test_submit_speaks_the_assignments_language(student):
    toml = student / "assignment.toml"
    toml.write_text(with_language(toml.read_text(encoding="utf-8"), "zh"), encoding="utf-8")
    result = CliRunner().invoke(main, ["submit", "blocks"], catch_exceptions=False)
    assert result.exit_code == 0
    assert before("zh", "still raising NotImplementedError: {names}.", "names") in result.output
    assert "upload this file" not in result.output and "请上传这个文件" in result.output
    broken = student / "broken.py"
    broken.write_text("def MLP(:\n    pass\n", encoding="utf-8")
    refused = invoke("submit", "blocks", "--file", broken, "--lang", "es")
    assert refused.exit_code == 2
    assert translated("es", "Fix it (or submit anyway with --force).") in refused.output


def test_feedback_results_and_gradebook_in_spanish_keep_their_values(tmp_path, monkeypatch):
    from autograder.outputs import feedback_markdown, gradebook_row, results_json

    monkeypatch.delenv(i18n.ENV, raising=False)
    for name, source in (
        ("stub", (REPO / "student_template/01-blocks/blocks.py").read_text("utf-8")),
        ("mistaken", MISTAKEN),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "blocks.py").write_text(source, encoding="utf-8")
    batch = grade_batch(
        COURSE,
        BLOCKS,
        [tmp_path / "stub", tmp_path / "mistaken"],
        tmp_path / "es",
        devices=["cpu"],
        workers=1,
        language="es",
    )
    with open(tmp_path / "es" / "gradebook.csv", newline="", encoding="utf-8") as f:
        assert {r["status"] for r in csv.DictReader(f)} == {"graded"}  # the value, not its label
    for result in batch.results:
        with i18n.using("en"):  # the same result, shown in English
            english, english_feedback = results_json(result), feedback_markdown(result)
        spanish = json.loads((tmp_path / "es" / result.name / "results.json").read_text("utf-8"))
        # what a program reads does not depend on the language; what a student reads does
        assert spanish["score"] == english["score"] and spanish["extra_data"] == json.loads(
            json.dumps(english["extra_data"])
        )
        assert [t["extra_data"] for t in spanish["tests"]] == [t["extra_data"] for t in english["tests"]]
        assert gradebook_row(result)["status"] == spanish["extra_data"]["status"] == "graded"
        assert spanish["output"] != english["output"] and not leaks(spanish["output"])
        assert all(not leaks(t["name"]) and not leaks(t["output"]) for t in spanish["tests"])
        feedback = (tmp_path / "es" / result.name / "feedback.md").read_text("utf-8")
        assert feedback != english_feedback and english_feedback.startswith(f"# {BLOCKS.title}: ")
        assert translated("es", "Status: **{status}**", status=translated("es", "graded")) in feedback
        assert translated("es", "## What to fix") in feedback and not leaks(feedback), leaks(feedback)
    stub = (tmp_path / "es" / "stub" / "feedback.md").read_text("utf-8")
    assert translated("es", "{name} is not implemented yet", name="MySequential.__init__") in stub
    mistaken = (tmp_path / "es" / "mistaken" / "feedback.md").read_text("utf-8")
    assert "### MLP" in mistaken and "### MySequential" not in mistaken


def test_a_graded_written_part_names_the_rubric_in_spanish_and_the_template_hides_it(tmp_path, monkeypatch):
    from autograder.manual import merge

    monkeypatch.delenv(i18n.ENV, raising=False)
    grade_batch(COURSE, BLOCKS, [REPO / "examples" / "01-blocks" / "ada"], tmp_path / "out", devices=["cpu"], workers=1)
    sheet = tmp_path / "out" / "manual.csv"
    with open(sheet, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert any(r["answer"] for r in table)
    for r in table:
        r["rubric"], r["score"] = ("1", "") if r["answer"] else ("", "0")
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    with i18n.using("es"):
        merge(tmp_path / "out", sheet, COURSE)
    feedback = (tmp_path / "out" / "ada" / "feedback.md").read_text("utf-8")
    for q in BLOCKS.questions:
        for item in q.rubric:
            spanish = i18n.localize(item.text, BLOCKS, "es")
            assert spanish != item.text and spanish in feedback and item.text not in feedback, (q.id, item.text)
    # before grading, the rubric is no student's to read: the template's catalog lacks it
    import gettext

    build_assignment(BLOCKS, tmp_path / "b", "es")
    with open(tmp_path / "b" / "locale" / "es.mo", "rb") as f:
        shipped = gettext.GNUTranslations(f)
    prompt = BLOCKS.questions[0].prompt.strip()
    assert shipped.gettext(prompt) == i18n.localize(prompt, BLOCKS, "es") != prompt
    assert all(shipped.gettext(r.text) == r.text for q in BLOCKS.questions for r in q.rubric)


def test_merge_manual_keeps_the_language_the_batch_was_graded_in(tmp_path, monkeypatch):
    """`grade --lang es` then `merge-manual` without --lang: the written part in Spanish as the
    rest of the feedback; an explicit --lang still wins; a recorded language that is not one is
    a clear error."""
    from autograder.manual import BATCH_FILE

    monkeypatch.delenv(i18n.ENV, raising=False)
    graded = tmp_path / "graded"
    ada = REPO / "examples" / "01-blocks" / "ada"
    grade_batch(COURSE, BLOCKS, [ada], graded, devices=["cpu"], workers=1, language="es")
    with open(graded / "manual.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    for r in table:
        r["score"] = "0"
    with open(graded / "manual.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)

    copies = iter(range(100))

    def merged(language: str | None, *, recorded: str | None = None) -> tuple[object, str, str]:
        out = tmp_path / f"merged-{next(copies)}"
        shutil.copytree(graded, out)
        if recorded is not None:
            (out / BATCH_FILE).write_text(recorded, encoding="utf-8")
        lang = ["--lang", language] if language else []
        done = invoke("merge-manual", out, out / "manual.csv", "--root", REPO, *lang, env={i18n.ENV: None})
        if done.exit_code:
            return done, "", ""
        output = json.loads((out / "ada" / "results.json").read_text("utf-8"))["output"]
        return done, (out / "ada" / "feedback.md").read_text("utf-8"), output.splitlines()[-1]

    heading = {lang: "## " + translated(lang, "Written questions") for lang in i18n.LANGUAGES}
    done, feedback, last = merged(None)
    assert done.exit_code == 0, done.output
    assert heading["es"] in feedback and heading["en"] not in feedback and not leaks(feedback), feedback
    assert last.startswith("- " + translated("es", "Written questions") + ":"), last
    done, feedback, last = merged("zh")  # --lang wins
    assert done.exit_code == 0, done.output
    assert heading["zh"] in feedback and heading["es"] not in feedback, feedback
    assert last.startswith("- " + translated("zh", "Written questions")), last
    for recorded in ('{"language": "xx"}', "not json", '["es"]'):
        done, _, _ = merged(None, recorded=recorded)
        assert done.exit_code != 0 and "batch.json" in done.output and "--lang" in done.output, done.output
    done, feedback, _ = merged("en", recorded='{"language": "xx"}')  # told the language: the record is not read
    assert done.exit_code == 0 and heading["en"] in feedback, done.output


def test_the_notebook_check_in_a_spanish_template(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv(i18n.ENV, raising=False)
    folder = tmp_path / "01-blocks"
    build_assignment(BLOCKS, folder, "es")
    notebook = nbformat.read(folder / BLOCKS.notebook, as_version=4)
    notebook.cells = [
        c
        for c in notebook.cells
        if c.get("id")
        not in {"check-MySequential", "check-FixedHiddenMLP", "check-NestMLP", "check-Parallel", "check-replicate"}
    ]
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    check = next(c for c in notebook.cells if c.get("id") == "check-MLP")
    shown = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in check.outputs]
    text = re.sub(r"\x1b\[[0-9;]*m", "", "".join(shown))
    assert before("es", "failed ({failed} of {ran})", "failed", ran=1) in text
    assert i18n.localize(BLOCKS.title, BLOCKS, "es") in text and not leaks(text), text


# ------------------------------------------------------------------------------ what instructors make


def test_build_release_and_gradescope_take_the_language(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    root = tmp_path / "course"
    for part in ("assignments", "solutions"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    built = invoke("build", "--lang", "es", "--root", root)
    assert built.exit_code == 0 and (root / "student_template-es" / "01-blocks" / "blocks.ipynb").is_file()
    assert not (root / "student_template").exists()
    assert invoke("build", "--check", "--lang", "es", "--root", root).exit_code == 0
    stub = (root / "student_template-es" / "01-blocks" / "blocks.py").read_text("utf-8")
    assert translated("es", "{name} is not implemented yet", name="MLP.__init__") in stub
    assert translated("es", "YOUR CODE HERE") in stub
    readme = (root / "student_template-es" / "README.md").read_text("utf-8")
    assert not readme.startswith("# Student template") and not leaks(readme)
    assert i18n.localize(BLOCKS.title, BLOCKS, "es") in readme

    released = invoke("release", "blocks", "--lang", "zh", "-o", tmp_path / "zh.zip", "--root", root)
    assert released.exit_code == 0
    with zipfile.ZipFile(tmp_path / "zh.zip") as z:
        names = z.namelist()
        read = {n.split("/", 1)[1]: z.read(n).decode("utf-8") for n in names if n.endswith((".md", ".toml", ".py"))}
    assert 'language = "zh"' in read["01-blocks/assignment.toml"]
    assert read["01-blocks/README.md"].startswith("# 作业 1")
    assert read["README.md"].startswith("# " + i18n.localize(BLOCKS.title, BLOCKS, "zh"))
    assert any(n.endswith("01-blocks/locale/zh.mo") for n in names)

    bundle = invoke("gradescope", "blocks", "--lang", "es", "-o", tmp_path / "gs.zip", "--root", root)
    assert bundle.exit_code == 0
    with zipfile.ZipFile(tmp_path / "gs.zip") as z:
        toml = z.read("course/assignments/01-blocks/assignment.toml").decode("utf-8")
    assert 'language = "es"' in toml


def test_an_instructor_grading_in_chinese_gets_a_chinese_report_that_a_browser_renders(tmp_path, monkeypatch):
    from test_report import Dom, png_size, run_browser

    monkeypatch.delenv(i18n.ENV, raising=False)
    for name, source in (("ada", SOLUTION), ("ben", MISTAKEN)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "blocks.py").write_text(source, encoding="utf-8")
    result = invoke(
        "grade",
        "-a",
        "blocks",
        "-o",
        tmp_path / "out",
        "--lang",
        "zh",
        "-j",
        "1",
        tmp_path / "ada",
        tmp_path / "ben",
        "--root",
        REPO,
    )
    assert result.exit_code == 0, result.output
    report = tmp_path / "out" / "report.html"
    html = report.read_text("utf-8")
    assert '<html lang="zh-CN">' in html and not leaks(html), leaks(html)
    with open(tmp_path / "out" / "gradebook.csv", newline="", encoding="utf-8") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["graded", "graded"]  # the value, not its label
    dom = Dom(run_browser(tmp_path, "--dump-dom", report.as_uri()).stdout)
    title = i18n.localize(BLOCKS.title, BLOCKS, "zh")
    assert dom.title() == [translated("zh", "{title}: class report", title=title)]
    assert [e["text"] for e in dom.find("h2", "summary")] == [translated("zh", "Scores")]
    # the glyphs are drawn: the page differs from the same page with every CJK character
    # replaced by one no font has (which a browser without CJK fonts would also draw as a box)
    tofu = tmp_path / "tofu.html"
    tofu.write_text(re.sub(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", "\ue000", html), encoding="utf-8")
    shots = []
    for page in (report, tofu):
        shot = tmp_path / f"{page.stem}.png"
        # no scrollbar: its thumb follows the page's length, which the glyphs' widths change
        run_browser(tmp_path, "--hide-scrollbars", f"--screenshot={shot}", "--window-size=900,500", page.as_uri())
        assert png_size(shot) == (900, 500)
        shots.append(shot.read_bytes())
    assert shots[0] != shots[1], "the report's Chinese text is drawn as empty boxes: no CJK font (.ci/run installs one)"


# ------------------------------------------------------------------------------ installs


def test_a_fresh_install_translates_editable_and_not(tmp_path):
    """The compiled catalogs ship in the wheel and are found from an editable install alike,
    built from a clean copy of the sources (no build/ or egg-info left over from earlier)."""
    source = tmp_path / "src"
    shutil.copytree(REPO / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copyfile(REPO / name, source / name)
    probe = (
        "import autograder, autograder.i18n as i; i.set_language('zh'); "
        "print(autograder.__file__); print(i._('graded')); print(i._('Hint: {hint}', hint='x'))"
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("blockgrade-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for language in TRANSLATED:
        assert f"autograder/locale/{language}/LC_MESSAGES/blockgrade.mo" in names
    target = tmp_path / "installed"
    subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    # an editable install's wheel (PEP 660), from the build backend itself, installed with
    # --target: a plain `pip install -e` would replace this environment's own install of the kit
    editable_wheel = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_editable(sys.argv[1]))",
            str(tmp_path / "editable-wheel"),
        ],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert editable_wheel.returncode == 0, editable_wheel.stderr
    (editable,) = (tmp_path / "editable-wheel").glob("blockgrade-*.whl")
    site = tmp_path / "editable"
    subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(site), str(editable)], check=True)
    for where, setup in (
        (target, f"sys.path.insert(0, {str(target)!r})"),
        (source, f"import site; site.addsitedir({str(site)!r})"),
    ):
        # -I -S: nothing on the path but the standard library and what the install put there
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", f"import sys; {setup}; {probe}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        path, status, hint = out.stdout.splitlines()
        assert path.startswith(str(where)) and status == translated("zh", "graded") != "graded"
        assert hint == translated("zh", "Hint: {hint}", hint="x")


@pytest.mark.parametrize("language", ["es", "zh"])
def test_a_message_of_many_colons_costs_a_bounded_number_of_readings(language):
    """A student's exception message is translated around (`Your code raised ValueError: ...`);
    one made of hundreds of `: ` must not make the grader read it colons ** depth times (the
    batch translates in its own process, with no time limit: it would stall the class)."""
    localizer = i18n.localizer(course_at(REPO).get("blocks"), language)
    readings = []
    whole = localizer._whole

    def counted(text, depth):
        readings.append(text)
        return whole(text, depth)

    localizer._whole = counted
    try:
        hostile = "Your code raised ValueError: " + "a b: " * 800
        translated = localizer(hostile)
        readings_of_hostile = len(readings)
        readings.clear()
        honest = localizer("Your code raised ValueError: a b")
    finally:
        del localizer._whole
    assert readings_of_hostile <= (i18n.MAX_SPLITS + 1) ** i18n.MAX_DEPTH
    assert "a b: a b" in translated and not translated.startswith("Your code raised")
    assert translated.split("ValueError")[0] == honest.split("ValueError")[0]  # the same reading


def test_i18n_update_of_an_instructors_course_leaves_the_kits_catalogs_alone(tmp_path):
    """`i18n update --root COURSE` beside an installed kit brings that course's catalogs up to
    date and names what it wrote; the kit's own catalogs (in the installed package) are not the
    course's to rewrite. Run again, it says everything was up to date."""
    from autograder.i18n_tools import engine_is_in, engine_po

    for part in ("assignments", "solutions"):
        shutil.copytree(REPO / part / "01-blocks", tmp_path / part / "01-blocks")
    assert engine_is_in(course_at(REPO)) and not engine_is_in(course_at(tmp_path))
    engine = {lang: engine_po(lang).read_bytes() for lang in ("es", "zh")}
    engine_mo = {lang: engine_po(lang).with_suffix(".mo").stat().st_mtime_ns for lang in ("es", "zh")}
    es_po = tmp_path / "assignments" / "01-blocks" / "locale" / "es.po"
    es_po.write_text(es_po.read_text(encoding="utf-8").replace('msgstr "Bloques', 'msgstr "BLOQUES', 1), "utf-8")
    first = CliRunner().invoke(main, ["i18n", "update", "--root", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "locale/es.mo" in first.output and "blockgrade.po" not in first.output and "LC_MESSAGES" not in first.output
    again = CliRunner().invoke(main, ["i18n", "update", "--root", str(tmp_path)])
    assert again.exit_code == 0 and again.output.strip() == "every catalog was up to date", again.output
    assert {lang: engine_po(lang).read_bytes() for lang in ("es", "zh")} == engine
    assert {lang: engine_po(lang).with_suffix(".mo").stat().st_mtime_ns for lang in ("es", "zh")} == engine_mo


@pytest.mark.parametrize("language, cell, line", [("es", "celda 4", "línea 9"), ("zh", "第 4 个单元格", "第 9 行")])
def test_a_notebook_students_note_names_the_cell_in_their_language(language, cell, line):
    """A note about a notebook's line names the cell it is in (`LineMap.at`): that place is
    part of the note, translated with it."""
    from autograder.notebooks import LineMap, Span

    blocks = course_at(REPO).get("blocks")
    lines = LineMap([Span(first=1, last=20, start=1, file="blocks.ipynb", cell="cell 4 (MLP)")])
    place, at = lines.at(9, "blocks.py")
    note = f"{place} line {at}: SyntaxError: invalid syntax; lines 3–5 were left out, so `MLP` is not defined."
    shown = i18n.localize(note, blocks, language)
    assert cell in shown and line in shown and "MLP" in shown and "cell" not in shown, shown


def test_a_string_that_comes_back_gets_back_each_languages_own_translation(tmp_path):
    """A msgid removed (kept as obsolete, with its translation) and then used again gets its
    translation back, in each language its own, though one template serves every language."""
    from babel.messages.catalog import Catalog

    from autograder.i18n_tools import read_catalog, update, write_catalog

    said = {"es": "la celda {number:d}", "zh": "第 {number:d} 个单元格"}
    for language, text in said.items():
        catalog = Catalog(locale=language)
        catalog.add("cell {number:d}", text)  # translated once, then removed from the sources:
        catalog.obsolete["cell {number:d}"] = catalog["cell {number:d}"]
        del catalog["cell {number:d}"]
        write_catalog(tmp_path / f"{language}.po", catalog)
        assert "#~ msgid" in (tmp_path / f"{language}.po").read_text(encoding="utf-8")
    template = Catalog()
    template.add("cell {number:d}")
    for language in said:
        update(template, tmp_path / f"{language}.po", language)
    for language, text in said.items():
        assert read_catalog(tmp_path / f"{language}.po", language)["cell {number:d}"].string == text


@pytest.mark.parametrize("first", [0, 1])
def test_a_tie_between_two_readings_goes_to_the_catalogs_earlier_message(first):
    """Two messages of the same weight read "a and b" equally well, one indexed by its first
    characters ("a and {y}"), the other beginning with a field ("{x} and b"): the one the
    catalog lists first wins, whichever it is, as when every message was tried in turn, and
    the text read again (remembered) reads the same."""
    entries = [("{x} and b", "FIELD FIRST {x}"), ("a and {y}", "TEXT FIRST {y}")]
    entries = entries[first:] + entries[:first]
    localizer = i18n.Localizer(dict(entries))
    expected = entries[0][1].replace("{x}", "a").replace("{y}", "b")  # the earlier one's, filled
    assert localizer("a and b") == expected
    assert localizer("a and b") == expected


# ------------------------------------------------------------------------------ crafted text

# a student's exception message made of copies of a catalog message's literals, that no field
# reading ends well: a backtracking regex tried copies ** fields readings of it (minutes at an
# exception message's 1,500 characters, hours at a field's 4,000)
CRAFTED = {m: "Graded by hand: " + "a / b. Autograded part: c / d. In all: e / " * m + "x" for m in (34, 93)}


def test_a_crafted_exception_message_is_localized_quickly_and_left_as_written():
    """The crafted message, as the student's code raised it and as a note, in Spanish and in
    Chinese: localizing it ends (in a process of its own: a stalled one is killed) and reads as
    an honest message would, the message the student wrote left as it is."""
    assert len(CRAFTED[34]) <= 1500 and len(CRAFTED[93]) >= 4000
    texts = [frame + message for message in CRAFTED.values() for frame in ("", "MLP() raised ValueError: ")]
    code = (
        "import json, sys\nfrom pathlib import Path\n"
        "from autograder import i18n\nfrom autograder.catalog import course_at\n"
        f"blocks = course_at(Path({str(REPO)!r})).get('blocks')\ntexts = json.loads(sys.stdin.read())\n"
        "print(json.dumps({lang: [i18n.localize(t, blocks, lang) for t in texts] for lang in ('es', 'zh')}))\n"
    )
    # what it takes is about the start of a Python process and a tenth of a second; the
    # regex engine took minutes, then hours
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    for language in TRANSLATED:
        for text, localized in zip(texts, shown[language]):
            message = text.removeprefix("MLP() raised ValueError: ")
            expected = message if message == text else translated(
                language, "{what} raised {type}: {message}", what="MLP()", type="ValueError", message=message)
            assert localized == expected


@pytest.mark.parametrize("language", TRANSLATED)
def test_localizing_a_text_takes_steps_in_proportion_to_it_and_never_more_than_its_budget(language):
    """Each reading of a text, each message tried and each place a field could end is a step:
    the crafted message takes a few per character (well inside its budget, so it is read
    whole); a text no reading of which is cheap (a message whose fields come back, matched
    against copies of its literals) takes its budget and no more, and is shown as it is."""
    localizer = i18n.localizer(BLOCKS, language)
    for message in CRAFTED.values():
        text = "Your code raised ValueError: " + message
        budget = i18n.STEPS + i18n.STEPS_PER_CHAR * len(text)
        localized = localizer(text)
        taken = budget - localizer._local.steps.left
        assert 0 < taken <= 5 * len(text)
        raised = translated(language, "Your code raised {type}: {message}", type="ValueError", message=message)
        assert localized == raised

    # its fields come back: where a reading leads depends on what they hold, not on the place only
    msgid = "Net({a}, {b}) holds {c}: expected ({b}, {a}, {a})"
    localizer = i18n.Localizer({msgid: "Red({a}, {b}) tiene {c}: se esperaba ({b}, {a}, {a})"})
    assert localizer("Net(4, 2) holds w: expected (2, 4, 4)") == "Red(4, 2) tiene w: se esperaba (2, 4, 4)"
    copies = "".join(literal + "1" for literal, _field in i18n._parts(msgid)[1:])
    for count in (32, 100):
        hostile = "Net(1" + copies * count
        assert localizer(hostile) == hostile
        assert localizer._local.steps.left == -1  # it stopped at the step past its budget


def reference_regex(msgid: str) -> re.Pattern:
    """The regular expression a catalog message was matched with before `i18n._match`, by
    Python's backtracking engine: a field a lazy group of one line's characters (the last one
    of any), a number's field `i18n._NUMBER`, a field written again a backreference."""
    parts = i18n._parts(msgid)
    last = max(i for i, (_literal, field) in enumerate(parts) if field is not None)
    regex, groups = ["\\A"], {}
    for index, (literal, field) in enumerate(parts):
        regex.append(re.escape(literal))
        if field in groups:
            regex.append(f"(?P={groups[field]})")
        elif field is not None:
            value = i18n._NUMBER if i18n._numeric(field) else ".+?" if index == last else "[^\\n]+?"
            groups[field] = f"g{len(groups)}"
            regex.append(f"(?P<{groups[field]}>{value})")
    return re.compile("".join(regex) + "\\Z", re.DOTALL)


# the catalogs' messages, and shapes they do not have (yet): fields side by side, a number
# followed by what a number may hold, fields that come back, a field on each line
CATALOGS = st.sampled_from(
    sorted({p.msgid for a in (None, BLOCKS, COURSE.get("layers")) for p in i18n.localizer(a, "es").patterns})
)
SHAPES = ["{a}{b} and {c}.", "{x:g}.{y} left", "v={x:.2f}%{y:d} ok", "({n}, {n}) x {m}{n}", "{a}\n{b} line {c:d}",
          "{p:.1%} of {q:d} are: {r}", "{a} is {b}, so {b} too", "{a} and {b} or {a} not {b}", "{x:d}{y:d} out of {z}"]
PIECES = ["a", "1", "1.5", "-2e-3", "+7", "1e5%", "12,3_4", "inf", "nan", "e", "%", "x y", "\n", ".", ": ", " / "]


@pytest.mark.parametrize("shape", [None, *SHAPES])
@given(data=st.data())
def test_a_message_is_read_as_the_backtracking_regex_read_it(shape, data):
    """`i18n._match` reads a text as Python's regex engine read it with the message's regular
    expression (the same fields, or no match), on texts made of its literals and of numbers."""
    msgid = shape or data.draw(CATALOGS)
    pattern = i18n._pattern(msgid, msgid)
    pieces = st.sampled_from([*pattern.literals, *PIECES])
    values = {field: data.draw(st.lists(pieces, min_size=1, max_size=3).map("".join)) for field in pattern.fields}
    text = "".join(literal + (values[field] if field else "") for literal, field in i18n._parts(msgid))
    for _ in range(data.draw(st.integers(0, 3))):  # a piece put in anywhere: mostly no message any more
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(pieces) + text[at:]
    expected = reference_regex(msgid).match(text)
    event("a message" if expected else "no message")
    assert i18n._match(pattern, text, i18n._Steps(10**6)) == (expected.groups() if expected else None)
