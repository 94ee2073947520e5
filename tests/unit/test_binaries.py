"""Tests for the ELF reader (lambdapack.inspect.elf) and the binary classifier on real binaries (tests/fixtures/elf/make_fixtures.py).

Expected values were cross-checked with ``readelf -h -d -V --dyn-syms -W``
(GNU binutils 2.40) when the fixtures were generated; when ``readelf`` is on
PATH the oracle tests below repeat that comparison for every ELF fixture.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lambdapack.inspect.binarykind import BinaryKind, classify
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf, read_elf_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "elf"

FOO_EXT = "foo.cpython-312-x86_64-linux-gnu.so"
FOO_STRIPPED = "foo_stripped.cpython-312-x86_64-linux-gnu.so"

# Well-formed ELF fixtures with their exact expected contents.
EXPECTED: dict[str, dict[str, Any]] = {
    "libplain.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=("libm.so.6",), soname="libplain.so.1", rpath=(), runpath=(),
        version_needs=(("libm.so.6", "GLIBC_2.2.5"),),
        exported_symbols=("plain_hypot",), has_debug_info=True,
    ),
    "libdlopen.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=("libc.so.6",), soname=None, rpath=(), runpath=(),
        version_needs=(("libc.so.6", "GLIBC_2.2.5"), ("libc.so.6", "GLIBC_2.34")),
        exported_symbols=("open_it",), has_debug_info=True,
    ),
    "hello": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=2,
        needed=("libc.so.6",), soname=None, rpath=(), runpath=(),
        version_needs=(("libc.so.6", "GLIBC_2.2.5"), ("libc.so.6", "GLIBC_2.34")),
        exported_symbols=(), has_debug_info=True,
    ),
    "libcxx.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=("libstdc++.so.6", "libgcc_s.so.1", "libc.so.6"), soname=None,
        rpath=(), runpath=(),
        version_needs=(
            ("libgcc_s.so.1", "GCC_3.0"),
            ("libc.so.6", "GLIBC_2.2.5"),
            ("libstdc++.so.6", "CXXABI_1.3"),
            ("libstdc++.so.6", "GLIBCXX_3.4.11"),
            ("libstdc++.so.6", "GLIBCXX_3.4.9"),
            ("libstdc++.so.6", "CXXABI_1.3.9"),
            ("libstdc++.so.6", "GLIBCXX_3.4.21"),
            ("libstdc++.so.6", "GLIBCXX_3.4"),
        ),
        exported_symbols=(
            "_Z3sayRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
            "_Z5churnv",
            "_Z5greetRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
        ),
        has_debug_info=True,
    ),
    "librpath.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=(), soname=None, rpath=("$ORIGIN/../lib",), runpath=(), version_needs=(),
        exported_symbols=("rpath_value",), has_debug_info=True,
    ),
    "librunpath.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=(), soname=None, rpath=(), runpath=("$ORIGIN/../lib", "$ORIGIN"),
        version_needs=(), exported_symbols=("rpath_value",), has_debug_info=True,
    ),
    FOO_EXT: dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=(), soname=None, rpath=(), runpath=(), version_needs=(),
        exported_symbols=("PyInit_foo", "foo_counter", "foo_weak"), has_debug_info=True,
    ),
    FOO_STRIPPED: dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=(), soname=None, rpath=(), runpath=(), version_needs=(),
        exported_symbols=("PyInit_foo", "foo_counter", "foo_weak"), has_debug_info=False,
    ),
    # Section headers removed: parsed through PT_DYNAMIC + DT_GNU_HASH.
    "foo_noshdr.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=(), soname=None, rpath=(), runpath=(), version_needs=(),
        exported_symbols=("PyInit_foo", "foo_counter", "foo_weak"), has_debug_info=False,
    ),
    # Section headers removed: parsed through PT_DYNAMIC + DT_HASH.
    "libplain_sysv_noshdr.so": dict(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=("libm.so.6",), soname=None, rpath=(), runpath=(),
        version_needs=(("libm.so.6", "GLIBC_2.2.5"),),
        exported_symbols=("plain_hypot",), has_debug_info=False,
    ),
    # Real wheels from PyPI (see WHEELS in make_fixtures.py).
    "markupsafe_speedups_aarch64.so": dict(
        elf_class=64, little_endian=True, machine=183, machine_name="aarch64", elf_type=3,
        needed=("libpthread.so.0", "libc.so.6"), soname=None, rpath=(), runpath=(),
        version_needs=(("libc.so.6", "GLIBC_2.17"),),
        exported_symbols=("_init", "_fini", "PyInit__speedups"), has_debug_info=True,
    ),
    "markupsafe_speedups_i686.so": dict(
        elf_class=32, little_endian=True, machine=3, machine_name="i386", elf_type=3,
        needed=("libpthread.so.0", "libc.so.6"), soname=None, rpath=(), runpath=(),
        version_needs=(("libc.so.6", "GLIBC_2.1.3"), ("libc.so.6", "GLIBC_2.0")),
        exported_symbols=("_init", "_fini", "PyInit__speedups"), has_debug_info=True,
    ),
    "charset_normalizer_md_s390x.so": dict(
        elf_class=64, little_endian=False, machine=22, machine_name="s390x", elf_type=3,
        needed=("libpthread.so.0", "libc.so.6"), soname=None, rpath=(), runpath=(),
        version_needs=(("libc.so.6", "GLIBC_2.2"),),
        exported_symbols=("PyInit_md", "_init", "_fini", "PyInit___init__"),
        has_debug_info=True,
    ),
}  # fmt: skip

CORRUPT = [
    "bad_magic.bin",
    "short40.bin",
    "shoff_past_eof.so",
    "verneed_count_loop.so",
    "vernaux_count_loop.so",
]

NOT_ELF = [
    "markupsafe_speedups_macos_arm64.so",
    "markupsafe_speedups_win_amd64.pyd",
    "markupsafe_speedups_win32.pyd",
]

# Fixtures that still have section headers, so readelf can be an oracle for them.
ORACLE = [n for n in EXPECTED if "noshdr" not in n]


def fixture(name: str) -> Path:
    return FIXTURES / name


def head(name: str) -> bytes:
    with open(fixture(name), "rb") as f:
        return f.read(64)


# --- classify ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [(n, BinaryKind.ELF) for n in EXPECTED]
    + [
        ("markupsafe_speedups_macos_arm64.so", BinaryKind.MACHO),
        ("markupsafe_speedups_win_amd64.pyd", BinaryKind.PE),
        ("markupsafe_speedups_win32.pyd", BinaryKind.PE),
        ("bad_magic.bin", BinaryKind.NONE),
        ("make_fixtures.py", BinaryKind.NONE),
    ],
)
def test_classify_real_files(name: str, kind: BinaryKind) -> None:
    assert classify(head(name)) is kind


def test_classify_needs_only_the_magic_for_elf_and_macho() -> None:
    assert classify(b"\x7fELF") is BinaryKind.ELF
    assert classify(head("markupsafe_speedups_macos_arm64.so")[:4]) is BinaryKind.MACHO
    for magic in ("feedface", "feedfacf", "cefaedfe", "cffaedfe"):
        assert classify(bytes.fromhex(magic) + bytes(60)) is BinaryKind.MACHO


def test_classify_fat_macho_vs_java_class() -> None:
    assert classify(bytes.fromhex("cafebabe 00000002") + bytes(56)) is BinaryKind.MACHO
    assert classify(bytes.fromhex("cafebabe 0000001e")) is BinaryKind.MACHO  # 30 archs
    # Java class file: magic, minor_version 0x0000, major_version 0x0034 (Java 8).
    assert classify(bytes.fromhex("cafebabe 0000 0034") + bytes(56)) is BinaryKind.NONE
    assert classify(bytes.fromhex("cafebabe 00000000")) is BinaryKind.NONE
    assert classify(bytes.fromhex("cafebabe")) is BinaryKind.NONE  # too short to tell


def test_classify_text_starting_with_mz_is_none() -> None:
    text = b"MZ is the DOS signature; this README line just happens to start with it.\n"
    assert len(text) >= 64
    assert classify(text[:64]) is BinaryKind.NONE
    assert classify(b"MZ\n") is BinaryKind.NONE  # shorter than any DOS header
    assert classify(b"MZ" + bytes(62)) is BinaryKind.NONE  # e_lfanew 0 -> no "PE\0\0" there


def test_classify_pe_header_rules() -> None:
    pe = head("markupsafe_speedups_win_amd64.pyd")
    (e_lfanew,) = struct.unpack_from("<I", pe, 0x3C)
    assert 64 <= e_lfanew < 0x10000
    too_far = pe[:0x3C] + struct.pack("<I", 0x10000)
    assert classify(too_far) is BinaryKind.NONE
    # PE signature inside the head: checked when visible.
    sig_in_head = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x30)
    assert classify(sig_in_head) is BinaryKind.NONE
    sig = bytearray(sig_in_head)
    sig[0x30:0x34] = b"PE\0\0"
    assert classify(bytes(sig)) is BinaryKind.PE


def test_classify_empty_and_garbage() -> None:
    assert classify(b"") is BinaryKind.NONE
    assert classify(b"\x7fEL") is BinaryKind.NONE
    assert classify(b"#!/bin/sh\necho hi\n") is BinaryKind.NONE


# --- read_elf: exact values -------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_read_elf_file_exact(name: str) -> None:
    assert read_elf_file(fixture(name)) == ELFInfo(**EXPECTED[name])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_read_elf_bytes_and_memoryview_agree_with_file(name: str) -> None:
    data = fixture(name).read_bytes()
    expected = ELFInfo(**EXPECTED[name])
    assert read_elf(data) == expected
    assert read_elf(memoryview(data)) == expected
    assert read_elf(memoryview(bytearray(data))) == expected
    assert read_elf_file(str(fixture(name))) == expected


def test_memoryview_of_other_formats_and_slices() -> None:
    data = fixture("libcxx.so").read_bytes()
    padded = b"junk" + data + b"tail"
    assert read_elf(memoryview(padded)[4:-4]) == read_elf(data)
    assert read_elf(memoryview(data).cast("b")) == read_elf(data)
    assert read_elf(memoryview(data)[::1]) == read_elf(data)


def test_stripping_keeps_pyinit_and_drops_debug_info() -> None:
    full = read_elf_file(fixture(FOO_EXT))
    stripped = read_elf_file(fixture(FOO_STRIPPED))
    assert full.has_debug_info
    assert not stripped.has_debug_info
    assert "PyInit_foo" in stripped.exported_symbols
    assert stripped.exported_symbols == full.exported_symbols
    # static and hidden-visibility functions are never exported
    assert "helper" not in full.exported_symbols
    assert "hidden_fn" not in full.exported_symbols


def test_program_header_fallback_matches_section_headers() -> None:
    with_sections = read_elf_file(fixture(FOO_STRIPPED))
    without = read_elf_file(fixture("foo_noshdr.so"))
    assert without == with_sections
    plain = read_elf_file(fixture("libplain.so"))
    sysv = read_elf_file(fixture("libplain_sysv_noshdr.so"))
    assert sysv.needed == plain.needed
    assert sysv.version_needs == plain.version_needs
    assert sysv.exported_symbols == plain.exported_symbols


def test_versions_and_max_version() -> None:
    cxx = read_elf_file(fixture("libcxx.so"))
    assert cxx.versions("GLIBCXX_") == [
        "GLIBCXX_3.4",
        "GLIBCXX_3.4.9",
        "GLIBCXX_3.4.11",
        "GLIBCXX_3.4.21",
    ]
    assert cxx.max_version("GLIBCXX_") == (3, 4, 21)
    assert cxx.max_version("CXXABI_") == (1, 3, 9)
    assert cxx.versions("CXXABI_") == ["CXXABI_1.3", "CXXABI_1.3.9"]
    assert cxx.max_version("GLIBC_") == (2, 2, 5)  # GLIBCXX_* is not GLIBC_*
    assert cxx.max_version("GCC_") == (3, 0)
    assert read_elf_file(fixture("libdlopen.so")).max_version("GLIBC_") == (2, 34)
    assert read_elf_file(fixture("hello")).versions("GLIBC_") == ["GLIBC_2.2.5", "GLIBC_2.34"]
    aarch64 = read_elf_file(fixture("markupsafe_speedups_aarch64.so"))
    assert aarch64.max_version("GLIBC_") == (2, 17)
    assert aarch64.max_version("GLIBCXX_") is None
    assert aarch64.versions("GLIBCXX_") == []
    i686 = read_elf_file(fixture("markupsafe_speedups_i686.so"))
    assert i686.versions("GLIBC_") == ["GLIBC_2.0", "GLIBC_2.1.3"]


def test_versions_ignore_non_numeric_and_deduplicate() -> None:
    info = ELFInfo(
        elf_class=64, little_endian=True, machine=62, machine_name="x86_64", elf_type=3,
        needed=("libc.so.6", "libm.so.6"), soname=None, rpath=(), runpath=(),
        version_needs=(
            ("libc.so.6", "GLIBC_PRIVATE"),
            ("libc.so.6", "GLIBC_2.10"),
            ("libm.so.6", "GLIBC_2.2.5"),
            ("libc.so.6", "GLIBC_2.2.5"),
            ("libc.so.6", "GLIBC_2.9"),
            ("libc.so.6", "GLIBC_2.x"),
        ),
        exported_symbols=(), has_debug_info=False,
    )  # fmt: skip
    assert info.versions("GLIBC_") == ["GLIBC_2.2.5", "GLIBC_2.9", "GLIBC_2.10"]
    assert info.max_version("GLIBC_") == (2, 10)
    assert info.max_version("GLIBCXX_") is None


# --- malformed input --------------------------------------------------------


@pytest.mark.parametrize("name", CORRUPT + NOT_ELF)
def test_corrupt_and_foreign_files_raise_elfinvalid(name: str) -> None:
    with pytest.raises(ELFInvalid):
        read_elf_file(fixture(name))
    with pytest.raises(ELFInvalid):
        read_elf(fixture(name).read_bytes())
    with pytest.raises(ELFInvalid):
        read_elf(memoryview(fixture(name).read_bytes()))


def test_elfinvalid_is_a_valueerror() -> None:
    assert issubclass(ELFInvalid, ValueError)


def test_empty_and_tiny_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    with pytest.raises(ELFInvalid):
        read_elf_file(empty)
    for data in (b"", b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(9)):
        with pytest.raises(ELFInvalid):
            read_elf(data)


def test_bad_ident_bytes() -> None:
    data = bytearray(fixture("libplain.so").read_bytes())
    for offset, value in ((4, 0), (4, 3), (5, 0), (5, 7)):
        bad = bytearray(data)
        bad[offset] = value
        with pytest.raises(ELFInvalid):
            read_elf(bytes(bad))


def test_missing_file_is_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_elf_file(tmp_path / "missing.so")


SWEEP = [
    "libcxx.so",
    "foo_noshdr.so",
    "markupsafe_speedups_i686.so",
    "charset_normalizer_md_s390x.so",
]


@pytest.mark.parametrize("name", SWEEP)
def test_every_truncation_is_elfinvalid_or_parses(name: str) -> None:
    data = fixture(name).read_bytes()
    for length in range(0, len(data), 7):
        with contextlib.suppress(ELFInvalid):
            read_elf(data[:length])


@pytest.mark.parametrize("name", SWEEP)
def test_random_corruption_never_escapes_as_other_errors(name: str) -> None:
    rnd = random.Random(f"lambdapack-{name}")
    original = fixture(name).read_bytes()
    for _ in range(400):
        data = bytearray(original)
        for _ in range(rnd.choice((1, 2, 8, 32))):
            # bias towards the headers and tables at the start of the file
            pos = rnd.randrange(min(len(data), 4096) if rnd.random() < 0.7 else len(data))
            data[pos] = rnd.choice((0, 0xFF, rnd.randrange(256), data[pos] ^ 0x80))
        try:
            info = read_elf(bytes(data))
        except ELFInvalid:
            continue
        assert info.elf_class in (32, 64)


# --- readelf as an oracle ---------------------------------------------------

READELF = shutil.which("readelf")
needs_readelf = pytest.mark.skipif(READELF is None, reason="readelf (binutils) not on PATH")


def readelf(*args: str) -> str:
    assert READELF is not None
    return subprocess.run([READELF, "-W", *args], check=True, capture_output=True, text=True).stdout


@needs_readelf
@pytest.mark.parametrize("name", ORACLE)
def test_oracle_dynamic_and_verneed(name: str) -> None:
    out = readelf("-d", "-V", str(fixture(name)))
    needed = tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", out))
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[(.*)\]", out)
    rpath = re.findall(r"\(RPATH\)\s+Library rpath: \[(.*)\]", out)
    runpath = re.findall(r"\(RUNPATH\)\s+Library runpath: \[(.*)\]", out)
    pairs: list[tuple[str, str]] = []
    current = ""
    for line in out.split("Version needs section", 1)[-1].splitlines():
        if m := re.search(r"File: (\S+)\s+Cnt:", line):
            current = m.group(1)
        elif m := re.search(r"Name: (\S+)\s+Flags:", line):
            pairs.append((current, m.group(1)))
    if "Version needs section" not in out:
        pairs = []
    info = read_elf_file(fixture(name))
    assert info.needed == needed
    assert info.soname == (soname[0] if soname else None)
    assert info.rpath == (tuple(rpath[0].split(":")) if rpath else ())
    assert info.runpath == (tuple(runpath[0].split(":")) if runpath else ())
    assert info.version_needs == tuple(pairs)


@needs_readelf
@pytest.mark.parametrize("name", ORACLE)
def test_oracle_header_and_debug_sections(name: str) -> None:
    out = readelf("-h", "-S", str(fixture(name)))
    info = read_elf_file(fixture(name))
    assert f"ELF{info.elf_class}" in out
    assert ("little endian" if info.little_endian else "big endian") in out
    (type_line,) = re.findall(r"Type:\s+(\w+)", out)
    assert {"EXEC": 2, "DYN": 3}[type_line] == info.elf_type
    has_debug = bool(re.search(r"\]\s+(\.debug_\S+|\.zdebug_\S+|\.symtab)\s", out))
    assert info.has_debug_info == has_debug


@needs_readelf
@pytest.mark.parametrize("name", ORACLE)
def test_oracle_exported_symbols(name: str) -> None:
    out = readelf("--dyn-syms", str(fixture(name)))
    expected: list[str] = []
    for line in out.splitlines():
        fields = [f for f in re.sub(r"\[[^\]]*\]", "", line).split() if f]
        if len(fields) < 8 or not fields[0].rstrip(":").isdigit():
            continue
        _, _, _, typ, bind, vis, ndx, name_field = fields[:8]
        symbol = name_field.split("@")[0]
        if (
            typ in ("FUNC", "OBJECT", "IFUNC")
            and bind in ("GLOBAL", "WEAK", "UNIQUE")
            and vis in ("DEFAULT", "PROTECTED")
            and ndx not in ("UND", "ABS")
            and symbol not in expected
        ):
            expected.append(symbol)
    assert read_elf_file(fixture(name)).exported_symbols == tuple(expected)
