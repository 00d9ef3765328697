"""A Chinese-speaking class, graded for real: every text a student (or the instructor's report)
shows, for a handful of corpus cases of assignment 1 graded with language="zh" and then merged
with their written questions' marks, holds no English word outside code: code spans, quoted
strings, traceback lines, the message of an exception the student's code raised (code output,
kept as Python wrote it), and the names the assignment's code uses."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import keyword
import re
import tokenize
from pathlib import Path

import pytest

from autograder import i18n
from autograder.catalog import course_at
from autograder.grading import grade_batch
from autograder.manual import merge

from conftest import REPO
from corpus import cases, compose

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")
# a case per kind of failure: a wrong result, a device mismatch raised by torch, an endless loop
# (the sandbox's own message), a process that exits, a syntax error, a top-level crash, a buffer
# kept as a parameter; with the stub beside them
CASES = (
    "mlp_no_relu",
    "seq_plain_list",
    "nest_endless_loop",
    "parallel_exits",
    "syntax_error_in_replicate",
    "top_level_crash",
    "fixed_parameter",
)
# words that are the same in Chinese text: acronyms and names of things
# and the glossary's "缓冲区（buffer）"
ALLOWED = {"cpu", "cuda", "buffer", "ReLU", "PyTorch", "Python", "Jupyter", "Colab", "Gradescope", "blockgrade"}
EXCEPTION = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception|Warning|Exit|Interrupt)\b\s*[:：]")
CODE_TOKEN = re.compile(r"[_.()\[\]{}=<>0-9/\\]")


def code_names(assignment) -> set[str]:
    """The names the assignment's code uses (its solution and template: classes, methods,
    arguments, attributes), keywords aside, with its task and question ids and its own id."""
    names = {assignment.id, assignment.slug, *(t.id for t in assignment.tasks), *assignment.question_ids}
    template = REPO / "student_template" / assignment.slug / assignment.module
    for path in (assignment.solution_dir / assignment.module, template):
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
                names.add(token.string)
    return names


NAMES = code_names(BLOCKS)


def english_words(line: str) -> list[str]:
    """The English words of one line of Chinese text: what is left once code is taken out."""
    found = EXCEPTION.search(line)
    if found:  # what the student's code raised is code output: from its message on
        line = line[: found.start()]
    line = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", " ", line)
    line = "".join(c if c.isascii() else " " for c in line)  # Chinese text and punctuation apart
    words = []
    for token in line.split():
        token = token.strip(",;:!?%*+-|#()")
        if len(token) >= 2 and token.isalpha() and not CODE_TOKEN.search(token):  # code: calls, shapes, paths
            words.append(token)
    return [w for w in words if w not in NAMES and w not in ALLOWED and not (w.isupper() and len(w) <= 4)]


def leaks(text: str, where: str) -> list[str]:
    found, in_traceback = [], False
    for line in text.splitlines():
        if re.match(r"\s*(File \"|Traceback \(most recent|\^+\s*$)", line):
            in_traceback = True
            continue
        if in_traceback and line.startswith("    "):  # the quoted line of a traceback
            continue
        in_traceback = False
        if line.lstrip().startswith(("```", "~~~", "<!--")):
            continue
        words = english_words(line)
        if words:
            found.append(f"{where}: {' '.join(words)!r} in {line.strip()[:160]!r}")
    return found


class _Text(html.parser.HTMLParser):
    """A page's text, line by line (scripts, styles and <code> left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines, self.skip = [""], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self.skip += 1
        self.lines.append("")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code"):
            self.skip -= 1
        self.lines.append("")

    def handle_data(self, data):
        if not self.skip:
            self.lines[-1] += data


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "\n".join(line for line in parser.lines if line.strip())


