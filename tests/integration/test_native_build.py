"""`build --build-native` on real sdists from PyPI (issue 15): C and C++ extensions that publish no
wheel for the target, built with zig for python3.11 x86_64 (glibc 2.26) and python3.12 arm64
(glibc 2.34) on this machine, whatever it is.

The packages, and why each was chosen (each test first proves, by a build without the flag,
that the target has no wheel for it):
- markupsafe 2.0.1 (C): a popular package's old pin (Jinja2 < 3.1 users); its wheels stop at cp310.
- crcmod 1.7 (C): a niche package (gsutil's CRC32C) published as an sdist only.
- bitarray 2.3.0 (C): an old pin of a maintained package; wheels stop at cp310.
- ujson 4.0.2 (C and C++: it bundles Google's double-conversion, compiled as C++): wheels to cp39.
- psycopg2 2.9.9 (C, needs libpq): must fail, naming libpq and psycopg2-binary.
- orjson 3.4.0 (Rust, maturin): must be refused as Rust before anything is compiled.

Checked by the independent oracle (binutils' readelf): each extension's machine and the highest
GLIBC_ version it needs; the x86_64 build is imported by a real CPython 3.11 and called into, a
python3.11 arm64 build likewise by an aarch64 CPython 3.11 under qemu (`lambdapack smoke`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from host_pythons import python_exe
from lp_helpers import Run, clean_env, glibc_needs, readelf_path, run_lp
from test_check_output import assert_valid, validator

from lambdapack.host.ziglang import find_zig

pytestmark = pytest.mark.network

PACKAGES = ["markupsafe==2.0.1", "crcmod==1.7", "bitarray==2.3.0", "ujson==4.0.2"]
# (runtime, arch, the machine as readelf -h names it, the runtime's glibc)
TARGETS = {
    "py311-x86_64": ("python3.11", "x86_64", "Advanced Micro Devices X86-64", (2, 26)),
    "py312-arm64": ("python3.12", "arm64", "AArch64", (2, 34)),
    # Imported under qemu: an aarch64 CPython 3.11 is to be had (Debian 12's), a 3.12 is not.
    "py311-arm64": ("python3.11", "arm64", "AArch64", (2, 26)),
}
# One call into each package's native code: a pure-Python fallback would not satisfy it.
SMOKE = """
import markupsafe._speedups as s
assert s.escape("<a>") == "&lt;a&gt;", s.escape("<a>")
import importlib, crcmod.predefined
assert importlib.import_module("crcmod.crcmod")._usingExtension  # its C extension, not the fallback
assert crcmod.predefined.mkCrcFun("crc-32")(b"123456789") == 0xCBF43926
import bitarray, bitarray._bitarray
assert bitarray.bitarray("1101").count() == 3
import ujson
assert ujson.dumps({"a": [1.5, 2]}) == '{"a":[1.5,2]}', ujson.dumps({"a": [1.5, 2]})
assert ujson.loads("[1e3, 0.1]") == [1000.0, 0.1]
print("native ok")
"""


def _need_zig() -> None:
    if find_zig(os.environ) is None:
        pytest.skip("the ziglang package is not installed (pip install 'lambdapack[native]')")


def _project(root: Path, requirements: list[str]) -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    # The handler module calls into every package's native code when it is imported (the smoke test).
    body = SMOKE if requirements == PACKAGES else ""
    (src / "app.py").write_text(f"{body}\ndef handler(event, context):\n    return 'ok'\n", encoding="utf-8")
    (src / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return src


def _build(src: Path, out: Path, cache: Path, runtime: str, arch: str, *extra: str) -> Run:
    env = clean_env({"LAMBDAPACK_CACHE_DIR": str(cache)})
    return run_lp(["build", str(src), "--runtime", runtime, "--arch", arch, "-o", str(out), *extra],
                  env=env, timeout=900)


@pytest.fixture(scope="module", params=sorted(TARGETS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Run, Path]:
    """(target id, the zip, the build's run, its cache) for the four packages, built once per target."""
    _need_zig()
    name = request.param
    runtime, arch, _machine, _glibc = TARGETS[name]
    root = tmp_path_factory.mktemp(name)
    src = _project(root, PACKAGES)
    out, cache = root / "fn.zip", root / "cache"
    r = _build(src, out, cache, runtime, arch, "--build-native")
    assert r.returncode == 0, r.explain()
    return name, out, r, cache


def test_without_the_flag_the_target_has_no_wheel_for_them(tmp_path: Path) -> None:
    """The premise: each package fails a plain build for each target (no wheel), naming it."""
    for runtime, arch, _m, _g in TARGETS.values():
        for req in PACKAGES:
            src = _project(tmp_path / f"{runtime}-{arch}-{req}", [req])
            r = _build(src, tmp_path / "x.zip", tmp_path / "cache", runtime, arch)
            assert r.returncode == 1, r.explain()
            assert req.split("==")[0] in r.stderr.lower(), r.explain()
            assert not (tmp_path / "x.zip").exists()


def test_every_extension_is_for_the_target_machine_and_glibc(built: tuple[str, Path, Run, Path],
                                                            tmp_path: Path) -> None:
    name, out, run, _cache = built
    readelf = readelf_path()
    if readelf is None:
        pytest.skip("readelf (GNU binutils) is not on PATH: the oracle is missing")
    _runtime, _arch, machine, glibc = TARGETS[name]
    with zipfile.ZipFile(out) as z:
        sos = [n for n in z.namelist() if re.search(r"\.so$", n)]
        z.extractall(tmp_path)
    tops = {n.split("/")[0] for n in sos}
    assert {"markupsafe", "crcmod", "bitarray"} <= tops and any(n.startswith("ujson") for n in sos), sos
    versioned = 0
    for so in sos:
        header = subprocess.run([readelf, "-h", str(tmp_path / so)], capture_output=True, text=True, check=True,
                                env=clean_env({"LC_ALL": "C"})).stdout
        assert f"Machine:                           {machine}" in header, (so, header)
        needs = glibc_needs(tmp_path / so, readelf)  # none at all: only Python's API is called
        assert not needs or max(needs) <= glibc, (so, sorted(needs))
        versioned += bool(needs)
        dynamic = subprocess.run([readelf, "-d", str(tmp_path / so)], capture_output=True, text=True, check=True,
                                 env=clean_env({"LC_ALL": "C"})).stdout
        needed = set(re.findall(r"Shared library: \[([^\]]+)\]", dynamic))
        # Only the target's C library and loader: libc++ is linked statically, nothing of this machine.
        assert needed <= {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "ld-linux-x86-64.so.2",
                          "ld-linux-aarch64.so.1"}, (so, needed)
    assert versioned >= 3, "the oracle saw too few glibc needs to say anything"
    for wheel_name in ("markupsafe-2.0.1", "crcmod-1.7", "bitarray-2.3.0", "ujson-4.0.2"):
        assert re.search(rf"built {re.escape(wheel_name)}-cp3\d+-cp3\d+-manylinux_2_\d+_\w+\.whl with zig",
                         run.stderr), run.explain()


@pytest.mark.parametrize("built", ["py311-x86_64"], indirect=True)
def test_the_x86_64_build_imports_and_runs_on_cpython_311(built: tuple[str, Path, Run, Path],
                                                         tmp_path: Path) -> None:
    _name, out, _run, _cache = built
    if platform.machine() != "x86_64":
        pytest.skip("an x86_64 build is imported natively on an x86_64 machine only")
    python = python_exe(11)
    if python is None:
        pytest.skip("no CPython 3.11 on this machine")
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path / "task")
    code = f"import sys; sys.path.insert(0, {str(tmp_path / 'task')!r})\n{SMOKE}"
    res = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120,
                         env=clean_env(), check=False)
    assert res.returncode == 0 and "native ok" in res.stdout, res.stderr
    # The control: the same call without the package's extension fails, so the call is a real test.
    (tmp_path / "task" / "markupsafe" / "_speedups.cpython-311-x86_64-linux-gnu.so").unlink()
    res = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120,
                         env=clean_env(), check=False)
    assert res.returncode != 0 and "_speedups" in res.stderr


