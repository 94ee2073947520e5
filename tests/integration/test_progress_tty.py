"""Progress as a user sees it: a real build through a pseudo-terminal redraws its live line
with counts that grow; the same build into a pipe prints one line per stage, no escapes.

No network: a source tree of generated modules, compiled for real by a local CPython 3.12."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lp_helpers import HANG, clean_env

from lambdapack.host.interpreters import find_interpreter

LP = [sys.executable, "-m", "lambdapack"]
PACKAGES = 3
MODULES = 1 + PACKAGES * 100  # the handler, and each package's __init__.py and 99 modules
ESCAPE = re.compile(r"\x1b\[")


def _tree(root: Path) -> Path:
    """A handler and MODULES modules heavy enough that compiling them takes a few redraws."""
    if find_interpreter((3, 12)) is None:
        pytest.skip("no CPython 3.12 on this machine (PATH, pyenv, uv-managed) to compile with")
    src = root / "src"
    src.mkdir()
    (src / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    body = "".join(f"def f{i}(x):\n    y = [x * {i} for _ in range(3)]\n    return {{'k{i}': y}}\n\n"
                   for i in range(200))
    for p in range(PACKAGES):
        pkg = src / f"pkg{p}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for m in range(100 - 1):  # with __init__.py: 100 per package
            (pkg / f"m{m}.py").write_text(body)
    return src


def _argv(out: Path) -> list[str]:
    return [*LP, "build", "src", "--runtime", "python3.12", "--arch", "x86_64", "--compile", "--no-cache",
            "--no-held-back", "-o", str(out)]


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal needs the pty module (POSIX)")
def test_on_a_terminal_the_live_line_is_redrawn_with_growing_counts(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    _tree(tmp_path)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # 120 columns
    proc = subprocess.Popen(_argv(tmp_path / "fn.zip"), cwd=tmp_path, env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    seen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=HANG)
    assert proc.returncode == 0, seen.decode(errors="replace")
    text = seen.decode()
    counts = [int(n.replace(",", "")) for n in re.findall(r"compiling ([\d,]+)/[\d,]+ modules", text)]
    assert len(set(counts)) >= 2, text  # redrawn while it ran, not drawn once
    assert counts == sorted(counts), counts  # and only forwards
    assert "\x1b[" in text and "A\x1b[J" in text  # cursor up over the block, erase below
    # The finished stage stays as one line with its duration.
    assert re.search(rf"• compiling {MODULES:,} modules to unchecked-hash bytecode with Python 3\.12[.\d]*: "
                     r"[\d.]+ s", text), text


def test_off_a_terminal_one_line_per_stage_and_no_escapes(tmp_path: Path) -> None:
    _tree(tmp_path)
    # NO_COLOR dropped: off a terminal nothing may be coloured or redrawn anyway.
    r = subprocess.run(_argv(tmp_path / "fn.zip"), cwd=tmp_path, env=clean_env(drop=["NO_COLOR"]),
                       capture_output=True, text=True, timeout=HANG)
    assert r.returncode == 0, r.stderr
    assert not ESCAPE.search(r.stderr), r.stderr
    lines = r.stderr.splitlines()
    stages = [ln for ln in lines if re.search(r": [\d.]+ s$", ln)]
    heads = [ln.split(" ")[1].rstrip(":") for ln in stages]
    assert heads == ["staging", "compiling", "verifying", "packing"], r.stderr
    assert f"• compiling {MODULES:,} modules" in stages[1]
    assert re.fullmatch(r"• packing [\d.]+ [KM]iB of [\d,]+ files into .*fn\.zip: [\d.]+ s", stages[3]), stages[3]
    assert not [ln for ln in lines if "/" in ln.split(":")[0] and "compiling" in ln]  # no live counters
