"""Empty and truncated shared objects (LP008) on real ELF files (tests/fixtures/elf).

The byte offsets expected here come from the test's own reading of the program
headers (`_segment_end`), not from lambdapack's reader. That the loader really
fails on these files is shown with the real interpreter in
tests/integration/test_damaged_binaries.py.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.inspect.checks import (
    Member,
    check_binaries,
    is_extension_module_name,
)
from lambdapack.inspect.elf.model import ELFInfo
from lambdapack.inspect.elf.truncation import elf_truncation
from lambdapack.inspect.findings import ERROR, WARNING, Finding
from lambdapack.target.tags import Target

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "elf"
EXT = FIXTURES / "foo.cpython-312-x86_64-linux-gnu.so"
STRIPPED = FIXTURES / "foo_stripped.cpython-312-x86_64-linux-gnu.so"
NOSHDR = FIXTURES / "foo_noshdr.so"
TARGET = Target(get_runtime("python3.12"), get_arch("x86_64"))


def _segment_end(data: bytes) -> int:
    """Where the last PT_LOAD/PT_DYNAMIC file range ends (ELF64 little-endian only)."""
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    end = 0
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type in (1, 2):
            end = max(end, p_offset + p_filesz)
    return end


def _cut(data: bytes, n: int) -> tuple[bytes, int]:
    cut = data[:n]
    return cut, len(cut)


def _truncation(data: bytes) -> tuple[str, bool] | None:
    t = elf_truncation(lambda n: data[:n], len(data))
    return None if t is None else (t.message, t.loads)


@pytest.mark.parametrize("path", [EXT, STRIPPED, NOSHDR, FIXTURES / "libplain.so", FIXTURES / "hello",
                                  FIXTURES / "markupsafe_speedups_aarch64.so",
                                  FIXTURES / "markupsafe_speedups_i686.so"])
def test_whole_files_are_not_truncated(path: Path) -> None:
    assert _truncation(path.read_bytes()) is None


def test_no_section_headers_is_valid_when_segments_are_whole() -> None:
    data = NOSHDR.read_bytes()
    assert struct.unpack_from("<Q", data, 40)[0] == 0  # e_shoff: this fixture really has none
    # Cut right after its last segment: still everything the loader needs.
    assert _truncation(data[: _segment_end(data)]) is None


def test_shorter_than_the_elf_header() -> None:
    data = EXT.read_bytes()
    assert _truncation(data[:40]) == ("truncated: 40 bytes, shorter than the 64-byte ELF header", False)
    assert _truncation(data[:63]) == ("truncated: 63 bytes, shorter than the 64-byte ELF header", False)
    assert _truncation(b"") == ("truncated: 0 bytes, shorter than the 64-byte ELF header", False)


def test_32_bit_header_size() -> None:
    data = (FIXTURES / "markupsafe_speedups_i686.so").read_bytes()
    assert _truncation(data[:51]) == ("truncated: 51 bytes, shorter than the 52-byte ELF header", False)


def test_program_headers_past_the_end() -> None:
    data = EXT.read_bytes()
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    got = _truncation(data[:64])
    assert got == (f"truncated: the ELF header says program headers end at byte {phoff + phentsize * phnum:,}, "
                   "the file has 64", False)


@pytest.mark.parametrize("path", [EXT, STRIPPED])
def test_segment_cut_mid_way_and_by_one_byte(path: Path) -> None:
    data = path.read_bytes()
    end = _segment_end(data)
    for n in (end // 2, end - 1):
        msg, loads = _truncation(data[:n]) or ("", True)
        assert not loads
        assert msg == f"truncated: the program headers say its PT_LOAD segment ends at byte {end:,}, the file has {n:,}"


def test_only_section_headers_cut_still_loads() -> None:
    data = STRIPPED.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 40)
    shentsize, shnum = struct.unpack_from("<HH", data, 58)
    assert shoff > _segment_end(data)
    n = shoff + 10
    msg, loads = _truncation(data[:n]) or ("", False)
    assert loads
    assert msg == f"truncated: the ELF header says section headers end at byte {shoff + shentsize * shnum:,}, the file has {n:,}"
    # The fixture made with its section header table past the end of the file.
    got = _truncation((FIXTURES / "shoff_past_eof.so").read_bytes())
    assert got is not None and got[1] is True


# -- check_binaries: which files count, and how severe ---------------------------------------


def _check(files: dict[str, bytes]) -> list[Finding]:
    return check_binaries([Member.from_bytes(name, data, None) for name, data in files.items()], TARGET)


def _lp008(findings: list[Finding]) -> dict[str, str]:
    return {f.path: f.severity for f in findings if f.code == "LP008"}


def test_extension_module_names() -> None:
    for name in ("pkg/_x.cpython-312-x86_64-linux-gnu.so", "pkg/_x.abi3.so", "pkg/_x.so", "libfoo.cpython-312-x86_64-linux-gnu.so"):
        assert is_extension_module_name(name), name
    for name in ("pkg.libs/libfoo-1a2b.so.1", "pkg/libfoo.so", "pkg/x.py", "pkg/1x.so", "pkg/x-y.so"):
        assert not is_extension_module_name(name), name


def test_empty_extension_module_is_an_error() -> None:
    findings = _check({"pkg/_x.cpython-312-x86_64-linux-gnu.so": b"", "pkg/__init__.py": b"", "pkg/py.typed": b""})
    assert _lp008(findings) == {"pkg/_x.cpython-312-x86_64-linux-gnu.so": ERROR}
    (f,) = findings
    assert f.message.startswith("0 bytes: an empty extension module")
    assert "file too short" in f.message
    assert f.fix.startswith("reinstall it from the package's wheel (lambdapack build --runtime python3.12")


def test_empty_library_is_an_error_when_something_needs_it() -> None:
    # libplain.so links to libm.so.6 (DT_NEEDED; readelf -d on the fixture).
    findings = _check({"pkg.libs/libplain.so": (FIXTURES / "libplain.so").read_bytes(), "pkg.libs/libm.so.6": b"",
                       "pkg.libs/libunused.so.1": b"", "pkg.libs/libalso.so": b""})
    assert _lp008(findings) == {"pkg.libs/libm.so.6": ERROR, "pkg.libs/libunused.so.1": WARNING,
                                "pkg.libs/libalso.so": WARNING}
    needed = next(f for f in findings if f.path == "pkg.libs/libm.so.6")
    assert "that pkg.libs/libplain.so needs (DT_NEEDED)" in needed.message


def test_truncated_elf_is_one_error_whatever_its_name() -> None:
    data = EXT.read_bytes()
    end = _segment_end(data)
    findings = _check({"pkg/foo.cpython-312-x86_64-linux-gnu.so": data[:40], "pkg.libs/libfoo.so.1": data[: end // 2],
                       "bin/tool": data[:64]})
    assert _lp008(findings) == {"pkg/foo.cpython-312-x86_64-linux-gnu.so": ERROR, "pkg.libs/libfoo.so.1": ERROR,
                                "bin/tool": ERROR}
    assert [f.code for f in findings] == ["LP008"] * 3  # never also LP006 for the same file
    cut = next(f for f in findings if f.path == "pkg.libs/libfoo.so.1")
    assert "SIGBUS" in cut.message


def test_section_headers_cut_is_a_warning_and_the_rest_is_checked() -> None:
    data = STRIPPED.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 40)
    findings = _check({"pkg/foo.cpython-312-x86_64-linux-gnu.so": data[: shoff + 10]})
    assert [(f.code, f.severity) for f in findings] == [("LP008", WARNING)]
    # The same file for another machine: still judged (LP002) despite the cut.
    arm = Target(get_runtime("python3.12"), get_arch("arm64"))
    found = check_binaries([Member.from_bytes("pkg/foo.so", data[: shoff + 10], None)], arm)
    assert sorted(f.code for f in found) == ["LP002", "LP008"]


def test_not_elf_extension_module_is_an_error_but_a_linker_script_is_not() -> None:
    findings = _check({"pkg/_x.abi3.so": b"this is not a shared object\n" * 4, "pkg/_y.so": b"abc",
                       "pkg.libs/libc.so": b"/* GNU ld script */\nGROUP ( libc.so.6 )\n"})
    assert _lp008(findings) == {"pkg/_x.abi3.so": ERROR, "pkg/_y.so": ERROR}
    msgs = {f.path: f.message for f in findings}
    assert "invalid ELF header" in msgs["pkg/_x.abi3.so"]
    assert "file too short" in msgs["pkg/_y.so"]


def test_whole_real_files_give_no_lp008() -> None:
    files = {f"pkg/{p.name}": p.read_bytes() for p in (EXT, STRIPPED, NOSHDR, FIXTURES / "libplain.so")}
    assert _lp008(_check(files)) == {}


def test_unreadable_member_is_left_to_the_archive_rules() -> None:
    # A zip member whose data is corrupt reads as b"" (and is an LP307 error): calling
    # it "not a shared object" as well would send the user after the wrong problem.
    def never() -> ELFInfo:
        raise AssertionError("an unreadable member is never parsed")

    assert check_binaries([Member("pkg/_x.abi3.so", None, 5000, lambda n: b"", never)], TARGET) == []