@pytest.mark.parametrize("built", ["py311-arm64"], indirect=True)  # no aarch64 CPython 3.12 to be had
def test_the_arm64_build_imports_and_runs_under_qemu(built: tuple[str, Path, Run, Path], tmp_path: Path) -> None:
    """`lambdapack smoke` imports the handler, which calls into each package's aarch64 code, with an
    aarch64 CPython 3.11 under qemu-aarch64 (.ci/run provides both; skipped with the reason otherwise)."""
    _name, out, _run, _cache = built
    args = ["smoke", str(out), "--runtime", "python3.11", "--arch", "arm64", "--handler", "app.handler",
            "--format", "json"]
    env = clean_env({k: v for k, v in os.environ.items()
                     if k in ("LAMBDAPACK_SMOKE_PYTHON_AARCH64", "LAMBDAPACK_QEMU_AARCH64", "QEMU_LD_PREFIX")})
    r = run_lp(args, env=env, timeout=600)
    if r.returncode == 3:
        pytest.skip(f"arm64 smoke skipped: {r.json.get('reason')}")
    assert r.returncode == 0, r.explain()
    assert r.json["status"] == "passed" and r.json["interpreter"]["machine"] == "aarch64", r.json
    assert r.json["interpreter"]["emulation"] is not None, r.json
    # The control: without markupsafe's aarch64 extension the handler's first call fails.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("markupsafe/_speedups"):
                dst.writestr(info, src.read(info))
    r2 = run_lp([*args[:1], str(broken), *args[2:]], env=env, timeout=600)
    assert r2.returncode == 1 and r2.json["status"] == "failed", r2.explain()


