"""Similar submissions, flagged for a person to review: never a score change.

Each pair of submissions is compared with `copydetect` (a maintained implementation of the
fingerprinting MOSS uses): the code is tokenized (names become `V`/`F`/`O`, strings `S`,
comments and layout dropped, so renaming variables or rewording comments changes nothing),
and every run of `K` tokenized characters is a fingerprint. Two submissions share the code
their fingerprints share, in any order (reordering functions changes nothing either).

- **Given code is no evidence.** Every fingerprint of the student template's module (imports,
  given helpers, signatures, docstrings, the `raise NotImplementedError` stubs) is removed from
  every submission before comparing.
- **Code everyone writes is no evidence.** A fingerprint found in at least half of the
  class's submissions (and in at least three) is removed too, as MOSS's `-m` option does:
  what the task dictates (a constructor that builds the layers a task names) is written alike
  by students who never met. (A class of two or three keeps it: there, the weights below
  and the threshold do the work.)
- **Short tasks weigh little.** A task whose reference solution is short is solved alike by
  students who never met (`return torch.cuda.device_count()`). Each task's code (the top-level
  definitions of its names) is weighed by the size of the reference solution's code for it,
  up to `FULL_WEIGHT` tokenized characters, where it counts fully; code outside any task
  (helpers) counts fully.
- **A pair's similarity** is, for each side, the weighed share of its code found in the
  other; the pair's is the larger of the two (a copy of part of a submission shows on the
  copier's side). A pair is flagged when it reaches `THRESHOLD` and the weighed shared code is
  at least `MIN_SHARED` tokenized characters (a handful of shared lines is not a case).

Fingerprints are every K-gram (copydetect's default window of 1, its guarantee threshold equal
to its noise threshold): copydetect hashes with Python's `hash`, which differs between runs,
so a larger winnowing window would pick different fingerprints each time; with every K-gram the
result is the same on every run, and a class of hundreds costs seconds.

The threshold and the rates it gives, measured on the kit's corpus (renamed, reordered and
recommented copies against independent correct implementations), are in README.md
("Similar submissions") and come from `benchmarks/similarity.py`.
"""

from __future__ import annotations

import ast
import csv
import io
import itertools
import math
import operator
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder import text
from autograder.catalog import Assignment

K = 25  # tokenized characters per fingerprint (copydetect's noise threshold)
THRESHOLD = 0.6  # the pair's similarity from which it is flagged
MIN_SHARED = 100  # weighed tokenized characters two submissions must share to be flagged
FULL_WEIGHT = 150  # a task whose reference code is this long (tokenized) or longer counts fully
COMMON_SHARE = 0.5  # code found in this share of the class's submissions is common
COMMON_MIN = 3  # ... and in at least this many of its submissions
LISTED = 0.25  # pairs at least this similar are listed in similarity.csv
OTHER = ""  # the region of code outside every task's definitions
CSV_FILE = "similarity.csv"
PAGES_DIR = "similarity"
CSV_COLUMNS = ("first", "second", "similarity", "first_in_second", "second_in_first", "shared", "flagged", "view")
MAX_PAGES = 200  # side-by-side pages written, most similar first
# A pair whose two sources hold more characters than this is shown unmarked: copydetect's
# marking grows faster than the code (some 6 s for a pair of 1 MB modules), and a class of
# padded copies must not hold its batch's end for minutes. Real modules are far smaller.
MARK_CHARS = 200_000


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    similarity: float  # the larger of the two shares
    first_in_second: float  # weighed share of the first's code found in the second
    second_in_first: float
    shared: float  # weighed tokenized characters shared
    flagged: bool
    view: str = ""  # the side-by-side page, relative to the gradebook folder


@dataclass
class Similarity:
    """What the batch compared, and the pairs listed (most similar first)."""

    compared: int | None  # None when read back from similarity.csv
    pairs: list[Pair]
    threshold: float = THRESHOLD

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]


# ----------------------------------------------------------------------------- fingerprints


