"""The similarity check on cases whose answer is known (tests/similarity_cases.py, fixed seeds):
disguised copies are flagged, independent correct implementations are not, what the template
gives and what everyone writes is no evidence, and short tasks weigh little."""

from __future__ import annotations

import pytest
import similarity_cases

from autograder import similarity
from autograder.catalog import course_at
from autograder.similarity import MIN_SHARED, THRESHOLD, compare_all, compare_class, template_source

from conftest import REPO

COURSE = course_at(REPO)
BLOCKS = COURSE.get("blocks")


@pytest.fixture(scope="module")
def measured():
    copies, independent = [], []
    for seed in (0, 1):
        for klass in similarity_cases.classes(list(COURSE.assignments), seed):
            pairs, _, _ = compare_class(klass.assignment, klass.sources)
            for pair in pairs:
                target = copies if similarity_cases.is_copy(klass, pair.first, pair.second) else independent
                target.append((klass, pair))
    return copies, independent


def test_disguised_copies_are_flagged(measured):
    copies, _ = measured
    assert {k.kind for k, _ in copies} == set(similarity_cases.COPY_KINDS)
    assert {k.assignment.id for k, _ in copies} == {a.id for a in COURSE.assignments}
    missed = [
        (k.assignment.id, p.first, p.second, round(p.similarity, 3), p.shared) for k, p in copies if not p.flagged
    ]
    # a copy goes unflagged only when its original holds too little code of its own to tell
    assert all(sim >= THRESHOLD and shared < MIN_SHARED for *_, sim, shared in missed), missed
    assert len(missed) <= 0.1 * len(copies), missed
    # names, order and comments are invisible to the fingerprints: such a copy is the original
    exact = [p.similarity for k, p in copies if k.kind in ("rename", "reorder", "recomment")]
    assert min(exact) > 0.99


def test_independent_implementations_are_not_flagged(measured):
    _, independent = measured
    assert len({(k.assignment.id, p.first, p.second) for k, p in independent}) >= 40
    flagged = [(k.assignment.id, p.first, p.second, round(p.similarity, 3)) for k, p in independent if p.flagged]
    assert not flagged
    assert max(p.similarity for _, p in independent) < THRESHOLD


def test_the_template_is_no_evidence():
    """Two students who kept every docstring and signature of the template, and wrote their
    code apart, share nothing that counts (a class of two: no code is common to half of it);
    the untouched template is not compared at all."""
    stub = template_source(BLOCKS)
    originals = similarity_cases.independents(BLOCKS)
    assert len(originals) >= 2
    found, _ = compare_all(BLOCKS, {"stub": stub, "other-stub": stub, "one": originals["independent-1"]})
    assert found.compared == 1 and not found.pairs
    pairs, _, _ = compare_class(BLOCKS, {"one": originals["independent-1"], "two": originals["independent-2"]})
    assert len(pairs) == 1 and pairs[0].similarity < THRESHOLD and not pairs[0].flagged


def test_code_everyone_writes_is_no_evidence():
    """The sample class: what the tasks dictate (the same `nn.Linear`s, `super().__init__()`,
    `torch.cat`) is written alike by all seven; only gus's disguised copy of fay is flagged."""
    from autograder.staging import StagingError, stage

    sources = {}
    for path in sorted((REPO / "examples" / "01-blocks").iterdir()):
        try:
            sources[path.name.removesuffix(".zip")] = stage(path, BLOCKS).submission.source
        except StagingError:
            continue  # eve sent no code
    pairs, _, _ = compare_class(BLOCKS, sources)
    assert len(sources) == 6 and {(p.first, p.second) for p in pairs if p.flagged} == {("fay", "gus")}
    assert max(p.similarity for p in pairs if p.first != "fay") < THRESHOLD


def test_short_tasks_weigh_little():
    """The same short task, solved alike (the book's `num_gpus`/`try_gpu`, a one-line
    `load_to`), is not a case: its weight is its reference code's size over FULL_WEIGHT."""
    devices = COURSE.get("devices")
    comparer = similarity.Comparer(devices, template_source(devices), similarity.reference_source(devices))
    assert comparer.weights["load_to"] < 0.5 and comparer.weights["to_device"] == 1.0
    reference = similarity.reference_source(devices)
    tree_names = {"load_to"}
    lines = reference.splitlines(keepends=True)
    import ast

    kept = [
        "".join(lines[n.lineno - 1 : n.end_lineno])
        for n in ast.parse(reference).body
        if not isinstance(n, (ast.FunctionDef, ast.ClassDef)) or n.name in tree_names
    ]
    only_short = "".join(kept)
    pair = comparer.compare(comparer.document("a", only_short), comparer.document("b", only_short))
    assert pair.similarity == 1.0 and not pair.flagged and pair.shared < MIN_SHARED


def test_a_class_of_two_identical_submissions_is_flagged_and_the_same_twice():
    source = (REPO / "examples/01-blocks/fay/blocks.py").read_text(encoding="utf-8")
    first, _ = compare_all(BLOCKS, {"x": source, "y": source})
    again, _ = compare_all(BLOCKS, {"x": source, "y": source})
    assert [p.flagged for p in first.pairs] == [True] and first.pairs == again.pairs


