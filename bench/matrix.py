#!/usr/bin/env python3
"""Benchmark (not a test): the popular-packages matrix of issue 10 (item 9).

For each of ~45 of the most downloaded PyPI packages with native code, each runtime of
lambdapack's catalog and each architecture, two trees are made:

  lambdapack  `lambdapack build --layer -r <one package> --runtime R --arch A --format json`
              (the defaults: --slim safe, bytecode when a local Python of R exists). When the
              build refuses (no zip), the readelf and import columns are computed on the exact
              versions it chose, installed with `uv pip install --target --no-deps` for the
              platform lambdapack gave uv (marked `*`): is the refusal a false alarm?
  uv          `uv pip install --target DIR --python-platform <arch>-manylinux_<safe> --python-version X.Y
              --only-binary :all:` with <safe> the catalog's `uv_manylinux` (2_17 on Amazon Linux 2,
              2_34 on Amazon Linux 2023): the newest glibc uv can target without exceeding Lambda's.

and each is checked without lambdapack's code:

  readelf     every ELF (by its magic bytes) through `readelf -h -V -W`: the machine must be the
              target's, the highest `GLIBC_x.y` version needed must be <= the runtime's glibc, and a
              `GLIBCXX_` need of the system libstdc++ <= the runtime's libstdc++ (from the catalog).
  import      the tree copied read-only, imported by a local CPython of the runtime's version and
              architecture (found with lambdapack.host.interpreters: PATH, pyenv, uv) as
              `python -I -S -B -c "<sys.path = [tree] + stdlib; one-line native smoke>"`, with
              LD_LIBRARY_PATH set to the tree's lib/ (Lambda's /opt/lib). arm64 runs under
              qemu-aarch64 when an `--arm64-root` (it may repeat) names an arm64 sysroot with that
              python3.X in it (Debian's: bookworm has 3.11, trixie 3.13; `--make-arm64-root`).
              This machine's glibc is newer than Lambda's: the import proves loadability of
              what is bundled, the readelf column the glibc ceiling.

The package list: the native-code packages among the top of the PyPI download ranking in the
workplace's PyPI package list (rank among the 15000 most downloaded, Nov 2026; see README), plus
valkey-glide (rank ~4900) for the multi-version LP005 case the issue names.

Run:  .venv/bin/python bench/matrix.py [--packages numpy,pillow] [--runtimes python3.11,python3.12]
          [--arches x86_64] [--jobs 1] [--out bench/results/matrix.txt] [--json PATH]

Progress goes to stderr; the table to stdout (and to --out).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lambdapack.facts.runtimes import RUNTIMES, Arch, Runtime, get_arch, get_runtime
from lambdapack.host.interpreters import Interpreter, find_interpreter

BUILD_TIMEOUT_S = 1800
IMPORT_TIMEOUT_S = 600
READELF_MACHINE = {Arch.X86_64: "Advanced Micro Devices X86-64", Arch.ARM64: "AArch64"}
DEFAULT_RUNTIMES = ("python3.11", "python3.12")
DEFAULT_ARCHES = ("x86_64",)

# requirement -> (distribution whose version is shown, one-line native smoke). Each smoke reaches
# the package's compiled code, not only its Python wrapper.
PACKAGES: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "import numpy; assert numpy.arange(3).sum() == 3"),
    "pandas": ("pandas", "import pandas; assert pandas.Series([1, 2]).sum() == 3"),
    "pyarrow": ("pyarrow", "import pyarrow, pyarrow.compute as pc; assert pc.sum(pyarrow.array([1, 2])).as_py() == 3"),
    "pydantic": ("pydantic-core", "import pydantic; assert pydantic.TypeAdapter(int).validate_python('3') == 3"),
    "cryptography": ("cryptography", "from cryptography.hazmat.primitives import hashes; h = hashes.Hash(hashes.SHA256()); h.update(b'x'); assert len(h.finalize()) == 32"),
    "cffi": ("cffi", "import cffi; assert cffi.FFI().sizeof('int') == 4"),
    "lxml": ("lxml", "from lxml import etree; assert etree.fromstring('<a><b/></a>')[0].tag == 'b'"),
    "pillow": ("pillow", "import io; from PIL import Image, ImageFont; Image.new('RGB', (8, 8)).save(io.BytesIO(), 'TIFF'); ImageFont.load_default(size=12)"),
    "psycopg2-binary": ("psycopg2-binary", "import psycopg2.extensions; assert psycopg2.extensions.libpq_version() > 0"),
    "psycopg[binary]": ("psycopg-binary", "import psycopg; assert psycopg.pq.__impl__ == 'binary' and psycopg.pq.version() > 0"),
    "scipy": ("scipy", "import numpy, scipy.linalg; assert abs(scipy.linalg.det(numpy.eye(3)) - 1) < 1e-9"),
    "scikit-learn": ("scikit-learn", "import numpy as np; from sklearn.linear_model import LinearRegression; m = LinearRegression().fit(np.arange(4.).reshape(-1, 1), np.arange(4.)); assert abs(m.coef_[0] - 1) < 1e-6"),
    "shapely": ("shapely", "import shapely; assert shapely.Point(0, 0).buffer(1).area > 3"),
    "grpcio": ("grpcio", "import grpc; grpc.insecure_channel('localhost:1').close()"),
    "protobuf": ("protobuf", "from google.protobuf.internal import api_implementation; assert api_implementation.Type() == 'upb'"),
    "orjson": ("orjson", "import orjson; assert orjson.loads(orjson.dumps({'a': 1})) == {'a': 1}"),
    "ujson": ("ujson", "import ujson; assert ujson.loads(ujson.dumps([1])) == [1]"),
    "regex": ("regex", "import regex; assert regex.match(r'\\p{L}+', 'abc')"),
    "pyyaml": ("pyyaml", "import yaml; assert yaml.load('a: 1', Loader=yaml.CSafeLoader) == {'a': 1}"),
    "markupsafe": ("markupsafe", "import markupsafe, markupsafe._speedups; assert str(markupsafe.escape('<')) == '&lt;'"),
    "charset-normalizer": ("charset-normalizer", "import charset_normalizer; assert charset_normalizer.from_bytes(b'hello world').best() is not None"),
    "msgpack": ("msgpack", "import msgpack, msgpack._cmsgpack as c; assert msgpack.Packer is c.Packer and msgpack.unpackb(msgpack.packb([1])) == [1]"),
    "greenlet": ("greenlet", "import greenlet; assert greenlet.greenlet(lambda: 5).switch() == 5"),
    "aiohttp": ("aiohttp", "import aiohttp, aiohttp._http_parser"),
    "frozenlist": ("frozenlist", "from frozenlist._frozenlist import FrozenList; assert len(FrozenList([1])) == 1"),
    "multidict": ("multidict", "from multidict._multidict import MultiDict; assert MultiDict(a=1)['a'] == 1"),
    "yarl": ("yarl", "import yarl, yarl._quoting_c; assert yarl.URL('http://x/a b').raw_path == '/a%20b'"),
    "propcache": ("propcache", "import propcache._helpers_c"),
    "wrapt": ("wrapt", "import wrapt._wrappers"),
    "zstandard": ("zstandard", "import zstandard as z; assert z.backend == 'cext' and z.ZstdDecompressor().decompress(z.ZstdCompressor().compress(b'x')) == b'x'"),
    "lz4": ("lz4", "import lz4.frame as f; assert f.decompress(f.compress(b'x')) == b'x'"),
    "bcrypt": ("bcrypt", "import bcrypt; assert bcrypt.checkpw(b'a', bcrypt.hashpw(b'a', bcrypt.gensalt(4)))"),
    "pynacl": ("pynacl", "import nacl.utils, nacl.secret; assert len(nacl.utils.random(8)) == 8"),
    "rpds-py": ("rpds-py", "import rpds; assert rpds.HashTrieMap({'a': 1})['a'] == 1"),
    "duckdb": ("duckdb", "import duckdb; assert duckdb.sql('select 42').fetchall() == [(42,)]"),
    "polars": ("polars", "import polars as pl; assert pl.DataFrame({'a': [1, 2]})['a'].sum() == 3"),
    "numba": ("numba", "import numba; assert numba.njit(lambda x: x + 1)(1) == 2"),
    "matplotlib": ("matplotlib", "import io, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; plt.plot([1, 2]); plt.savefig(io.BytesIO())"),
    "kiwisolver": ("kiwisolver", "import kiwisolver as k; s = k.Solver(); v = k.Variable('x'); s.addConstraint(v == 3); s.updateVariables(); assert v.value() == 3"),
    "pymongo": ("pymongo", "import bson, bson._cbson; assert bson.decode(bson.encode({'a': 1})) == {'a': 1}"),
    "psutil": ("psutil", "import psutil; assert psutil.cpu_count() >= 1"),
    "xxhash": ("xxhash", "import xxhash; assert len(xxhash.xxh64(b'x').hexdigest()) == 16"),
    "google-crc32c": ("google-crc32c", "import google_crc32c as g; assert g.implementation == 'c' and g.value(b'x') > 0"),
    "jiter": ("jiter", "import jiter; assert jiter.from_json(b'[1]') == [1]"),
    "tiktoken": ("tiktoken", "import tiktoken; e = tiktoken.Encoding(name='t', pat_str=r'\\S+', mergeable_ranks={b'a': 0, b'b': 1}, special_tokens={}); assert e.encode('a') == [0]"),
    "websockets": ("websockets", "import websockets.speedups"),
    "valkey-glide": ("valkey-glide", "import glide; assert glide.GlideClientConfiguration"),
}


class Failed(Exception):
    pass


@dataclass
class Check:
    """One tree through readelf and the import: the short cell and the detail for the notes."""

    readelf: str = "-"
    readelf_detail: str = ""
    imported: str = "-"
    import_detail: str = ""


@dataclass
class Result:
    package: str
    runtime: str
    arch: str
    lp_verdict: str = ""
    lp_version: str = ""
    lp_detail: list[str] = field(default_factory=list)
    lp_rebuilt: bool = False  # the checks ran on a reconstruction of a refused build
    lp_check: Check = field(default_factory=Check)
    uv_version: str = ""
    uv_detail: str = ""
    uv_check: Check = field(default_factory=Check)
    seconds: float = 0.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A user's shell: no pip configuration of this machine, bytecode writing as by default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    for k in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env.update(extra or {})
    return env


def run(cmd: Sequence[str], env: dict[str, str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {timeout:.0f}s: {' '.join(cmd[:3])}") from None


def last_line(p: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (p.stderr or p.stdout or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else f"exit {p.returncode}, no output"


def uv_bin() -> str:
    from uv import find_uv_bin  # the uv wheel of the dev venv, the one lambdapack uses

    return find_uv_bin()


def dist_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(site: Path, dist: str) -> str:
    for meta in site.glob("*.dist-info/METADATA"):
        head = meta.read_text(errors="replace").split("\n\n", 1)[0]
        fields = dict(ln.split(": ", 1) for ln in head.splitlines() if ": " in ln)
        if canonical(fields.get("Name", "")) == canonical(dist):
            return fields.get("Version", "?")
    return "?"


# --- the independent ELF check -------------------------------------------------------------------


def dotted(version: Sequence[int]) -> str:
    return ".".join(map(str, version))


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


def parse_readelf(text: str, only: str) -> dict[str, dict[str, object]]:
    """`readelf -h -V -W f1 f2 ...` output -> per file: machine, glibc and glibcxx needs.

    readelf names each file ("File: ...") only when given more than one; `only` is the name
    used when it names none.
    """
    cur: dict[str, object] = {"machine": "", "glibc": [], "glibcxx": []}
    files: dict[str, dict[str, object]] = {only: cur}
    named = False
    section = ""
    need_file = ""
    for line in text.splitlines():
        if line.startswith("File: "):
            if not named:
                files, named = {}, True
            cur = {"machine": "", "glibc": [], "glibcxx": []}
            files[line[6:].strip()] = cur
            continue
        s = line.strip()
        if s.startswith("Machine:"):
            cur["machine"] = s.split(":", 1)[1].strip()
        elif s.startswith("Version needs section"):
            section = "needs"
        elif s.startswith(("Version symbols section", "Version definition section", "No version information")):
            section = ""
        elif section == "needs":
            m = re.search(r"File: (\S+)", s)
            if m and "Version:" in s and "Name:" not in s:
                need_file = m.group(1)
            v = re.search(r"Name: (GLIBC|GLIBCXX)_([0-9.]+)", s)
            if v:
                key = "glibc" if v.group(1) == "GLIBC" else "glibcxx"
                cur[key].append((tuple(int(x) for x in v.group(2).split(".")), need_file))  # type: ignore[union-attr]
    return files


def verdict_readelf(tree: Path, runtime: Runtime, arch: Arch) -> tuple[str, str]:
    elves = elf_files(tree)
    if not elves:
        return "ok (no ELF)", ""
    parsed: dict[str, dict[str, object]] = {}
    for i in range(0, len(elves), 200):
        batch = [str(e) for e in elves[i : i + 200]]
        p = run(["readelf", "-h", "-V", "-W", *batch], user_env(), 300)
        parsed.update(parse_readelf(p.stdout, batch[0]))
    bundled = {p.name for p in elves}
    problems: list[str] = []
    top: tuple[int, ...] = (0,)
    for name, info in parsed.items():
        rel = os.path.relpath(name, tree)
        if info["machine"] != READELF_MACHINE[arch]:
            problems.append(f"{rel}: machine {info['machine']!r}")
        for ver, _ in info["glibc"]:  # type: ignore[attr-defined]
            top = max(top, ver)
            if ver > runtime.glibc:
                problems.append(f"{rel}: needs GLIBC_{dotted(ver)} > {dotted(runtime.glibc)}")
        for ver, lib in info["glibcxx"]:  # type: ignore[attr-defined]
            # A bundled libstdc++ brings its own versions; only the system's has a ceiling.
            if lib == "libstdc++.so.6" and lib not in bundled and ver > runtime.glibcxx:
                problems.append(f"{rel}: needs GLIBCXX_{dotted(ver)} > {dotted(runtime.glibcxx)}")
    if len(parsed) != len(elves):
        problems.append(f"readelf read {len(parsed)} of {len(elves)} ELF files")
    glibc = dotted(top) if top != (0,) else "-"
    if problems:
        return f"FAIL {len(problems)}", f"{len(elves)} ELF; " + "; ".join(sorted(set(problems))[:4])
    return f"ok {glibc}", ""


# --- the independent import ----------------------------------------------------------------------


def make_read_only(tree: Path) -> None:
    for p in [tree, *tree.rglob("*")]:
        if not p.is_symlink():
            mode = p.stat().st_mode
            p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(tree: Path) -> None:
    for p in [tree, *tree.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def verdict_import(root: Path, smoke: str, interp: Interpreter | None, home: Path) -> tuple[str, str]:
    """Import from `root` (a layer's /opt: python/ and lib/) the way Lambda's sys.path sees it."""
    if interp is None:
        return "not run here", ""
    code = "import sys; sys.path[:0] = [sys.argv[1]]; " + smoke
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "LD_LIBRARY_PATH": str(root / "lib")}
    make_read_only(root)
    try:
        p = run([interp.path, "-I", "-S", "-B", "-c", code, str(root / "python")], env, IMPORT_TIMEOUT_S)
    except Failed as e:
        return "FAIL", str(e)
    finally:
        make_writable(root)
    if p.returncode != 0:
        return "FAIL", last_line(p)
    return "ok", ""


# --- the two builds ------------------------------------------------------------------------------


def uv_install(reqs: Sequence[str], platform: str, runtime: Runtime, dest: Path, no_deps: bool = False) -> None:
    cmd = [uv_bin(), "pip", "install", "--quiet", "--target", str(dest), "--python-platform", platform,
           "--python-version", runtime.version, "--only-binary", ":all:", "--no-installer-metadata",
           "--no-compile-bytecode", "--python", sys.executable]
    cmd += ["--no-deps", *reqs] if no_deps else ["-r", str(reqs[0])]
    p = run(cmd, user_env(), BUILD_TIMEOUT_S)
    if p.returncode != 0:
        raise Failed(last_line(p))


def lambdapack_build(req: Path, runtime: Runtime, arch: Arch, work: Path, cache: Path) -> dict[str, object]:
    cmd = [sys.executable, "-m", "lambdapack", "build", "--layer", "-r", str(req), "--runtime", runtime.name,
           "--arch", arch.value, "-o", str(work / "layer.zip"), "--format", "json", "--cache-dir", str(cache)]
    p = run(cmd, user_env(), BUILD_TIMEOUT_S, cwd=work)
    try:
        doc: dict[str, object] = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise Failed(f"exit {p.returncode}, no JSON: {last_line(p)}") from None
    return doc


def lambdapack_side(res: Result, req: Path, runtime: Runtime, arch: Arch, ctx: Context, work: Path) -> Path | None:
    doc = lambdapack_build(req, runtime, arch, work, ctx.cache)
    dists = {canonical(str(d["name"])): str(d["version"]) for d in doc.get("distributions") or []}  # type: ignore[attr-defined]
    res.lp_version = dists.get(canonical(PACKAGES[res.package][0]), "-")
    errors = [f for f in doc.get("findings") or [] if f.get("severity") == "error"]  # type: ignore[attr-defined]
    codes = Counter(str(f["code"]) for f in errors)
    if doc.get("ok"):
        res.lp_verdict = "ok"
        root = work / "lp"
        with zipfile.ZipFile(work / "layer.zip") as z:
            z.extractall(root)
        return root
    res.lp_verdict = " ".join(f"{c}x{n}" for c, n in sorted(codes.items())) or "error"
    res.lp_detail = [f"{f['code']} {f.get('path', '')}: {f.get('message', '')}" for f in errors[:3]]
    if not errors:
        err = doc.get("error") or {}
        res.lp_detail = [str(err.get("message", "?"))[:300]]  # type: ignore[union-attr]
    if not dists:
        return None
    # The refused build's exact versions, for the platform lambdapack asked uv for.
    target = doc.get("target") or {}
    root = work / "lp"
    uv_install([f"{n}=={v}" for n, v in dists.items()], str(target.get("uv_platform")), runtime,  # type: ignore[union-attr]
               root / "python", no_deps=True)
    res.lp_rebuilt = True
    return root


@dataclass
class Context:
    cache: Path
    scratch: Path
    interpreters: dict[tuple[str, str], Interpreter | None]
    arm64: Arm64Roots | None = None


def one_cell(package: str, runtime: Runtime, arch: Arch, ctx: Context) -> Result:
    res = Result(package, runtime.name, arch.value)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"{canonical(dist_name(package))}-{runtime.name}-{arch.value}-", dir=ctx.scratch))
    req = work / "requirements.txt"
    req.write_text(package + "\n")
    dist, smoke = PACKAGES[package]
    interp = ctx.interpreters[(runtime.name, arch.value)]
    try:
        root = lambdapack_side(res, req, runtime, arch, ctx, work)
        if root is not None:
            res.lp_check = check_tree(root, smoke, runtime, arch, interp, work)
    except Failed as e:
        res.lp_verdict = res.lp_verdict or "error"
        res.lp_detail.append(str(e))
    try:
        uv_root = work / "uv"
        uv_install([str(req)], f"{arch.machine}-manylinux_{runtime.uv_manylinux[0]}_{runtime.uv_manylinux[1]}",
                   runtime, uv_root / "python")
        res.uv_version = installed_version(uv_root / "python", dist)
        res.uv_check = check_tree(uv_root, smoke, runtime, arch, interp, work)
    except Failed as e:
        res.uv_version, res.uv_detail = "fails", str(e)
    shutil.rmtree(work, ignore_errors=True)
    res.seconds = time.monotonic() - started
    return res


def safe_cell(package: str, runtime: Runtime, arch: Arch, ctx: Context) -> Result:
    """One cell; a bug of this script in one cell is reported in that cell, the run goes on."""
    try:
        return one_cell(package, runtime, arch, ctx)
    except Exception as e:  # the report names it
        res = Result(package, runtime.name, arch.value, lp_verdict="bench error")
        res.lp_detail.append(f"bench error: {type(e).__name__}: {e}")
        return res


def check_tree(root: Path, smoke: str, runtime: Runtime, arch: Arch, interp: Interpreter | None, work: Path) -> Check:
    c = Check()
    try:
        c.readelf, c.readelf_detail = verdict_readelf(root, runtime, arch)
    except (Failed, OSError, ValueError) as e:  # a broken cell must not end the whole run
        c.readelf, c.readelf_detail = "error", f"{type(e).__name__}: {e}"
    home = work / "home"
    home.mkdir(exist_ok=True)
    c.imported, c.import_detail = verdict_import(root, smoke, interp, home)
    return c


# --- interpreters, including arm64 under qemu-user -----------------------------------------------


@dataclass
class Arm64Roots:
    """The arm64 Pythons of the roots given: an environ whose PATH has a `python3.X` wrapper per
    minor version (running that root's interpreter under qemu-aarch64) and which root each is from."""

    env: dict[str, str]
    roots: dict[str, Path]  # python3.X -> the sysroot its wrapper runs


def arm64_wrappers(sysroots: Sequence[Path], scratch: Path) -> Arm64Roots | None:
    """Wrappers for every `usr/bin/python3.X` of `sysroots`; a minor version in two roots runs
    from the first given, so `--arm64-root` order decides."""
    qemu = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
    if qemu is None or not sysroots:
        return None
    bindir = scratch / "arm64-bin"
    bindir.mkdir(exist_ok=True)
    roots: dict[str, Path] = {}
    for sysroot in sysroots:
        for exe in sorted((sysroot / "usr" / "bin").glob("python3.*")):
            if not re.fullmatch(r"python3\.\d+", exe.name):
                continue
            if exe.name in roots:
                log(f"arm64 {exe.name}: {roots[exe.name]} (first given), not {sysroot}")
                continue
            roots[exe.name] = sysroot
            w = bindir / exe.name
            w.write_text(f'#!/bin/sh\nexec "{qemu}" -L "{sysroot}" "{exe}" "$@"\n')
            w.chmod(0o755)
    return Arm64Roots(env={"PATH": str(bindir), "HOME": str(scratch)}, roots=roots)


def root_glibc(interp: Interpreter, home: Path) -> str:
    """The glibc an arm64 import really runs on: the root's, as the interpreter reports it."""
    code = "import os; print(os.confstr('CS_GNU_LIBC_VERSION'))"
    try:
        p = run([interp.path, "-I", "-S", "-c", code], {"PATH": "/usr/bin:/bin", "HOME": str(home)}, 120)
    except Failed:
        return "?"
    return p.stdout.strip().removeprefix("glibc ") or "?"


# Besides the interpreter: the system libraries Amazon Linux has that Debian's python3.X does not
# pull in (C++ extensions need libstdc++; the catalog's GLIBCXX ceiling is its version there).
SYSROOT_EXTRAS = ("libstdc++6",)
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def suite_sources(suite: str, mirror: str = DEBIAN_MIRROR, keyring: Path = DEBIAN_KEYRING) -> str:
    """A sources.list naming only `suite`'s arm64 main, verified with Debian's archive keyring."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", suite):
        raise Failed(f"{suite!r} is not a Debian suite name (e.g. bookworm, trixie)")
    return f"deb [arch=arm64 signed-by={keyring}] {mirror} {suite} main\n"


def apt_options(state: Path, suite: str | None) -> list[str]:
    """apt with a private state; with `suite`, also a private sources list (none of this machine's)."""
    opts = ["-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64", "-o", f"Dir::State::Lists={state}/lists",
            "-o", f"Dir::Cache={state}/cache", "-o", f"Dir::State::status={state}/status"]
    if suite is None:
        return opts
    if not DEBIAN_KEYRING.is_file():
        raise Failed(f"{DEBIAN_KEYRING} is missing (apt-get install debian-archive-keyring)")
    (state / "sources.list.d").mkdir(exist_ok=True)
    (state / "sources.list").write_text(suite_sources(suite))
    # An empty SourceParts directory: the host's sources.list.d (other suites, other vendors) stays out.
    return [*opts, "-o", f"Dir::Etc::SourceList={state}/sources.list",
            "-o", f"Dir::Etc::SourceParts={state}/sources.list.d"]


def make_arm64_root(sysroot: Path, python: str, suite: str | None = None) -> None:
    """Unpack Debian's arm64 `python` (and SYSROOT_EXTRAS) with their dependencies into `sysroot`.

    apt runs with a private state (its own lists, cache and an empty status) and this machine's
    sources.list, or with `suite` a private one naming only that suite (python3.13 is in trixie),
    so the host's architecture list, sources and packages stay as they are.
    """
    state = sysroot.parent / f"{sysroot.name}.apt"
    for d in ("lists/partial", "cache/archives/partial", "debs"):
        (state / d).mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    opts = apt_options(state, suite)
    env = user_env()
    for cmd in (["apt-get", *opts, "update", "-q"],):
        p = run(cmd, env, 600)
        if p.returncode != 0:
            raise Failed(f"apt-get update: {last_line(p)}")
    p = run(["apt-cache", *opts, "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
             "--no-breaks", "--no-replaces", "--no-enhances", python, *SYSROOT_EXTRAS], env, 600)
    names = sorted({ln for ln in p.stdout.splitlines() if ln and not ln.startswith(" ") and "<" not in ln})
    if p.returncode != 0 or not names:
        raise Failed(f"apt-cache depends {python}: {last_line(p)}")
    p = run(["apt-get", *opts, "download", *names], env, 1200, cwd=state / "debs")
    if p.returncode != 0:
        raise Failed(f"apt-get download: {last_line(p)}")
    for deb in sorted((state / "debs").glob("*.deb")):
        p = run(["dpkg-deb", "-x", str(deb), str(sysroot)], env, 600)
        if p.returncode != 0:
            raise Failed(f"dpkg-deb -x {deb.name}: {last_line(p)}")
    merge_usr(sysroot)


def merge_usr(sysroot: Path) -> None:
    """/lib -> usr/lib (and bin, sbin) where the packages left none: since trixie, Debian's packages
    ship only /usr and base-files makes the links, and the interpreter's PT_INTERP is
    /lib/ld-linux-aarch64.so.1 (qemu -L looks it up under the root, else on this machine)."""
    for name in ("bin", "sbin", "lib"):
        link = sysroot / name
        if not link.exists() and not link.is_symlink() and (sysroot / "usr" / name).is_dir():
            link.symlink_to(Path("usr") / name)


def find_interpreters(runtimes: Sequence[Runtime], arches: Sequence[Arch], arm64_env: dict[str, str] | None
                      ) -> dict[tuple[str, str], Interpreter | None]:
    found: dict[tuple[str, str], Interpreter | None] = {}
    for r in runtimes:
        for a in arches:
            env = arm64_env if a is Arch.ARM64 else None
            if a is Arch.ARM64 and env is None:
                found[(r.name, a.value)] = None
                continue
            interp = find_interpreter(r.python, a.machine, environ=env)
            found[(r.name, a.value)] = interp
            log(f"interpreter {r.name} {a.value}: {interp.path if interp else 'none: imports not run here'}")
    return found


# --- the report ----------------------------------------------------------------------------------

HEADER = ("package", "target", "lambdapack", "version", "readelf", "import", "uv --target", "readelf", "import")


def row(r: Result) -> tuple[str, ...]:
    star = "*" if r.lp_rebuilt else ""
    lp = r.lp_check
    uv = r.uv_check
    return (r.package, f"{r.runtime} {r.arch}", r.lp_verdict, r.lp_version, lp.readelf + star, lp.imported + star,
            r.uv_version, uv.readelf, uv.imported)


def table(results: Sequence[Result]) -> str:
    rows = [HEADER, *(row(r) for r in results)]
    widths = [max(len(x[i]) for x in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip() for x in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(results: Sequence[Result]) -> list[str]:
    out: list[str] = []
    for r in results:
        tag = f"{r.package} {r.runtime} {r.arch}"
        out += [f"{tag} lambdapack: {d}" for d in r.lp_detail]
        for side, c in (("lambdapack", r.lp_check), ("uv", r.uv_check)):
            if c.readelf_detail:
                out.append(f"{tag} {side} readelf: {c.readelf_detail}")
            if c.import_detail:
                out.append(f"{tag} {side} import: {c.import_detail}")
        if r.uv_detail:
            out.append(f"{tag} uv: {r.uv_detail}")
    return out


# The rules about whether a binary loads: the ones readelf and the import can contradict.
BINARY_RULES = frozenset({"LP002", "LP003", "LP004", "LP005", "LP007", "LP008"})


def lp_codes(r: Result) -> set[str]:
    return set(re.findall(r"LP\d{3}", r.lp_verdict))


def summary(results: Sequence[Result]) -> list[str]:
    n = len(results)
    lp_ok = sum(r.lp_verdict == "ok" for r in results)
    contradicted = [r for r in results if r.lp_rebuilt and lp_codes(r) & BINARY_RULES
                    and r.lp_check.readelf.startswith("ok") and r.lp_check.imported == "ok"]
    only_false = [r for r in contradicted if lp_codes(r) <= BINARY_RULES]
    uv_ok = sum(r.uv_check.readelf.startswith("ok") and r.uv_check.imported == "ok" for r in results)
    both = [r for r in results if r.lp_version not in ("", "-") and r.uv_version not in ("", "fails")]
    newer = sum(_vkey(r.lp_version) > _vkey(r.uv_version) for r in both)
    older = sum(_vkey(r.lp_version) < _vkey(r.uv_version) for r in both)
    return [
        f"{n} cells; lambdapack built {lp_ok}, refused {n - lp_ok}",
        f"false alarms: {len(contradicted)} refused cells name LP002-LP008 errors although the tree passes readelf "
        f"and the import; {len(only_false)} of them were refused for nothing else",
        f"uv --target: {uv_ok} of {n} pass readelf and import; lambdapack's version is newer than uv's in {newer} "
        f"cells, older in {older}",
    ]


def _vkey(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:4])


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--packages", help="comma-separated requirements from the built-in list (default: all)")
    ap.add_argument("--runtimes", default=",".join(DEFAULT_RUNTIMES), help="comma-separated, or 'all' (the catalog)")
    ap.add_argument("--arches", default=",".join(DEFAULT_ARCHES), help="x86_64,arm64 or 'all'")
    ap.add_argument("--jobs", type=int, default=1, help="cells at once (default 1)")
    ap.add_argument("--out", type=Path, help="also write the report here")
    ap.add_argument("--json", type=Path, help="raw per-cell results")
    ap.add_argument("--arm64-root", type=Path, action="append", default=[],
                    help="an arm64 sysroot with usr/bin/python3.X, run under qemu-aarch64; may repeat (each root gives "
                    "the python3.X it has; a version in two roots runs from the first)")
    ap.add_argument("--make-arm64-root", metavar="PYTHON", help="first unpack Debian's arm64 PYTHON (e.g. python3.13)"
                    " and its dependencies into the last --arm64-root, unless it has usr/bin/PYTHON already "
                    "(needs apt-get; installs nothing on this machine)")
    ap.add_argument("--arm64-suite", metavar="SUITE", help="the Debian suite --make-arm64-root takes PYTHON from "
                    "(e.g. trixie for python3.13; default: this machine's sources.list)")
    ap.add_argument("--scratch", type=Path, help="work here (kept) instead of a temporary directory")
    return ap.parse_args(argv)


def select(args: argparse.Namespace) -> tuple[list[str], list[Runtime], list[Arch]]:
    packages = list(PACKAGES) if not args.packages else [p.strip() for p in args.packages.split(",") if p.strip()]
    unknown = [p for p in packages if p not in PACKAGES]
    if unknown:
        raise SystemExit(f"matrix.py: unknown package(s) {', '.join(unknown)}; known: {', '.join(PACKAGES)}")
    names = list(RUNTIMES) if args.runtimes == "all" else args.runtimes.split(",")
    arches = ["x86_64", "arm64"] if args.arches == "all" else args.arches.split(",")
    try:
        return packages, [get_runtime(n.strip()) for n in names], [get_arch(a.strip()) for a in arches]
    except ValueError as e:
        raise SystemExit(f"matrix.py: {e}") from None


def arm64_setup(args: argparse.Namespace, scratch: Path) -> Arm64Roots | None:
    """--make-arm64-root into the last --arm64-root (unless it has that Python), then the wrappers."""
    roots = [r.resolve() for r in args.arm64_root]
    if args.arm64_suite and not args.make_arm64_root:
        raise SystemExit("matrix.py: --arm64-suite is for --make-arm64-root")
    if args.make_arm64_root:
        if not roots:
            raise SystemExit("matrix.py: --make-arm64-root needs --arm64-root DIR")
        if (roots[-1] / "usr" / "bin" / args.make_arm64_root).exists():
            log(f"arm64 root {roots[-1]} has {args.make_arm64_root} already: reused")
        else:
            try:
                make_arm64_root(roots[-1], args.make_arm64_root, args.arm64_suite)
            except Failed as e:
                raise SystemExit(f"matrix.py: making the arm64 root failed: {e}") from None
    return arm64_wrappers(roots, scratch)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    packages, runtimes, arches = select(args)
    if shutil.which("readelf") is None:
        raise SystemExit("matrix.py: readelf (binutils) is needed")
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="lp-matrix-"))
    scratch.mkdir(parents=True, exist_ok=True)
    arm64 = arm64_setup(args, scratch)
    ctx = Context(cache=scratch / "lambdapack-cache", scratch=scratch,
                  interpreters=find_interpreters(runtimes, arches, arm64.env if arm64 else None), arm64=arm64)
    cells = [(p, r, a) for r in runtimes for a in arches for p in packages]
    started = time.monotonic()
    results: list[Result] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for res in pool.map(lambda c: safe_cell(*c, ctx), cells):
            results.append(res)
            log(f"[{len(results)}/{len(cells)}] {res.package} {res.runtime} {res.arch}: lambdapack {res.lp_verdict} "
                f"{res.lp_version} / uv {res.uv_version} ({res.seconds:.0f}s)")
    elapsed = time.monotonic() - started
    report = render(results, ctx, elapsed)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def render(results: Sequence[Result], ctx: Context, elapsed: float) -> str:
    interps = sorted({f"{r} {a}: {i.path} ({'.'.join(map(str, i.version))})" if i else f"{r} {a}: none"
                      for (r, a), i in ctx.interpreters.items()})
    head = [
        "lambdapack popular-packages matrix (bench/matrix.py)",
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: matrix.py {' '.join(sys.argv[1:])}",
        f"lambdapack {_lambdapack_rev()}; uv {_first_line([uv_bin(), '--version'])}; "
        f"{_first_line(['readelf', '--version'])}",
        f"{len(results)} cells in {elapsed / 60:.1f} min; interpreters: " + "; ".join(interps),
        "lambdapack = verdict of `build --layer` (ok, or error codes x count); * = checked on the refused build's "
        "exact versions (uv --no-deps, lambdapack's platform)",
        "uv --target = `uv pip install --target` at <arch>-manylinux_<catalog uv_manylinux>; readelf = ok <highest "
        "GLIBC_ needed> or FAIL <problems>",
        "",
    ]
    head[-1:-1] = arm64_header(results, ctx)
    body = [table(results), "", *summary(results)]
    n = notes(results)
    return "\n".join(head + body + (["", "notes:", *n] if n else []))


def arm64_header(results: Sequence[Result], ctx: Context) -> list[str]:
    """Which root each arm64 import ran from, on which glibc: newer than Amazon Linux's, so the import
    cannot show a too-new GLIBC_ need; the readelf column checks that against the runtime's."""
    out: list[str] = []
    for name in sorted({r.runtime for r in results if r.arch == Arch.ARM64.value}):
        interp = ctx.interpreters.get((name, Arch.ARM64.value))
        if interp is None or ctx.arm64 is None:
            continue
        runtime = get_runtime(name)
        root = ctx.arm64.roots.get(f"python{runtime.version}", Path("?"))
        glibc = root_glibc(interp, ctx.scratch)
        out.append(f"arm64 {name} imports: qemu-aarch64 -L {root} (Debian's arm64 python{runtime.version}, glibc "
                   f"{glibc}): newer than the runtime's glibc {dotted(runtime.glibc)}, so only the readelf column "
                   f"checks the glibc ceiling{root_debs(root, runtime.version)}")
    qemu = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
    return [f"arm64: {_first_line([qemu, '--version'])}", *out] if out and qemu else out


def root_debs(root: Path, version: str) -> str:
    """The .deb files --make-arm64-root unpacked that decide an import: interpreter, glibc, libstdc++."""
    debs = root.parent / f"{root.name}.apt" / "debs"
    names = [d.name for want in (f"python{version}_", "libc6_", "libstdc++6_") for d in sorted(debs.glob(f"{want}*.deb"))]
    return f"; from {', '.join(names)}" if names else ""


def _first_line(cmd: Sequence[str]) -> str:
    try:
        p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (p.stdout.strip().splitlines() or ["?"])[0]


def _lambdapack_rev() -> str:
    here = Path(__file__).resolve().parent
    return _first_line(["git", "-C", str(here), "describe", "--always", "--dirty"])


if __name__ == "__main__":
    sys.exit(main())
