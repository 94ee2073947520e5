"""Throughput of `lambdapack check` against `unzip -t` on the same ~200 MB package.

Builds one layer (numpy + pandas + scipy for python3.12 x86_64, no bytecode, no slimming:
about 200 MB unzipped) once, then times, interleaved, N runs of
  lambdapack check --layer LAYER --runtime python3.12 --arch x86_64 --format json
  unzip -tq LAYER
and prints the median wall time and MB/s (unzipped MB / second) of each, and the ratio.
`unzip -t` decompresses and CRC-checks every member; `check` reads only what its rules
need (every member's first bytes, whole ELF files, RECORDs) and never extracts.
Run: .venv/bin/python bench/check_speed.py [--runs 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REQUIREMENTS = "numpy==2.5.5\npandas==3.1.1\nscipy\n"


def timed(argv: list[str]) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter() - t, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="work in DIR and keep the layer (default: a temp dir, removed)")
    args = ap.parse_args()
    if shutil.which("unzip") is None:
        print("unzip is not on PATH (Debian package `unzip`)", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="lp-check-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        req = work / "requirements.txt"
        req.write_text(REQUIREMENTS, encoding="utf-8")
        layer = work / "layer.zip"
        if not layer.exists():
            subprocess.run([sys.executable, "-m", "lambdapack", "build", "--layer", "--runtime", "python3.12",
                            "--arch", "x86_64", "-r", str(req), "-o", str(layer), "--no-compile", "--slim", "none",
                            "-q", "--format", "json"], check=True, capture_output=True)
        with zipfile.ZipFile(layer) as zf:
            infos = zf.infolist()
        unzipped = sum(i.file_size for i in infos)
        mb = unzipped / 1e6
        lp = [sys.executable, "-m", "lambdapack", "check", "--layer", str(layer), "--runtime", "python3.12",
              "--arch", "x86_64", "--format", "json"]
        uz = ["unzip", "-tq", str(layer)]
        out = subprocess.run(lp, capture_output=True, text=True, check=False)
        findings = json.loads(out.stdout)["summary"]
        timed(lp)
        timed(uz)  # warm the page cache for both
        lp_t: list[float] = []
        uz_t: list[float] = []
        for _ in range(args.runs):
            t, rc = timed(lp)
            assert rc in (0, 1), rc
            lp_t.append(t)
            t, rc = timed(uz)
            assert rc == 0, rc
            uz_t.append(t)
        lp_med, uz_med = statistics.median(lp_t), statistics.median(uz_t)
        print(f"package: {layer.name}, {len(infos)} files, {mb:.1f} MB unzipped, "
              f"{layer.stat().st_size / 1e6:.1f} MB zipped; check summary {findings}")
        print(f"{args.runs} runs each, interleaved, page cache warm, whole-process wall time")
        print(f"{'tool':<22} {'median s':>9} {'min–max s':>13} {'MB/s':>8}")
        for name, ts, med in (("lambdapack check", lp_t, lp_med), ("unzip -t", uz_t, uz_med)):
            print(f"{name:<22} {med:>9.3f} {min(ts):>6.3f}–{max(ts):<6.3f} {mb / med:>8.0f}")
        print(f"lambdapack check / unzip -t time: {lp_med / uz_med:.2f} (goal, issue 14: ≤ 0.50, twice its throughput)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
