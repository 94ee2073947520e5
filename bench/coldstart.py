#!/usr/bin/env python3
"""Benchmark (not a test): cold `import pandas` with and without lambdapack's bytecode, and zip sizes.

Issue 4. Two tables from one invocation:

1. Cold import. The data workload (bench/workloads/data.txt: numpy + pandas) for
   python3.12 x86_64, extracted three ways into read-only trees, then imported by
   fresh processes of this machine's Python 3.12 (found like lambdapack finds it),
   interleaved, `--runs` times each (default 15):
     a  no .pyc          `lambdapack build --no-compile`
     b  timestamp .pyc   what peers ship: the tree of (a) as an installer leaves it (files
                         with the current time), `python3.12 -m compileall -q` (timestamp
                         mode, SOURCE_DATE_EPOCH unset), zipped with fixed dates (1980-01-01,
                         like SAM and lambdapack zips), extracted restoring each entry's date:
                         the .pyc no longer match their sources and are not used
     c  lambdapack       default build: hash-based .pyc (`--compile`, unchecked-hash)
   Each run: `python3.12 -I -B -c "...; t=perf_counter(); import pandas; print(perf_counter()-t)"`
   with the tree first on sys.path. The trees are chmod a-w and -B keeps Python from
   writing bytecode even as root (who ignores modes); the script checks nothing was added.
   The page cache is warm for all three (one untimed import each first).

2. Zip size of `--slim none|safe|aggressive`, each with the default bytecode (`--compile`)
   and with `--no-compile`, for the api, data and native workloads (python3.12 x86_64).

Run:  .venv/bin/python bench/coldstart.py [--runs 15] [--json PATH] [--quick]

Progress goes to stderr; the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from compare_build import log, machine_info, snapshot_lambdapack, start_run, user_env, wait_quiet

HERE = Path(__file__).resolve().parent
WORKLOAD_DIR = HERE / "workloads"
WORKLOADS = ("api", "data", "native")
RUNTIME, ARCH, MINOR = "python3.12", "x86_64", (3, 12)
SLIMS = ("none", "safe", "aggressive")
BYTECODE = {"compile": "--compile", "no-compile": "--no-compile"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
IMPORT_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import time; t = time.perf_counter(); "
    "import pandas; print(time.perf_counter() - t)"
)
VARIANTS = {
    "a": "no .pyc (lambdapack --no-compile)",
    "b": "timestamp .pyc, fixed-date zip (peers)",
    "c": "hash-based .pyc (lambdapack default)",
}
GOAL_C_OVER_A = 0.35
TIMEOUT_S = 1800


class Failed(Exception):
    pass


def run(cmd: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        p = subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {TIMEOUT_S}s: {' '.join(cmd[:4])}") from None
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()
        raise Failed(f"exit {p.returncode}: {' '.join(cmd[:4])} ...: {tail[-1] if tail else 'no output'}")
    return p


# --------------------------------------------------------------------------- zips and trees


def extract(zip_path: Path, dest: Path, restore_mtime: bool) -> None:
    """Python zipfile extraction; optionally set every file's mtime to its entry's date_time."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            path = Path(zf.extract(info, dest))
            if restore_mtime:
                t = time.mktime((*info.date_time, 0, 0, -1))  # zip dates are local time
                os.utime(path, (t, t))


def zip_fixed_dates(tree: Path, out: Path) -> None:
    """Zip `tree` with Python zipfile, every entry dated 1980-01-01 (SAM-like), deflate level 6."""
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for p in files:
            info = zipfile.ZipInfo(p.relative_to(tree).as_posix(), FIXED_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, p.read_bytes(), compresslevel=6)


def set_writable(tree: Path, writable: bool) -> None:
    paths = [tree]
    for dirpath, dirnames, filenames in os.walk(tree):
        paths += [Path(dirpath) / n for n in [*dirnames, *filenames]]
    for p in paths:
        mode = p.lstat().st_mode
        if not stat.S_ISLNK(mode):
            os.chmod(p, (mode | stat.S_IWUSR) if writable else (mode & ~0o222))


def listing(tree: Path) -> set[str]:
    return {str(Path(d) / n) for d, dirs, files in os.walk(tree) for n in [*dirs, *files]}