def _copydetect():
    """copydetect's tokenizing and fingerprinting functions (its `utils` module). The package's
    own import loads its detector, which imports matplotlib.pyplot to plot its HTML reports
    (never drawn here): some 0.3 s of CPU in every batch's similarity process, as much as
    fingerprinting 40 submissions. So `utils` is loaded from the installed package under a
    name of ours, without the package's `__init__`; where that fails, the plain import."""
    import importlib
    import importlib.util
    import sys

    name = "_blockgrade_copydetect"
    try:
        if name not in sys.modules:
            found = importlib.util.find_spec("copydetect")  # found, not run
            spec = importlib.util.spec_from_file_location(
                name, found.origin, submodule_search_locations=found.submodule_search_locations
            )
            sys.modules[name] = importlib.util.module_from_spec(spec)  # the package, its __init__ never run
        return importlib.import_module(f"{name}.utils")
    except (ImportError, AttributeError, TypeError):
        sys.modules.pop(name, None)
        import copydetect.utils

        return copydetect.utils


def _kgrams(source: str):
    """copydetect's fingerprints of `source` with a window of 1: its tokenized code, the map of
    tokenized positions to the source's, and every K-gram's hash (a plain int) -> its positions
    (what CodeFingerprint's `hash_idx` holds, made without the rest of its constructor)."""
    cd = _copydetect()
    code, offsets = cd.filter_code(source, "submission.py", "python")
    starts: dict[int, list[int]] = {}
    for position, h in enumerate(cd.hashed_kgrams(code, K).tolist()):
        if h in starts:
            starts[h].append(position)
        else:
            starts[h] = [position]
    return code, offsets, starts


def _in_source(offsets, at):
    """Tokenized positions (an array) -> the source's, as copydetect's compare_files maps them."""
    import numpy as np

    if not len(at) or not len(offsets):
        return at
    where = np.clip(np.searchsorted(offsets[:, 0], at), 0, offsets.shape[0] - 1)
    return at + offsets[:, 1][where]


def regions(source: str, assignment: Assignment) -> list[tuple[int, str]]:
    """Where each top-level statement starts (a character offset) and whose code it is: the task
    that names it, or OTHER (imports, helpers, anything else). A module that does not parse is
    all OTHER."""
    owner = {name: task.id for task in assignment.tasks for name in task.names}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested past the parser's limits
        return [(0, OTHER)]
    line_starts = list(itertools.accumulate((len(line) for line in source.splitlines(keepends=True)), initial=0))
    bounds = [(0, OTHER)]
    for node in tree.body:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        bounds.append((line_starts[first - 1], owner.get(getattr(node, "name", None), OTHER)))
    return bounds


@dataclass
class _Raw:
    """A source tokenized and fingerprinted once (copydetect), each fingerprint's positions in
    the tokenized code with the region (task) each lies in."""

    source: str
    code: str  # the tokenized code (copydetect's filter_code)
    offsets: object  # copydetect's map of tokenized positions to the source's (an N x 2 array)
    starts: dict  # fingerprint (a plain int) -> its positions in the tokenized code
    region: list  # position -> task id or OTHER (None: it spans two top-level statements)


def _raw(source: str, assignment: Assignment) -> _Raw:
    """`source` fingerprinted (`_kgrams`), each position's region."""
    import numpy as np

    code, offsets, starts = _kgrams(source)
    positions = np.arange(max(0, len(code) - K + 1), dtype=np.int64)

    def in_source(at):
        return _in_source(offsets, at)

    bounds = regions(source, assignment)
    offsets_of = np.array([b[0] for b in bounds], dtype=np.int64)

    def index(at):  # the top-level statement each source offset lies in
        return np.maximum(np.searchsorted(offsets_of, at, side="right") - 1, 0).tolist()

    # a fingerprint that runs from one top-level statement into the next belongs to neither:
    # it exists only in that order (reordered definitions would not have it)
    owners = [b[1] for b in bounds]
    region = [
        owners[q] if q == e else None for q, e in zip(index(in_source(positions)), index(in_source(positions + K - 1)))
    ]
    return _Raw(source, code, offsets, starts, region)


