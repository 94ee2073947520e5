"""Building native sdists: lambdapack's zig build for the Lambda target against `pip wheel` on this host.

For each sdist the tests use (tests/integration/test_native_build.py), and each target
(python3.11 x86_64, glibc 2.26; python3.12 arm64, glibc 2.34), times, interleaved, N runs of
  lambdapack's build of the sdist for the target (native.crossbuild: uv build + zig, checked and
    retagged), with zig's cache warm (its first build of a target, C++ runtime included, is
    reported apart: the "first" column, zig's cache emptied);
  `pip wheel --no-deps --no-binary :all: SDIST` with this host's gcc and a CPython of the same
    version: it builds for the wrong glibc (this host's) and cannot build for another machine at
    all, so only the x86_64 rows have it;
and prints the medians and the highest GLIBC_ version each result needs (readelf, the oracle).
Run: .venv/bin/python bench/native.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SDISTS = ["markupsafe==2.0.1", "crcmod==1.7", "bitarray==2.3.0", "ujson==4.0.2"]
TARGETS = [("python3.11", "x86_64"), ("python3.12", "arm64")]


def download(req: str, dest: Path) -> Path:
    before = set(dest.iterdir())
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    "--isolated", "-i", "https://pypi.org/simple", req, "-d", str(dest)], check=True,
                   capture_output=True)
    (new,) = set(dest.iterdir()) - before
    return new


def max_glibc(wheel: Path, work: Path) -> str:
    readelf = shutil.which("readelf")
    if readelf is None:
        return "?"
    out = work / "x"
    shutil.rmtree(out, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out)
    found: list[tuple[int, ...]] = []
    for so in out.rglob("*.so"):
        text = subprocess.run([readelf, "-V", "-W", str(so)], capture_output=True, text=True, check=False).stdout
        found += [tuple(map(int, m.split("."))) for m in re.findall(r"Name:\s*GLIBC_(\d+(?:\.\d+)+)", text)]
    return ".".join(map(str, max(found))) if found else "none"


def lambdapack_build(sdist: Path, runtime: str, arch: str, work: Path) -> tuple[float, Path]:
    from lambdapack.facts.runtimes import get_arch, get_runtime
    from lambdapack.host.interpreters import find_interpreter
    from lambdapack.host.ziglang import find_zig
    from lambdapack.native.crossbuild import build_wheel, prepare
    from lambdapack.resolve.install import find_uv
    from lambdapack.target.tags import Target

    target = Target(get_runtime(runtime), get_arch(arch))
    zig = find_zig(os.environ)
    python = find_interpreter(target.runtime.python, platform.machine())
    assert zig is not None and python is not None, "needs ziglang and a CPython of the runtime's version"
    shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    cross = prepare(work / "cross", target, python, zig, os.environ).with_frontend(find_uv(), [], os.environ)
    built = build_wheel(sdist, work / "out", cross, f"building {sdist.name}", 1800)
    seconds = time.perf_counter() - t
    path = work / built.filename
    path.write_bytes(built.data)
    return seconds, path


def pip_wheel(sdist: Path, minor: int, work: Path) -> tuple[float, Path] | None:
    python = shutil.which(f"python3.{minor}")
    if python is None:
        return None
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    venv = work / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    t = time.perf_counter()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "wheel", "-q", "--isolated", "--no-deps",
                    "--no-binary", ":all:", "-i", "https://pypi.org/simple", "-w", str(work / "out"), str(sdist)],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - t
    return seconds, next((work / "out").glob("*.whl"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lp-native-bench-"))
    sdists = root / "sdists"
    sdists.mkdir()
    paths = {req: download(req, sdists) for req in SDISTS}
    rows = []
    for runtime, arch in TARGETS:
        minor = int(runtime.split(".")[1])
        for req, sdist in paths.items():
            # zig's first build for a target (its cache empty): C++ also compiles libc++ once.
            os.environ["ZIG_GLOBAL_CACHE_DIR"] = str(root / "zig-cold" / f"{runtime}-{arch}-{req}")
            first, _ = lambdapack_build(sdist, runtime, arch, root / "w")
            os.environ["ZIG_GLOBAL_CACHE_DIR"] = str(root / "zig-warm")
            lambdapack_build(sdist, runtime, arch, root / "w")  # fill the warm cache
            lp, pip, lp_glibc, pip_glibc = [], [], "", "-"
            for _ in range(args.runs):
                s, wheel = lambdapack_build(sdist, runtime, arch, root / "w")
                lp.append(s)
                lp_glibc = max_glibc(wheel, root)
                if arch == "x86_64" and platform.machine() == "x86_64":
                    got = pip_wheel(sdist, minor, root / "p")
                    if got is not None:
                        pip.append(got[0])
                        pip_glibc = max_glibc(got[1], root)
            rows.append((f"{runtime} {arch}", req, first, statistics.median(lp), lp_glibc,
                         statistics.median(pip) if pip else None, pip_glibc))
    print(f"{'target':<18} {'sdist':<20} {'zig first':>9} {'zig warm':>9} {'GLIBC':>6} {'pip wheel':>9} "
          f"{'GLIBC':>6} {'ratio':>6}")
    for target, req, first, lp, lpg, pip, pipg in rows:
        ratio = f"{lp / pip:.2f}" if pip else "-"
        pip_s = f"{pip:.2f}" if pip else "n/a"
        print(f"{target:<18} {req:<20} {first:>9.2f} {lp:>9.2f} {lpg:>6} {pip_s:>9} {pipg:>6} {ratio:>6}")
    print(f"medians of {args.runs} runs, seconds; zig first = zig's cache empty; pip wheel = this host's gcc "
          "and glibc (cannot build for arm64 here); GLIBC = the highest GLIBC_ version the result needs")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
