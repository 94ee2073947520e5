"""pylock.toml (PEP 751) builds what it pins; a stale uv.lock is an error with `uv lock` as the hint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lock_tools import FIXTURES, installed
from lp_helpers import clean_env, lp_build_json, run_lp, write_handler

pytestmark = pytest.mark.network


def test_build_dot_with_a_pylock(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "app")
    shutil.copy(FIXTURES / "pylock" / "pylock.toml", src / "pylock.toml")
    _r, data = lp_build_json(["build", ".", "--runtime", "python3.13", "--arch", "arm64", "-o", str(tmp_path / "f.zip"),
                              "--no-compile", "--no-cache"], cwd=src)
    assert installed(data) == {"attrs": "26.1.0", "certifi": "2026.10.19.post1", "charset-normalizer": "3.5.3",
                               "idna": "3.20", "pyyaml": "6.0.2", "requests": "2.32.3", "six": "1.17.0",
                               "urllib3": "2.8.0"}
    assert data["inputs"]["kind"] == "lock"


def test_a_stale_uv_lock_is_an_error(tmp_path: Path, uv_cmd: list[str]) -> None:
    src = write_handler(tmp_path / "app")
    py = src / "pyproject.toml"
    py.write_text('[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
                  'dependencies = ["six==1.17.0"]\n', encoding="utf-8")
    subprocess.run([*uv_cmd, "lock", "--project", str(src), "-q"], check=True, env=clean_env(), timeout=120)
    args = ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "f.zip"),
            "--no-compile"]
    lp_build_json(args, cwd=tmp_path)  # fresh: builds
    py.write_text(py.read_text(encoding="utf-8").replace('"six==1.17.0"', '"six==1.17.0", "cryptography"'),
                  encoding="utf-8")
    r = run_lp(args, cwd=tmp_path)  # the handler imports cryptography: a zip without it must not be built
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.explain()
    assert "uv.lock is out of date with" in r.stderr and "run `uv lock`" in r.stderr
