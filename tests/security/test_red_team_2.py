"""Red team, second pass: attacks on what was added with the nonce/sequence protocol, the
`given` builders, the `returns=` contracts and the integrity scan.

Each test asserts the property that should hold. A test that fails today is an attack that
works today (see the docstring of each for what it does and the fix proposed).

Hostile code runs only through `grade_batch`, in the root (or user) namespace sandbox and
under the red-team harness's tight limits, never in `basic`; the integrity tests only *read*
hostile source (`integrity.scan` parses it and never runs it).
"""

from __future__ import annotations

import os

import pytest

from autograder.integrity import scan

from .conftest import LIMITS, REPO, honest_partial, skip_unless_the_sandbox_starts

HONEST_POINTS = 3  # honest_partial: MLP solved, everything else the template's stubs

# ------------------------------------------------------------------------------------------
# 1. The probe runner sends the forged data itself: no channel tampering, nothing voided.
#
# The README says a made-up result survives only if the submission "stops the real probe
# runner from answering, which voids it, or makes up every remaining result". But the probe
# specs (ProbeSpec objects, shared with the host's `probes` dict) live in the same
# interpreter: a submission can swap `spec.function` at import, and the honest runner then
# calls the swapped probe, encodes its result and sends it in order, with the right nonce.
# Here every MySequential probe runs with `nn.Sequential` in place of the student's class,
# which stays the template's stub. The code reaches the probe modules through
# `warnings.sys.modules` and no string naming the kit, so the integrity scan sees nothing.
# ------------------------------------------------------------------------------------------

PROBE_SWAPPER = """
import types as _types
import warnings as _warnings


def _swap(original):
    def run(sub, *rest):
        stand_in = _types.SimpleNamespace(**vars(sub))
        stand_in.MySequential = nn.Sequential
        return original(stand_in, *rest)

    return run


for _module in list(_warnings.sys.modules.values()):
    _namespace = getattr(_module, "__dict__", None)
    if isinstance(_namespace, dict) and "seq_forward" in _namespace:
        for _value in list(_namespace.values()):
            for _spec in list(getattr(_value, "__dict__", {}).values()):
                if type(_spec).__name__ == "ProbeSpec" and "MySequential" in _spec.task:
                    object.__setattr__(_spec, "function", _swap(_spec.function))
"""

# 2. Inputs changed in the sandbox only: torch.rand patched at import, so every `given` the
# sandbox builds differs from the grader's. Stopped today: judges compare against the grader's
# rebuilt inputs and check the reported inputs (assert_same_inputs).
GIVEN_POISONER = """
def _flat_rand(*size, **kwargs):
    return torch.full(size[0] if size and isinstance(size[0], tuple) else size, 0.5, **kwargs)


setattr(torch, "rand", _flat_rand)
"""

# 3. The same swap as 1, but for MLP's probe with a *wrong* MLP: the swapped probe reports the
# grader's own recipe computed from `given`. Only correct values pass, and they come from
# torch built-ins: the student's class is never called.
MLP_SWAPPER = """
import types as _types
import warnings as _warnings


class _RightMLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


def _swap(original):
    def run(sub, *rest):
        stand_in = _types.SimpleNamespace(**vars(sub))
        stand_in.MLP = _RightMLP
        return original(stand_in, *rest)

    return run


for _module in list(_warnings.sys.modules.values()):
    _namespace = getattr(_module, "__dict__", None)
    if isinstance(_namespace, dict) and "mlp_forward" in _namespace:
        for _value in list(_namespace.values()):
            for _spec in list(getattr(_value, "__dict__", {}).values()):
                if type(_spec).__name__ == "ProbeSpec" and "MLP" in _spec.task:
                    object.__setattr__(_spec, "function", _swap(_spec.function))
"""


def _modes() -> list[str]:
    """The namespace modes only: hostile code never runs in the basic sandbox here."""
    return ["root", "user"] if os.geteuid() == 0 else ["user"]


@pytest.fixture(scope="module", params=_modes())
def batch(request, course, tmp_path_factory):
    from autograder.grading import grade_batch

    mode = request.param
    skip_unless_the_sandbox_starts(mode)
    a = course.get("blocks")
    root = tmp_path_factory.mktemp(f"red-team-2-{mode}")
    subs = root / "subs"
    stub = (REPO / "student_template" / a.slug / a.module).read_text()
    sources = {
        "honest": (a.solution_dir / a.module).read_text(),
        "probe-swapper": honest_partial(a) + "\n\n" + PROBE_SWAPPER,
        "given-poisoner": honest_partial(a) + "\n\n" + GIVEN_POISONER,
        "mlp-swapper": stub + "\n\n" + MLP_SWAPPER,
    }
    for name, source in sources.items():
        (subs / name).mkdir(parents=True)
        (subs / name / a.module).write_text(source)
    limits = a.limits.replace(**LIMITS)
    out = root / "out"
    done = grade_batch(course, a, sorted(subs.iterdir()), out, limits=limits, sandbox=mode, devices=["cpu"], workers=1)
    assert not done.interrupted
    return {r.name: r for r in done.results}


