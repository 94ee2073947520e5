"""A built wheel checked and retagged for its target (native.wheelcheck), on real ELF files
compiled with zig for the target machine and glibc, in real wheel zips; readelf (when
installed) is the oracle for the versions the files need."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.host.ziglang import Zig, find_zig
from lambdapack.inspect.elf.reader import read_elf
from lambdapack.native.wheelcheck import check_binaries, retag
from lambdapack.resolve.install import find_uv
from lambdapack.target.tags import Target

PY312_ARM = Target(get_runtime("python3.12"), get_arch("arm64"))
PY312_X86 = Target(get_runtime("python3.12"), get_arch("x86_64"))
PY311_X86 = Target(get_runtime("python3.11"), get_arch("x86_64"))
READELF = shutil.which("readelf")

# fcntl: GLIBC_2.2.5 on x86_64, GLIBC_2.17 (aarch64's first) on aarch64.
OLD_CALL = "#include <fcntl.h>\nint demo_fd(int fd) { return fcntl(fd, 1); }\n"
# memfd_create came in glibc 2.27, gettid in 2.30: newer than Amazon Linux 2's 2.26.
NEW_CALLS = ("#define _GNU_SOURCE\n#include <unistd.h>\n#include <sys/mman.h>\n"
             "int demo_tid(void) { return gettid(); }\nint demo_memfd(void) { return memfd_create(\"x\", 0); }\n")
# close_range came in glibc 2.34 (Amazon Linux 2023's), pidfd_open in 2.36.
AL2023_EDGE = ("int close_range(unsigned int, unsigned int, int);\nint pidfd_open(int, unsigned int);\n"
               "int demo_close(void) { return close_range(3, 10, 0); }\n"
               "int demo_pidfd(int p) { return pidfd_open(p, 0); }\n")
STUB = "int PQlibVersion(void) { return 160000; }\n"
CONSUMER = "int PQlibVersion(void);\nint demo_pq(void) { return PQlibVersion(); }\n"


@dataclass(frozen=True)
class Built:
    arm_ok: bytes  # aarch64, glibc 2.34 stubs, needs GLIBC_2.17 only
    x86_ok: bytes  # x86_64, same source
    x86_new: bytes  # x86_64 linked for 2.34, needs GLIBC_2.30
    x86_236: bytes  # x86_64 linked for 2.36, needs GLIBC_2.36
    libpq: bytes  # a stub libpq.so.5 (soname libpq.so.5)
    uses_pq: bytes  # x86_64, DT_NEEDED libpq.so.5
    paths: dict[str, Path]


def _cc(zig: Zig, target: str, source: str, out: Path, *extra: str) -> bytes:
    src = out.with_suffix(".c")
    src.write_text(source, encoding="utf-8")
    # -O2: zig's debug default links its UBSan runtime, which is not what a build backend asks for.
    argv = zig.cc(target, ["-O2", "-shared", "-fPIC", str(src), "-o", str(out), *extra])
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=out.parent)
    assert res.returncode == 0, res.stderr
    return out.read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    zig = find_zig(os.environ)
    if zig is None:
        pytest.skip("zig (the ziglang package) is not installed")
    d = tmp_path_factory.mktemp("elf")
    paths = {n: d / f"{n}.so" for n in ("arm_ok", "x86_ok", "x86_new", "x86_236", "uses_pq")}
    arm_ok = _cc(zig, "aarch64-linux-gnu.2.34", OLD_CALL, paths["arm_ok"])
    x86_ok = _cc(zig, "x86_64-linux-gnu.2.26", OLD_CALL, paths["x86_ok"])
    x86_new = _cc(zig, "x86_64-linux-gnu.2.34", NEW_CALLS, paths["x86_new"])
    x86_236 = _cc(zig, "x86_64-linux-gnu.2.36", AL2023_EDGE, paths["x86_236"])
    stub_dir = d / "stub"
    stub_dir.mkdir()
    paths["libpq"] = stub_dir / "libpq.so.5"
    libpq = _cc(zig, "x86_64-linux-gnu.2.26", STUB, paths["libpq"], "-Wl,-soname,libpq.so.5")
    uses_pq = _cc(zig, "x86_64-linux-gnu.2.26", CONSUMER, paths["uses_pq"], str(paths["libpq"]))
    return Built(arm_ok, x86_ok, x86_new, x86_236, libpq, uses_pq, paths)


def _readelf_glibc(path: Path) -> set[str]:
    """The GLIBC_ versions readelf lists among the file's version needs."""
    assert READELF is not None
    out = subprocess.run([READELF, "-V", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    needs = out.split("Version needs section", 1)[1] if "Version needs section" in out else ""
    return set(re.findall(r"Name: (GLIBC_[\d.]+)", needs))


def _readelf_needed(path: Path) -> list[str]:
    assert READELF is not None
    out = subprocess.run([READELF, "-d", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(members: dict[str, bytes], *, tag: str, name: str = "demo", version: str = "1.0",
               date: tuple[int, int, int, int, int, int] = (2025, 3, 4, 5, 6, 8),
               compression: int = zipfile.ZIP_DEFLATED, reverse: bool = False) -> tuple[str, bytes]:
    """A wheel as a build backend writes it: tagged linux_<machine>, RECORD with hashes."""
    di = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"from demo._ext import *  # noqa\n",
        **members,
        f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{di}/WHEEL": f"Wheel-Version: 1.0\nGenerator: setuptools (80.9.0)\nRoot-Is-Purelib: false\nTag: {tag}\n\n"
        .encode(),
        f"{di}/top_level.txt": f"{name}\n".encode(),
    }
    record = "".join(_record_line(n, b) + "\n" for n, b in files.items()) + f"{di}/RECORD,,\n"
    files[f"{di}/RECORD"] = record.encode()
    order = list(reversed(files)) if reverse else list(files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        z.writestr(zipfile.ZipInfo(f"{name}/", date), b"")  # a directory entry, as some backends write
        for n in order:
            z.writestr(zipfile.ZipInfo(n, date), files[n], compress_type=compression)
    return f"{name}-{version}-{tag}.whl", buf.getvalue()


EXT_ARM = "demo/_ext.cpython-312-aarch64-linux-gnu.so"
EXT_X86_312 = "demo/_ext.cpython-312-x86_64-linux-gnu.so"
EXT_X86_311 = "demo/_ext.cpython-311-x86_64-linux-gnu.so"


# --- the oracle agrees with the reader --------------------------------------------------------


def test_the_compiled_files_need_what_readelf_says(built: Built) -> None:
    if READELF is None:
        pytest.skip("readelf (binutils) is not installed")
    for key, data in (("arm_ok", built.arm_ok), ("x86_ok", built.x86_ok), ("x86_new", built.x86_new),
                      ("x86_236", built.x86_236), ("uses_pq", built.uses_pq)):
        info = read_elf(data)
        assert set(info.versions("GLIBC_")) == _readelf_glibc(built.paths[key]), key
        assert list(info.needed) == _readelf_needed(built.paths[key]), key
    # What the sources were written to need:
    assert _readelf_glibc(built.paths["arm_ok"]) == {"GLIBC_2.17"}
    assert {"GLIBC_2.27", "GLIBC_2.30"} <= _readelf_glibc(built.paths["x86_new"])
    assert {"GLIBC_2.34", "GLIBC_2.36"} <= _readelf_glibc(built.paths["x86_236"])
    assert "libpq.so.5" in _readelf_needed(built.paths["uses_pq"])
    assert read_elf(built.libpq).soname == "libpq.so.5"


# --- check_binaries ---------------------------------------------------------------------------


def test_check_binaries_gives_the_highest_glibc_needed(built: Built) -> None:
    problems, glibc, count = check_binaries([(EXT_X86_312, built.x86_new), ("demo/__init__.py", b"")], PY312_X86)
    assert (problems, glibc, count) == ([], (2, 30), 1)
    # A file needing only GLIBC_2.2.5 gives manylinux's floor, 2.17.
    assert check_binaries([(EXT_X86_311, built.x86_ok)], PY311_X86) == ([], (2, 17), 1)
    # The highest over every file in the wheel.
    assert check_binaries([("a.so", built.x86_ok), ("b.so", built.x86_new)], PY312_X86)[1] == (2, 30)
    assert check_binaries([("demo/__init__.py", b"x = 1\n")], PY312_X86) == ([], (2, 17), 0)


def test_check_binaries_glibc_matches_readelf(built: Built) -> None:
    if READELF is None:
        pytest.skip("readelf (binutils) is not installed")
    for key, data, target in (("x86_new", built.x86_new, PY312_X86), ("arm_ok", built.arm_ok, PY312_ARM)):
        versions = [tuple(int(p) for p in v.removeprefix("GLIBC_").split(".")) for v in _readelf_glibc(built.paths[key])]
        expected = max([(2, 17), *((v[0], v[1]) for v in versions)])
        assert check_binaries([("x.so", data)], target)[1] == expected, key


def test_a_truncated_elf_file_is_a_problem(built: Built) -> None:
    problems, _glibc, count = check_binaries([(EXT_X86_312, built.x86_new[:64])], PY312_X86)
    assert count == 0 and len(problems) == 1 and problems[0].startswith(f"{EXT_X86_312} is not a valid ELF file")


def test_the_al2023_boundary_glibc_2_34_fits_and_2_36_does_not(built: Built) -> None:
    problems, glibc, _n = check_binaries([(EXT_X86_312, built.x86_236)], PY312_X86)
    assert problems == [f"{EXT_X86_312} needs GLIBC_2.36, newer than python3.12's 2.34"]
    assert glibc == (2, 36)


# --- retag: a good wheel ------------------------------------------------------------------------


def test_retag_a_good_aarch64_wheel(built: Built) -> None:
    filename, data = make_wheel({EXT_ARM: built.arm_ok}, tag="cp312-cp312-linux_aarch64")
    out = retag(filename, data, PY312_ARM)
    assert out.filename == "demo-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"
    assert (out.glibc, out.binaries) == ((2, 17), 1)
    with zipfile.ZipFile(io.BytesIO(out.data)) as z:
        assert z.testzip() is None
        infos = z.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert "demo/" not in names  # directory entries dropped
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        assert z.read(EXT_ARM) == built.arm_ok
        assert (z.getinfo(EXT_ARM).external_attr >> 16) & 0o777 == 0o755
        assert (z.getinfo("demo/__init__.py").external_attr >> 16) & 0o777 == 0o644
        wheel = z.read("demo-1.0.dist-info/WHEEL").decode()
        assert [ln for ln in wheel.splitlines() if ln.startswith("Tag:")] == ["Tag: cp312-cp312-manylinux_2_17_aarch64"]
        assert "Root-Is-Purelib: false" in wheel and "linux_aarch64" not in wheel
        rows = list(csv.reader(io.StringIO(z.read("demo-1.0.dist-info/RECORD").decode())))
        listed = {r[0] for r in rows}
        assert listed == set(names)
        for path, digest, size in rows:
            if path == "demo-1.0.dist-info/RECORD":
                assert (digest, size) == ("", "")
                continue
            body = z.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
            assert int(size) == len(body)


def test_retag_control_the_input_record_no_longer_matches_the_wheel_file(built: Built) -> None:
    # The backend's RECORD hashes the old WHEEL: a retag that kept it would be caught above.
    filename, data = make_wheel({EXT_ARM: built.arm_ok}, tag="cp312-cp312-linux_aarch64")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        old = z.read("demo-1.0.dist-info/RECORD").decode()
    with zipfile.ZipFile(io.BytesIO(retag(filename, data, PY312_ARM).data)) as z:
        new_wheel = z.read("demo-1.0.dist-info/WHEEL")
    assert _record_line("demo-1.0.dist-info/WHEEL", new_wheel) not in old


def test_retag_is_reproducible_whatever_the_input_zip_looks_like(built: Built) -> None:
    members = {EXT_ARM: built.arm_ok}
    a = make_wheel(members, tag="cp312-cp312-linux_aarch64")
    b = make_wheel(members, tag="cp312-cp312-linux_aarch64", date=(2031, 12, 24, 23, 59, 58),
                   compression=zipfile.ZIP_STORED, reverse=True)
    assert a[1] != b[1]
    out_a, out_b = retag(*a, PY312_ARM), retag(*b, PY312_ARM)
    assert out_a.data == retag(*a, PY312_ARM).data
    assert out_a.data == out_b.data
    assert out_a.filename == out_b.filename


def test_retag_names_the_highest_glibc_and_keeps_abi3(built: Built) -> None:
    filename, data = make_wheel({"demo/_ext.abi3.so": built.x86_new}, tag="cp312-abi3-linux_x86_64")
    out = retag(filename, data, PY312_X86)
    assert out.filename == "demo-1.0-cp312-abi3-manylinux_2_30_x86_64.whl"
    assert out.glibc == (2, 30)


def test_a_bundled_library_is_accepted(built: Built) -> None:
    members = {EXT_X86_311: built.uses_pq, "demo.libs/libpq.so.5": built.libpq}
    filename, data = make_wheel(members, tag="cp311-cp311-linux_x86_64")
    out = retag(filename, data, PY311_X86)
    assert out.filename == "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert out.binaries == 2


# --- retag: wheels that do not fit -------------------------------------------------------------


def test_an_x86_64_file_in_a_wheel_for_arm64_is_refused(built: Built) -> None:
    filename, data = make_wheel({EXT_ARM: built.x86_ok}, tag="cp312-cp312-linux_aarch64")
    with pytest.raises(ValueError, match="built for x86_64, not aarch64") as e:
        retag(filename, data, PY312_ARM)
    assert EXT_ARM in str(e.value)


def test_a_file_needing_a_newer_glibc_than_amazon_linux_2_is_refused(built: Built) -> None:
    filename, data = make_wheel({EXT_X86_311: built.x86_new}, tag="cp311-cp311-linux_x86_64")
    with pytest.raises(ValueError) as e:
        retag(filename, data, PY311_X86)
    assert str(e.value) == f"{EXT_X86_311} needs GLIBC_2.30, newer than python3.11's 2.26"
    # Control: the same file fits python3.12 (glibc 2.34).
    assert retag(filename.replace("cp311", "cp312"), data, PY312_X86).glibc == (2, 30)


def test_a_library_neither_amazon_linux_nor_the_wheel_has_is_refused(built: Built) -> None:
    filename, data = make_wheel({EXT_X86_311: built.uses_pq}, tag="cp311-cp311-linux_x86_64")
    with pytest.raises(ValueError) as e:
        retag(filename, data, PY311_X86)
    assert str(e.value) == (f"{EXT_X86_311} needs libpq.so.5, which Amazon Linux 2 does not provide and the "
                            "wheel does not bundle")


def test_several_problems_are_named_together(built: Built) -> None:
    members = {EXT_X86_311: built.uses_pq, "demo/_new.cpython-311-x86_64-linux-gnu.so": built.x86_new}
    filename, data = make_wheel(members, tag="cp311-cp311-linux_x86_64")
    with pytest.raises(ValueError) as e:
        retag(filename, data, PY311_X86)
    assert "libpq.so.5" in str(e.value) and "GLIBC_2.30" in str(e.value) and "; " in str(e.value)


def test_a_wheel_without_record_is_refused(built: Built) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(EXT_ARM, built.arm_ok)
        z.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: cp312-cp312-linux_aarch64\n")
    with pytest.raises(ValueError, match="has no RECORD"):
        retag("demo-1.0-cp312-cp312-linux_aarch64.whl", buf.getvalue(), PY312_ARM)


# --- the retagged wheel installs --------------------------------------------------------------


def test_the_retagged_wheel_is_one_the_target_accepts_and_the_original_is_not(built: Built) -> None:
    filename, data = make_wheel({EXT_ARM: built.arm_ok}, tag="cp312-cp312-linux_aarch64")
    out = retag(filename, data, PY312_ARM)
    assert set(parse_wheel_filename(out.filename)[3]) <= set(PY312_ARM.tags)
    assert not set(parse_wheel_filename(filename)[3]) & set(PY312_ARM.tags)  # linux_*: never accepted
    assert not set(parse_wheel_filename(out.filename)[3]) & set(PY312_X86.tags)


def test_uv_installs_the_retagged_wheel_for_the_target_only(built: Built, tmp_path: Path) -> None:
    filename, data = make_wheel({EXT_ARM: built.arm_ok}, tag="cp312-cp312-linux_aarch64")
    out = retag(filename, data, PY312_ARM)
    uv = find_uv()
    links = tmp_path / "links"
    links.mkdir()
    (links / out.filename).write_bytes(out.data)

    def install(platform: str, where: str) -> subprocess.CompletedProcess[str]:
        argv = [uv, "pip", "install", "--no-config", "--no-index", "--find-links", str(links), "--target",
                str(tmp_path / where), "--python-platform", platform, "--python-version", "3.12",
                "--no-progress", "demo==1.0"]
        env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    res = install("aarch64-manylinux_2_34", "arm")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "arm" / EXT_ARM).read_bytes() == built.arm_ok
    wheel = (tmp_path / "arm" / "demo-1.0.dist-info" / "WHEEL").read_text()
    assert "Tag: cp312-cp312-manylinux_2_17_aarch64" in wheel
    # Control: uv does check the platform; the aarch64 wheel is not one for x86_64.
    other = install("x86_64-manylinux_2_34", "x86")
    assert other.returncode != 0
    assert not (tmp_path / "x86" / EXT_ARM).exists()
