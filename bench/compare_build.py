#!/usr/bin/env python3
"""Benchmark (not a test): lambdapack vs `uv pip install --target` + zip vs the AWS pip recipe.

Builds the same pinned requirements every way, in one invocation, for each
(workload, Lambda target), and prints a table of wall-clock and CPU medians, zip
sizes, ratios against uv+zip, and a small audit of every artifact computed from the
zip itself (no lambdapack code):

  lambdapack-*  `python -m lambdapack build HANDLER_DIR --runtime R --arch A -r REQ -o ZIP -q`
                (a function zip: dependencies and handler.py at the root), in four rows:
                --no-cache (a first build with the defaults), --no-cache --slim none
                --no-compile (the same files as uv+zip: like for like), the default with
                its cache warm and handler.py edited (edit-and-rebuild), and unchanged
  uv+zip        `uv pip install --target DIR --python-platform P --python-version X.Y
                 --only-binary :all: --no-installer-metadata --no-compile-bytecode -r REQ`,
                handler.py copied in, then `cd DIR && zip -r -q ../function.zip .`
  pip+zip       `pip install --platform manylinux2014_<arch> --implementation cp
                 --python-version X.Y --only-binary=:all: --target DIR -r REQ`, handler.py
                copied in, then `zip -r -q` (the recipe in AWS's Lambda documentation)

Run:  .venv/bin/python bench/compare_build.py [--runs 5] [--workloads api,data,native]
          [--targets py312-x86_64,py312-arm64,py311-x86_64] [--methods ...] [--json PATH]

Progress goes to stderr; the report (methods, versions, machine, table, notes) to stdout.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

STEP_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Target:
    key: str
    runtime: str  # lambdapack --runtime
    version: str  # X.Y
    arch: str  # lambdapack --arch
    uv_platform: str  # uv --python-platform
    pip_platform: str  # pip --platform (AWS docs recipe)
    glibc: tuple[int, int]  # glibc of the Lambda runtime's OS


TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        Target("py312-x86_64", "python3.12", "3.12", "x86_64", "x86_64-manylinux_2_34",
               "manylinux2014_x86_64", (2, 34)),
        Target("py312-arm64", "python3.12", "3.12", "arm64", "aarch64-manylinux_2_34",
               "manylinux2014_aarch64", (2, 34)),
        Target("py311-x86_64", "python3.11", "3.11", "x86_64", "x86_64-manylinux_2_17",
               "manylinux2014_x86_64", (2, 26)),
    )
}

# Pinned workloads from the baseline research, per Python version.
WORKLOADS: dict[str, dict[str, list[str]]] = {
    "api": {
        "3.12": ["requests==2.34.2", "pydantic==2.14.3", "aws-lambda-powertools==3.37.0"],
        "3.11": ["requests==2.34.2", "pydantic==2.14.3", "aws-lambda-powertools==3.37.0"],
    },
    "data": {
        "3.12": ["numpy==2.5.5", "pandas==3.1.1"],
        # pip's manylinux2014 platform cannot get anything newer for 3.11.
        "3.11": ["numpy==2.2.6", "pandas==2.3.2"],
    },
    "native": {
        "3.12": ["cryptography==50.0.2", "orjson==3.13.0", "lxml==6.1.3", "pydantic==2.14.3"],
        "3.11": ["cryptography==50.0.2", "orjson==3.13.0", "lxml==6.1.3", "pydantic==2.14.3"],
    },
}
# Pins changed from the research because they no longer resolved on PyPI (none so far).
PIN_ADJUSTMENTS: list[str] = []



@dataclass(frozen=True)
class Method:
    name: str
    tool: str  # lambdapack | uv | pip
    lp_args: tuple[str, ...] = ()
    edit: bool = False  # rewrite handler.py before every build (a new finished-zip cache key)
    about: str = ""


ALL_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("lambdapack-no-cache", "lambdapack", ("--no-cache",), False,
               "lambdapack build --no-cache, otherwise its defaults (slimming, bytecode when a local Python "
               "of the target's version exists): a first build, with uv's cache warm"),
        Method("lambdapack-plain", "lambdapack", ("--no-cache", "--slim", "none", "--no-compile"), False,
               "lambdapack build --no-cache --slim none --no-compile: the same files as uv+zip, so the "
               "like-for-like row (uv resolves and installs, then verify, compress, write)"),
        Method("lambdapack", "lambdapack", (), True,
               "lambdapack build, default options, its build cache warm, handler.py edited before every "
               "build: the edit-and-rebuild loop (pinned resolution and compressed members reused)"),
        Method("lambdapack-unchanged", "lambdapack", (), False,
               "lambdapack build again with nothing changed: the finished zip comes from its cache"),
        Method("uv+zip", "uv", about="uv pip install --target DIR ... && cd DIR && zip -r -q ../function.zip ."),
        Method("pip+zip", "pip", about="pip install --platform manylinux2014_<arch> ... --target DIR "
               "&& zip -r -q (the AWS recipe)"),
        Method("lambdapack-no-held-back", "lambdapack", ("--no-cache", "--slim", "none", "--no-compile",
                                                         "--no-held-back"), False,
               "lambdapack-plain plus --no-held-back: without the held-back check's side resolution"),
    )
}
METHODS = ("lambdapack-no-cache", "lambdapack-plain", "lambdapack", "lambdapack-unchanged", "uv+zip", "pip+zip")
EXTRA_METHODS = ("lambdapack-no-held-back",)  # opt-in with --methods
BASELINE = "uv+zip"
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


# --------------------------------------------------------------------------- environment


def user_env() -> dict[str, str]:
    """A normal user's shell: no pip configuration from this machine, bytecode writing on.

    Applied to all three methods so they run in the same environment; uv does not read
    PIP_*, and lambdapack strips Python's own variables itself.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def pip_env() -> dict[str, str]:
    env = user_env()
    env["PIP_CONFIG_FILE"] = os.devnull  # ignore /etc/xdg/pip, ~/.config/pip, /etc/pip.conf
    return env