@dataclass(frozen=True)
class _Part:
    """One task's code (or the rest) of a submission: its fingerprints and where they start."""

    weight: float
    hashes: frozenset
    starts: dict  # fingerprint -> its positions in the tokenized code
    size: float  # tokenized characters its fingerprints cover (copydetect's token coverage)


@dataclass
class _Document:
    name: str
    raw: _Raw
    parts: list[_Part]
    hashes: frozenset  # the module's fingerprints, boilerplate removed

    @property
    def source(self) -> str:
        return self.raw.source


def _covered(starts: list[int]) -> int:
    """Tokenized characters covered by the fingerprints starting at `starts` (each K long):
    what copydetect's get_copied_slices adds up, for one side of a comparison."""
    if not starts:
        return 0
    # sorted, each start adds the characters up to the next one, at most K; the last adds K
    ordered = sorted(starts)
    return K + sum(map(min, itertools.repeat(K), map(operator.sub, ordered[1:], ordered)))


class Comparer:
    """Fingerprints of one assignment's submissions, compared pair by pair."""

    def __init__(self, assignment: Assignment, template: str, reference: str | None = None) -> None:
        self.assignment = assignment
        self.boilerplate = frozenset(_kgrams(template)[2])
        self.weights = {task.id: 1.0 for task in assignment.tasks}
        if reference is not None:
            sizes = {part_key: part.size for part_key, part in self._parts(self.raw(reference), weigh=False)}
            for task in assignment.tasks:
                self.weights[task.id] = min(1.0, sizes.get(task.id, 0.0) / FULL_WEIGHT)
        self.weights[OTHER] = 1.0

    def raw(self, source: str) -> _Raw:
        return _raw(source, self.assignment)

    def common_code(self, raws: list[_Raw]) -> frozenset:
        """The fingerprints found in at least COMMON_SHARE of the class's submissions (and in
        COMMON_MIN of them): code nearly everyone writes, as the task dictates it, is no
        evidence either."""
        counts: Counter = Counter()
        for raw in raws:
            counts.update(h for h in raw.starts if h not in self.boilerplate)
        cutoff = max(COMMON_MIN, math.ceil(COMMON_SHARE * len(raws)))
        return frozenset(h for h, n in counts.items() if n >= cutoff)

    def ignore(self, fingerprints: frozenset) -> None:
        """Count `fingerprints` as boilerplate from now on (documents made after this call)."""
        self.boilerplate = self.boilerplate | fingerprints

    def _parts(self, raw: _Raw, weigh: bool = True) -> list[tuple[str, _Part]]:
        by_region: dict[str, dict[int, list[int]]] = {}
        for h, positions in raw.starts.items():
            if h in self.boilerplate:
                continue
            for p in positions:
                if raw.region[p] is not None:
                    by_region.setdefault(raw.region[p], {}).setdefault(h, []).append(p)
        parts = []
        for key, starts in sorted(by_region.items()):
            weight = float(self.weights.get(key, 1.0)) if weigh else 1.0
            if weight:
                size = float(_covered([p for positions in starts.values() for p in positions]))
                parts.append((key, _Part(weight, frozenset(starts), starts, size)))
        return parts

    def document(self, name: str, source: str | _Raw) -> _Document:
        raw = source if isinstance(source, _Raw) else self.raw(source)
        hashes = frozenset(h for h in raw.starts if h not in self.boilerplate)
        return _Document(name, raw, [part for _, part in self._parts(raw)], hashes)

    @staticmethod
    def _share(doc: _Document, other: _Document) -> tuple[float, float]:
        """The weighed tokenized characters of `doc` found anywhere in `other`, and of `doc` in all
        (copydetect's compare_files, part by part, without its highlighting)."""
        shared = size = 0.0
        for part in doc.parts:
            common = part.hashes & other.hashes
            if common:
                shared += part.weight * _covered([i for h in common for i in part.starts[h]])
            size += part.weight * part.size
        return shared, size

    def compare(self, a: _Document, b: _Document) -> Pair:
        if a.hashes.isdisjoint(b.hashes):  # most pairs of a class: nothing shared, nothing to weigh
            return Pair(a.name, b.name, 0.0, 0.0, 0.0, 0.0, False)
        a_shared, a_size = self._share(a, b)
        b_shared, b_size = self._share(b, a)
        first = a_shared / a_size if a_size else 0.0
        second = b_shared / b_size if b_size else 0.0
        similarity = max(first, second)
        shared = max(a_shared, b_shared)
        return Pair(
            first=a.name,
            second=b.name,
            similarity=similarity,
            first_in_second=first,
            second_in_first=second,
            shared=shared,
            flagged=similarity >= THRESHOLD and shared >= MIN_SHARED,
        )

    def _counted(self, doc: _Document) -> dict:
        """The document's fingerprints -> their positions, with the boilerplate taken out."""
        return {h: idx for h, idx in doc.raw.starts.items() if h in doc.hashes}

    def marked(self, a: _Document, b: _Document) -> tuple[str, str, float, float]:
        """Both sources as HTML with the shared code in <mark> (what copydetect's compare_files
        and highlight_overlap make, on what was compared), and the share of each file marked."""
        cd = _copydetect()
        counted_a, counted_b = self._counted(a), self._counted(b)
        overlap = cd.find_fingerprint_overlap(set(counted_a), set(counted_b), counted_a, counted_b)
        out = []
        for doc, idx in zip((a, b), overlap):
            slices = cd.get_copied_slices(idx, K)
            if len(slices[0]):
                slices = _in_source(doc.raw.offsets, slices)
                html, share = cd.highlight_overlap(doc.source, slices, "<mark>", "</mark>", escape_html=True)
            else:
                html, share = _escape(doc.source), 0.0
            out += [html, float(share)]
        return out[0], out[2], out[1], out[3]


