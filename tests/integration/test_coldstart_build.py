"""Issue 4 end to end: aggressive builds import, bytecode is used and reproducible.

Real builds from PyPI, imported with this machine's interpreters from read-only copies.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from lp_helpers import clean_env, lp_build_json, run_lp

from lambdapack.host.interpreters import find_interpreter

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "bench" / "workloads"

pytestmark = pytest.mark.network


def _requirements(workload: str, runtime: str) -> Path:
    if workload == "data" and runtime == "python3.11":
        return WORKLOADS / "data-py311.txt"  # numpy >= 2.3, pandas >= 2.3.3: no manylinux_2_17 wheels
    return WORKLOADS / f"{workload}.txt"


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
@pytest.mark.parametrize("workload", ["api", "data", "native"])
def test_aggressive_build_passes_the_smoke_test(workload: str, runtime: str, tmp_path: Path) -> None:
    minor = (3, int(runtime.split(".")[1]))
    if find_interpreter(minor, "x86_64") is None:
        pytest.skip(f"no {runtime} x86_64 interpreter on this machine")
    out = tmp_path / "layer.zip"
    _r, data = lp_build_json(
        ["build", "--layer", "--runtime", runtime, "--arch", "x86_64", "-r", str(_requirements(workload, runtime)),
         "-o", str(out), "--slim", "aggressive", "--smoke"],
        cwd=tmp_path,
    )
    assert data["smoke"]["status"] == "passed", data["smoke"]
    assert data["smoke"]["summary"]["failed"] == 0
    assert data["smoke"]["summary"]["ok"] >= 2
    assert data["slim"]["saved_bytes"] > 0
    assert data["smoke"]["wrote_files"] is False


def _read_only_copy(zip_path: Path, dest: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    for dirpath, _dirnames, filenames in os.walk(dest):
        for n in filenames:
            Path(dirpath, n).chmod(0o444)
        Path(dirpath).chmod(0o555)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            st = Path(dirpath, n).lstat()
            out[str(Path(dirpath, n))] = (st.st_size, st.st_mtime_ns)
    return out


def test_compiled_zip_imports_from_bytecode_without_writing(tmp_path: Path) -> None:
    py = find_interpreter((3, 12), "x86_64")
    if py is None:
        pytest.skip("no python3.12 x86_64 interpreter on this machine")
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("import six\n\ndef handler(event, context):\n    return six.PY3\n")
    (src / "requirements.txt").write_text("six==1.17.0\nattrs==25.4.0\n")
    out = tmp_path / "fn.zip"
    lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out),
                   "--compile"], cwd=tmp_path)
    names = zipfile.ZipFile(out).namelist()
    assert "__pycache__/app.cpython-312.pyc" in names
    assert any(n.startswith("attr/__pycache__/") and n.endswith(".cpython-312.pyc") for n in names)
    task = tmp_path / "task"
    _read_only_copy(out, task)
    # Break every source: if Python read any of them, the import would raise SyntaxError.
    for p in task.rglob("*.py"):
        p.chmod(0o644)
        p.write_text("this is not python (\n")
        p.chmod(0o444)
    before = _snapshot(task)
    env = clean_env({"PYTHONDONTWRITEBYTECODE": "1"})
    code = f"import sys; sys.path[:0] = [{str(task)!r}]; import app, attr; print(app.handler(None, None))"
    r = subprocess.run([py.path, "-I", "-c", code], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"
    assert _snapshot(task) == before


def test_bytecode_zips_are_byte_identical_twice(tmp_path: Path) -> None:
    if find_interpreter((3, 12)) is None:
        pytest.skip("no python3.12 on this machine")
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("X = {1, 2, 3}\n\ndef handler(e, c):\n    return sorted(X)\n")
    (src / "requirements.txt").write_text("six==1.17.0\nattrs==25.4.0\n")
    shas = []
    for i in range(2):
        out = tmp_path / f"fn{i}.zip"
        lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out),
                       "--compile", "--no-cache"], cwd=tmp_path)
        shas.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert shas[0] == shas[1]


def test_compile_without_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    if find_interpreter((3, 14)) is not None:
        pytest.skip("this machine has Python 3.14; the missing-interpreter path cannot be shown")
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("def handler(e, c):\n    return 1\n")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.14", "--arch", "x86_64", "-o", str(out), "--compile"],
               cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert "Python 3.14" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    # Without --compile the build goes on, says why there is no bytecode, and ships none.
    r = run_lp(["build", str(src), "--runtime", "python3.14", "--arch", "x86_64", "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.explain()
    assert "no Python 3.14 found" in r.stdout + r.stderr
    assert not any(n.endswith(".pyc") for n in zipfile.ZipFile(out).namelist())