def test_the_same_sdists_build_to_the_same_bytes(built: tuple[str, Path, Run, Path], tmp_path: Path) -> None:
    """A second build with an empty cache, in another folder, compiles everything again: same zip."""
    name, out, _run, _cache = built
    runtime, arch, _m, _g = TARGETS[name]
    src = _project(tmp_path, PACKAGES)
    again = tmp_path / "again.zip"
    r = _build(src, again, tmp_path / "fresh-cache", runtime, arch, "--build-native")
    assert r.returncode == 0, r.explain()
    assert r.stderr.count(" with zig ") == 4, r.explain()  # built again, not taken from a cache
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(out.read_bytes()).digest()


def test_a_built_wheel_is_taken_from_the_cache(built: tuple[str, Path, Run, Path], tmp_path: Path) -> None:
    name, _out, _run, cache = built
    runtime, arch, _m, _g = TARGETS[name]
    src = _project(tmp_path, PACKAGES)
    r = _build(src, tmp_path / "fn.zip", cache, runtime, arch, "--build-native", "--refresh")
    assert r.returncode == 0, r.explain()
    assert " with zig " not in r.stderr and r.stderr.count("built before (from the cache)") == 4, r.explain()
    # --format json says so too, valid against the committed schema.
    r = _build(src, tmp_path / "fn.zip", cache, runtime, arch, "--build-native", "--refresh", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert_valid(validator("build.schema.json"), r.json)
    native = r.json["native_builds"]
    assert sorted(n["name"] for n in native) == ["bitarray", "crcmod", "markupsafe", "ujson"], native
    assert all(n["from_cache"] and n["seconds"] is None and n["toolchain"].startswith("zig ") for n in native)
    # Another target is another key: nothing of the first target's wheels is used for it.
    other = "python3.12" if runtime == "python3.11" else "python3.11"
    src2 = _project(tmp_path / "other", ["markupsafe==2.0.1"])
    r2 = _build(src2, tmp_path / "other.zip", cache, other, arch, "--build-native")
    assert r2.returncode == 0 and "built markupsafe-2.0.1-" in r2.stderr and "from the cache" not in r2.stderr, \
        r2.explain()


@pytest.mark.parametrize("runtime,arch", [("python3.11", "x86_64"), ("python3.12", "arm64")])
def test_a_package_needing_libpq_fails_naming_it_and_the_binary_wheel(tmp_path: Path, runtime: str, arch: str) -> None:
    _need_zig()
    src = _project(tmp_path, ["psycopg2==2.9.9"])
    out = tmp_path / "fn.zip"
    r = _build(src, out, tmp_path / "cache", runtime, arch, "--build-native")
    assert r.returncode == 1, r.explain()
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(("error:", "hint:"))]
    assert any("psycopg2 2.9.9" in ln and "libpq" in ln for ln in lines), r.explain()
    assert any("psycopg2-binary" in ln for ln in lines), r.explain()
    assert "Traceback" not in r.stderr and not out.exists()


