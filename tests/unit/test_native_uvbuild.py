"""native.crossbuild.build_wheel against real uv: what its error says when uv itself fails (before
the package's build runs, e.g. fetching the build requirements), and the one retry that case gets.

A CI run once failed a native build with only uv's top line, "error: Failed to build `X`": uv's
causes (`cause: ...` lines under `--color never`) carried the reason and were dropped.
"""

from __future__ import annotations

import logging
import os
import socket
import tarfile
from pathlib import Path

import pytest

from lambdapack.errors import BuildError
from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.host.interpreters import find_interpreter
from lambdapack.host.ziglang import Zig
from lambdapack.native.buildfailure import backend_ran
from lambdapack.native.crossbuild import CrossEnvironment, build_wheel, prepare
from lambdapack.resolve.install import find_uv
from lambdapack.target.tags import Target

PY311_X86 = Target(get_runtime("python3.11"), get_arch("x86_64"))
SETUP = ('from setuptools import setup, Extension\n'
         'setup(name="demo", version="1.0", ext_modules=[Extension("demo._x", ["x.c"])], packages=["demo"])\n')


def _sdist(tmp: Path, c_source: str) -> Path:
    root = tmp / "demo-1.0"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "__init__.py").write_text("", encoding="utf-8")
    (root / "setup.py").write_text(SETUP, encoding="utf-8")
    (root / "x.c").write_text(c_source, encoding="utf-8")
    (root / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n", encoding="utf-8")
    out = tmp / "demo-1.0.tar.gz"
    with tarfile.open(out, "w:gz") as t:
        t.add(root, arcname="demo-1.0")
    return out


def _closed_port() -> int:
    with socket.socket() as s:  # bound and closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cross(tmp: Path, zig: Zig, index: list[str]) -> CrossEnvironment:
    python = find_interpreter((3, 11))
    if python is None:
        pytest.skip("no CPython 3.11 on this machine to build with")
    env = dict(os.environ) | {"UV_HTTP_RETRIES": "0"}  # uv's own retries would only slow the refusal
    return prepare(tmp / "work", PY311_X86, python, zig, env).with_frontend(find_uv(), index, env)


def test_uv_failing_to_fetch_the_build_requirements_is_retried_once_and_says_why(
        zig: Zig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sdist = _sdist(tmp_path, "int f(void) { return 1; }\n")
    cross = _cross(tmp_path, zig, ["--index-url", f"http://127.0.0.1:{_closed_port()}/simple/"])
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level(logging.INFO, logger="lambdapack.native.crossbuild"), pytest.raises(BuildError) as e:
        build_wheel(sdist, out, cross, "building demo 1.0 for python3.11 x86_64", timeout=300)
    retries = [r for r in caplog.records if "trying once more" in r.getMessage()]
    assert len(retries) == 1, [r.getMessage() for r in caplog.records]
    msg = e.value.message
    assert msg.startswith("building demo 1.0 for python3.11 x86_64 failed: "), msg
    # uv's first cause (what it was doing) and its last (why): the words that make it actionable
    assert "Failed to resolve requirements" in msg or "build-system" in msg, msg
    assert "refused" in msg.lower(), msg
    assert not list(out.glob("*.whl"))


@pytest.mark.network
def test_a_compile_error_is_the_packages_own_and_is_not_retried(
        zig: Zig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sdist = _sdist(tmp_path, "int f( {\n")
    cross = _cross(tmp_path, zig, [])
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level(logging.DEBUG, logger="lambdapack.native.crossbuild"), pytest.raises(BuildError) as e:
        build_wheel(sdist, out, cross, "building demo 1.0 for python3.11 x86_64", timeout=300)
    assert not [r for r in caplog.records if "trying once more" in r.getMessage()]
    outputs = [r.getMessage() for r in caplog.records if "the build's output" in r.getMessage()]
    assert len(outputs) == 1 and backend_ran(outputs[0])
    assert "x.c:1:" in e.value.message and "error" in e.value.message, e.value.message
    assert "The build backend returned an error" in e.value.message