def pyc_state(tree: Path) -> dict[str, int]:
    """Count .pyc by kind; a timestamp .pyc is stale when its recorded source mtime/size differ."""
    out = {"pyc": 0, "hash": 0, "timestamp": 0, "stale": 0}
    for pyc in tree.rglob("__pycache__/*.pyc"):
        out["pyc"] += 1
        head = pyc.read_bytes()[:16]
        flags = int.from_bytes(head[4:8], "little")
        if flags & 1:
            out["hash"] += 1
            continue
        out["timestamp"] += 1
        src = pyc.parent.parent / (pyc.name.split(".", 1)[0] + ".py")
        try:
            st = src.stat()
        except FileNotFoundError:
            continue  # a .pyc without its source is always used
        mtime = int.from_bytes(head[8:12], "little")
        size = int.from_bytes(head[12:16], "little")
        if mtime != (int(st.st_mtime) & 0xFFFFFFFF) or size != (st.st_size & 0xFFFFFFFF):
            out["stale"] += 1
    return out


def zip_stats(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        files = [i for i in zf.infolist() if not i.is_dir()]
        return {"zipped_bytes": path.stat().st_size, "unzipped_bytes": sum(i.file_size for i in files),
                "files": len(files), "pyc": sum(1 for i in files if i.filename.endswith(".pyc"))}


# --------------------------------------------------------------------------- the benchmark


def lp_build(wl: str, slim: str, bytecode: str, out: Path, scratch: Path, env: dict[str, str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "lambdapack", "build", str(scratch / "handler"), "--runtime", RUNTIME,
           "--arch", ARCH, "-r", str(WORKLOAD_DIR / f"{wl}.txt"), "-o", str(out), "--slim", slim,
           BYTECODE[bytecode], "--cache-dir", str(scratch / "lambdapack-cache"), "-q", "--format", "json"]
    t0 = time.perf_counter()
    p = run(cmd, env)
    dt = time.perf_counter() - t0
    res = json.loads(p.stdout)
    o = res["outputs"][0]
    return {"workload": wl, "slim": slim, "bytecode": bytecode, "seconds": dt, "sha256": o["sha256"],
            "zipped_bytes": o["zipped_bytes"], "unzipped_bytes": o["unzipped_bytes"], "files": o["files"],
            "pyc": zip_stats(out)["pyc"], "slim_saved_bytes": res.get("slim", {}).get("saved_bytes")}


def import_once(py: str, tree: Path, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    p = run([py, "-I", "-B", "-c", IMPORT_CODE, str(tree)], env, cwd)
    wall = time.perf_counter() - t0
    return float(p.stdout.strip().splitlines()[-1]), wall


def table(head: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def fmt(r: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip()

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)])


def _mb(n: object) -> str:
    return f"{n / 1e6:.2f}" if isinstance(n, int) else "-"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--runs", type=int, help="timed imports per variant (default 15; 3 with --quick)")
    p.add_argument("--workloads", help="size table workloads, comma list of api,data,native "
                   "(default all; data with --quick). data is always built: the import table needs it")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test the script: 3 runs, size table for data only, no waiting for a quiet CPU")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results here")
    p.add_argument("--no-snapshot", action="store_true",
                   help="build with the live lambdapack install instead of a copy taken at start")
    p.add_argument("--max-busy", type=float, default=0.25, metavar="SHARE",
                   help="before each timed import wait while other work keeps more than this share of "
                   "the CPUs busy (default 0.25)")
    p.add_argument("--max-wait", type=float, metavar="S",
                   help="wait at most this long per import for the CPUs to quieten (default 10; 0 with --quick)")
    p.add_argument("--scratch", type=Path, help="work directory (default: a new temp dir, removed after)")
    a = p.parse_args(argv)
    a.runs = a.runs if a.runs is not None else (3 if a.quick else 15)
    a.max_wait = a.max_wait if a.max_wait is not None else (0.0 if a.quick else 10.0)
    a.workloads = [w for w in (a.workloads or ("data" if a.quick else ",".join(WORKLOADS))).split(",") if w]
    bad = [w for w in a.workloads if w not in WORKLOADS]
    if bad:
        p.error(f"unknown workload(s): {', '.join(bad)}; choose from {', '.join(WORKLOADS)}")
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if "data" not in a.workloads:
        a.workloads.append("data")
    return a


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scratch, own_scratch = start_run(args.scratch, "lp-coldstart-")
    trees: dict[str, Path] = {}
    try:
        from lambdapack.host.interpreters import find_interpreter

        interp = find_interpreter(MINOR)
        if interp is None:
            log("no Python 3.12 on this machine: cannot compile or import for python3.12")
            return 1
        py = interp.path
        env = user_env()
        lp_env = dict(env)
        lp_info: dict[str, object] = {"snapshot": False}
        if not args.no_snapshot:
            lp_path, lp_info = snapshot_lambdapack(scratch, None)
            if lp_path is not None:
                lp_env["PYTHONPATH"] = str(lp_path)
            lp_info["snapshot"] = lp_path is not None
        (scratch / "handler").mkdir(exist_ok=True)
        (scratch / "handler" / "handler.py").write_text(HANDLER, encoding="utf-8")
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        t_start = time.perf_counter()

        # ---- table 2 builds (data first: the import table uses two of them)
        zips = scratch / "zips"
        zips.mkdir(exist_ok=True)
        sizes: list[dict[str, object]] = []
        order = ["data", *(w for w in WORKLOADS if w in args.workloads and w != "data")]
        for wl in order:
            for slim in SLIMS:
                for bc in BYTECODE:
                    out = zips / f"{wl}-{slim}-{bc}.zip"
                    try:
                        r = lp_build(wl, slim, bc, out, scratch, lp_env)
                    except Failed as e:
                        r = {"workload": wl, "slim": slim, "bytecode": bc, "error": str(e)}
                        log(f"build {wl} --slim {slim} --{bc}: FAILS {e}")
                    else:
                        log(f"build {wl} --slim {slim} --{bc}: {r['seconds']:.1f}s, "
                            f"{_mb(r['zipped_bytes'])} MB zipped")
                    sizes.append(r)
        a_zip, c_zip = zips / "data-safe-no-compile.zip", zips / "data-safe-compile.zip"
        if not (a_zip.is_file() and c_zip.is_file()):
            log("the data builds failed; no import table")
            return 1

        # ---- the three trees
        for v in VARIANTS:
            trees[v] = scratch / f"tree-{v}"
        extract(a_zip, trees["a"], restore_mtime=True)
        extract(c_zip, trees["c"], restore_mtime=True)
        installed = scratch / "tree-b-installed"  # like an installer leaves it: files dated now
        extract(a_zip, installed, restore_mtime=False)
        cenv = {k: v for k, v in env.items() if k != "SOURCE_DATE_EPOCH" and not k.startswith("PYTHON")}
        t0 = time.perf_counter()
        p = subprocess.run([py, "-m", "compileall", "-q", str(installed)], capture_output=True, text=True,
                           env=cenv, timeout=TIMEOUT_S)
        log(f"compileall (timestamp mode): {time.perf_counter() - t0:.1f}s, exit {p.returncode}")
        compile_note = "" if p.returncode == 0 else f"compileall exit {p.returncode} (some file did not compile)"
        b_zip = zips / "data-peer-timestamp-pyc.zip"
        zip_fixed_dates(installed, b_zip)
        shutil.rmtree(installed)
        extract(b_zip, trees["b"], restore_mtime=True)
        state = {v: pyc_state(t) for v, t in trees.items()}
        zstat = {"a": zip_stats(a_zip), "b": zip_stats(b_zip), "c": zip_stats(c_zip)}
        for t in trees.values():
            set_writable(t, False)
        before = {v: listing(t) for v, t in trees.items()}

        # ---- imports: warm-up, then interleaved timed runs
        ienv = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
        ienv["PYTHONDONTWRITEBYTECODE"] = "1"  # ignored under -I; -B does the job
        cwd = scratch / "cwd"
        cwd.mkdir(exist_ok=True)
        for v, t in trees.items():
            s, _ = import_once(py, t, ienv, cwd)
            log(f"warm-up {v}: {s:.3f}s")
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
        busy_seen: list[float] = []
        for i in range(args.runs):
            for v, t in trees.items():
                busy, _ = wait_quiet(args.max_busy, args.max_wait)
                busy_seen.append(busy)
                s, w = import_once(py, t, ienv, cwd)
                times[v].append(s)
                walls[v].append(w)
                log(f"run {i + 1}/{args.runs} {v}: {s:.3f}s (other load {busy:.0%})")
        written = {v: sorted(listing(t) - before[v]) for v, t in trees.items()}
        total = time.perf_counter() - t_start

        # ---- report
        med = {v: statistics.median(times[v]) for v in VARIANTS}
        rows1 = []
        for v, what in VARIANTS.items():
            st = state[v]
            rows1.append([
                v, what, f"{med[v]:.3f}", f"{min(times[v]):.3f}", f"{max(times[v]):.3f}",
                f"{med[v] / med['a']:.2f}", f"{statistics.median(walls[v]):.3f}",
                str(st["pyc"]), (f"{st['stale']}/{st['timestamp']}" if st["timestamp"] else "-"),
                str(st["hash"]), _mb(zstat[v]["zipped_bytes"]), _mb(zstat[v]["unzipped_bytes"]),
            ])
        t1 = table(["", "variant", "import s (median)", "min", "max", "×(a)", "process s", ".pyc",
                    "stale ts .pyc", "hash .pyc", "zip MB", "unzip MB"], rows1, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
        ratio_c = med["c"] / med["a"]
        rows2 = []
        for r in sizes:
            if "error" in r:
                rows2.append([str(r["workload"]), str(r["slim"]), str(r["bytecode"]), "fails", "", "", ""])
                continue
            rows2.append([str(r["workload"]), str(r["slim"]), str(r["bytecode"]), _mb(r["zipped_bytes"]),
                          _mb(r["unzipped_bytes"]), str(r["files"]), str(r["pyc"])])
        t2 = table(["workload", "--slim", "bytecode", "zip MB", "unzip MB", "files", ".pyc"], rows2, {3, 4, 5, 6})
        m = machine_info()
        lp_ver = subprocess.run([sys.executable, "-m", "lambdapack", "--version"], capture_output=True, text=True,
                                env=lp_env).stdout.strip()
        any_written = sum(len(w) for w in written.values())
        out = [
            "lambdapack cold-start benchmark (issue 4): cold `import pandas` without .pyc, with peers' timestamp",
            "  .pyc, and with lambdapack's hash-based .pyc; plus zip sizes per --slim profile",
            f"started {started}; total {total:.0f}s; {args.runs} timed imports per variant, interleaved (a, b, c, ...)",
            f"versions: {lp_ver} ({'copy of the working tree, commit ' + str(lp_info.get('commit')) if lp_info.get('snapshot') else 'live install'});"
            f" importing and compiling Python: {py} ({'.'.join(map(str, interp.version))})",
            f"machine: nproc {m['nproc']} ({m['cpu']}), {m['platform']}; other CPU load before each import: "
            f"median {statistics.median(busy_seen):.0%}, max {max(busy_seen):.0%}",
            f"workload data ({RUNTIME} {ARCH}): {' '.join(ln.strip() for ln in (WORKLOAD_DIR / 'data.txt').read_text().splitlines() if ln.strip())};"
            " --slim safe (the default) for a, b and c",
            "each import: a fresh `python3.12 -I -B -c 'import sys; sys.path.insert(0, TREE); t=perf_counter();",
            "  import pandas; print(perf_counter()-t)'` (import s); process s = the whole process, start-up included.",
            "trees: extracted with Python zipfile, each file's mtime set from its zip entry (1980-01-01), then",
            "  chmod a-w; -B stops bytecode writes even as root. "
            + ("Nothing was written into the trees during the runs."
               if not any_written else f"WARNING: {any_written} paths appeared in the trees during the runs."),
            "  b = the no-.pyc tree with current mtimes (as pip/uv leave it), `python3.12 -m compileall -q`",
            "  (timestamp .pyc, SOURCE_DATE_EPOCH unset), zipped by Python zipfile with date_time 1980-01-01;",
            "  stale ts .pyc = timestamp .pyc whose recorded source mtime/size differ from the extracted source",
            "  (Python ignores those and compiles the source in memory on every cold start).",
            "page cache: warm for all three variants (one untimed import each first); a real Lambda cold start",
            "  also reads the files from disk, which this does not measure.",
            *([compile_note] if compile_note else []),
            "",
            t1,
            "",
            f"(c)/(a) = {ratio_c:.2f} (goal ≤ {GOAL_C_OVER_A}: {'met' if ratio_c <= GOAL_C_OVER_A else 'NOT met'}); "
            f"(b)/(a) = {med['b'] / med['a']:.2f}",
            "",
            f"zip sizes, {RUNTIME} {ARCH} (MB = 10^6 bytes; bytecode: compile = --compile, hash-based .pyc;"
            " no-compile = no bytecode):",
            t2,
        ]
        print("\n".join(out))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            raw = {
                "version": 1, "started": started, "total_seconds": total, "runs": args.runs,
                "python": {"path": py, "version": list(interp.version)}, "lambdapack": lp_ver,
                "lambdapack_snapshot": lp_info, "machine": m, "busy_before": busy_seen,
                "import_seconds": times, "process_seconds": walls, "median": med,
                "ratio_c_over_a": ratio_c, "ratio_b_over_a": med["b"] / med["a"], "goal_c_over_a": GOAL_C_OVER_A,
                "pyc_state": state, "zips": zstat, "written_during_runs": written, "sizes": sizes,
            }
            args.json.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
            log(f"wrote {args.json}")
        return 0
    except Failed as e:
        log(f"failed: {e}")
        return 1
    finally:
        for t in trees.values():
            if t.exists():
                set_writable(t, True)
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
