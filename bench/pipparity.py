#!/usr/bin/env python3
"""Benchmark (not a test): lambdapack's versions against pip's with one `--platform` per glibc.

Issue 10 asks that on Amazon Linux 2 runtimes lambdapack picks versions at least as new as

    pip install --platform manylinux_2_26_<m> ... --platform manylinux2014_<m> --only-binary=:all:

gets (pip accepts every glibc version as a platform; uv's list stops at 2_17, 2_28, ...). For each
package of bench/matrix.py's list this resolves once with pip (a current pip, installed by uv into
a scratch venv, `--dry-run --report`, no configuration of this machine) and once with
`lambdapack build --layer --no-compile`, and compares every distribution both resolved.

pip evaluates markers for the *host* interpreter even with `--python-version`, so a backport that
only older Pythons need (e.g. `exceptiongroup`) can differ: those show as "only pip"/"only lp".

Run:  .venv/bin/python bench/pipparity.py [--runtime python3.11] [--arch x86_64] [--packages a,b]
          [--out bench/results/pipparity.txt]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matrix import PACKAGES, canonical, user_env, uv_bin

from lambdapack.facts.runtimes import get_arch, get_runtime


def pip_platforms(glibc: tuple[int, int], machine: str) -> list[str]:
    """Every manylinux tag from the runtime's glibc down to 2.17, then the legacy alias."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc[1], 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def make_pip(scratch: Path) -> Path:
    venv = scratch / "pipvenv"
    p = subprocess.run([uv_bin(), "venv", "--seed", "-q", str(venv)], capture_output=True, text=True, env=user_env())
    if p.returncode != 0:
        raise SystemExit(f"uv venv --seed: {p.stderr.strip()}")
    return venv / "bin" / "python"


def pip_versions(pip_python: Path, req: str, version: str, platforms: Sequence[str], scratch: Path) -> dict[str, str]:
    report = scratch / "report.json"
    cmd = [str(pip_python), "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--report", str(report), "--target", str(scratch / "t"), "--python-version", version,
           "--implementation", "cp", "--only-binary=:all:"]
    for plat in platforms:
        cmd += ["--platform", plat]
    env = user_env({"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    p = subprocess.run([*cmd, req], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return {"!": (p.stderr.strip().splitlines() or ["?"])[-1][:120]}
    doc = json.loads(report.read_text())
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in doc["install"]}


def lp_versions(req: str, runtime: str, arch: str, scratch: Path) -> dict[str, str]:
    reqfile = scratch / "requirements.txt"
    reqfile.write_text(req + "\n")
    cmd = [sys.executable, "-m", "lambdapack", "build", "--layer", "-r", str(reqfile), "--runtime", runtime,
           "--arch", arch, "--no-compile", "--no-held-back", "-o", str(scratch / "layer.zip"), "--format", "json",
           "--cache-dir", str(scratch.parent / "lpcache")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=user_env(), cwd=scratch)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"!": (p.stderr.strip().splitlines() or ["?"])[-1][:120]}
    dists = doc.get("distributions") or []
    if not dists:
        err = doc.get("error") or {}
        return {"!": str(err.get("message", "no distributions"))[:120] if isinstance(err, dict) else str(err)[:120]}
    return {canonical(d["name"]): d["version"] for d in dists}


def vkey(v: str) -> tuple[object, ...]:
    from packaging.version import InvalidVersion, Version
    try:
        return (0, Version(v))
    except InvalidVersion:
        return (-1, v)


def compare(pip: dict[str, str], lp: dict[str, str]) -> tuple[str, list[str]]:
    if "!" in pip or "!" in lp:
        return "error", [f"pip: {pip.get('!', 'ok')}; lambdapack: {lp.get('!', 'ok')}"]
    older = [f"{n} {lp[n]} < pip {pip[n]}" for n in sorted(pip.keys() & lp.keys()) if vkey(lp[n]) < vkey(pip[n])]
    newer = [f"{n} {lp[n]} > pip {pip[n]}" for n in sorted(pip.keys() & lp.keys()) if vkey(lp[n]) > vkey(pip[n])]
    only = [f"only pip: {n} {pip[n]}" for n in sorted(pip.keys() - lp.keys())]
    only += [f"only lp: {n} {lp[n]}" for n in sorted(lp.keys() - pip.keys())]
    verdict = "OLDER" if older else ("newer" if newer else "same")
    return verdict, older + newer + only


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", default="python3.11")
    ap.add_argument("--arch", default="x86_64")
    ap.add_argument("--packages", help="comma-separated subset of bench/matrix.py's list")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    runtime, arch = get_runtime(args.runtime), get_arch(args.arch)
    names = args.packages.split(",") if args.packages else list(PACKAGES)
    platforms = pip_platforms(runtime.glibc, arch.machine)
    rows: list[tuple[str, str, str, str, str]] = []
    details: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lp-pipparity-") as tmp:
        root = Path(tmp)
        pip_python = make_pip(root)
        pip_version = subprocess.run([str(pip_python), "-m", "pip", "--version"], capture_output=True,
                                     text=True).stdout.split()[1]
        for name in names:
            scratch = root / canonical(name)
            scratch.mkdir()
            print(f"{name} ...", file=sys.stderr, flush=True)
            pip = pip_versions(pip_python, name, runtime.version, platforms, scratch)
            lp = lp_versions(name, runtime.name, arch.value, scratch)
            verdict, notes = compare(pip, lp)
            shown = canonical(PACKAGES[name][0])
            rows.append((name, pip.get(shown, "-"), lp.get(shown, "-"), verdict, str(len(pip.keys() & lp.keys()))))
            details += [f"{name}: {n}" for n in notes]
    head = ("package", "pip", "lambdapack", "all dists", "compared")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [f"# {runtime.name} {arch.value}: pip {pip_version} with {len(platforms)} platforms "
             f"({platforms[0]} .. {platforms[-1]}) vs lambdapack build --layer --no-compile; "
             f"{time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s", ""]
    for r in [head, *rows]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    counts = {v: sum(1 for r in rows if r[3] == v) for v in ("same", "newer", "OLDER", "error")}
    lines += ["", "totals: " + ", ".join(f"{k} {v}" for k, v in counts.items()), "", *details]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 1 if counts["OLDER"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