def _escape(source: str) -> str:
    from markupsafe import escape

    return str(escape(source))


# ------------------------------------------------------------------------------ the batch


def template_source(assignment: Assignment) -> str:
    """The module students start from: the stub made from the solution (the instructor's
    repository), or the stub itself (a student layout)."""
    from autograder.generate import GenerateError, stub_source

    if assignment.layout == "source":
        solution = assignment.solution_dir / assignment.module
        if solution.is_file():
            try:
                return stub_source(solution.read_text(encoding="utf-8"), str(solution))
            except GenerateError:  # a solution without solution regions: no template to set aside
                return ""
    stub = assignment.folder / assignment.module
    return stub.read_text(encoding="utf-8") if stub.is_file() else ""


def reference_source(assignment: Assignment) -> str | None:
    if assignment.layout != "source":
        return None
    solution = assignment.solution_dir / assignment.module
    return solution.read_text(encoding="utf-8") if solution.is_file() else None


def compare_class(
    assignment: Assignment, sources: dict[str, str], raws: dict[str, _Raw] | None = None
) -> tuple[list[Pair], Comparer, dict]:
    """Every pair of `sources` (name -> module source) compared, a submission left as the
    template (nothing of its own) left out; the comparer, and the documents by name. `raws`:
    sources fingerprinted already (by a `Gatherer`), by name."""
    comparer = Comparer(assignment, template_source(assignment), reference_source(assignment))
    done = raws or {}
    raws = {name: done.get(name) or comparer.raw(source) for name, source in sorted(sources.items())}
    comparer.ignore(comparer.common_code(list(raws.values())))  # the class's common code
    documents = {name: comparer.document(name, raw) for name, raw in raws.items()}
    comparable = [d for d in documents.values() if d.hashes]
    return [comparer.compare(a, b) for a, b in itertools.combinations(comparable, 2)], comparer, documents


def compare_all(
    assignment: Assignment, sources: dict[str, str], raws: dict[str, _Raw] | None = None
) -> tuple[Similarity, dict]:
    """The pairs worth listing (flagged, or at least LISTED alike), most similar first; and
    what made them (the comparer and the documents)."""
    pairs, comparer, documents = compare_class(assignment, sources, raws)
    listed = sorted(
        (p for p in pairs if p.flagged or p.similarity >= LISTED),
        key=lambda p: (-p.similarity, p.first, p.second),
    )
    compared = sum(1 for d in documents.values() if d.hashes)
    return Similarity(compared=compared, pairs=listed), {"comparer": comparer, "documents": documents}