def test_a_uv_lock_keeps_its_hashes_for_the_built_package(tmp_path: Path) -> None:
    """A lock names exact files: the sdist must be the one the lock hashes, and the install then
    checks the built wheel's hash instead of failing on it; a lock with another hash is refused."""
    _need_zig()
    from lambdapack.resolve.install import find_uv

    src = tmp_path / "proj"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 'ok'\n", encoding="utf-8")
    (src / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
                                        'dependencies = ["markupsafe==2.0.1"]\n', encoding="utf-8")
    lock = subprocess.run([find_uv(), "lock", "--no-config", "-q"], cwd=src, capture_output=True, text=True,
                          env=clean_env(), timeout=300, check=False)
    assert lock.returncode == 0, lock.stderr
    out = tmp_path / "fn.zip"
    r = _build(src, out, tmp_path / "cache", "python3.12", "arm64", "--build-native")
    assert r.returncode == 0 and "uv.lock" in r.stderr and "built markupsafe-2.0.1-" in r.stderr, r.explain()
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("markupsafe/_speedups.cpython-312-aarch64") for n in z.namelist())
    text = (src / "uv.lock").read_text(encoding="utf-8")
    m = re.search(r'sdist = \{[^}]*hash = "sha256:([0-9a-f]{64})"', text)
    assert m is not None, text
    (src / "uv.lock").write_text(text.replace(m.group(1), "0" * 64), encoding="utf-8")
    out.unlink()
    r = _build(src, out, tmp_path / "cache", "python3.12", "arm64", "--build-native")
    assert r.returncode == 2 and "is not one of the files the lock's hashes name" in r.stderr, r.explain()
    assert not out.exists()


def test_without_a_cpython_of_the_runtime_uv_is_asked_for_one(tmp_path: Path) -> None:
    """No CPython 3.14 on this machine: uv python install is tried; where it cannot download (no
    network to its host), the build fails naming what to install, exit 2; where it can, it builds."""
    _need_zig()
    from lambdapack.host.interpreters import find_interpreter

    if find_interpreter((3, 14)) is not None:
        pytest.skip("this machine has a CPython 3.14: nothing to install")
    src = _project(tmp_path, ["markupsafe==2.0.1"])
    out = tmp_path / "fn.zip"
    r = _build(src, out, tmp_path / "cache", "python3.14", "x86_64", "--build-native")
    assert "installing one with uv python install" in r.stderr, r.explain()
    if r.returncode == 0:
        assert "built markupsafe-2.0.1-cp314-cp314-manylinux_2_17_x86_64.whl" in r.stderr and out.exists()
    else:
        assert r.returncode == 2 and "needs a Linux CPython 3.14" in r.stderr, r.explain()
        assert "uv python install 3.14 failed" in r.stderr and "Traceback" not in r.stderr and not out.exists()
        assert len([ln for ln in r.stderr.splitlines() if ln.startswith(("error:", "hint:"))]) == 2


def test_a_rust_extension_is_refused_as_rust(tmp_path: Path) -> None:
    _need_zig()
    src = _project(tmp_path, ["orjson==3.4.0"])
    r = _build(src, tmp_path / "fn.zip", tmp_path / "cache", "python3.12", "arm64", "--build-native")
    assert r.returncode == 1, r.explain()
    assert "orjson 3.4.0" in r.stderr and "Rust extension" in r.stderr and "maturin" in r.stderr, r.explain()
    assert " with zig " not in r.stderr
