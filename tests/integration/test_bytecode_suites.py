"""A dependency's own test suite (`pkg/tests/`, `pkg/test/`) ships as source without bytecode:
no handler imports it, and compiling it was most of a cold build's compile time (pandas/tests
is 1,143 of numpy and pandas's 1,890 modules). Everything else keeps its .pyc: the rest of the
dependency, its `testing/` helpers (other packages import those), and all of the user's code,
a `tests/` folder of its own included. A test-suite module still imports from the zip.

Offline: one real wheel written by this test, installed by the real uv from a local
--find-links directory, compiled by the real python3.12, imported by it from the unpacked zip.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from host_pythons import need_interpreter
from lp_helpers import lp_build_json, run_lp, write_handler
from wheels import write_wheel

BASE = ["--runtime", "python3.12", "--arch", "x86_64"]
TAG = "cpython-312"


def test_dependency_test_suites_ship_as_source_only(tmp_path: Path) -> None:
    py = need_interpreter((3, 12))
    src = write_handler(tmp_path / "src", "import suitepkg")
    (src / "tests").mkdir()
    (src / "tests" / "test_handler.py").write_text("def test_ok():\n    assert True\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "suitepkg", "1.0", files={
        "suitepkg/__init__.py": b"VALUE = 1\n",
        "suitepkg/core.py": b"def f():\n    return 2\n",
        "suitepkg/testing/__init__.py": b"def helper():\n    return 3\n",
        "suitepkg/tests/__init__.py": b"",
        "suitepkg/tests/test_core.py": b"from suitepkg.core import f\nRESULT = f() * 10\n",
        "suitepkg/test/test_other.py": b"X = 4\n",
        "suitepkg/io/tests/test_io.py": b"Y = 5\n",
    })
    (tmp_path / "empty").mkdir()
    (tmp_path / "req.txt").write_text("suitepkg\n")
    out = tmp_path / "fn.zip"
    args = ["build", str(src), "-r", str(tmp_path / "req.txt"), "--index-url", str(tmp_path / "empty"),
            "--find-links", str(wheels), *BASE]
    _r, data = lp_build_json([*args, "-o", str(out)], cwd=tmp_path)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    compiled = {n.replace("__pycache__/", "").replace(f".{TAG}.pyc", ".py") for n in names if n.endswith(".pyc")}
    assert compiled == {"lambda_function.py", "tests/test_handler.py", "suitepkg/__init__.py", "suitepkg/core.py",
                        "suitepkg/testing/__init__.py"}, sorted(compiled)
    for suite in ("suitepkg/tests/__init__.py", "suitepkg/tests/test_core.py", "suitepkg/test/test_other.py",
                  "suitepkg/io/tests/test_io.py"):
        assert suite in names  # shipped, as source
    assert data["without_bytecode"] == []  # not "left out to fit": never compiled
    # The progress says so, with the count.
    text = run_lp([*args, "--no-cache", "-o", str(tmp_path / "again.zip")], cwd=tmp_path)
    assert text.returncode == 0, text.explain()
    assert "(4 test-suite modules left as source)" in text.stderr + text.stdout, text.explain()
    # A test-suite module still imports from the zip, compiled in memory by the target's Python.
    root = tmp_path / "task"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root)
    probe = subprocess.run([py.path, "-I", "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "import suitepkg.tests.test_core as t; print(t.RESULT)", str(root)],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0 and probe.stdout.strip() == "20", probe.stderr
