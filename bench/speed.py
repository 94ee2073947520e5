#!/usr/bin/env python3
"""Benchmark (not a test): lambdapack build speed, cold and incremental, against uv+zip, pip+zip and sam.

Issue 5. One table from one invocation: for each (workload, Lambda target) every
scenario and every baseline runs `--runs` times (default 5), interleaved, and the
table shows medians and ratios against the same run's uv+zip.

lambdapack scenarios (`python -m lambdapack build HANDLER_DIR --runtime R --arch A -r REQ -o ZIP`):
  cold --no-compile  a fresh, empty --cache-dir per run (uv's cache warm): resolve, install,
                     verify, zip; no bytecode, like uv+zip
  cold               the same with the default options (hash-based .pyc when a local Python
                     of the target's version exists)
  no-change          the same command again in the same directory, its zip in place, after one
                     build and one no-change run (untimed): what a developer's second `build` is.
                     Its own warm cache: a build in between that uses (and so touches) the same
                     cache entries makes the next no-change run take the normal path (~0.2 s)
  code-only          handler.py edited before every build, cache warm
Baselines (a full build every time: none of them has an incremental mode used here):
  uv+zip   `uv pip install --target DIR --python-platform <arch>-manylinux_2_34` (3.12) /
           `_2_17` (3.11) `--python-version X.Y --only-binary :all: --no-installer-metadata
           --no-compile-bytecode -r REQ`, then `cd DIR && zip -r -q ../function.zip .`
  pip+zip  `pip install --platform manylinux2014_<arch> --implementation cp --python-version X.Y
           --only-binary=:all: --target DIR -r REQ` + zip (the AWS recipe; pip from a venv
           created in the scratch dir, clean pip environment)
  sam      `sam build` of a one-function template + zip, when `sam` is on PATH (blank otherwise)

Every lambdapack build runs inside a helper Python process that runs exactly that one
build and reports its wall time and resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: the
peak RSS of the largest process of the build (lambdapack itself or a uv it started).

Run:  .venv/bin/python bench/speed.py [--runs 5] [--workloads api,data,native]
          [--targets py312-x86_64,py312-arm64,py311-x86_64] [--json PATH] [--quick]

Progress goes to stderr; the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from compare_build import (
    TARGETS,
    StepFailed,
    Target,
    find_uv,
    first_line,
    log,
    machine_info,
    make_pip_venv,
    pip_env,
    run,
    snapshot_lambdapack,
    start_run,
    user_env,
    wait_quiet,
)

HERE = Path(__file__).resolve().parent
WORKLOAD_DIR = HERE / "workloads"
WORKLOADS = ("api", "data", "native")
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
HELPER_TIMEOUT_S = 1800

# The helper: runs exactly one build, times it, reports the peak RSS of its descendants.
HELPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "dt = time.perf_counter() - t\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': p.returncode, 'seconds': dt, 'maxrss_kb': r.ru_maxrss,\n"
    "                  'cpu_s': r.ru_utime + r.ru_stime, 'stdout': p.stdout, 'stderr': p.stderr[-4000:]}))\n"
)

# scenario name -> (label, lambdapack extra args, fresh cache per run, edit handler per run)
SCENARIOS: dict[str, tuple[str, tuple[str, ...], bool, bool]] = {
    "cold-nc": ("cold build --no-compile", ("--no-compile",), True, False),
    "cold": ("cold build (default, .pyc)", (), True, False),
    "no-change": ("no-change rebuild", (), False, False),
    "code-only": ("code-only change", (), False, True),
}
# "pass": `python -I -c pass` through the same timing helper: the interpreter's own start-up, the
# floor of a no-change rebuild. "uv-cb+zip": uv with --compile-bytecode (timestamp .pyc, compiled
# by the target version's interpreter, found as lambdapack finds it), the fair cold comparison.
BASELINES = ("uv+zip", "uv-cb+zip", "pip+zip", "sam", "pass")


def req_file(wl: str, target: Target) -> Path:
    if wl == "data" and target.version == "3.11":
        return WORKLOAD_DIR / "data-py311.txt"
    return WORKLOAD_DIR / f"{wl}.txt"


@dataclass
class Cell:
    workload: str
    target: str
    method: str  # a scenario name or a baseline
    status: str = "ok"  # ok | fails | missing
    error: str | None = None
    seconds: list[float] = field(default_factory=list)
    maxrss_kb: list[int] = field(default_factory=list)
    cached: list[bool] = field(default_factory=list)
    zip_bytes: int = 0
    pyc: int = 0
    busy_before: list[float] = field(default_factory=list)

    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.status == "ok" and self.seconds else None


class Runner:
    def __init__(self, scratch: Path, uv: str | None, pip_python: Path | None, zip_bin: str | None,
                 sam: str | None, lp_path: Path | None):
        self.scratch = scratch
        self.uv, self.pip_python, self.zip, self.sam = uv, pip_python, zip_bin, sam
        self.env = user_env()
        self.pip_env = pip_env()
        self.lp_env = dict(self.env)
        if lp_path is not None:
            self.lp_env["PYTHONPATH"] = str(lp_path)
        self.handler = scratch / "handler"
        self.handler.mkdir(exist_ok=True)
        (self.handler / "handler.py").write_text(HANDLER, encoding="utf-8")
        self.edits = 0
        self.count = 0

    def same_dir(self, wl: str, tkey: str) -> Path:
        """The one directory every no-change run of a row builds in (the same command again)."""
        d = self.scratch / "no-change" / f"{wl}-{tkey}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def fresh_dir(self, name: str) -> Path:
        self.count += 1
        d = self.scratch / "runs" / f"{self.count:04d}-{name}"
        d.mkdir(parents=True)
        return d

    def lambdapack(self, scenario: str, target: Target, req: Path, warm_cache: Path,
                   run_dir: Path) -> dict[str, Any]:
        _, extra, fresh, edit = SCENARIOS[scenario]
        src = self.handler
        if edit:
            src = self.scratch / "handler-edited"
            src.mkdir(exist_ok=True)
            self.edits += 1
            (src / "handler.py").write_text(f"{HANDLER}# edit {self.edits}\n", encoding="utf-8")
        cache = run_dir / "lambdapack-cache" if fresh else warm_cache
        if scenario == "no-change":
            cache = warm_cache.with_name(warm_cache.name + "-no-change")  # see the module's doc
        cmd = [sys.executable, "-m", "lambdapack", "build", str(src), "--runtime", target.runtime,
               "--arch", target.arch, "-r", str(req), "-o", str(run_dir / "function.zip"),
               "--cache-dir", str(cache), "-q", "--format", "json", *extra]
        rep = self.helper(cmd, run_dir, self.lp_env)
        if rep["rc"] != 0:
            lines = [ln for ln in (rep["stderr"] + "\n" + rep["stdout"]).splitlines() if ln.strip()]
            err = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "no output")
            raise StepFailed(f"exit {rep['rc']}: {err.strip()[:240]}")
        try:
            rep["cached"] = bool(json.loads(rep["stdout"]).get("cached"))
        except ValueError:
            rep["cached"] = False
        return rep

    def baseline(self, method: str, target: Target, req: Path, run_dir: Path) -> None:
        pkg = run_dir / "pkg"
        if method in ("uv+zip", "uv-cb+zip"):
            assert self.uv is not None
            cb = method == "uv-cb+zip"
            python = self.target_python(target) if cb else sys.executable
            run([self.uv, "pip", "install", "--target", str(pkg), "--python", python,
                 "--python-platform", target.uv_platform, "--python-version", target.version,
                 "--only-binary", ":all:", "--no-installer-metadata",
                 "--compile-bytecode" if cb else "--no-compile-bytecode", "-r", str(req)], run_dir, self.env)
        elif method == "pip+zip":
            assert self.pip_python is not None
            run([str(self.pip_python), "-m", "pip", "install", "--platform", target.pip_platform,
                 "--implementation", "cp", "--python-version", target.version,
                 "--only-binary=:all:", "--target", str(pkg), "-r", str(req)], run_dir, self.pip_env)
        elif method == "sam":
            assert self.sam is not None
            proj = run_dir / "sam"
            code = proj / "src"
            code.mkdir(parents=True)
            shutil.copy2(req, code / "requirements.txt")
            arch = "arm64" if target.arch == "arm64" else "x86_64"
            (proj / "template.yaml").write_text(
                "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
                "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                f"      CodeUri: src/\n      Handler: handler.handler\n      Runtime: {target.runtime}\n"
                f"      Architectures: [{arch}]\n", encoding="utf-8")
            shutil.copy2(self.handler / "handler.py", code / "handler.py")
            env = dict(self.pip_env, SAM_CLI_TELEMETRY="0")
            run([self.sam, "build", "--template-file", "template.yaml", "--build-dir", str(run_dir / "build")],
                proj, env)
            pkg = run_dir / "build" / "Fn"
        else:
            raise ValueError(method)
        if method != "sam":
            shutil.copy2(self.handler / "handler.py", pkg / "handler.py")
        assert self.zip is not None
        run([self.zip, "-r", "-q", str(run_dir / "function.zip"), "."], pkg, self.env)

    def target_python(self, target: Target) -> str:
        from lambdapack.host.interpreters import find_interpreter

        found = find_interpreter(tuple(int(x) for x in target.version.split(".")))  # type: ignore[arg-type]
        if found is None:
            raise StepFailed(f"no Python {target.version} on this machine")
        return found.path

    def helper(self, cmd: list[str], run_dir: Path, env: dict[str, str]) -> dict[str, Any]:
        """Run `cmd` inside the timing helper: its wall time and its peak RSS."""
        try:
            p = subprocess.run([sys.executable, "-c", HELPER, *cmd], capture_output=True, text=True,
                               env=env, cwd=run_dir, timeout=HELPER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"timed out after {HELPER_TIMEOUT_S}s") from None
        try:
            rep: dict[str, Any] = json.loads(p.stdout)
        except ValueError:
            raise StepFailed(f"helper failed: {(p.stderr or p.stdout).strip()[-240:]}") from None
        return rep

    def missing(self, method: str) -> str | None:
        if method in ("uv+zip", "uv-cb+zip") and self.uv is None:
            return "uv not found"
        if method == "pip+zip" and self.pip_python is None:
            return "pip venv could not be created"
        if method == "sam" and self.sam is None:
            return "sam not on PATH"
        if method in BASELINES and self.zip is None:
            return "Info-ZIP `zip` not on PATH"
        return None


def pyc_count(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return sum(1 for n in zf.namelist() if n.endswith(".pyc"))


def bench(args: argparse.Namespace, r: Runner) -> list[Cell]:
    cells: list[Cell] = []
    methods = [*SCENARIOS, *BASELINES]
    for wl in args.workloads:
        for tkey in args.targets:
            target = TARGETS[tkey]
            req = req_file(wl, target)
            row = {m: Cell(wl, tkey, m) for m in methods}
            warm_cache = r.scratch / "warm-cache" / f"{wl}-{tkey}"
            # warm-ups, untimed: uv's cache, pip's http cache, lambdapack's warm cache
            for m in ("uv+zip", "uv-cb+zip", "no-change", "code-only", "pip+zip", "sam", "pass"):
                why = r.missing(m) if m in BASELINES else None
                if why:
                    row[m].status, row[m].error = "missing", why
                    continue
                d = r.same_dir(wl, tkey) if m == "no-change" else r.fresh_dir(f"{wl}-{tkey}-{m}-warmup")
                t0 = time.perf_counter()
                try:
                    if m == "pass":
                        r.helper([sys.executable, "-I", "-c", "pass"], d, r.env)
                    elif m in BASELINES:
                        r.baseline(m, target, req, d)
                    else:
                        # no-change: a build, then the same command once (it seals the run).
                        for _ in range(2 if m == "no-change" else 1):
                            r.lambdapack(m, target, req, warm_cache, d)
                    log(f"[{wl} {tkey}] warm-up {m}: {time.perf_counter() - t0:.2f}s")
                except StepFailed as e:
                    row[m].status, row[m].error = "fails", str(e)
                    log(f"[{wl} {tkey}] warm-up {m}: FAILS {e}")
                if m != "no-change":
                    shutil.rmtree(d, ignore_errors=True)
            live = [m for m in methods if row[m].status == "ok"]  # interleaved in table order
            for i in range(args.runs):
                for m in live:
                    cell = row[m]
                    if cell.status != "ok":
                        continue
                    d = r.same_dir(wl, tkey) if m == "no-change" else r.fresh_dir(f"{wl}-{tkey}-{m}-{i}")
                    busy, _ = wait_quiet(args.max_busy, args.max_wait)
                    cell.busy_before.append(busy)
                    try:
                        if m in SCENARIOS:
                            rep = r.lambdapack(m, target, req, warm_cache, d)
                            dt = float(rep["seconds"])
                            cell.maxrss_kb.append(int(rep["maxrss_kb"]))
                            cell.cached.append(bool(rep["cached"]))
                        elif m == "pass":  # timed inside the helper, as lambdapack is
                            dt = float(r.helper([sys.executable, "-I", "-c", "pass"], d, r.env)["seconds"])
                        else:
                            t0 = time.perf_counter()
                            r.baseline(m, target, req, d)
                            dt = time.perf_counter() - t0
                        cell.seconds.append(dt)
                        if not cell.zip_bytes and m != "pass":
                            cell.zip_bytes = (d / "function.zip").stat().st_size
                            cell.pyc = pyc_count(d / "function.zip")
                        extra = f", peak RSS {cell.maxrss_kb[-1] / 1024:.0f} MB" if m in SCENARIOS else ""
                        log(f"[{wl} {tkey}] run {i + 1}/{args.runs} {m}: {dt:.2f}s{extra} (other load {busy:.0%})")
                    except StepFailed as e:
                        cell.status, cell.error = "fails", str(e)
                        log(f"[{wl} {tkey}] run {i + 1}/{args.runs} {m}: FAILS {e}")
                    if m != "no-change":
                        shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(warm_cache, ignore_errors=True)
            shutil.rmtree(warm_cache.with_name(warm_cache.name + "-no-change"), ignore_errors=True)
            shutil.rmtree(r.same_dir(wl, tkey), ignore_errors=True)
            cells.extend(row.values())
    return cells


def _s(x: float | None) -> str:
    return f"{x:.2f}" if x is not None else ""


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a is not None and b else ""


def goals(c: Cell, base: dict[str, float | None]) -> str:
    """Issue 14's goals, as lambdapack's time over the same run's baseline (lower is faster)."""
    med = c.median()
    if med is None:
        return ""
    uv, cb, floor = base["uv+zip"], base["uv-cb+zip"], base["pass"]
    out = []

    def say(name: str, ok: bool) -> None:
        out.append(f"{name}: {'ok' if ok else 'MISS'}")

    heavy = c.workload in ("data", "native")
    if c.method == "cold" and heavy:
        if cb:
            say("≤0.8× uv-cb", med / cb <= 0.8)
        if uv:
            say("≤1.3× uv", med / uv <= 1.3)
    elif c.method == "cold-nc" and c.workload == "data" and uv:
        say("≤0.6× uv", med / uv <= 0.6)
    elif c.method == "no-change" and floor:
        say("≤3× pass", med / floor <= 3)
    elif c.method == "code-only" and c.workload == "data":
        say("<0.4 s", med < 0.4)
    if c.maxrss_kb:
        say("RSS<250 MB", max(c.maxrss_kb) / 1024 < 250)
    return ", ".join(out)