def first_line(cmd: Sequence[str], env: dict[str, str] | None = None) -> str | None:
    try:
        p = subprocess.run(list(cmd), capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (p.stdout or p.stderr).strip().splitlines()
    return out[0].strip() if p.returncode == 0 and out else None


def find_uv() -> str | None:
    try:
        import uv  # the uv PyPI package, the binary lambdapack runs too

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def lambdapack_version(env: dict[str, str] | None = None) -> str | None:
    return first_line([sys.executable, "-m", "lambdapack", "--version"], env)


def snapshot_lambdapack(scratch: Path, ref: str | None) -> tuple[Path | None, dict[str, object]]:
    """Copy lambdapack into scratch (the working tree, or `ref` from git) and measure that copy.

    The dev install is editable: without a snapshot, edits landing during a long run
    would mix versions across cells (and can break a run half-way through).
    """
    p = subprocess.run([sys.executable, "-c", "import lambdapack, os; print(os.path.dirname(lambdapack.__file__))"],
                       capture_output=True, text=True, env=user_env())
    if p.returncode != 0:
        return None, {"error": "lambdapack is not importable"}
    src = Path(p.stdout.strip())
    dest = scratch / "lambdapack-snapshot"
    pkg = dest / "lambdapack"
    info: dict[str, object] = {"source": str(src)}
    if ref is None:
        shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        commit = first_line(["git", "-C", str(src), "rev-parse", "--short", "HEAD"])
        if commit:
            dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", "."],
                                   capture_output=True, text=True).stdout.strip()
            commit += "+uncommitted changes" if dirty else ""
    else:
        top = first_line(["git", "-C", str(src), "rev-parse", "--show-toplevel"])
        commit = first_line(["git", "-C", str(src), "rev-parse", "--short", f"{ref}^{{commit}}"])
        if top is None or commit is None:
            return None, {"error": f"cannot resolve git ref {ref!r} for {src}"}
        rel = src.resolve().relative_to(Path(top).resolve()).as_posix()
        arch = subprocess.run(["git", "-C", top, "archive", "--format=tar", commit, "--", rel],
                              capture_output=True)
        if arch.returncode != 0:
            return None, {"error": f"git archive {commit} failed: {arch.stderr.decode(errors='replace')}"}
        with tarfile.open(fileobj=io.BytesIO(arch.stdout)) as tf:
            tf.extractall(scratch / "git-archive", filter="data")
        shutil.move(scratch / "git-archive" / rel, pkg)
        info["ref"] = ref
    h = hashlib.sha256()
    for f in sorted(pkg.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(dest).as_posix().encode() + b"\0" + f.read_bytes())
    info["tree_sha256"] = h.hexdigest()[:12]
    info["commit"] = commit
    return dest, info


