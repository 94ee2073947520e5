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
from lp_helpers import assert_no_outputs, clean_env

from lambdapack.interpreters import find_interpreter

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="child processes are inspected through /proc")

LP = [sys.executable, "-m", "lambdapack"]
TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]


def _needs_312() -> None:
    if find_interpreter((3, 12)) is None:
        pytest.skip("no CPython 3.12 on this machine (PATH, pyenv, uv-managed) to compile or import with")


def _processes() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid) of every process."""
    out: dict[int, tuple[str, int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(d.name)] = (fields[0], int(fields[1]))
    return out


def _descendants(root: int) -> set[int]:
    procs = _processes()
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, (_state, ppid) in procs.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found - {root}


def _alive(pids: set[int]) -> set[int]:
    procs = _processes()
    return {p for p in pids if p in procs and procs[p][0] != "Z"}


def _terminate_when(proc: subprocess.Popen[bytes], marker: bytes, settle: float) -> tuple[float, set[int], bytes]:
    """Wait for `marker` on stderr, let children start, SIGTERM; (seconds to exit, the
    descendants seen at SIGTERM, the rest of stderr)."""
    assert proc.stderr is not None
    seen = b""
    for line in proc.stderr:
        seen += line
        if marker in line:
            break
    else:
        pytest.fail(f"{marker!r} never appeared on stderr:\n{seen.decode(errors='replace')}")
    deadline = time.monotonic() + 10
    kids: set[int] = set()
    while time.monotonic() < deadline:  # until the workers' children exist
        time.sleep(settle)
        kids = _descendants(proc.pid)
        if kids:
            break
    assert kids, "no child process started"
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    return time.monotonic() - start, kids, rest


def test_sigterm_during_bytecode_compilation_exits_130_within_2s(tmp_path: Path) -> None:
    _needs_312()
    src = tmp_path / "src"
    src.mkdir()
    (src / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    body = "".join(f"def f{i}(x):\n    y = [x * {i} for _ in range(3)]\n    return {{'k{i}': y}}\n\n"
                   for i in range(400))
    for p in range(15):  # 1,500 modules: ~30 s of compiling on two cores, far longer than the test waits
        pkg = src / f"pkg{p}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for m in range(100):
            (pkg / f"m{m}.py").write_text(body)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = clean_env({"TMPDIR": str(tmp)})
    proc = subprocess.Popen([*LP, "build", "src", *TARGET, "--compile", "--no-cache", "--no-held-back",
                             "-o", "fn.zip"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        took, kids, rest = _terminate_when(proc, b"compiling", 0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert took < 2.0, f"exit took {took:.2f} s"
    assert b"interrupted; no output was written" in rest
    assert b"Traceback" not in rest
    time.sleep(0.2)
    assert not _alive(kids), f"compile workers left running: {_alive(kids)}"
    assert_no_outputs(tmp_path)
    assert list(tmp.iterdir()) == []  # the work directory was removed


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
        deadline = time.monotonic() + 30
        kids: set[int] = set()
        while time.monotonic() < deadline and len(kids) < 2:
            time.sleep(0.2)
            kids = _descendants(proc.pid)
        assert len(kids) >= 2, f"the import and its background process did not start: {kids}"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        proc.wait(timeout=60)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert took < 2.0, f"exit took {took:.2f} s"
    time.sleep(0.2)
    # The grandchild was reparented when its parent died: it is checked by pid, not by tree.
    assert not _alive(kids), f"left running: {_alive(kids)}"