def _page_name(pair: Pair, taken: set[str]) -> str:
    """`similarity/<first>--<second>.html`, numbered when another pair's names make the same
    one (`a--b` with `c`, `a` with `b--c`): each flagged pair has a page of its own."""
    name, n = f"{PAGES_DIR}/{pair.first}--{pair.second}.html", 1
    while name in taken:
        n += 1
        name = f"{PAGES_DIR}/{pair.first}--{pair.second}~{n}.html"
    taken.add(name)
    return name


def write(
    out_dir: Path, assignment: Assignment, sources: dict[str, str], raws: dict[str, _Raw] | None = None
) -> Similarity:
    """DIR/similarity.csv, and DIR/similarity/<first>--<second>.html for each flagged pair."""
    from autograder.outputs import atomic_write

    found, state = compare_all(assignment, sources, raws)
    comparer, documents = state["comparer"], state["documents"]
    from markupsafe import Markup

    from autograder.report import environment  # (jinja2, an instructor tool like copydetect: imported here)

    env = environment()
    pairs, taken = [], set()
    for number, pair in enumerate(found.pairs):
        if pair.flagged and number < MAX_PAGES:
            first, second = documents[pair.first], documents[pair.second]
            marked = len(first.source) + len(second.source) <= MARK_CHARS
            if marked:
                left, right, left_share, right_share = comparer.marked(first, second)
            else:
                left, right, left_share, right_share = _escape(first.source), _escape(second.source), 0.0, 0.0
            page = env.get_template("similarity_pair.html.j2").render(
                marked=marked,
                mark_chars=MARK_CHARS,
                assignment=assignment,
                pair=pair,
                percent=percent,
                left=Markup(left),  # escaped by copydetect, the <mark> tags ours
                right=Markup(right),
                left_share=left_share,
                right_share=right_share,
                threshold=THRESHOLD,
            )
            pair = Pair(**{**pair.__dict__, "view": _page_name(pair, taken)})
            atomic_write(out_dir / pair.view, page)
        pairs.append(pair)
    found.pairs = pairs
    atomic_write(out_dir / CSV_FILE, _csv(found))
    return found


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _csv(found: Similarity) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cells: dict[str, str] = {}  # each name's cell, made once: a class of 400 lists thousands of pairs
    for p in found.pairs:
        for name in (p.first, p.second):
            if name not in cells:
                cells[name] = text.csv_cell(name)
        writer.writerow(
            [
                cells[p.first],
                cells[p.second],
                f"{p.similarity:.3f}",
                f"{p.first_in_second:.3f}",
                f"{p.second_in_first:.3f}",
                f"{p.shared:.0f}",
                "yes" if p.flagged else "no",
                p.view,
            ]
        )
    return buffer.getvalue()


def load(out_dir: Path) -> Similarity | None:
    """What an earlier batch wrote to DIR/similarity.csv (for a report written again), or None."""
    path = out_dir / CSV_FILE
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        pairs = [
            Pair(
                first=r["first"],
                second=r["second"],
                similarity=float(r["similarity"]),
                first_in_second=float(r["first_in_second"]),
                second_in_first=float(r["second_in_first"]),
                shared=float(r["shared"]),
                flagged=r["flagged"] == "yes",
                view=r["view"] if (out_dir / r["view"]).is_file() else "",
            )
            for r in rows
        ]
    except (OSError, KeyError, ValueError, csv.Error):
        return None
    return Similarity(compared=None, pairs=pairs)


def report_section(found: Similarity | None) -> dict | None:
    if found is None:
        return None
    return {
        "threshold": percent(found.threshold),
        "compared": found.compared,
        "flagged": [
            {
                "first": p.first,
                "second": p.second,
                "similarity": percent(p.similarity),
                "shares": f"{percent(p.first_in_second)} / {percent(p.second_in_first)}",
                "view": p.view,
            }
            for p in found.flagged
        ],
        "listed": len(found.pairs),
        "floor": percent(LISTED),
        "csv": CSV_FILE,
    }