def make_pip_venv(scratch: Path, pip_spec: str) -> tuple[Path | None, str | None]:
    """A dedicated venv whose pip runs the AWS recipe; pip upgraded to `pip_spec`."""
    venv = scratch / "pip-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True,
                       env=user_env(), timeout=300)
        py = venv / "bin" / "python"
        if pip_spec != "bundled":
            subprocess.run([str(py), "-m", "pip", "install", "-q", "-U", pip_spec], check=True,
                           capture_output=True, env=pip_env(), timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        err = getattr(e, "stderr", b"") or b""
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        return None, f"could not create the pip venv: {e} {err.strip()[:200]}"
    return py, None


def machine_info() -> dict[str, object]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    ok: bool
    seconds: float
    error: str | None = None
    zip_bytes: int = 0
    unzipped_bytes: int = 0
    files: int = 0
    sha256: str = ""
    cpu_s: float = 0.0  # user+sys CPU of the command(s) and their children
    busy_before: float = 0.0  # share of all CPUs busy with other work just before the run
    waited_s: float = 0.0  # time spent waiting for that share to drop under --max-busy


@dataclass
class Audit:
    root_bin: bool
    root_lock: bool
    pyc: int
    so_files: int
    glibc_max: str | None  # "2.28", None = no GLIBC requirement found, "n/a" = no readelf
    glibc_max_file: str | None
    glibc_over_target: bool


@dataclass
class Cell:
    """One (workload, target, method)."""

    workload: str
    target: str
    method: str
    status: str = "ok"  # ok | fails | missing
    error: str | None = None
    warmup_s: float | None = None
    runs: list[RunResult] = field(default_factory=list)
    audit: Audit | None = None

    def good(self) -> list[RunResult]:
        return [r for r in self.runs if r.ok]

    def median(self) -> float | None:
        g = self.good()
        return statistics.median(r.seconds for r in g) if g else None

    def artifact(self) -> RunResult | None:
        g = self.good()
        return g[0] if g else None


Step = Callable[[Path], None]  # raises StepFailed


class StepFailed(Exception):
    pass


def error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        low = ln.lower()
        if low.startswith(("error", "×", "x ", "fatal")) or "error:" in low:
            return ln[:240]
    return (lines[-1] if lines else "no output")[:240]


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    try:
        p = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"timed out after {STEP_TIMEOUT_S}s: {cmd[0]}") from None
    if p.returncode != 0:
        raise StepFailed(f"exit {p.returncode}: {error_line(p.stderr + chr(10) + p.stdout)}")


