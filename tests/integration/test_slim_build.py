"""Slimming numpy + pandas for python3.12 x86_64 from real wheels: every native module
that remains still imports, with this machine's real Python 3.12, from a read-only copy
of the zip. Sizes before/after each profile are printed (run with -s to see them)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lp_helpers import chmod_tree

from lambdapack.assemble.profiles import Profile
from lambdapack.assemble.slim import SlimResult, apply_slim, plan_slim
from lambdapack.assemble.stage import dependency_entries
from lambdapack.assemble.strip import find_strip_tools
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.host.interpreters import find_interpreter
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.resolve.distributions import read_distributions
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

T312 = Target(get_runtime("python3.12"), Arch.X86_64)

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="imports x86_64 wheels"),
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[StagedFile]]:
    base = tmp_path_factory.mktemp("np")
    site = base / "site"
    argv = [
        sys.executable, "-m", "uv", "pip", "install", "--target", str(site),
        "--python-platform", T312.uv_platform, "--python-version", "3.12",
        "--only-binary", ":all:", "--no-compile-bytecode", "--no-installer-metadata", "numpy", "pandas",
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    dists = read_distributions(site)
    return site, dependency_entries(site, dists, work=base / "records")


def _zip(entries: list[StagedFile], out: Path) -> int:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for e in sorted(entries, key=lambda e: e.arcname):
            info = zipfile.ZipInfo(e.arcname, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if e.executable else 0o644) << 16
            with open(e.path, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return out.stat().st_size


IMPORT_ALL = r"""
import ctypes, importlib, importlib.machinery, json, os, sys
root = sys.argv[1]
sys.path[:0] = [root]
import numpy, pandas
assert numpy.__file__.startswith(root) and pandas.__file__.startswith(root)
# Every extension module left in the tree, imported by name.
# Every extension module left in the tree, imported by name; every other shared
# library (auditwheel's *.libs) loaded with dlopen.
mods, libs, failed = [], [], {}
for dp, dns, fs in os.walk(root):
    dns.sort()
    for f in sorted(fs):
        suf = next((s for s in importlib.machinery.EXTENSION_SUFFIXES if f.endswith(s)), None)
        rel = os.path.relpath(os.path.join(dp, f), root)
        parts = rel[: -len(suf)].split(os.sep) if suf else []
        if suf and all(p.isidentifier() for p in parts):
            mods.append(".".join(parts))
        elif ".so" in f:
            libs.append(rel)
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa: BLE001
        failed[m] = f"{type(e).__name__}: {e}"
for lib in libs:
    try:
        ctypes.CDLL(os.path.join(root, lib))
    except OSError as e:
        failed[lib] = str(e)
# Real work through the vendored OpenBLAS and pandas' Cython code.
a = numpy.array([[4.0, 7.0], [2.0, 6.0]])
assert numpy.allclose(numpy.linalg.inv(a) @ a, numpy.eye(2))
df = pandas.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
assert df.groupby("k")["v"].sum().to_dict() == {"a": 4, "b": 2}
assert str(pandas.Timestamp("2024-01-01") + pandas.Timedelta(days=1)) == "2024-01-02 00:00:00"
print(json.dumps({"modules": len(mods), "libraries": len(libs), "failed": failed}))
"""


def _import_everything(py: str, entries: list[StagedFile], tmp: Path) -> dict[str, object]:
    zpath = tmp / "deps.zip"
    _zip(entries, zpath)
    root = tmp / "task"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(root)
    chmod_tree(root, writable=False)
    try:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8",
        }
        proc = subprocess.run(
            [py, "-I", "-B", "-c", IMPORT_ALL, str(root)],
            capture_output=True, text=True, timeout=600, env=env, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    finally:
        chmod_tree(root, writable=True)


def _summary(name: str, before: list[StagedFile], res: SlimResult, zipped_before: int, zipped_after: int) -> str:
    unz_before = sum(e.size for e in before)
    unz_after = sum(e.size for e in res.entries)
    by_reason: dict[str, int] = {}
    for r in res.removals:
        key = r.reason.split(":", 1)[1].strip().split(" folder ")[0] if ":" in r.reason else r.reason
        by_reason[key] = by_reason.get(key, 0) + r.size
    strip_saved = sum(b - a for _n, b, a in res.stripped)
    lines = [
        f"[{name}] unzipped {unz_before:,} -> {unz_after:,} bytes (-{unz_before - unz_after:,}); "
        f"zipped {zipped_before:,} -> {zipped_after:,} (-{zipped_before - zipped_after:,}); "
        f"files {len(before)} -> {len(res.entries)}",
        *(
            f"    removed {size:>12,}  {reason}"
            for reason, size in sorted(by_reason.items(), key=lambda kv: -kv[1])
        ),
        f"    stripped {len(res.stripped)} file(s), saved {strip_saved:,} bytes with {res.strip_tools}; "
        f"kept unstripped: {len(res.kept_unstripped)}",
        *(f"      kept {a}: {why}" for a, why in res.kept_unstripped),
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("profile", [Profile.SAFE, Profile.AGGRESSIVE], ids=lambda p: p.value)
def test_slimmed_numpy_pandas_still_import(
    profile: Profile, installed: tuple[Path, list[StagedFile]], tmp_path: Path
) -> None:
    found = find_interpreter((3, 12), platform.machine())
    if found is None:
        pytest.skip("no Python 3.12 for this machine's architecture (PATH, pyenv, uv-managed)")
    py = found.path
    _site, entries = installed
    originals = {e.arcname: (e.path, e.path.stat().st_size, e.path.stat().st_mtime_ns) for e in entries}
    plan = plan_slim(entries, T312, profile)
    res = apply_slim(entries, plan, T312, tmp_path / "work")

    # The installed tree is never modified (stripping works on copies).
    for _a, (path, size, mtime) in originals.items():
        assert path.stat().st_size == size and path.stat().st_mtime_ns == mtime
    removed = {r.arcname for r in res.removals}
    assert removed and not removed & {e.arcname for e in res.entries}
    assert not any(r.arcname.split("/", 1)[0].endswith(".dist-info") for r in res.removals)
    if profile is Profile.SAFE:
        assert res.stripped == [] and all(r.reason.startswith("safe: ") for r in res.removals)
    else:
        assert any("test folder" in r.reason for r in res.removals)
        assert any(a.startswith("pandas/tests/") for a in removed)
        if find_strip_tools("x86_64"):
            assert res.stripped, "numpy/pandas carry .symtab; some copies must have been stripped"
        for arcname, before, after in res.stripped:
            assert after < before
            new = next(e for e in res.entries if e.arcname == arcname)
            old = read_elf_file(originals[arcname][0])
            got = read_elf_file(new.path)
            assert got.exported_symbols == old.exported_symbols and got.needed == old.needed
        for _a, why in res.kept_unstripped:
            assert why.startswith("not stripped")

    # Every native module left still imports, from a read-only extracted zip.
    out = _import_everything(py, res.entries, tmp_path)
    assert out["failed"] == {}, out["failed"]
    assert isinstance(out["modules"], int) and out["modules"] > 50
    assert isinstance(out["libraries"], int) and out["libraries"] >= 1

    zipped_before = _zip(entries, tmp_path / "before.zip")
    zipped_after = _zip(res.entries, tmp_path / "after.zip")
    print("\n" + _summary(profile.value, entries, res, zipped_before, zipped_after))
    assert sum(e.size for e in res.entries) < sum(e.size for e in entries)
    assert zipped_after < zipped_before