# ------------------------------------------------------------------- beside the grading


class Gatherer:
    """A batch's similarity check, done beside its grading: a process forked when the batch
    starts fingerprints each submission as its result comes in (tokenizing is most of what the
    check costs, and copydetect's import most of the rest), so that what is left once the last
    submission is graded is comparing the fingerprints and writing the pages.

    Where fork is not safe (macOS, Windows), or when that process fails, `finish` runs the
    whole check here, as `write` does: the result is the same either way."""

    def __init__(self, out_dir: Path, assignment: Assignment, language: str) -> None:
        import multiprocessing
        import os
        import sys

        self.out_dir, self.assignment, self.language = out_dir, assignment, language
        self.sources: dict[str, str] = {}
        self.process = self.connection = None
        self.checked_by = ""  # after `finish`: "gatherer" or "batch", whichever process compared
        if sys.platform.startswith("linux"):
            try:
                context = multiprocessing.get_context("fork")
                self.connection, theirs = context.Pipe()
                self.process = context.Process(
                    target=_gather,
                    args=(theirs, out_dir, assignment, language, self.connection, os.getpid()),
                    daemon=True,
                )
                self.process.start()
                theirs.close()
            except OSError:
                self.process = self.connection = None

    def add(self, name: str, source: str) -> None:
        self.sources[name] = source
        if self.connection is not None:
            try:
                self.connection.send((name, source))
            except OSError:  # it is gone: `finish` does the work
                self.close()

    def finish(self) -> Similarity:
        """DIR/similarity.csv and the flagged pairs' pages (see `write`), in the gatherer's
        process when it is there, else here."""
        from autograder import i18n

        if self.connection is not None:
            try:
                self.connection.send(None)  # that was all
                answer = self.connection.recv()
                if isinstance(answer, Similarity):
                    self.checked_by = "gatherer"
                    return answer
            except (OSError, EOFError):
                pass
            finally:
                self.close()
        self.checked_by = "batch"
        with i18n.using(self.language):
            return write(self.out_dir, self.assignment, self.sources)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.process is not None:
            self.process.join(timeout=5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = None


def _gather(connection, out_dir: Path, assignment: Assignment, language: str, batch_end=None, batch=0) -> None:
    """The gatherer's process: fingerprint each source sent, and on `None` compare them all,
    write the CSV and the pages, and answer with the Similarity (or with None on an error: the
    batch then runs the check itself, and sees the error there).

    It ends with its batch: a batch killed before its clean-up (SIGKILL, a default SIGTERM)
    must not leave it waiting forever, holding the batch's stdout and stderr open."""
    import os
    import queue
    import signal
    import threading

    from autograder import i18n
    from autograder.sandbox import isolation

    if batch_end is not None:
        batch_end.close()  # the batch's end, inherited by the fork: the batch's exit must read as one
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)  # its forked workers hold that end too
    if batch and os.getppid() != batch:
        return  # the batch died before the line above
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C ends the grading, not the check after it
    received: queue.SimpleQueue = queue.SimpleQueue()

    def receive() -> None:  # never blocks the batch's sends while a large source is tokenized
        try:
            while True:
                message = connection.recv()
                received.put(message)
                if message is None:
                    return
        except (OSError, EOFError):
            received.put(EOFError)

    threading.Thread(target=receive, daemon=True).start()
    sources: dict[str, str] = {}
    raws: dict[str, _Raw] = {}
    while True:
        message = received.get()
        if message is EOFError:  # the batch is gone
            return
        if message is None:
            break
        name, source = message
        sources[name] = source
        try:
            raws[name] = _raw(source, assignment)
        except Exception:  # the batch's own run of the check will meet it, and say so
            pass
    try:
        with i18n.using(language):
            answer = write(out_dir, assignment, sources, raws)
    except Exception:
        answer = None
    connection.send(answer)
