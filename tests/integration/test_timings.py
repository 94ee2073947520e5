"""`build --timings`: the table adds up, and a real build prints it on stderr with its stages."""

from __future__ import annotations

import re
from pathlib import Path

from lp_helpers import run_lp, write_handler

from lambdapack.cli.timings import timings_table
from lambdapack.progress import BYTES, Stage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _rows(text: str) -> dict[str, float]:
    return {m[1].strip(): float(m[2]) for m in re.finditer(r"^  (.+?)\s+(\d+\.\d{3})$", text, re.M)}


def test_rows_add_up_to_the_total_with_the_time_outside_stages() -> None:
    clock = Clock()
    a = Stage("compiling", 513, "module", "to unchecked-hash bytecode", clock=clock)
    clock.now = 1.25
    a.end()
    b = Stage("packing", 105 * 2**20, BYTES, "into f.zip", clock=clock)
    clock.now = 2.0
    b.end()
    running = Stage("resolving and installing for python3.12 x86_64 (Amazon Linux 2023) with uv", clock=clock)
    clock.now = 2.5
    rows = _rows(timings_table([a.snapshot(), b.snapshot(), running.snapshot()], 3.0))
    assert rows["compiling 513 modules"] == 1.25
    assert rows["packing 105.0 MiB"] == 0.75
    assert rows["resolving and installing for python3.12 x86_64 … (still running)"] == 0.5
    assert rows["outside any stage (preflight, keys, hashing, reports)"] == 0.5
    assert rows["total, from the start of the build"] == 3.0


def test_overlapping_stages_never_make_the_outside_row_negative() -> None:
    clock = Clock()
    a = Stage("a", clock=clock)
    b = Stage("b", clock=clock)
    clock.now = 2.0
    a.end()
    b.end()
    assert _rows(timings_table([a.snapshot(), b.snapshot()], 3.0))[
        "outside any stage (preflight, keys, hashing, reports)"] == 0.0


def test_a_real_build_prints_its_stages_after_the_result(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "f.zip"),
                "--no-compile", "--no-cache", "-q", "--timings"], cwd=tmp_path)
    assert r.returncode == 0, r.explain()
    assert r.stdout.startswith(str(tmp_path / "f.zip"))  # the result stays alone on stdout
    rows = _rows(r.stderr)
    assert "timings (wall seconds):" in r.stderr
    assert any(k.startswith("packing ") for k in rows) and "staging" in rows, r.stderr
    total = rows.pop("total, from the start of the build")
    assert abs(sum(rows.values()) - total) <= 0.001 * len(rows) + 0.001, r.stderr
    plain = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "g.zip"),
                    "--no-compile", "-q"], cwd=tmp_path)
    assert "timings" not in plain.stderr