class Methods:
    """The recipes. Each builds `run_dir/function.zip`; only lambdapack keeps a cache of its own."""

    def __init__(self, scratch: Path, uv: str | None, pip_python: Path | None, zip_bin: str | None,
                 lp_path: Path | None):
        self.scratch = scratch
        self.handler_dir = scratch / "handler"
        self.handler_dir.mkdir(exist_ok=True)
        (self.handler_dir / "handler.py").write_text(HANDLER, encoding="utf-8")
        self.edits = 0
        self.uv = uv
        self.pip_python = pip_python
        self.zip = zip_bin
        self.env = user_env()
        self.pip_env = pip_env()
        self.lp_env = dict(self.env)
        if lp_path is not None:
            self.lp_env["PYTHONPATH"] = str(lp_path)
        # lambdapack's build cache: the bench's own, filled by the warm-up builds.
        self.lp_env["LAMBDAPACK_CACHE_DIR"] = str(scratch / "lambdapack-cache")
        self.lambdapack = lambdapack_version(self.lp_env)

    def missing(self, method: Method) -> str | None:
        if method.tool == "lambdapack" and self.lambdapack is None:
            return "lambdapack is not importable by this Python"
        if method.tool == "uv" and self.uv is None:
            return "uv not found"
        if method.tool == "pip" and self.pip_python is None:
            return "pip venv could not be created"
        if method.tool in ("uv", "pip") and self.zip is None:
            return "Info-ZIP `zip` not on PATH"
        return None

    def build(self, method: Method, target: Target, req: Path, run_dir: Path) -> None:
        out = run_dir / "function.zip"
        if method.tool == "lambdapack":
            src = self.handler_dir
            if method.edit:
                src = self.scratch / f"handler-{method.name}"
                src.mkdir(exist_ok=True)
                self.edits += 1
                (src / "handler.py").write_text(f"{HANDLER}# edit {self.edits}\n", encoding="utf-8")
            cmd = [sys.executable, "-m", "lambdapack", "build", str(src),
                   "--runtime", target.runtime, "--arch", target.arch, "-r", str(req),
                   "-o", str(out), "-q", *method.lp_args]
            run(cmd, run_dir, self.lp_env)
            return
        pkg = run_dir / "pkg"
        if method.tool == "uv":
            assert self.uv is not None
            # --python: the same interpreter lambdapack hands uv, so neither pays for
            # interpreter discovery (pyenv shims) and the comparison is like for like.
            run([self.uv, "pip", "install", "--target", str(pkg), "--python", sys.executable,
                 "--python-platform", target.uv_platform, "--python-version", target.version,
                 "--only-binary", ":all:", "--no-installer-metadata", "--no-compile-bytecode",
                 "-r", str(req)], run_dir, self.env)
        elif method.tool == "pip":
            assert self.pip_python is not None
            run([str(self.pip_python), "-m", "pip", "install", "--platform", target.pip_platform,
                 "--implementation", "cp", "--python-version", target.version,
                 "--only-binary=:all:", "--target", str(pkg), "-r", str(req)], run_dir, self.pip_env)
        else:
            raise ValueError(method)
        shutil.copy2(self.handler_dir / "handler.py", pkg / "handler.py")
        assert self.zip is not None
        run([self.zip, "-r", "-q", "../function.zip", "."], pkg, self.env)


def measure_zip(path: Path) -> tuple[int, int, int, str]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    with zipfile.ZipFile(path) as zf:
        files = [i for i in zf.infolist() if not i.is_dir()]
        return path.stat().st_size, sum(i.file_size for i in files), len(files), h.hexdigest()


# --------------------------------------------------------------------------- audit

_GLIBC = re.compile(r"Name:\s+GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\b")
_SO = re.compile(r"\.so(\.\d+)*$")


def audit_zip(path: Path, target: Target, readelf: str | None, tmp: Path) -> Audit:
    """bin/ or .lock at the root, .pyc count, and the newest GLIBC_x.y any .so needs."""
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        names = [i.filename for i in infos]
        root_bin = any(n.startswith("bin/") for n in zf.namelist())
        root_lock = any("/" not in n and n.endswith(".lock") for n in names)
        pyc = sum(1 for n in names if n.endswith(".pyc"))
        sos = [i for i in infos if _SO.search(i.filename.rsplit("/", 1)[-1])]
        if readelf is None:
            return Audit(root_bin, root_lock, pyc, len(sos), "n/a", None, False)
        exdir = tmp / "audit"
        shutil.rmtree(exdir, ignore_errors=True)
        exdir.mkdir(parents=True)
        files: list[tuple[Path, str]] = []
        for k, info in enumerate(sos):
            dest = exdir / f"{k}.so"
            with zf.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            files.append((dest, info.filename))
    best: tuple[int, ...] = ()
    best_file: str | None = None
    by_path = {str(p): name for p, name in files}
    for i in range(0, len(files), 200):
        batch = [str(p) for p, _ in files[i : i + 200]]
        p = subprocess.run([readelf, "-V", "-W", *batch], capture_output=True, text=True)
        current = batch[0] if len(batch) == 1 else None
        in_needs = False
        for line in p.stdout.splitlines():
            if line.startswith("File: "):
                current = line[6:].strip()
                continue
            if "Version needs section" in line:
                in_needs = True
            elif "Version definition section" in line or "Version symbols section" in line:
                in_needs = False
            elif in_needs:
                m = _GLIBC.search(line)
                if m:
                    v = tuple(int(x) for x in m.groups() if x is not None)
                    if v > best:
                        best, best_file = v, by_path.get(current or "", current)
    shutil.rmtree(exdir, ignore_errors=True)
    glibc = ".".join(map(str, best)) if best else None
    return Audit(root_bin, root_lock, pyc, len(sos), glibc, best_file, bool(best) and best[:2] > target.glibc)


