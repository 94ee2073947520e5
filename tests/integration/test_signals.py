"""SIGTERM stops a build's compile workers and a smoke test's import children within 2 s.

Real CLI processes, real signals, real child processes, checked through /proc (Linux).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lp_helpers import (
    HANG,
    LOADED,
    alive,
    assert_no_outputs,
    clean_env,
    descendants,
    read_until,
    still_there,
    wait_for,
)

from lambdapack.host.interpreters import find_interpreter

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="child processes are inspected through /proc")

LP = [sys.executable, "-m", "lambdapack"]
TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]


def _needs_312() -> None:
    if find_interpreter((3, 12)) is None:
        pytest.skip("no CPython 3.12 on this machine (PATH, pyenv, uv-managed) to compile or import with")


def _terminate_when(proc: subprocess.Popen[bytes], marker: bytes) -> tuple[float, set[int], bytes]:
    """Wait for `marker` on stderr (off a terminal a stage's line comes when it ends: "staging"
    just before compiling) and for the workers' children to exist, SIGTERM;
    (seconds to exit, the descendants seen at SIGTERM, the rest of stderr)."""
    assert proc.stderr is not None
    read_until(proc.stderr, marker)
    kids = wait_for(lambda: descendants(proc.pid), "a worker started", proc=proc)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=HANG)  # a hang fails here instead of blocking the run
    return time.monotonic() - start, kids, rest


def _many_modules(src: Path, packages: int) -> None:
    """`packages` x 100 modules: 1,500 are ~30 s of compiling on two cores, far longer than a test waits."""
    src.mkdir(parents=True)
    (src / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    body = "".join(f"def f{i}(x):\n    y = [x * {i} for _ in range(3)]\n    return {{'k{i}': y}}\n\n"
                   for i in range(400))
    for p in range(packages):
        pkg = src / f"pkg{p}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for m in range(100):
            (pkg / f"m{m}.py").write_text(body)


def _sigterm_while_compiling(args: list[str], cwd: Path, what: str) -> None:
    """Run `lambdapack ARGS`, SIGTERM it once compiling starts: exit 130 within 2 s (scaled by
    load), no traceback, no compile worker left, the work directories removed."""
    tmp = cwd / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([*LP, *args], cwd=cwd, env=clean_env({"TMPDIR": str(tmp)}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        took, kids, rest = _terminate_when(proc, b"staging")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    print(f"{what}: exited {took:.2f} s after SIGTERM")
    assert took < 2.0 * LOADED, f"exit took {took:.2f} s"
    assert b"interrupted; no output was written" in rest
    assert b"Traceback" not in rest
    left = still_there(lambda: alive(kids))
    assert not left, f"compile workers left running: {left}"
    assert list(tmp.iterdir()) == []  # every build's work directory was removed


def test_sigterm_during_bytecode_compilation_exits_130_within_2s(tmp_path: Path) -> None:
    _needs_312()
    _many_modules(tmp_path / "src", 15)
    _sigterm_while_compiling(["build", "src", *TARGET, "--compile", "--no-cache", "--no-held-back", "-o", "fn.zip"],
                             tmp_path, "compile workers")
    assert_no_outputs(tmp_path)


def test_sigterm_during_a_project_build_stops_every_artifact_within_2s(tmp_path: Path) -> None:
    """Two functions compiling in two threads: the killed compile workers are not retried with
    new ones (they would be, as crashes, without stop_all(refuse_new=True)), nothing is written."""
    _needs_312()
    for name in ("a", "b"):
        _many_modules(tmp_path / name, 10)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lambdapack]\nruntime = "python3.12"\narch = "x86_64"\ncompile = "on"\nuse_cache = false\n'
        'held_back = false\n'
        + "".join(f'[tool.lambdapack.functions.{n}]\nsrc = "{n}"\nhandler = "lambda_function.lambda_handler"\n'
                  for n in ("a", "b")))
    _sigterm_while_compiling(["build", "-j", "2"], tmp_path, "project build")
    assert not list(tmp_path.glob("dist/*.zip"))


def test_sigterm_during_a_smoke_test_kills_the_import_and_what_it_started(tmp_path: Path) -> None:
    _needs_312()
    src = tmp_path / "src"
    src.mkdir()
    # An import that starts a background process and then hangs (until the 120 s timeout).
    (src / "lambda_function.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "time.sleep(300)\n"
        "def lambda_handler(event, context):\n    return 1\n"
    )
    env = clean_env()
    built = subprocess.run([*LP, "build", "src", *TARGET, "--no-compile", "--no-cache", "-o", "fn.zip", "-q"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    proc = subprocess.Popen([*LP, "--debug", "smoke", "fn.zip", *TARGET], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # No progress line to wait for: the import's grandchild is the sign it is running.
        assert proc.stderr is not None
        kids = wait_for(lambda: (k if len(k := descendants(proc.pid)) >= 2 else None),
                        "the import and its background process started", proc=proc)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, rest = proc.communicate(timeout=HANG)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    print(f"smoke imports: exited {took:.2f} s after SIGTERM")
    assert took < 2.0 * LOADED, f"exit took {took:.2f} s"
    # The grandchild was reparented when its parent died: it is checked by pid, not by tree.
    left = still_there(lambda: alive(kids))
    assert not left, f"left running: {left}"