def _passed(result, task):
    return sorted(t.test.title for t in result.tests if t.outcome == "passed" and t.test.task == task)


def test_honest_beside_the_attacks(batch):
    honest = batch["honest"]
    assert (honest.score, honest.status, honest.integrity_flags) == (20, "graded", [])


def test_swapped_probes_earn_no_points(batch):
    """WORKS TODAY (fails): the stub MySequential earns MySequential's 5 points, status graded."""
    result = batch["probe-swapper"]
    assert not _passed(result, "MySequential") and result.score <= HONEST_POINTS, (
        result.score,
        result.status,
        _passed(result, "MySequential"),
    )


def test_swapped_probes_are_flagged(batch):
    """WORKS TODAY (fails): reaching the grader's probe objects leaves no integrity flag."""
    assert batch["probe-swapper"].integrity_flags, "the probe swap was not flagged"


def test_swapped_probe_cannot_replace_the_student_class(batch):
    """WORKS TODAY (fails): an MLP stub earns MLP's points through a swapped probe."""
    result = batch["mlp-swapper"]
    assert not _passed(result, "MLP") and result.score == 0, (result.score, _passed(result, "MLP"))
    assert result.integrity_flags, "the probe swap was not flagged"


def test_inputs_changed_in_the_sandbox_earn_nothing(batch):
    """Stopped today: a patched torch.rand changes the sandbox's `given` only; the judges compare
    with the grader's own and catch the changed inputs."""
    result = batch["given-poisoner"]
    assert result.score <= HONEST_POINTS, (result.score, [t.test.name for t in result.tests if t.outcome == "passed"])


# ------------------------------------------------------------------------------------------
# 4. Integrity scan blind spots: each source reaches into the grader (frames, raw descriptor
# writes, builtins, sys.modules, processes, /proc) and the scan should flag it. Allowed
# modules re-export the suspect ones (`warnings.sys`, `tempfile._os`, `os.path.os`...), and
# the rules match a dotted name only from its root.
# ------------------------------------------------------------------------------------------

BLIND_SPOTS = {
    "frame via warnings.sys": "import warnings\nframe = warnings.sys._getframe(1)\n",
    "sys.modules via typing.sys": "import typing\nmods = typing.sys.modules\n",
    "frame via collections._sys": "import collections\nframe = collections._sys._getframe(0)\n",
    "fd write via tempfile._os": "import tempfile\ntempfile._os.write(5, b'x')\n",
    "fd write via pathlib.os": "import pathlib\npathlib.os.write(5, b'x')\n",
    "fd write via os.path.os": "import os\nos.path.os.write(5, b'x')\n",
    "process via torch.multiprocessing": "import torch\ntorch.multiprocessing.Process(target=print).start()\n",
    "pickle via torch.serialization": "import torch\ntorch.serialization.pickle.loads(b'')\n",
    "builtins via print.__self__": "print.__self__.exec('1')\n",
    "proc path from parts": "import os\nopen(os.path.join('/', 'proc', 'self', 'mem'))\n",
    "proc path by %": "open('/%s/self/mem' % 'proc')\n",
    "frame attribute by computed name": (
        "import warnings\nname = ''.join(map(chr, (102, 95, 98, 97, 99, 107)))\n"
        "frame = getattr(warnings.sys._getframe(0), name)\n"
    ),
    "probe objects through sys.modules": PROBE_SWAPPER,
    "torch patched through type.__setattr__": "import torch\ntype.__setattr__(torch.nn.Module, '__call__', print)\n",
    "torch patched through warnings.sys.modules": "import warnings\nwarnings.sys.modules['torch'].rand = print\n",
}


@pytest.mark.parametrize("case", sorted(BLIND_SPOTS))
def test_the_scan_flags_reaching_into_the_grader(case):
    """WORKS TODAY (fails) for each case: the scan returns no flag at all."""
    flags = scan(BLIND_SPOTS[case])
    assert flags, f"{case}: not flagged"


CAUGHT = {
    "sys._getframe": "import sys\nframe = sys._getframe(1)\n",
    "aliased os.write": "import os as o\nw = o.write\nw(5, b'x')\n",
    "getattr with a folded name": "import os\ngetattr(os, 'wri' + 'te')(5, b'x')\n",
    "__import__ via __builtins__": "m = __builtins__['__import__']('subprocess')\n",
    "f_back attribute": "def f(frame):\n    return frame.f_back\n",
    "the known forger's frame walk": "import sys\nf = sys._getframe()\nwhile f:\n    f = f.f_back\n",
    "lambda default": "import sys\nf = lambda g=sys._getframe: g(1)\n",
    "decorator": "import sys\n@sys.settrace\ndef t(*a): pass\n",
    "class body": "class A:\n    import ctypes\n",
    "f-string proc": "open(f'/proc/{1}/mem')\n",
    "breakpoint": "breakpoint()\n",
    "type() building a class": "import types\ntypes.FunctionType\n",
}