# --------------------------------------------------------------------------- the benchmark


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_busy(interval: float = 0.3) -> float:
    """Share of all CPUs busy over `interval` (from /proc/stat); 0.0 where unavailable."""

    def snap() -> tuple[int, int]:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(vals[:8]), vals[3] + vals[4]  # total (without guest), idle + iowait

    try:
        t1, i1 = snap()
        time.sleep(interval)
        t2, i2 = snap()
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, 1 - (i2 - i1) / (t2 - t1)) if t2 > t1 else 0.0


def wait_quiet(max_busy: float, max_wait: float) -> tuple[float, float]:
    """Before a timed run (we are idle then): wait while other work keeps the CPUs busy.

    Returns (busy share at the start of the run, seconds waited). Gives up after
    `max_wait` and runs anyway; the busy share is kept with the run.
    """
    t0 = time.perf_counter()
    busy = cpu_busy()
    while busy > max_busy and time.perf_counter() - t0 < max_wait:
        time.sleep(2)
        busy = cpu_busy()
    return busy, time.perf_counter() - t0 - 0.3


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench(args: argparse.Namespace, scratch: Path, methods: Methods, readelf: str | None) -> list[Cell]:
    cells: list[Cell] = []
    for wl in args.workloads:
        for tkey in args.targets:
            target = TARGETS[tkey]
            pins = WORKLOADS[wl][target.version]
            req = scratch / f"req-{wl}-{target.version}.txt"
            req.write_text("".join(p + "\n" for p in pins), encoding="utf-8")
            row = {m: Cell(wl, tkey, m) for m in args.methods}
            live: list[str] = []
            for m, cell in row.items():
                why = methods.missing(ALL_METHODS[m])
                if why:
                    cell.status, cell.error = "missing", why
                    continue
                run_dir = scratch / "runs" / f"{wl}-{tkey}-{m}-warmup"
                run_dir.mkdir(parents=True)
                t0 = time.perf_counter()
                try:
                    methods.build(ALL_METHODS[m], target, req, run_dir)
                    cell.warmup_s = time.perf_counter() - t0
                    live.append(m)
                    log(f"[{wl} {tkey}] warm-up {m}: {cell.warmup_s:.2f}s")
                except StepFailed as e:
                    cell.status, cell.error = "fails", str(e)
                    log(f"[{wl} {tkey}] warm-up {m}: FAILS {e}")
                shutil.rmtree(run_dir, ignore_errors=True)
            for i in range(args.runs):
                for m in live:  # interleaved: a, b, c, a, b, c, ...
                    cell = row[m]
                    run_dir = scratch / "runs" / f"{wl}-{tkey}-{m}-{i}"
                    run_dir.mkdir(parents=True)
                    busy, waited = wait_quiet(args.max_busy, args.max_wait)
                    cpu0 = children_cpu()
                    t0 = time.perf_counter()
                    try:
                        methods.build(ALL_METHODS[m], target, req, run_dir)
                        dt = time.perf_counter() - t0
                        cpu = children_cpu() - cpu0
                        zb, ub, nf, sha = measure_zip(run_dir / "function.zip")
                        cell.runs.append(RunResult(True, dt, None, zb, ub, nf, sha, cpu, busy, waited))
                        if cell.audit is None:
                            cell.audit = audit_zip(run_dir / "function.zip", target, readelf, scratch)
                        log(f"[{wl} {tkey}] run {i + 1}/{args.runs} {m}: {dt:.2f}s "
                            f"(cpu {cpu:.2f}s; other load {busy:.0%}{f', waited {waited:.0f}s' if waited else ''})")
                    except StepFailed as e:
                        dt = time.perf_counter() - t0
                        cell.runs.append(RunResult(False, dt, str(e), cpu_s=children_cpu() - cpu0,
                                                   busy_before=busy, waited_s=waited))
                        log(f"[{wl} {tkey}] run {i + 1}/{args.runs} {m}: FAILS {e}")
                    shutil.rmtree(run_dir, ignore_errors=True)
            for cell in row.values():
                if cell.status == "ok" and not cell.good():
                    cell.status = "fails"
                    cell.error = next((r.error for r in cell.runs if r.error), "no successful run")
            cells.extend(row.values())
    return cells


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