def _pages(folder):
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.*"))}


@pytest.mark.parametrize("gatherer_lost", [False, True], ids=["beside the grading", "gatherer lost"])
def test_the_check_beside_the_grading_finds_what_the_check_at_the_end_finds(tmp_path, gatherer_lost):
    """A batch's Gatherer fingerprints in a process of its own as results come in; when that
    process is lost, the batch runs the whole check itself. Either way: the same pairs, the
    same CSV and the same pages as `similarity.write` of the same sources."""
    klass = similarity_cases.classes([BLOCKS], seed=0)[0]
    expected = similarity.write(tmp_path / "at-the-end", BLOCKS, klass.sources)
    assert expected.flagged  # the class has copies: pages are compared too
    gatherer = similarity.Gatherer(tmp_path / "beside", BLOCKS, "en")
    try:
        for name, source in klass.sources.items():
            gatherer.add(name, source)
        if gatherer_lost:
            gatherer.process.kill()
        found = gatherer.finish()
    finally:
        gatherer.close()
    assert gatherer.checked_by == ("batch" if gatherer_lost else "gatherer")
    assert found.pairs == expected.pairs and found.compared == expected.compared
    assert _pages(tmp_path / "beside") == _pages(tmp_path / "at-the-end")


_DYING_BATCH = """
import os, signal, sys
from pathlib import Path
from autograder import similarity
from autograder.catalog import course_at
gatherer = similarity.Gatherer(Path(sys.argv[2]), course_at(Path(sys.argv[1])).get("blocks"), "en")
gatherer.add("a", "x = 1\\n")
print(gatherer.process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # a batch ended without its clean-up: SIGKILL, a default SIGTERM
"""


def test_the_gatherer_ends_with_a_batch_killed_before_its_clean_up(tmp_path):
    """A batch killed outright must not leave its gatherer behind: it would wait forever (on a
    pipe whose other end it holds itself) and keep the batch's stdout and stderr open, so that
    whatever reads them (a shell pipe, subprocess.run with a timeout) never sees their end."""
    import os
    import subprocess
    import sys
    import time

    # (stdout to a file, not a pipe: with the gatherer alive and holding it, reading a pipe to
    # its end would hang, which is the harm, but would leave the test nothing to clean up)
    with open(tmp_path / "stdout", "w+") as stdout:
        batch = subprocess.run(
            [sys.executable, "-c", _DYING_BATCH, str(REPO), str(tmp_path / "out")],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        stdout.seek(0)
        pid = int(stdout.read().split()[0])
    assert batch.returncode == -9
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        raise AssertionError(f"the gatherer {pid} outlived its batch")


def test_the_marked_pages_are_copydetects_marking():
    """A flagged pair's page marks what copydetect's own compare_files and highlight_overlap
    mark on the two CodeFingerprints, with the fingerprints that do not count taken out."""
    import io

    from copydetect import CodeFingerprint, compare_files
    from copydetect.utils import get_token_coverage, highlight_overlap

    checked = 0
    for klass in similarity_cases.classes(list(COURSE.assignments), seed=0):
        pairs, comparer, documents = compare_class(klass.assignment, klass.sources)
        for pair in (p for p in pairs if p.flagged):
            sides = []
            for doc in (documents[pair.first], documents[pair.second]):
                fp = CodeFingerprint("submission.py", similarity.K, 1, language="python", fp=io.StringIO(doc.source))
                fp.hash_idx = {h: idx for h, idx in fp.hash_idx.items() if int(h) in doc.hashes}
                fp.hashes = set(fp.hash_idx)
                fp.token_coverage = get_token_coverage(fp.hash_idx, similarity.K, len(fp.filtered_code))
                sides.append(fp)
            _, _, slices = compare_files(*sides)
            expected = []
            for doc, cut in zip((documents[pair.first], documents[pair.second]), slices):
                html, share = highlight_overlap(doc.source, cut, "<mark>", "</mark>", escape_html=True)
                expected.append((html, float(share)))
            left, right, left_share, right_share = comparer.marked(documents[pair.first], documents[pair.second])
            assert [(left, left_share), (right, right_share)] == expected
            assert "<mark>" in left and "<mark>" in right
            checked += 1
    assert checked >= len(COURSE.assignments)


def test_the_check_loads_no_plotting_library(tmp_path):
    """copydetect's package import loads matplotlib (its own report's plots): the check takes
    copydetect's functions without it, and a whole check, pages included, never loads it."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from autograder import similarity\n"
        "from autograder.catalog import course_at\n"
        "blocks = course_at(Path(sys.argv[1])).get('blocks')\n"
        "source = (Path(sys.argv[1]) / 'examples/01-blocks/fay/blocks.py').read_text(encoding='utf-8')\n"
        "found = similarity.write(Path(sys.argv[2]), blocks, {'x': source, 'y': source})\n"
        "assert found.flagged and found.pairs[0].view, found\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'copydetect')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(REPO), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]", run.stdout