def visible_leaks(out: Path, names: list[str]) -> list[str]:
    found = []
    for name in names:
        found += leaks((out / name / "feedback.md").read_text(encoding="utf-8"), f"{name}/feedback.md")
        data = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        found += leaks(data["output"], f"{name}/results.json output")
        for test in data["tests"]:
            found += leaks(test["name"], f"{name}/results.json test name")
            found += leaks(test["output"], f"{name}/results.json {test['name']!r}")
    return found + leaks(page_text(out / "report.html"), "report.html")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    solution = (BLOCKS.solution_dir / BLOCKS.module).read_text(encoding="utf-8")
    chosen = {c.name: c for c in cases(BLOCKS.slug) if c.name in CASES}
    assert set(chosen) == set(CASES)
    sources = {name: compose(solution, case) for name, case in chosen.items()}
    sources["the_stub"] = (REPO / "student_template" / BLOCKS.slug / BLOCKS.module).read_text(encoding="utf-8")
    paths = []
    for name, source in sources.items():
        (root / "in" / name).mkdir(parents=True)
        (root / "in" / name / BLOCKS.module).write_text(source, encoding="utf-8")
        paths.append(root / "in" / name)
    out = root / "out"
    grade_batch(COURSE, BLOCKS, paths, out, devices=["cpu"], workers=1, language="zh")
    return out, list(sources)


def test_a_chinese_class_reads_no_english(graded):
    out, names = graded
    found = visible_leaks(out, names)
    assert not found, f"{len(found)} lines with English:\n" + "\n".join(found)


def test_a_chinese_class_reads_no_english_once_its_written_questions_are_merged(graded):
    out, names = graded
    sheet = out / "manual.csv"
    with open(sheet, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:  # every criterion met by the stub, none by the others; the prefilled comments kept
        row["rubric"] = ",".join(str(i) for i in range(1, 3)) if row["submission"] == "the_stub" else ""
        row["score"] = "1" if row["submission"] == "the_stub" else "0"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    merge(out, sheet, COURSE, language="zh")
    data = json.loads((out / "the_stub" / "results.json").read_text(encoding="utf-8"))
    written = [t for t in data["tests"] if t["extra_data"].get("graded_by") == "hand"]
    assert len(written) == len(BLOCKS.questions)  # the merge wrote the questions' tests
    found = visible_leaks(out, names)
    assert not found, f"{len(found)} lines with English:\n" + "\n".join(found)


def test_the_sweep_sees_english():
    """The scanner itself: English around code is found, code and Chinese are not."""
    with i18n.using("zh"):
        chinese = i18n._("Your code raised {type}: {message}", type="RuntimeError", message="mat1 and mat2 shapes")
    assert not leaks(chinese, "x") and chinese != "Your code raised RuntimeError: mat1 and mat2 shapes"
    assert leaks("你的代码没有运行结束：it took longer than 10 s (an endless loop?)", "x")
    assert leaks("Similar submissions", "x") and leaks("MySequential 的输出 is wrong", "x")
    assert not leaks("MySequential(Linear, ReLU, Linear) 没有参数：`self.add_module(str(i), module)`", "x")
    assert not leaks('  File "blocks.py", line 37, in forward\n    X = layer(X)', "x")


def _sandbox_sentences() -> list[str]:
    """What the sandbox's host and the judging limits say of a check they stopped (the
    `message`, `how` and `detail` texts of autograder/sandbox/host.py and autograder/limited.py,
    written where no catalog is loaded), each with its fields filled by a number."""
    import ast

    def sample(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "7" for v in node.values)
        return None

    found = []
    for path in (REPO / "autograder" / "sandbox" / "host.py", REPO / "autograder" / "limited.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in ("message", "how") for t in node.targets):
                values.append(node.value)
            elif isinstance(node, ast.Call):
                values += [k.value for k in node.keywords if k.arg == "detail"]
                if getattr(node.func, "attr", None) == "_finish_pending" and len(node.args) == 2:
                    values.append(node.args[1])
            elif isinstance(node, ast.FunctionDef) and node.name == "_describe_exit":
                values += [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
            found += [s for s in map(sample, values) if s and " " in s and s[0].islower()]
    return sorted(set(found))


@pytest.mark.parametrize("language", ["es", "zh"])
def test_what_the_sandbox_says_of_a_stopped_check_is_translated(language):
    """The host writes its messages in English (autograder.judge_runner lists them for the
    catalogs): one it writes that the catalogs lack would reach a student in English."""
    sentences = _sandbox_sentences()
    assert len(sentences) >= 10  # the scan still finds them
    untranslated = [s for s in sentences if i18n.localize(s, None, language) == s]
    assert not untranslated, "add these to judge_runner.HOST_MESSAGES:\n" + "\n".join(untranslated)