def table(cells: list[Cell]) -> str:
    head = ["workload", "target", "method", "median s", "min–max s", "cpu s", "zip MB", "unzip MB", "files",
            "time ×uv", "size ×uv", "bin/", ".lock", ".pyc", "GLIBC max", "same sha"]
    rows: list[list[str]] = []
    notes: list[str] = []
    base = {(c.workload, c.target): c for c in cells if c.method == BASELINE}
    for c in cells:
        lead = [c.workload, c.target, c.method]
        if c.status != "ok":
            word = "fails" if c.status == "fails" else "missing"
            rows.append([*lead, word, *([""] * (len(head) - 4))])
            notes.append(f"{c.workload} {c.target} {c.method} {word}: {c.error}")
            continue
        good = c.good()
        art = c.artifact()
        assert art is not None
        med = c.median()
        assert med is not None
        b = base.get((c.workload, c.target))
        bmed = b.median() if b and b.status == "ok" else None
        bart = b.artifact() if b and b.status == "ok" else None
        a = c.audit
        glibc = "-"
        if a is not None and a.glibc_max:
            glibc = a.glibc_max + (" OVER" if a.glibc_over_target else "")
        shas = {r.sha256 for r in good}
        bad_runs = [r for r in c.runs if not r.ok]
        if bad_runs:
            notes.append(f"{c.workload} {c.target} {c.method}: {len(bad_runs)} of {len(c.runs)} timed runs "
                         f"failed (median over the rest); first: {bad_runs[0].error}")
        rows.append([
            *lead,
            f"{med:.2f}",
            f"{min(r.seconds for r in good):.2f}–{max(r.seconds for r in good):.2f}",
            f"{statistics.median(r.cpu_s for r in good):.2f}",
            _mb(art.zip_bytes),
            _mb(art.unzipped_bytes),
            str(art.files),
            f"{med / bmed:.2f}" if bmed else "n/a",
            f"{art.zip_bytes / bart.zip_bytes:.3f}" if bart else "n/a",
            ("yes" if a.root_bin else "no") if a else "?",
            ("yes" if a.root_lock else "no") if a else "?",
            str(a.pyc) if a else "?",
            glibc,
            "n/a" if ALL_METHODS[c.method].edit
            else ("yes" if len(shas) == 1 else f"no ({len(shas)})") if len(good) > 1 else "-",
        ])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {3, 4, 5, 6, 7, 8, 9, 10, 13}

    def fmt(r: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))

    lines = [fmt(head), "  ".join("-" * w for w in widths)]
    prev = None
    for r in rows:
        if prev is not None and (r[0], r[1]) != prev:
            lines.append("")
        prev = (r[0], r[1])
        lines.append(fmt(r).rstrip())
    if notes:
        lines += ["", "failures / missing:", *(f"  {n}" for n in notes)]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="timed runs per method (default 5)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma list of {', '.join(WORKLOADS)}")
    p.add_argument("--targets", default=",".join(TARGETS), help=f"comma list of {', '.join(TARGETS)}")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma list of {', '.join(METHODS + EXTRA_METHODS)} (default: all but the last)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results here")
    p.add_argument("--pip-spec", default="pip",
                   help="what to install into the pip venv: 'pip' (newest, default), 'pip==24.0', "
                   "or 'bundled' to keep the venv's own pip")
    p.add_argument("--no-snapshot", action="store_true",
                   help="run the live lambdapack install instead of a copy taken at start")
    p.add_argument("--lambdapack-ref", metavar="GIT_REF",
                   help="measure lambdapack as committed at this git ref (e.g. HEAD) instead of the "
                   "working tree; either way a copy is taken at start")
    p.add_argument("--max-busy", type=float, default=0.25, metavar="SHARE",
                   help="before each timed run wait while other work keeps more than this share of "
                   "the CPUs busy (default 0.25)")
    p.add_argument("--max-wait", type=float, default=60, metavar="S",
                   help="wait at most this long per run for the CPUs to quieten (default 60)")
    p.add_argument("--scratch", type=Path, help="work directory (default: a new temp dir, removed after)")
    args = p.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.targets = [t for t in args.targets.split(",") if t]
    args.methods = [m for m in args.methods.split(",") if m]
    for name, given, known in (("workload", args.workloads, WORKLOADS), ("target", args.targets, TARGETS),
                               ("method", args.methods, METHODS + EXTRA_METHODS)):
        bad = [g for g in given if g not in known]
        if bad:
            p.error(f"unknown {name}(s): {', '.join(bad)}; choose from {', '.join(known)}")
    if BASELINE not in args.methods:
        p.error(f"--methods must include {BASELINE} (the baseline of the ratios)")
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so that the scratch directory is removed


