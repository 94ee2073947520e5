"""The S3 remote cache on the data workload (numpy+pandas, python3.12 x86_64, bytecode on)
against moto in server mode on loopback, in one run, interleaved round by round:

  cold            empty local cache, empty remote, warm uv cache (what a fresh runner pays today)
  cold, no uv     the same with an empty uv cache too (a CI job with no caches at all)
  warm remote     empty local cache and empty uv cache, the remote filled by an earlier build
                  (another runner): the issue's case
  local no-change the local cache warm (the next build on the same runner)

Each round uses fresh local caches (LAMBDAPACK_CACHE_DIR, and UV_CACHE_DIR where empty) and a
fresh bucket; medians of N rounds; ratios against the same run's cold build. Wall time of the
whole CLI process. The issue's goal: warm remote at least 10x faster than cold and under 1 s.
Run: .venv/bin/python bench/remote_cache.py [--runs 5]; writes bench/results/remote_cache.txt
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from motoserver import MotoServer, moto_server  # noqa: E402

REQUIREMENTS = ROOT / "bench" / "workloads" / "data.txt"
BUCKET = "bench-cache"
CASES = ("cold", "cold, no uv cache", "warm remote", "local no-change")


def _build(server: MotoServer, work: Path, cache: Path, uv_cache: Path, remote: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(server.env())
    env.update({"LAMBDAPACK_CACHE_DIR": str(cache), "UV_CACHE_DIR": str(uv_cache)})
    if remote:
        env["LAMBDAPACK_REMOTE_CACHE"] = f"s3://{BUCKET}/team/"
    argv = [sys.executable, "-m", "lambdapack", "build", str(work / "src"), "-r", str(REQUIREMENTS),
            "--runtime", "python3.12", "--arch", "x86_64", "-o", str(work / "function.zip"), "-qq"]
    t = time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if r.returncode != 0 or "warning" in r.stdout + r.stderr:
        raise SystemExit(f"build failed or warned:\n{r.stdout}\n{r.stderr}")
    return seconds


def _round(server: MotoServer, tmp: Path, i: int, warm_uv: Path) -> dict[str, float]:
    server.reset()
    server.client("s3").create_bucket(Bucket=BUCKET)
    work = tmp / f"round-{i}"
    (work / "src").mkdir(parents=True)
    (work / "src" / "lambda_function.py").write_text("import pandas\n\ndef handler(e, c):\n    return 1\n")
    out: dict[str, float] = {}
    out["cold"] = _build(server, work, work / "c-cold", warm_uv, remote=False)
    # Fills the remote, from an empty uv cache (a runner with nothing): also the no-uv-cache cold case.
    out["cold, no uv cache"] = _build(server, work, work / "c-fill", work / "uv-fill", remote=True)
    out["warm remote"] = _build(server, work, work / "c-hit", work / "uv-hit", remote=True)
    out["local no-change"] = _build(server, work, work / "c-hit", work / "uv-hit", remote=True)
    shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    seen: dict[str, list[float]] = {c: [] for c in CASES}
    with tempfile.TemporaryDirectory() as tmp, moto_server(Path(tmp) / "moto") as server:
        warm_uv = Path(tmp) / "uv-warm"
        _round(server, Path(tmp), -1, warm_uv)  # warms the shared uv cache; not counted
        for i in range(runs):
            for case, seconds in _round(server, Path(tmp), i, warm_uv).items():
                seen[case].append(seconds)
    cold = statistics.median(seen["cold"])
    lines = [f"remote cache, data workload (numpy+pandas) python3.12 x86_64, medians of {runs} rounds, "
             f"{os.cpu_count()} cores",
             f"{'case':<20}{'median s':>10}{'min s':>9}{'max s':>9}{'vs cold':>10}"]
    for case in CASES:
        xs = seen[case]
        med = statistics.median(xs)
        lines.append(f"{case:<20}{med:>10.2f}{min(xs):>9.2f}{max(xs):>9.2f}{cold / med:>9.1f}x")
    warm = statistics.median(seen["warm remote"])
    lines.append(f"goal: warm remote >= 10x faster than cold and < 1 s: "
                 f"{'met' if cold / warm >= 10 and warm < 1 else 'NOT met'} ({cold / warm:.1f}x, {warm:.2f} s)")
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results" / "remote_cache.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
