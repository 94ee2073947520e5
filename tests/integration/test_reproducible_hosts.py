"""Same inputs, different build interpreter path: the same zip bytes.

Console scripts carry the build interpreter's path in their shebang, and their hashes
sit in RECORD; lambdapack drops both, so nothing of the build machine reaches the zip.
"""

from __future__ import annotations

import hashlib
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build(python: str, out: Path, src: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *site.getsitepackages()])
    subprocess.run(
        [python, "-m", "lambdapack", "build", str(src), "--runtime", "python3.12", "--arch", "x86_64",
         "-o", str(out), "-q", "--no-held-back"],
        check=True, env=env, capture_output=True, text=True,
    )
    return hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.network
def test_interpreter_path_does_not_reach_the_zip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (src / "requirements.txt").write_text("numpy==2.5.5\n")  # ships bin/f2py, whose shebang is the interpreter
    other = tmp_path / "some" / "other" / "place"
    other.mkdir(parents=True)
    link = other / "python3"
    link.symlink_to(sys.executable)
    a = build(sys.executable, tmp_path / "a.zip", src)
    b = build(str(link), tmp_path / "b.zip", src)
    assert a == b
