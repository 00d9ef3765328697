"""The distribution: one wheel with the engine only, never a solution or a hidden test."""

import subprocess
import sys
import zipfile

from conftest import REPO


def test_the_wheel_carries_the_engine_and_nothing_secret(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("blockgrade-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    code = [n for n in names if not n.startswith("blockgrade-")]
    assert code and all(n.startswith("autograder/") for n in code), code
    assert "autograder/sandbox/host.py" in names and "autograder/cli.py" in names
    for secret in ("solution", "hidden", "probes.py", "test_"):
        assert not [n for n in code if secret in n], f"the wheel holds {secret!r}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "blockgrade = autograder.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