def start_run(given: Path | None, prefix: str) -> tuple[Path, bool]:
    """Every bench script's start: SIGTERM ends the run like Ctrl-C (so `finally` blocks
    remove the scratch directory), and the work folder is `given` or a new temp dir.
    Returns (folder, owned): an owned folder is the caller's to remove."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    scratch = Path(tempfile.mkdtemp(prefix=prefix)) if given is None else given.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch, given is None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scratch, own_scratch = start_run(args.scratch, "lp-bench-")
    try:
        uv = find_uv()
        zip_bin = shutil.which("zip")
        readelf = shutil.which("readelf")
        pip_python, pip_err = (None, "pip+zip not requested")
        if "pip+zip" in args.methods:
            log("creating the pip venv ...")
            pip_python, pip_err = make_pip_venv(scratch, args.pip_spec)
        lp_path: Path | None = None
        lp_info: dict[str, object] = {"snapshot": False}
        if any(m.startswith("lambdapack") for m in args.methods) and not args.no_snapshot:
            lp_path, lp_info = snapshot_lambdapack(scratch, args.lambdapack_ref)
            if lp_path is None:
                log(f"lambdapack snapshot failed: {lp_info.get('error')}")
            lp_info["snapshot"] = lp_path is not None
        methods = Methods(scratch, uv, pip_python, zip_bin, lp_path)
        versions = {
            "lambdapack": methods.lambdapack,
            "uv": first_line([uv, "--version"]) if uv else None,
            "pip": first_line([str(pip_python), "-m", "pip", "--version"], pip_env()) if pip_python else pip_err,
            "zip": first_line([zip_bin, "-v"]) if zip_bin else None,
            "readelf": first_line([readelf, "--version"]) if readelf else None,
        }
        if zip_bin:  # `zip -v` starts with a banner line; keep the version line
            out = subprocess.run([zip_bin, "-v"], capture_output=True, text=True).stdout
            zm = re.search(r"This is Zip (\S+)", out)
            versions["zip"] = f"zip {zm.group(1)} (Info-ZIP)" if zm else versions["zip"]
        if versions["readelf"]:
            rm = re.search(r"(\d+\.\d+(?:\.\d+)?)\s*$", versions["readelf"])
            versions["readelf"] = f"readelf {rm.group(1)} (GNU binutils)" if rm else versions["readelf"]
        if pip_python and versions["pip"]:  # "pip 26.3 from /long/path (python 3.11)"
            m = re.match(r"pip (\S+) from .*\((python [\d.]+)\)", versions["pip"])
            if m:
                versions["pip"] = f"pip {m.group(1)} (own venv, {m.group(2)}, --pip-spec {args.pip_spec})"
        machine = machine_info()
        load_start = os.getloadavg()
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        t0 = time.perf_counter()
        cells = bench(args, scratch, methods, readelf)
        total = time.perf_counter() - t0
        timed = [r for c in cells for r in c.runs]
        load_line = ""
        if timed:
            busy = [r.busy_before for r in timed]
            noisy = sum(1 for b in busy if b > args.max_busy)
            load_line = (f"other CPU load just before each timed run (we idle, /proc/stat): median {statistics.median(busy):.0%}, "
                         f"max {max(busy):.0%}; waited {sum(r.waited_s for r in timed):.0f}s in all for it to drop "
                         f"under {args.max_busy:.0%}; {noisy} of {len(timed)} runs started above it. "
                         f"1-min load average {load_start[0]:.2f} at start.")
        if versions["lambdapack"]:
            where = ("live install (--no-snapshot)" if not lp_info.get("snapshot")
                     else f"git {lp_info['ref']} of {lp_info.get('source')}" if lp_info.get("ref")
                     else f"working tree of {lp_info.get('source')}, copied at start")
            versions["lambdapack"] += (f" ({where}; commit {lp_info.get('commit', '?')}, "
                                       f"tree {lp_info.get('tree_sha256', '?')})")

        out: list[str] = [
            "lambdapack build benchmark: lambdapack vs uv pip install --target + zip vs pip (AWS recipe) + zip",
            f"started {started}; total {total:.0f}s; {args.runs} timed runs per method, interleaved "
            f"({', '.join(args.methods)}, ...), each into a fresh directory",
            "methods:",
            *(f"  {m}: {ALL_METHODS[m].about}" for m in args.methods),
            "caches warm: one untimed warm-up build per method first. uv's cache (~/.cache/uv) is shared by",
            "  lambdapack and uv+zip, pip keeps its own http cache, lambdapack's build cache is the bench's own",
            "  (LAMBDAPACK_CACHE_DIR in the scratch dir, filled by the warm-ups): the realistic developer setting.",
            "  Wall clock of the whole command(s), process start-up included; zip = Info-ZIP `zip -r -q` (level 6),",
            "  lambdapack at its default deflate level 6 and with its default held-back check (one extra",
            "  `uv pip compile` for a laptop platform, in parallel, plus index lookups when versions differ).",
            "pip runs as on a user's machine: PIP_CONFIG_FILE=/dev/null, no PIP_* variables, PYTHONDONTWRITEBYTECODE",
            "  unset (so pip writes .pyc files, as the AWS recipe does). uv+zip gets --python <this interpreter>.",
            "cpu s = median user+sys CPU of the command and its children; time ×uv / size ×uv = median",
            "  wall time / zip bytes over uv+zip's for the same workload and target.",
            "audit (from the zip): bin/ = any bin/ entry, .lock = a *.lock file at the root, .pyc = count,",
            "  GLIBC max = newest GLIBC_x.y needed by any .so (readelf -V; OVER = newer than the runtime's glibc),",
            "  same sha = every timed run produced byte-identical zips (n/a where handler.py is edited per run).",
            "",
            "versions: " + "; ".join(v if v and v.lower().startswith(k) else f"{k}: {v or 'absent'}"
                                     for k, v in versions.items()),
            f"machine: nproc {machine['nproc']} ({machine['cpu']}), python {machine['python']}, "
            f"{machine['platform']}",
            *([load_line] if load_line else []),
            "targets: " + "; ".join(
                f"{k} = {TARGETS[k].runtime} {TARGETS[k].arch} (uv {TARGETS[k].uv_platform}, "
                f"pip {TARGETS[k].pip_platform}, glibc {'.'.join(map(str, TARGETS[k].glibc))})"
                for k in args.targets),
            "workloads:",
            *(f"  {w} {v}: {' '.join(WORKLOADS[w][v])}" for w in args.workloads
              for v in sorted({TARGETS[t].version for t in args.targets}, reverse=True)),
            "pins: " + ("; ".join(PIN_ADJUSTMENTS) if PIN_ADJUSTMENTS
                        else "as in the baseline research, none adjusted (a pin that stops resolving shows as fails)"),
            "",
            table(cells),
        ]
        print("\n".join(out))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            raw = {
                "version": 1,
                "started": started,
                "total_seconds": total,
                "runs": args.runs,
                "methods": args.methods,
                "versions": versions,
                "machine": machine,
                "lambdapack": lp_info,
                "load_start": load_start,
                "targets": {k: asdict(TARGETS[k]) for k in args.targets},
                "workloads": {w: WORKLOADS[w] for w in args.workloads},
                "pin_adjustments": PIN_ADJUSTMENTS,
                "cells": [
                    {**asdict(c), "median_s": c.median(),
                     "min_s": min((r.seconds for r in c.good()), default=None),
                     "max_s": max((r.seconds for r in c.good()), default=None)}
                    for c in cells
                ],
            }
            args.json.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
            log(f"wrote {args.json}")
        return 0
    finally:
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
