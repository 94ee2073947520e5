"""The README's install commands, run for real from this checkout: `uv tool install`, `uvx`
and `pipx install` put a working `lambdapack` on PATH (package data included: the child-process
scripts, the schemas and the Amazon Linux data), in private tool and bin directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from lp_helpers import clean_env, write_handler

pytestmark = pytest.mark.network  # the tools fetch lambdapack's dependencies from PyPI

REPO = Path(__file__).resolve().parents[2]
BIN = "Scripts" if os.name == "nt" else "bin"
UV = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
UVX = UV.with_name("uvx.exe" if os.name == "nt" else "uvx")


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def _builds_a_function(lambdapack: list[str], env: dict[str, str], tmp: Path) -> None:
    """--version, then an offline build of a handler without dependencies (it compiles its
    bytecode with the child script shipped as package data, when a local 3.12 exists)."""
    r = _run([*lambdapack, "--version"], env, tmp)
    assert r.returncode == 0 and r.stdout.startswith("lambdapack "), r.stdout + r.stderr
    src = tmp / "fn"
    write_handler(src)
    out = tmp / "fn.zip"
    r = _run([*lambdapack, "build", str(src), "--runtime", "python3.12", "--arch", "arm64", "--no-held-back",
              "-o", str(out), "--format", "json"], env, tmp)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and out.is_file() and doc["outputs"][0]["path"].endswith("fn.zip")


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return clean_env({"UV_CACHE_DIR": str(tmp / "uv-cache"), **extra})


def test_uv_tool_install(tmp_path: Path) -> None:
    env = _env(tmp_path, UV_TOOL_DIR=str(tmp_path / "tools"), UV_TOOL_BIN_DIR=str(tmp_path / "bin"))
    r = _run([str(UV), "tool", "install", str(REPO)], env, tmp_path)
    assert r.returncode == 0, r.stderr
    _builds_a_function([str(tmp_path / "bin" / "lambdapack")], env, tmp_path)


def test_uvx(tmp_path: Path) -> None:
    _builds_a_function([str(UVX), "--from", str(REPO), "lambdapack"], _env(tmp_path), tmp_path)


def test_pipx_install(tmp_path: Path) -> None:
    venv.create(tmp_path / "pipx-venv", with_pip=True)
    py = str(tmp_path / "pipx-venv" / BIN / "python")
    env = _env(tmp_path, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "pbin"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    r = _run([py, "-m", "pip", "install", "-q", "pipx"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run([py, "-m", "pipx", "install", str(REPO)], env, tmp_path)
    assert r.returncode == 0, r.stderr
    _builds_a_function([str(tmp_path / "pbin" / "lambdapack")], env, tmp_path)
