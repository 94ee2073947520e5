"""The CPython interpreters of this machine that tests need (unit and integration).

`need_interpreter` finds one as lambdapack does (PATH, pyenv, uv-managed) and skips the
test when there is none; `python_exe` and `pyenv_python` find one independently of the
product, for tests that check its choices."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lambdapack.host.interpreters import Interpreter, find_interpreter


def need_interpreter(minor: tuple[int, int]) -> Interpreter:
    found = find_interpreter(minor)
    if found is None:
        pytest.skip(f"no CPython {minor[0]}.{minor[1]} on this machine (PATH, pyenv, uv-managed)")
    return found


def _pyenv_roots() -> list[Path]:
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
            if out.stdout.strip():
                roots.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(Path.home() / ".pyenv")
    return roots


def pyenv_python(minor: int) -> str | None:
    """The newest CPython 3.<minor> installed by pyenv, never a shim that may point elsewhere."""
    for root in _pyenv_roots():
        hits = [p for p in sorted((root / "versions").glob(f"3.{minor}.*/bin/python3.{minor}"))
                if os.access(p, os.X_OK)]
        if hits:
            return str(hits[-1])
    return None


def python_exe(minor: int) -> str | None:
    """CPython 3.<minor> from pyenv (or PATH), checked to be that version."""
    found = pyenv_python(minor)
    if found:
        return found
    exe = shutil.which(f"python3.{minor}")
    if exe is None:
        return None
    ok = subprocess.run([exe, "-c", f"import sys; assert sys.version_info[:2] == (3, {minor})"],
                        capture_output=True, check=False)
    return exe if ok.returncode == 0 else None
