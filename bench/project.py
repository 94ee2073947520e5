#!/usr/bin/env python3
"""Benchmark (not a test): building examples/project (three functions, two layers) with one
`lambdapack build`, against building the same five artifacts one command at a time with
lambdapack, and with the AWS recipe (`pip install --platform manylinux2014_x86_64
--only-binary=:all: --target` + `zip`) per artifact.

Scenarios (each run in a fresh copy of the project, so dist/ starts empty unless said):
  cold       an empty lambdapack cache and an empty uv cache (UV_CACHE_DIR): every wheel downloaded
             from PyPI; for pip, an empty PIP_CACHE_DIR
  warm-uv    an empty lambdapack cache, uv's cache warm: resolution, install, compile and zip all
             run, nothing is downloaded (pip: its http cache warm)
  warm-lp    lambdapack's cache warm, dist/ deleted: what a CI job with a restored cache does
  edit       everything warm, dist/ in place, each function's handler edited: the dev loop
  no-change  everything warm, nothing changed: every artifact is reused

Run:  .venv/bin/python bench/project.py [--runs 5] [--cold-runs 3] [--json PATH] > bench/results/project.txt
Progress on stderr, the report on stdout. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compare_build import (
    find_uv,
    first_line,
    log,
    machine_info,
    make_pip_venv,
    pip_env,
    snapshot_lambdapack,
    start_run,
    user_env,
    wait_quiet,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "project"
TARGET = ("python3.12", "x86_64", "3.12", "manylinux2014_x86_64")
LAYERS = {"common": "layers/common.txt", "data": "layers/data.txt"}
FUNCTIONS = {"api": ("functions/api", "app.handler", ["common"]),
             "worker": ("functions/worker", "worker.handler", ["common", "data"]),
             "report": ("functions/report", "report.handler", ["data"])}
SCENARIOS = ("cold", "warm-uv", "warm-lp", "edit", "no-change")
TIMEOUT_S = 1800


@dataclass
class Row:
    method: str
    scenario: str
    seconds: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)  # share of the CPUs other work kept busy before each run
    zipped: int = 0
    artifacts: dict[str, str] = field(default_factory=dict)  # zip name -> sha256
    error: str | None = None


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(cmd[:4])} ...: {(p.stderr or p.stdout).strip()[-400:]}")
    return p.stdout


def name_of(line: str) -> str:
    return re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def names_in(req: Path) -> set[str]:
    return {name_of(ln) for ln in req.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}


class Bench:
    def __init__(self, scratch: Path, lp_path: Path | None, pip_python: Path | None, zip_bin: str | None):
        self.scratch, self.pip_python, self.zip = scratch, pip_python, zip_bin
        self.env = user_env()  # PYTHONDONTWRITEBYTECODE unset, no PIP_*
        if lp_path is not None:
            self.env["PYTHONPATH"] = str(lp_path)
        self.pip_env = pip_env()  # and PIP_CONFIG_FILE=/dev/null: this machine's pip config not read
        self.n = 0

    def env_for(self, method: str, scenario: str) -> dict[str, str]:
        return {**(self.pip_env if method == "pip" else self.env), **self.caches(scenario, method)}

    def fresh(self, label: str) -> Path:
        self.n += 1
        return Path(shutil.copytree(EXAMPLE, self.scratch / f"{self.n:03d}-{label}",
                                    ignore=shutil.ignore_patterns("dist", "__pycache__")))

    def caches(self, scenario: str, method: str) -> dict[str, str]:
        """cold: new empty caches each run; otherwise the bench's warm ones (lambdapack's per method)."""
        tag = f"cold-{self.n}" if scenario == "cold" else "warm"
        lp_tag = f"cold-{self.n}" if scenario in ("cold", "warm-uv") else f"warm-{method}"
        return {"UV_CACHE_DIR": str(self.scratch / f"uv-cache-{tag}"),
                "LAMBDAPACK_CACHE_DIR": str(self.scratch / f"lp-cache-{lp_tag}"),
                "PIP_CACHE_DIR": str(self.scratch / f"pip-cache-{tag}")}

    def lp(self, args: list[str], cwd: Path, env: dict[str, str]) -> str:
        return sh([sys.executable, "-m", "lambdapack", *args], cwd, env)

    # Each method: prepare (untimed) returns the project folder and a timed action.
    def project(self, proj: Path, env: dict[str, str]) -> None:
        self.lp(["build", "-q"], proj, env)

    def singles(self, proj: Path, env: dict[str, str]) -> None:
        runtime, arch = TARGET[0], TARGET[1]
        t = ["--runtime", runtime, "--arch", arch, "-q"]
        for name, req in LAYERS.items():
            self.lp(["build", "--layer", "-r", req, "-o", f"dist/layer-{name}.zip", *t], proj, env)
        for name, (src, handler, layers) in FUNCTIONS.items():
            with_layers = [a for n in layers for a in ("--with-layer", f"dist/layer-{n}.zip")]
            self.lp(["build", src, "-r", f"{src}/requirements.txt", "--handler", handler, *with_layers,
                     "-o", f"dist/{name}.zip", *t], proj, env)

    def pip(self, proj: Path, env: dict[str, str]) -> None:
        assert self.pip_python is not None and self.zip is not None
        _r, _a, version, platform = TARGET
        dist = proj / "dist"
        dist.mkdir(exist_ok=True)

        def install(req: Path, into: Path) -> None:
            sh([str(self.pip_python), "-m", "pip", "install", "-q", "--platform", platform, "--implementation", "cp",
                "--python-version", version, "--only-binary=:all:", "--target", str(into), "-r", str(req)], proj, env)

        for name, req in LAYERS.items():
            work = proj / "build" / f"layer-{name}"
            install(proj / req, work / "python")
            sh([self.zip, "-r", "-q", str(dist / f"layer-{name}.zip"), "python"], work, env)
        for name, (src, _handler, layers) in FUNCTIONS.items():
            # pip cannot leave out what the layers ship: the user keeps a second file without it.
            shipped = set().union(*(names_in(proj / LAYERS[n]) for n in layers))
            own = [ln for ln in (proj / src / "requirements.txt").read_text(encoding="utf-8").splitlines()
                   if ln.strip() and not ln.startswith("#") and name_of(ln) not in shipped]
            work = proj / "build" / name
            shutil.copytree(proj / src, work, ignore=shutil.ignore_patterns("requirements.txt"))
            if own:
                (proj / "build" / f"{name}-own.txt").write_text("\n".join(own) + "\n", encoding="utf-8")
                install(proj / "build" / f"{name}-own.txt", work)
            sh([self.zip, "-r", "-q", str(dist / f"{name}.zip"), "."], work, env)


def artifacts(proj: Path) -> tuple[int, dict[str, str]]:
    zips = sorted((proj / "dist").glob("*.zip"))
    return sum(z.stat().st_size for z in zips), {z.name: hashlib.sha256(z.read_bytes()).hexdigest() for z in zips}


def edit_handlers(proj: Path, k: int) -> None:
    for src, _handler, _layers in FUNCTIONS.values():
        for py in (proj / src).glob("*.py"):
            py.write_text(py.read_text(encoding="utf-8") + f"\n# edit {k}\n", encoding="utf-8")


def one_run(b: Bench, method: str, scenario: str, k: int, max_busy: float,
            max_wait: float) -> tuple[float, float, Path]:
    action: Callable[[Path, dict[str, str]], None] = {"project": b.project, "singles": b.singles, "pip": b.pip}[method]
    if scenario in ("cold", "warm-uv"):
        proj = b.fresh(f"{method}-{scenario}")
        env = b.env_for(method, scenario)
    else:
        # warm-lp / edit / no-change: a warm-up build first (untimed) in this folder, with the warm caches.
        proj = b.fresh(f"{method}-{scenario}")
        env = b.env_for(method, scenario)
        action(proj, env)
        if scenario == "warm-lp":
            shutil.rmtree(proj / "dist")
            shutil.rmtree(proj / "build", ignore_errors=True)
        elif scenario == "edit":
            edit_handlers(proj, k)
        if method == "pip":  # pip rebuilds everything each time: its work folder must start empty
            shutil.rmtree(proj / "build", ignore_errors=True)
            shutil.rmtree(proj / "dist", ignore_errors=True)
    busy, _waited = wait_quiet(max_busy, max_wait)
    t0 = time.perf_counter()
    action(proj, env)
    return time.perf_counter() - t0, busy, proj


def table(rows: list[Row], reference: dict[str, str]) -> str:
    head = ["method", "scenario", "runs", "median s", "min–max s", "5 zips MB", "same bytes as project"]
    lines = [head]
    for r in rows:
        if r.error or not r.seconds:
            lines.append([r.method, r.scenario, "0", "fails", "", "", (r.error or "")[:80]])
            continue
        same = ("yes" if r.artifacts == reference else
                f"{sum(r.artifacts.get(n) == h for n, h in reference.items())} of {len(reference)}")
        lines.append([r.method, r.scenario, str(len(r.seconds)), f"{statistics.median(r.seconds):.2f}",
                      f"{min(r.seconds):.2f}–{max(r.seconds):.2f}", f"{r.zipped / 1e6:.2f}", same])
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) if 2 <= i <= 5 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(x, widths, strict=True))).rstrip() for x in lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5, help="timed runs per warm scenario (default 5)")
    p.add_argument("--cold-runs", type=int, default=3, help="timed cold runs (default 3)")
    p.add_argument("--methods", default="project,singles,pip")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--json", type=Path, metavar="PATH")
    p.add_argument("--max-busy", type=float, default=0.25)
    p.add_argument("--max-wait", type=float, default=60)
    p.add_argument("--scratch", type=Path)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    scratch, own = start_run(args.scratch, "lp-bench-project-")
    try:
        lp_path, lp_info = snapshot_lambdapack(scratch, None)
        methods = args.methods.split(",")
        pip_python, pip_err = make_pip_venv(scratch, "pip") if "pip" in methods else (None, None)
        b = Bench(scratch, lp_path, pip_python, shutil.which("zip"))
        plan = [(m, s) for m in methods for s in args.scenarios.split(",")
                if not (m == "pip" and s in ("warm-lp", "no-change"))]  # pip has no cache of artifacts
        rows = {(m, s): Row(m, s) for m, s in plan}
        # Untimed: fill the warm uv and pip caches, so that the first warm-uv runs are warm too.
        log("warming uv's and pip's caches ...")
        b.project(b.fresh("warmup"), b.env_for("project", "warm-uv"))
        if pip_python is not None:
            b.pip(b.fresh("warmup-pip"), b.env_for("pip", "warm-uv"))
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        t_all = time.perf_counter()
        for k in range(max(args.runs, args.cold_runs)):
            for m, s in plan:  # interleaved, to spread the machine's noise over every row
                row = rows[(m, s)]
                if row.error or k >= (args.cold_runs if s == "cold" else args.runs):
                    continue
                log(f"run {k + 1}: {m} {s} ...")
                try:
                    secs, busy, proj = one_run(b, m, s, k, args.max_busy, args.max_wait)
                except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                    row.error = str(e)
                    log(f"  fails: {e}")
                    continue
                row.seconds.append(secs)
                row.busy.append(busy)
                row.zipped, row.artifacts = artifacts(proj)
                log(f"  {secs:.2f}s")
        total = time.perf_counter() - t_all
        busy = [x for r in rows.values() for x in r.busy]
        load = (f"other CPU load just before each timed run (/proc/stat, after waiting up to {args.max_wait:.0f}s "
                f"for it to drop under {args.max_busy:.0%}): median {statistics.median(busy):.0%}, "
                f"max {max(busy):.0%}; {sum(x > args.max_busy for x in busy)} of {len(busy)} runs started above it"
                if busy else "")
        ref = rows.get(("project", "warm-uv")) or next(iter(rows.values()))
        # The summary table of one more no-change build, as the user sees it.
        proj = b.fresh("summary")
        env = b.env_for("project", "no-change")
        b.lp(["build", "-q"], proj, env)
        summary = b.lp(["build"], proj, env)
        lp_version = first_line([sys.executable, "-m", "lambdapack", "--version"], b.env)
        uv = find_uv()
        pip_version = (first_line([str(pip_python), "-m", "pip", "--version"], pip_env()) if pip_python
                       else pip_err or "pip not run")
        machine = machine_info()
        out = [
            "project benchmark: examples/project (3 functions, 2 layers; python3.12 x86_64) built with one",
            "  `lambdapack build` vs five single `lambdapack build` commands vs pip --platform + zip per artifact",
            f"started {started}; total {total:.0f}s; timed runs: cold {args.cold_runs}, others {args.runs}; "
            "interleaved; wall clock of the whole sequence (process start-up included)",
            "scenarios: cold = empty lambdapack cache and empty uv cache (pip: empty pip cache), every wheel",
            "  downloaded; warm-uv = empty lambdapack cache, uv's cache warm (pip: its http cache warm);",
            "  warm-lp = lambdapack's cache warm, dist/ deleted (a CI job with a restored cache); edit = all warm,",
            "  each function's handler edited; no-change = all warm, nothing changed. Fresh copy of the project per run.",
            "methods: project = `lambdapack build -q` in the project folder (layers in parallel, -j = CPUs);",
            "  singles = `lambdapack build --layer -r ... -o dist/layer-X.zip` twice, then",
            "  `lambdapack build SRC -r SRC/requirements.txt --with-layer dist/layer-X.zip ... -o dist/F.zip` three",
            "  times, one after another (the same artifacts; what a Makefile or a shell loop does);",
            "  pip = `pip install -q --platform manylinux2014_x86_64 --implementation cp --python-version 3.12",
            "  --only-binary=:all: --target DIR -r REQ` + `zip -r -q` per artifact (layers under python/); pip cannot",
            "  leave out what a layer ships, so each function gets a second file without its layers' packages",
            "  (api: python-dateutil; worker: nothing; report: tabulate). PYTHONDONTWRITEBYTECODE unset; pip runs",
            "  with PIP_CONFIG_FILE=/dev/null. 'same bytes' compares each zip's sha256 with project warm-uv's.",
            f"versions: {lp_version} (working tree copied at start, commit {lp_info.get('commit')}); "
            f"{first_line([uv, '--version']) if uv else 'uv absent'}; {pip_version}",
            f"machine: nproc {machine['nproc']} ({machine['cpu']}), python {machine['python']}, {machine['platform']}",
            load,
            "",
            table(list(rows.values()), ref.artifacts),
            "",
            "per-run wall seconds (and the other CPU load before each), in run order:",
            *(f"  {r.method:8} {r.scenario:9} " + "  ".join(f"{x:.2f} ({y:.0%})" for x, y in zip(r.seconds, r.busy,
                                                                                              strict=True))
              for r in rows.values()),
            "",
            "the project's summary table (a no-change `lambdapack build`):",
            summary.rstrip(),
        ]
        print("\n".join(out))
        if args.json:
            args.json.write_text(json.dumps({"started": started, "total_s": total, "machine": machine,
                                             "rows": [asdict(r) for r in rows.values()]}, indent=2) + "\n",
                                 encoding="utf-8")
        return 0
    finally:
        if own:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
