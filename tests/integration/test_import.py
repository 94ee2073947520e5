"""The built zip imports on a real interpreter of the runtime's Python version.

For each CPython 3.9-3.13 found on this machine, build an x86_64 function zip with
native dependencies, unzip it into a read-only tree, and import everything from it
in an isolated interpreter that may not write bytecode. (This machine is x86_64
with glibc >= the runtimes', so the x86_64 wheels load here as they do on Lambda.)
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lp_helpers import chmod_tree, clean_env, lp_build_json, write_handler

pytestmark = pytest.mark.network

MINORS = [9, 10, 11, 12, 13]

HANDLER = """\
import orjson
import pydantic


class Event(pydantic.BaseModel):
    name: str


def lambda_handler(event, context):
    return orjson.dumps(Event(**event).model_dump()).decode()
"""


def _pyenv_root() -> Path | None:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    try:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30,
                             env=clean_env(), check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        proc = subprocess.run([python, "-I", "-c", "import sys;print(tuple(sys.version_info[:2]))"],
                              capture_output=True, text=True, timeout=60, env=clean_env(), check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    out = proc.stdout.strip().strip("()").split(",")
    try:
        return int(out[0]), int(out[1])
    except (ValueError, IndexError):
        return None


def find_python(minor: int) -> str | None:
    """A working python3.<minor>: pyenv's versions first, then PATH (shims may refuse)."""
    candidates: list[str] = []
    root = _pyenv_root()
    if root is not None:
        candidates += sorted(str(p) for p in (root / "versions").glob(f"*/bin/python3.{minor}"))
    which = shutil.which(f"python3.{minor}")
    if which:
        candidates.append(which)
    for c in candidates:
        if _version_of(c) == (3, minor):
            return c
    return None


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    snap = {}
    for dp, dns, fs in os.walk(root):
        for name in dns + fs:
            p = Path(dp, name)
            st = p.lstat()
            snap[p.relative_to(root).as_posix()] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return snap


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86_64 wheels only load on x86_64")
@pytest.mark.parametrize("minor", MINORS, ids=lambda m: f"python3.{m}")
def test_zip_imports_read_only(minor: int, tmp_path: Path) -> None:
    python = find_python(minor)
    if python is None:
        pytest.skip(f"no working python3.{minor} on this machine (looked in `pyenv root`/versions and PATH)")
    runtime = f"python3.{minor}"
    src = tmp_path / "src"
    write_handler(src)
    (src / "lambda_function.py").write_text(HANDLER, encoding="utf-8")
    req = tmp_path / "requirements.txt"
    req.write_text("pydantic\norjson\nnumpy\n", encoding="utf-8")
    out = tmp_path / "fn.zip"
    _r, _data = lp_build_json(
        ["build", str(src), "--runtime", runtime, "--arch", "x86_64", "-r", str(req), "-o", str(out),
         "--no-held-back"],
        cwd=tmp_path,
    )
    root = tmp_path / "task"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root)
    # Only bytecode that the zip ships, for the target Python (none compiled by this machine).
    shipped = set(zipfile.ZipFile(out).namelist())
    tag = f".cpython-{runtime.replace('python', '').replace('.', '')}.pyc"
    assert all(p.relative_to(root).as_posix() in shipped and p.name.endswith(tag)
               for p in root.rglob("*.pyc"))
    chmod_tree(root, writable=False)
    try:
        before = _snapshot(root)
        code = (
            f"import sys; sys.path[:0] = [{str(root)!r}]\n"
            "import lambda_function, pydantic_core, orjson, numpy\n"
            "for m in (lambda_function, pydantic_core, orjson, numpy):\n"
            f"    assert m.__file__.startswith({str(root) + os.sep!r}), m.__file__\n"
            "print(lambda_function.lambda_handler({'name': 'x'}, None))\n"
            "print(numpy.arange(3).sum())\n"
        )
        env = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONDONTWRITEBYTECODE": "1", "LC_ALL": "C.UTF-8"}
        proc = subprocess.run([python, "-I", "-B", "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"{python}:\n{proc.stdout}\n{proc.stderr}"
        assert proc.stdout.split() == ['{"name":"x"}', "3"], proc.stdout
        assert _snapshot(root) == before, "the import wrote into the read-only tree"
    finally:
        chmod_tree(root, writable=True)