@pytest.mark.parametrize("case", sorted(CAUGHT))
def test_the_scan_still_flags_what_it_catches(case):
    """Regression guards: these are flagged today."""
    assert scan(CAUGHT[case]), f"{case}: not flagged"


# ------------------------------------------------------------------------------------------
# 5. Memory outside every limit: each probe result may carry 64 MB of tensors and 16 MB of
# JSON, but nothing bounds their sum. The sandbox host keeps every payload of a submission
# (and copies them again to build its reply), and the grader's worker holds them all too, so
# one submission with a 512 MB sandbox limit grows the sandbox host to ~2.6 GB and the grader
# itself to ~1.4 GB (16 probes × ~75 MB) — neither `memory_mb` nor `judge_memory_mb` applies.
# Here the probe swap of 1 makes every probe return 60 MB of zeros and a 15 MB string; honest
# student code returning a large tensor from each forward() gets part of the way without it.
# ------------------------------------------------------------------------------------------

MEMORY_HOG = """
import warnings as _warnings


def _hog(sub, *rest):
    return {"X": torch.zeros(15 * 2**20), "s": "a" * 15_000_000}


for _module in list(_warnings.sys.modules.values()):
    _namespace = getattr(_module, "__dict__", None)
    if isinstance(_namespace, dict) and "seq_forward" in _namespace:
        for _value in list(_namespace.values()):
            for _spec in list(getattr(_value, "__dict__", {}).values()):
                if type(_spec).__name__ == "ProbeSpec":
                    object.__setattr__(_spec, "function", _hog)
"""

_MEASURE = r"""
import json, resource, sys
from pathlib import Path
from autograder.catalog import course_at
from autograder.grading import grade_batch
root, mode, hog = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
course = course_at(Path(sys.argv[4])); a = course.get("blocks")
stub = (Path(sys.argv[4]) / "student_template" / a.slug / a.module).read_text()
(root / "subs" / "hog").mkdir(parents=True)
(root / "subs" / "hog" / a.module).write_text(stub + "\n\n" + Path(hog).read_text())
limits = a.limits.replace(**json.loads(sys.argv[5]))
b = grade_batch(course, a, [root / "subs" / "hog"], root / "out", limits=limits, sandbox=mode,
                devices=["cpu"], workers=1)
print(json.dumps({"status": b.results[0].status, "score": b.results[0].score,
                  "grader_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))
"""


@pytest.mark.parametrize("mode", _modes())
def test_one_submission_cannot_grow_the_grader_past_its_limits(tmp_path, mode):
    """WORKS TODAY (fails): grader ~1.4 GB, sandbox host ~2.6 GB for a 512 MB submission."""
    import json
    import subprocess
    import sys

    hog = tmp_path / "hog.py"
    hog.write_text(MEMORY_HOG)
    limits = dict(LIMITS, submission_seconds=60)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tmp_path / "run"), mode, str(hog), str(REPO), json.dumps(limits)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["score"] == 0
    # torch and pytest's judges take ~400 MB in either process; the sandbox child is capped at
    # 512 MB: what is beyond that is held for the submission by no limit at all
    assert seen["grader_mb"] < 900 and seen["children_mb"] < 1200, seen


# ------------------------------------------------------------------------------------------
# 6. A Gradescope export (folder form) whose metadata names a submission `submission_7 x`:
# the name passes `_bad_name` (a space is one plain line), `safe_name` turns it into
# `submission_7_x`, and `_export_from_folder` grades `path / safe_name(n)` instead of
# `path / n` -- another student's folder, a second time, in a row that carries the names,
# emails and sids the crafted metadata entry gives. (Static: `expand` only, nothing runs.)
# ------------------------------------------------------------------------------------------


def test_an_export_entry_grades_only_its_own_folder(tmp_path):
    """WORKS TODAY (fails): two gradebook rows read one student's folder."""
    import yaml

    from autograder.inputs import expand

    root = tmp_path / "export"
    (root / "submission_7_x").mkdir(parents=True)
    (root / "submission_7_x" / "blocks.py").write_text("x = 1\n")
    metadata = {
        "submission_7_x": {":submitters": [{":name": "Ada", ":sid": "1"}]},
        "submission_7 x": {":submitters": [{":name": "Mallory", ":sid": "666"}]},
    }
    (root / "submission_metadata.yml").write_text(yaml.safe_dump(metadata), encoding="utf-8")
    inputs = [i for i in expand([root]) if not i.problem]
    paths = [i.path for i in inputs]
    assert len(set(paths)) == len(paths), [(i.name, i.path, i.columns) for i in inputs]