def table(cells: list[Cell]) -> tuple[str, list[str]]:
    head = ["workload", "target", "scenario", "lambdapack s", "min–max s", "uv+zip s", "lp/uv", "uv-cb+zip s",
            "lp/uv-cb", "python -I s", "lp/pass", "pip+zip s", "peak RSS MB", ".pyc", "goal"]
    by = {(c.workload, c.target, c.method): c for c in cells}
    rows: list[list[str]] = []
    notes: list[str] = []
    keys = list(dict.fromkeys((c.workload, c.target) for c in cells))
    for wl, tk in keys:
        bases = {b: by[(wl, tk, b)] for b in BASELINES}
        med = {b: c.median() for b, c in bases.items()}

        def base(c: Cell) -> str:
            if c.status == "ok":
                return f"{c.median():.3f}" if c.method == "pass" else _s(c.median())
            return "fails" if c.status == "fails" else ""

        for b in bases.values():
            if b.status != "ok" and (b.status == "fails" or b.method != "sam"):
                notes.append(f"{wl} {tk} {b.method} {b.status}: {b.error}")
        for sc, (label, *_rest) in SCENARIOS.items():
            c = by[(wl, tk, sc)]
            fixed = [base(bases["uv+zip"]), base(bases["uv-cb+zip"]), base(bases["pass"]), base(bases["pip+zip"])]
            if c.status != "ok" or not c.seconds:
                rows.append([wl, tk, label, c.status, "", fixed[0], "", fixed[1], "", fixed[2], "", fixed[3],
                             "", "", ""])
                notes.append(f"{wl} {tk} {label} {c.status}: {c.error}")
                continue
            m = c.median()
            assert m is not None
            if sc == "no-change" and not all(c.cached):
                notes.append(f"{wl} {tk} {label}: {c.cached.count(False)} of {len(c.cached)} runs were not "
                             "served from the cache")
            if sc != "no-change" and any(c.cached):
                notes.append(f"{wl} {tk} {label}: {c.cached.count(True)} runs unexpectedly served from the cache")
            rows.append([
                wl, tk, label, f"{m:.3f}" if m < 1 else _s(m), f"{min(c.seconds):.2f}–{max(c.seconds):.2f}",
                fixed[0], _ratio(m, med["uv+zip"]), fixed[1], _ratio(m, med["uv-cb+zip"]), fixed[2],
                _ratio(m, med["pass"]) if sc == "no-change" else "", fixed[3], f"{max(c.maxrss_kb) / 1024:.0f}", str(c.pyc), goals(c, med),
            ])
        rows.append([])
    rows = rows[:-1]
    widths = [max(len(r[i]) for r in [head, *rows] if r) for i in range(len(head))]
    right = set(range(3, 14))

    def fmt(r: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip()

    lines = [fmt(head), "  ".join("-" * w for w in widths), *(fmt(r) if r else "" for r in rows)]
    return "\n".join(lines), notes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, help="timed runs per scenario and baseline (default 5; 2 with --quick)")
    p.add_argument("--workloads", help="comma list of api,data,native (default all; data with --quick)")
    p.add_argument("--targets", help=f"comma list of {', '.join(TARGETS)} (default all; py312-x86_64 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test the script: 1 workload (data), 1 target (py312-x86_64), 2 runs, no waiting "
                   "for a quiet CPU")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results here")
    p.add_argument("--pip-spec", default="pip", help="pip for the pip+zip venv: 'pip' (newest), 'pip==24.0', 'bundled'")
    p.add_argument("--no-snapshot", action="store_true",
                   help="run the live lambdapack install instead of a copy taken at start")
    p.add_argument("--max-busy", type=float, default=0.25, metavar="SHARE",
                   help="before each timed run wait while other work keeps more than this share of the CPUs "
                   "busy (default 0.25)")
    p.add_argument("--max-wait", type=float, metavar="S",
                   help="wait at most this long per run for the CPUs to quieten (default 20; 0 with --quick)")
    p.add_argument("--scratch", type=Path, help="work directory (default: a new temp dir, removed after)")
    a = p.parse_args(argv)
    a.runs = a.runs if a.runs is not None else (2 if a.quick else 5)
    a.max_wait = a.max_wait if a.max_wait is not None else (0.0 if a.quick else 20.0)
    a.workloads = [w for w in (a.workloads or ("data" if a.quick else ",".join(WORKLOADS))).split(",") if w]
    a.targets = [t for t in (a.targets or ("py312-x86_64" if a.quick else ",".join(TARGETS))).split(",") if t]
    for name, given, known in (("workload", a.workloads, WORKLOADS), ("target", a.targets, TARGETS)):
        bad = [g for g in given if g not in known]
        if bad:
            p.error(f"unknown {name}(s): {', '.join(bad)}; choose from {', '.join(known)}")
    if a.runs < 1:
        p.error("--runs must be at least 1")
    return a


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scratch, own_scratch = start_run(args.scratch, "lp-speed-")
    try:
        uv, zip_bin, sam = find_uv(), shutil.which("zip"), shutil.which("sam")
        log("creating the pip venv ...")
        pip_python, pip_err = make_pip_venv(scratch, args.pip_spec)
        if pip_err:
            log(pip_err)
        lp_path, lp_info = (None, {"snapshot": False})
        if not args.no_snapshot:
            lp_path, lp_info = snapshot_lambdapack(scratch, None)
            lp_info["snapshot"] = lp_path is not None
        runner = Runner(scratch, uv, pip_python, zip_bin, sam, lp_path)
        versions = {
            "lambdapack": first_line([sys.executable, "-m", "lambdapack", "--version"], runner.lp_env),
            "uv": first_line([uv, "--version"]) if uv else None,
            "pip": first_line([str(pip_python), "-m", "pip", "--version"], pip_env()) if pip_python else pip_err,
            "sam": first_line([sam, "--version"]) if sam else None,
        }
        if versions["pip"]:
            versions["pip"] = versions["pip"].split(" from ")[0] + " (own venv)"
        m = machine_info()
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        t0 = time.perf_counter()
        cells = bench(args, runner)
        total = time.perf_counter() - t0
        tab, notes = table(cells)
        busy = [b for c in cells for b in c.busy_before]
        snap = (f"copy of the working tree taken at start, commit {lp_info.get('commit')}, tree "
                f"{lp_info.get('tree_sha256')}" if lp_info.get("snapshot") else "live install")
        out = [
            "lambdapack build speed (issues 5, 14): cold, no-change and code-only builds vs uv+zip, "
            "uv --compile-bytecode+zip, python -I -c pass, pip+zip, sam",
            f"started {started}; total {total:.0f}s; {args.runs} timed runs per row, interleaved "
            "(cold --no-compile, cold, no-change, code-only, uv+zip, pip+zip, sam, ...), each into a fresh dir",
            "versions: " + "; ".join(f"{k} {v or 'absent'}" if not (v or "").lower().startswith(k) else v
                                     for k, v in versions.items()) + f" [lambdapack: {snap}]",
            f"machine: nproc {m['nproc']} ({m['cpu']}), python {m['python']}, {m['platform']}",
            *([f"other CPU load just before each timed run: median {statistics.median(busy):.0%}, "
               f"max {max(busy):.0%} (waited up to {args.max_wait:.0f}s per run for it to drop under "
               f"{args.max_busy:.0%})"] if busy else []),
            "workloads: " + "; ".join(
                f"{w} {t}: {' '.join(x.strip() for x in req_file(w, TARGETS[t]).read_text().splitlines() if x.strip())}"
                for w in args.workloads for t in args.targets),
            "scenarios: cold = a fresh empty lambdapack --cache-dir per run, uv's cache warm (a developer",
            "  machine); `--no-compile` ships no bytecode like uv+zip, the default ships hash-based .pyc (when",
            "  a local Python of the target's version exists; the .pyc column says); verification included.",
            "  no-change = the same command again in the same directory, its zip in place (untimed: one build,\n"
            "  then one no-change run, which seals it; its own warm cache); code-only = handler.py",
            "  edited before every build, cache warm.",
            "baselines: one untimed warm-up each, then a full build per run into a fresh directory (uv+zip: fresh",
            "  --target dir, uv cache warm; pip+zip: own venv, PIP_CONFIG_FILE=/dev/null, no PIP_* variables,",
            "  PYTHONDONTWRITEBYTECODE unset; sam: `sam build` without --cached/--use-container + zip). They have",
            "  no incremental mode here, so the same baseline figures stand beside every scenario.",
            "  uv-cb+zip: the same uv command with --compile-bytecode (timestamp .pyc, compiled by a local",
            "  Python of the target's version) + zip. python -I s: `python -I -c pass` timed by the same helper",
            "  as lambdapack: the interpreter's start-up, the floor of any rebuild.",
            "lambdapack s = median wall seconds (min–max) of the build command; lp/X = lambdapack median over",
            "  X's median (lower is faster); peak RSS MB = max over the runs of ru_maxrss (RUSAGE_CHILDREN) of a",
            "  helper process that runs exactly that one build: the largest single process (lambdapack or a uv",
            "  or compiler it started), MiB. .pyc = .pyc files in the zip. Goals (issue 14): cold with bytecode",
            "  ≤ 0.8× uv-cb+zip and ≤ 1.3× uv+zip on data and native; cold --no-compile ≤ 0.6× uv+zip on data;",
            "  no-change ≤ 3× python -I; code-only < 0.4 s on data; peak RSS < 250 MB for every build.",
            "",
            tab,
        ]
        if notes:
            out += ["", "notes / failures:", *(f"  {n}" for n in notes)]
        print("\n".join(out))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            raw = {"version": 1, "started": started, "total_seconds": total, "runs": args.runs,
                   "versions": versions, "machine": m, "lambdapack": lp_info,
                   "workloads": {w: {t: str(req_file(w, TARGETS[t]).relative_to(HERE)) for t in args.targets}
                                 for w in args.workloads},
                   "cells": [{**asdict(c), "median_s": c.median()} for c in cells]}
            args.json.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
            log(f"wrote {args.json}")
        return 0
    finally:
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
