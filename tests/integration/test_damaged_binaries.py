"""Damaged binaries and damaged zips: `check` fails them, and only them.

Everything is real: the extension modules are this interpreter's own (lib-dynload)
and popular wheels' (installed with uv), damaged by cutting them; the real loader
(Python's import, ctypes.CDLL) shows which copies are broken; `unzip -t` shows
which zips are; `lambdapack check` and `lambdapack build --with-layer` run as
their own processes.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import platform
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import Run, assert_no_outputs, clean_env, python_exe, run_lp, write_handler

HANDLER = "def lambda_handler(event, context):\n    return {'ok': True}\n"
ARCH = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())
RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
POPULAR = ("numpy", "pandas", "pydantic-core", "cryptography", "pillow", "grpcio", "psycopg2-binary", "lxml")


# --- a real extension module and its damaged copies ---------------------------------------


def _own_extension() -> Path:
    """An extension module of this interpreter (lib-dynload), as a real ELF file."""
    if sys.platform != "linux" or ARCH is None:
        pytest.skip(f"needs a Linux x86_64/aarch64 host with ELF extension modules ({sys.platform} {platform.machine()})")
    for name in ("_bisect", "_json", "_csv", "_struct", "_random", "math"):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            path = Path(origin)
            if path.read_bytes()[:4] == b"\x7fELF":
                return path
    pytest.skip("this interpreter has no shared-library extension modules (all built in)")


def _segment_end(data: bytes) -> int:
    """End of the last PT_LOAD/PT_DYNAMIC file range (ELF64 little-endian), read here, not by lambdapack."""
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    ends = [off + filesz for i in range(phnum)
            for p_type, _f, off, _v, _p, filesz in [struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)]
            if p_type in (1, 2)]
    return max(ends)


def _variants(data: bytes) -> dict[str, bytes]:
    end = _segment_end(data)
    (shoff,) = struct.unpack_from("<Q", data, 40)
    out = {"whole": data, "empty": b"", "cut40": data[:40], "cut_mid_segment": data[: end // 2]}
    if shoff > end:
        out["cut_section_headers"] = data[: (end + shoff) // 2]
    stripped = bytearray(data[:end])
    struct.pack_into("<Q", stripped, 40, 0)  # e_shoff: no section header table at all
    struct.pack_into("<HHH", stripped, 58, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    out["no_section_headers"] = bytes(stripped)
    # What a clone without git-lfs leaves in place of the binary.
    out["lfs_pointer"] = (b"version https://git-lfs.github.com/spec/v1\n"
                          b"oid sha256:" + b"0" * 64 + b"\nsize %d\n" % len(data))
    return out


# variant -> (the real loader can load it, LP008 severity or None)
EXPECT: dict[str, tuple[bool, str | None]] = {
    "whole": (True, None),
    "no_section_headers": (True, None),
    "cut_section_headers": (True, "warning"),
    "empty": (False, "error"),
    "cut40": (False, "error"),
    "cut_mid_segment": (False, "error"),
    "lfs_pointer": (False, "error"),
}


@pytest.fixture(scope="module")
def ext() -> tuple[str, Path]:
    path = _own_extension()
    return path.name.split(".", 1)[0], path


@pytest.fixture(scope="module")
def damaged(ext: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """variant -> a directory holding the handler and the extension module (that copy)."""
    root = tmp_path_factory.mktemp("damaged")
    out: dict[str, Path] = {}
    for variant, data in _variants(ext[1].read_bytes()).items():
        d = root / variant
        d.mkdir()
        (d / "lambda_function.py").write_text(HANDLER, encoding="utf-8")
        (d / ext[1].name).write_bytes(data)
        out[variant] = d
    return out


def _load(module: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """Import `module` from `directory` (first on sys.path) and dlopen it, in a fresh interpreter."""
    code = (
        "import ctypes, sys, importlib\n"
        f"sys.path.insert(0, {str(directory)!r})\n"
        f"m = importlib.import_module({module!r})\n"
        f"assert m.__file__.startswith({str(directory)!r}), m.__file__\n"
        "ctypes.CDLL(m.__file__)\n"
        "print('loaded', m.__file__)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=clean_env(), check=False)


@pytest.mark.parametrize("variant", sorted(EXPECT))
def test_the_real_loader_agrees(ext: tuple[str, Path], damaged: dict[str, Path], variant: str) -> None:
    if variant not in damaged:
        pytest.skip(f"{ext[1].name} has its section headers inside its segments")
    p = _load(ext[0], damaged[variant])
    loads, _severity = EXPECT[variant]
    assert (p.returncode == 0) == loads, (variant, p.returncode, p.stdout, p.stderr[-2000:])
    if variant in ("empty", "cut40"):
        assert "file too short" in p.stderr
    if variant == "lfs_pointer":
        assert "invalid ELF header" in p.stderr
    if variant == "cut_mid_segment":
        # Either the loader refuses it or the process dies on the missing pages (SIGBUS).
        assert p.returncode != 0


def _zip_dir(d: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(d.iterdir()):
            info = zipfile.ZipInfo(f.name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.read_bytes())
    return dest


def _check(*args: object) -> tuple[Run, dict[str, Any]]:
    r = run_lp(["check", *map(str, args), "--format", "json"])
    assert "Traceback" not in r.stderr, r.explain()
    assert r.returncode in (0, 1), r.explain()
    data = r.json
    assert r.returncode == (1 if data["summary"]["errors"] else 0), r.explain()
    return r, data


def _codes(data: Mapping[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == code]


@pytest.mark.parametrize("form", ["dir", "zip"])
@pytest.mark.parametrize("variant", sorted(EXPECT))
def test_check_reports_exactly_the_broken_copies(ext: tuple[str, Path], damaged: dict[str, Path],
                                                 tmp_path: Path, variant: str, form: str) -> None:
    if variant not in damaged:
        pytest.skip(f"{ext[1].name} has its section headers inside its segments")
    art = damaged[variant] if form == "dir" else _zip_dir(damaged[variant], tmp_path / f"{variant}.zip")
    r, data = _check(art, "--runtime", RUNTIME, "--arch", ARCH)
    _loads, severity = EXPECT[variant]
    lp008 = _codes(data, "LP008")
    assert not _codes(data, "LP006"), data["findings"]
    if severity is None:
        assert lp008 == [], data["findings"]
        # Whatever else this host-built module trips (e.g. LP003 for a glibc newer than the
        # runtime's), nothing calls the file itself damaged.
        assert {f["code"] for f in data["findings"] if f["severity"] == "error"} <= {"LP003"}, data["findings"]
        return
    (f,) = lp008
    assert (f["path"], f["severity"]) == (ext[1].name, severity), f
    if severity == "error":
        assert r.returncode == 1
    msg = f["message"]
    if variant == "empty":
        assert msg.startswith("0 bytes: an empty extension module")
    elif variant == "cut40":
        assert msg.startswith("truncated: 40 bytes, shorter than the 64-byte ELF header")
    elif variant == "cut_mid_segment":
        end = _segment_end(ext[1].read_bytes())
        assert msg.startswith(f"truncated: the program headers say its PT_LOAD segment ends at byte {end:,}, "
                              f"the file has {end // 2:,}")
    elif variant == "lfs_pointer":
        assert msg.startswith("not a shared object (") and "invalid ELF header" in msg
        return
    else:
        assert msg.startswith("truncated: the ELF header says section headers end at byte")
    assert f["fix"].startswith("reinstall it from the package's wheel")


def test_check_text_output_names_the_file(ext: tuple[str, Path], damaged: dict[str, Path]) -> None:
    r = run_lp(["check", str(damaged["cut40"]), "--runtime", RUNTIME, "--arch", str(ARCH)])
    assert r.returncode == 1, r.explain()
    assert f"error LP008 {ext[1].name}: truncated: 40 bytes" in r.stdout, r.explain()
    assert "Traceback" not in r.stderr


# --- zips damaged after writing, as unzip -t sees them --------------------------------------


def _unzip() -> str:
    exe = shutil.which("unzip")
    if exe is None:
        pytest.skip("`unzip` is not installed (apt-get install unzip): it is the oracle for a broken zip")
    return exe


def _unzip_t(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_unzip(), "-t", str(path)], capture_output=True, text=True, timeout=60, check=False)


def _local_header(raw: bytes, name: bytes) -> int:
    at = raw.find(b"PK\x03\x04")
    while at >= 0:
        (n,) = struct.unpack_from("<H", raw, at + 26)
        if raw[at + 30: at + 30 + n] == name:
            return at
        at = raw.find(b"PK\x03\x04", at + 4)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def good_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zips") / "good.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_info("lambda_function.py"), HANDLER)
        zf.writestr(_info("pkg/__init__.py"), "")
        zf.writestr(_info("pkg/data.bin", zipfile.ZIP_STORED), os.urandom(300_000))
        zf.writestr(_info("pkg/text.py"), "VALUE = 1\n" * 20_000)
    return path


def _info(name: str, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100644 << 16  # zipfile's default for writestr(str) is 0600: LP401
    info.compress_type = method
    return info


def _damage(raw: bytearray, how: str) -> tuple[str, str]:
    """Damage `raw` in place; (member that is damaged, words check must say)."""
    if how == "stored_byte":
        at = _local_header(raw, b"pkg/data.bin") + 30 + len(b"pkg/data.bin") + 200_000
        raw[at] ^= 0x01
        return "pkg/data.bin", "CRC-32 mismatch"
    if how == "deflated_bytes":
        at = _local_header(raw, b"pkg/text.py") + 30 + len(b"pkg/text.py")
        (csize,) = struct.unpack_from("<L", raw, at - 30 - len(b"pkg/text.py") + 18)
        for i in range(at + csize // 2, at + csize // 2 + 8):
            raw[i] ^= 0x55
        return "pkg/text.py", "member data is corrupt"
    # Info-ZIP believes the local CRC, and the local sizes of a stored member (a deflated
    # stream ends by itself: its local sizes are a warning, see test_artifact).
    name = b"pkg/text.py" if how == "local_crc" else b"pkg/data.bin"
    at = _local_header(raw, name)
    field = {"local_size": 22, "local_csize": 18, "local_crc": 14}[how]
    (v,) = struct.unpack_from("<L", raw, at + field)
    struct.pack_into("<L", raw, at + field, v + 7)
    return name.decode(), "bad local header"


@pytest.mark.parametrize("how", ["stored_byte", "deflated_bytes", "local_size", "local_csize", "local_crc"])
def test_damaged_zip_fails_unzip_and_check(good_zip: Path, tmp_path: Path, how: str) -> None:
    assert _unzip_t(good_zip).returncode == 0
    raw = bytearray(good_zip.read_bytes())
    member, words = _damage(raw, how)
    bad = tmp_path / f"{how}.zip"
    bad.write_bytes(bytes(raw))
    t = _unzip_t(bad)
    assert t.returncode != 0, f"unzip -t does not see the damage:\n{t.stdout}{t.stderr}"
    r, data = _check(bad, "--runtime", "python3.12", "--arch", "x86_64")
    assert r.returncode == 1, r.explain()
    hits = [f for f in data["findings"] if f["code"] in ("LP307", "LP304") and f["path"] == member]
    assert hits and all(f["severity"] == "error" for f in hits), data["findings"]
    assert any(words in f["message"] for f in hits), hits


def test_damaged_member_of_a_real_extension_is_lp307_only(ext: tuple[str, Path], damaged: dict[str, Path],
                                                          tmp_path: Path) -> None:
    z = _zip_dir(damaged["whole"], tmp_path / "so-crc.zip")
    raw = bytearray(z.read_bytes())
    at = _local_header(raw, ext[1].name.encode()) + 30 + len(ext[1].name)
    for i in range(at + 1000, at + 1016):
        raw[i] ^= 0x5A
    z.write_bytes(bytes(raw))
    assert _unzip_t(z).returncode != 0
    r, data = _check(z, "--runtime", RUNTIME, "--arch", ARCH)
    assert r.returncode == 1
    mine = sorted(f["code"] for f in data["findings"] if f["path"] == ext[1].name)
    assert mine in (["LP307"], ["LP304"]), data["findings"]  # the archive's problem, not "not ELF" too


def test_undamaged_zips_pass(good_zip: Path, tmp_path: Path) -> None:
    # Also a zip written to a pipe (data descriptors, local CRC and sizes zero): valid.
    streamed = tmp_path / "streamed.zip"
    code = ("import sys, zipfile\n"
            "with zipfile.ZipFile(sys.stdout.buffer, 'w', zipfile.ZIP_DEFLATED) as zf:\n"
            f"    for name, data in (('lambda_function.py', {HANDLER!r}), ('pkg/text.py', 'VALUE = 1\\n' * 20000)):\n"
            "        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))\n"
            "        info.external_attr = 0o100644 << 16\n"
            "        with zf.open(info, 'w') as f:\n"
            "            f.write(data.encode())\n")
    with open(streamed, "wb") as out:
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert p.stdout is not None
        shutil.copyfileobj(p.stdout, out)
        assert p.wait(timeout=60) == 0
    assert streamed.read_bytes()[6] & 0x08  # general-purpose bit 3: data descriptors really used
    for z in (good_zip, streamed):
        assert _unzip_t(z).returncode == 0
        r, data = _check(z, "--runtime", "python3.12", "--arch", "x86_64")
        assert r.returncode == 0 and not [f for f in data["findings"] if f["code"].startswith("LP3")], r.explain()


# --- build --with-layer runs the archive rules check --layer runs ---------------------------


def _layer(path: Path, how: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_info("python/shared.py"), "VALUE = 1\n" * 2000)
        if how == "traversal":
            zf.writestr(_info("../evil.py"), "print('escaped')\n")
    if how == "crc":
        raw = bytearray(path.read_bytes())
        at = _local_header(raw, b"python/shared.py") + 30 + len(b"python/shared.py")
        raw[at + 20] ^= 0x10
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(("how", "code"), [("traversal", "LP301"), ("crc", "LP307")])
def test_build_with_layer_and_check_layer_agree(tmp_path: Path, how: str, code: str) -> None:
    layer = _layer(tmp_path / f"{how}.zip", how)
    r_check, checked = _check("--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    assert r_check.returncode == 1, r_check.explain()
    src = write_handler(tmp_path / "src")
    out = tmp_path / "out" / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
                "--no-compile", "-o", str(out), "--format", "json"], cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.explain()
    assert r.returncode == 1, r.explain()
    built = r.json
    assert built["ok"] is False and built["outputs"] == []
    assert not out.exists()
    assert_no_outputs(tmp_path, keep=[layer])

    def archive(findings: list[dict[str, Any]], prefix: str) -> set[tuple[str, str, str]]:
        return {(f["code"], f["severity"], f["path"].removeprefix(prefix)) for f in findings
                if f["code"].startswith("LP3")}

    assert code in {c for c, _s, _p in archive(checked["findings"], "")}
    # Same codes, severities and members, and both name the layer they are in.
    assert archive(built["findings"], "") == archive(checked["findings"], "")
    for findings in (built["findings"], checked["findings"]):
        assert all(f["path"].startswith(f"layer 1 ({layer.name}): ") for f in findings if f["code"].startswith("LP3"))
    text = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
                   "--no-compile", "-o", str(out)], cwd=tmp_path)
    assert text.returncode == 1 and "Traceback" not in text.stderr, text.explain()
    assert f"layer 1 ({layer.name})" in text.stdout + text.stderr and code in text.stdout + text.stderr
    assert "error:" in text.stderr and not out.exists()


def test_build_with_a_clean_layer_still_builds(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "clean.zip", "clean")
    src = write_handler(tmp_path / "src")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
                "--no-compile", "-o", str(out), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 0, r.explain()
    assert out.is_file()
    assert not [f for f in r.json["findings"] if f["code"].startswith("LP3")]


# --- popular wheels: nothing working is called broken; real damage in them is ---------------


@pytest.fixture(scope="module")
def popular(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("popular") / "site"
    argv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--target", str(dest), "--python-platform",
            "x86_64-manylinux2014", "--python-version", "3.12", "--only-binary", ":all:", *POPULAR]
    p = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, check=False, timeout=900)
    assert p.returncode == 0, f"{argv}\n{p.stdout}\n{p.stderr}"
    return dest


def _zip_site(site: Path, dest: Path, change: Callable[[str, bytes], bytes] | None = None) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("lambda_function.py", HANDLER)
        for f in sorted(site.rglob("*")):
            if f.is_file():
                arc = f.relative_to(site).as_posix()
                data = f.read_bytes()
                zf.writestr(arc, change(arc, data) if change else data)
    return dest


_DAMAGE_CODES = {"LP006", "LP008", "LP304", "LP307"}


@pytest.mark.network
def test_popular_wheels_are_not_called_damaged(popular: Path, tmp_path: Path) -> None:
    sos = [p for p in popular.rglob("*.so*") if p.is_file()]
    assert len(sos) > 50  # the packages really brought their native code
    for art in (popular, _zip_site(popular, tmp_path / "popular.zip")):
        _r, data = _check(art, "--runtime", "python3.12", "--arch", "x86_64")
        damage = [f for f in data["findings"] if f["code"] in _DAMAGE_CODES]
        assert damage == [], damage


@pytest.mark.network
def test_damage_inside_popular_wheels(popular: Path, tmp_path: Path) -> None:
    (blas,) = popular.glob("numpy.libs/libscipy_openblas*.so")
    (pandas_ext,) = popular.glob("pandas/_libs/lib.cpython-312-x86_64-linux-gnu.so")
    blas_arc = blas.relative_to(popular).as_posix()
    pandas_arc = pandas_ext.relative_to(popular).as_posix()
    cut_at = _segment_end(pandas_ext.read_bytes()) // 3

    def change(arc: str, data: bytes) -> bytes:
        return b"" if arc == blas_arc else data[:cut_at] if arc == pandas_arc else data

    r, data = _check(_zip_site(popular, tmp_path / "damaged.zip", change), "--runtime", "python3.12",
                     "--arch", "x86_64")
    assert r.returncode == 1
    lp008 = {f["path"]: f for f in _codes(data, "LP008")}
    assert set(lp008) == {blas_arc, pandas_arc}, data["findings"]
    assert lp008[blas_arc]["severity"] == "error"
    assert "empty shared library that numpy/" in lp008[blas_arc]["message"]  # named by who needs it
    assert lp008[pandas_arc]["severity"] == "error"
    assert f"the file has {cut_at:,}" in lp008[pandas_arc]["message"]

    # The real loader on this machine agrees, when it has a CPython 3.12 to try with.
    py312 = python_exe(12)
    if py312 is None or platform.machine() != "x86_64":
        return
    ok = subprocess.run([py312, "-c", "import numpy; print(numpy.__version__)"], env=clean_env(
        {"PYTHONPATH": str(popular)}), capture_output=True, text=True, timeout=120, check=False)
    if ok.returncode != 0:
        pytest.skip(f"python3.12 on this host cannot import the pristine numpy: {ok.stderr[-300:]}")
    broken = tmp_path / "broken-site"
    shutil.copytree(popular / "numpy", broken / "numpy")
    shutil.copytree(popular / "numpy.libs", broken / "numpy.libs")
    (broken / blas_arc).write_bytes(b"")
    bad = subprocess.run([py312, "-c", "import numpy"], env=clean_env({"PYTHONPATH": str(broken)}),
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode != 0 and "file too short" in bad.stderr, bad.stderr[-2000:]


@pytest.mark.network
def test_a_lambdapack_layer_passes_check_layer_and_build_with_layer(tmp_path: Path) -> None:
    # pillow's vendored libraries are linked with 2 MiB segment alignment: mostly zero
    # padding (libXau compresses over 200:1), which must not be called a zip bomb now
    # that build --with-layer runs the archive rules.
    (tmp_path / "requirements.txt").write_text("pillow\n", encoding="utf-8")
    layer = tmp_path / "pillow-layer.zip"
    target = ["--runtime", "python3.12", "--arch", "x86_64"]
    r = run_lp(["build", "--layer", "-r", str(tmp_path / "requirements.txt"), *target, "--no-compile",
                "-o", str(layer)], cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.explain()
    with zipfile.ZipFile(layer) as zf:
        ratios = [i.file_size / max(i.compress_size, 1) for i in zf.infolist() if i.file_size > 1024 * 1024]
    r_check, data = _check("--layer", layer, *target)
    assert r_check.returncode == 0 and data["summary"]["errors"] == 0, (max(ratios, default=0), data["findings"])
    src = write_handler(tmp_path / "src")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), *target, "--with-layer", str(layer), "--no-compile", "-o", str(out)],
               cwd=tmp_path)
    assert r.returncode == 0, r.explain()
    assert out.is_file()
