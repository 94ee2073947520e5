"""lambdapack.inspect.archive: listing and reading zips from any tool, and surviving hostile ones.

Hostile archives are made here byte by byte (`_raw_zip`) because zipfile refuses
to write most of them; benign ones come from zipfile and Info-ZIP `zip`.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.inspect import zipsource
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.entries import ArchiveLimits, ArtifactError, Entry, display_name

UNIX, DOS = 3, 0
S_IFREG, S_IFLNK, S_IFDIR = 0o100000, 0o120000, 0o040000


@dataclass
class M:
    """One member for `_raw_zip`: everything a hostile writer could choose."""

    name: bytes
    data: bytes = b""
    mode: int | None = S_IFREG | 0o644  # None: no Unix attributes (create_system 0)
    flags: int = 0
    deflate: bool = True
    declared_size: int | None = None  # lie about the uncompressed size (both headers)


def _raw_zip(members: list[M], *, zip64_end: bool = False, count: int | None = None) -> bytes:
    local = bytearray()
    central = bytearray()
    for m in members:
        if m.deflate:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(m.data) + c.flush()
            method = 8
        else:
            body, method = m.data, 0
        crc = zlib.crc32(m.data)
        size = len(m.data) if m.declared_size is None else m.declared_size
        system, attr = (DOS, 0) if m.mode is None else (UNIX, m.mode << 16)
        offset = len(local)
        local += struct.pack(
            "<4s2B4HL2L2H",
            b"PK\x03\x04",
            20,
            0,
            m.flags,
            method,
            0,
            0x21,
            crc,
            len(body),
            size,
            len(m.name),
            0,
        )
        local += m.name + body
        central += struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            system,
            20,
            0,
            m.flags,
            method,
            0,
            0x21,
            crc,
            len(body),
            size,
            len(m.name),
            0,
            0,
            0,
            0,
            attr,
            offset,
        )
        central += m.name
    n = len(members) if count is None else count
    end = bytearray()
    if zip64_end:
        end += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), len(local))
        end += struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local) + len(central), 1)
        n16 = 0xFFFF
    else:
        n16 = n & 0xFFFF
    end += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n16, n16, len(central), len(local), 0)
    return bytes(local + central + end)


def _write(tmp_path: Path, members: list[M], *, zip64_end: bool = False, count: int | None = None) -> Path:
    p = tmp_path / "a.zip"
    p.write_bytes(_raw_zip(members, zip64_end=zip64_end, count=count))
    return p


def _codes(art: Artifact) -> list[str]:
    return sorted(f.code for f in art.problems)


def _names(art: Artifact) -> list[str]:
    return [e.name for e in art.entries]


def _listing(root: Path) -> set[str]:
    return {str((Path(d) / f).relative_to(root)) for d, ds, fs in os.walk(root) for f in ds + fs}


@pytest.fixture
def cwd_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in tmp_path/x/y, so "../../evil" would land at tmp_path/evil if anything extracted."""
    work = tmp_path / "x" / "y"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    yield work


# -- benign archives ----------------------------------------------------------------


def test_python_zipfile_archive(tmp_path: Path) -> None:
    p = tmp_path / "fn.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/", b"")
        zf.writestr("pkg/__init__.py", b"x = 1\n" * 1000)
        info = zipfile.ZipInfo("bin/tool")
        info.external_attr = (S_IFREG | 0o755) << 16
        zf.writestr(info, b"\x7fELF" + b"\0" * 100)
    with open_artifact(p) as art:
        assert art.kind == "zip"
        assert art.problems == []
        by = {e.name: e for e in art.entries}
        assert by["pkg"] == Entry("pkg", 0, by["pkg"].compressed_size, by["pkg"].mode, True, False)
        assert by["pkg/__init__.py"].size == 6000
        assert by["pkg/__init__.py"].compressed_size < 6000
        assert by["bin/tool"].mode == 0o755
        assert art.read("pkg/__init__.py") == b"x = 1\n" * 1000
        assert art.read("pkg/__init__.py", 3) == b"x ="
        assert art.head("bin/tool", 4) == b"\x7fELF"
        assert art.read("pkg") == b""
        assert art.problems == []
        with pytest.raises(KeyError):
            art.read("nope.py")
    with pytest.raises(ValueError, match="closed"):
        art.read("pkg/__init__.py")


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
def test_info_zip_archive_with_modes_and_symlink(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("print('hi')\n" * 50)
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o750)
    (src / "pkg" / "alias.py").symlink_to("mod.py")
    out = tmp_path / "iz.zip"
    # -y stores symlinks as links, which is what `zip -r` users get from zip -ry.
    subprocess.run(["zip", "-qry", str(out), "."], cwd=src, check=True)
    with open_artifact(out) as art:
        by = {e.name: e for e in art.entries}
        assert set(by) == {"pkg", "pkg/mod.py", "pkg/alias.py", "run.sh"}
        assert by["pkg"].is_dir
        assert by["run.sh"].mode == 0o750
        assert by["pkg/alias.py"].is_symlink
        assert art.read("pkg/alias.py") == b"mod.py"
        assert art.read("pkg/mod.py") == (src / "pkg" / "mod.py").read_bytes()
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP303", "warning", "pkg/alias.py")]


def test_no_unix_attributes_gives_mode_none(tmp_path: Path) -> None:
    p = tmp_path / "win.zip"
    with zipfile.ZipFile(p, "w") as zf:
        info = zipfile.ZipInfo("handler.py")
        info.create_system = 0  # what Windows tools write
        info.external_attr = 0x20  # MS-DOS "archive" bit only
        zf.writestr(info, b"def handler(e, c): pass\n")
    with open_artifact(p) as art:
        assert [e.mode for e in art.entries] == [None]
        assert art.read("handler.py").startswith(b"def handler")
    # Unix-made but no mode bits at all (zipfile itself would fill in 0o600).
    with open_artifact(_write(tmp_path, [M(b"zero.py", b"", mode=0)])) as art:
        assert [e.mode for e in art.entries] == [None]


def test_dot_slash_and_double_slash_are_normalised(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"./a//b.py", b"1"), M(b"c/./d/../e.py", b"2"), M(b"./", mode=S_IFDIR | 0o755)])
    with open_artifact(p) as art:
        assert _names(art) == ["a/b.py", "c/e.py"]
        assert art.problems == []
        assert art.read("c/e.py") == b"2"


def test_self_extractor_prefix_is_allowed_for(tmp_path: Path) -> None:
    p = tmp_path / "sfx.zip"
    p.write_bytes(b"#!/bin/sh\nexit 0\n" + _raw_zip([M(b"a.py", b"hello")]))
    with open_artifact(p) as art:
        assert art.read("a.py") == b"hello"
        assert art.problems == []


def test_zip64_end_record(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"a.py", b"1"), M(b"b.py", b"2")], zip64_end=True)
    with open_artifact(p) as art:
        assert _names(art) == ["a.py", "b.py"]
        assert art.read("b.py") == b"2"


# -- hostile names --------------------------------------------------------------------


def test_traversal_is_excluded_and_nothing_is_written(tmp_path: Path, cwd_in_tmp: Path) -> None:
    p = _write(
        tmp_path,
        [M(b"../../evil", b"pwned"), M(b"ok/../../evil2", b"x"), M(b"fine/../good.py", b"g")],
    )
    before = _listing(tmp_path)
    with open_artifact(p) as art:
        assert _names(art) == ["good.py"]
        assert _codes(art) == ["LP301", "LP301"]
        assert {f.path for f in art.problems} == {"../../evil", "ok/../../evil2"}
        for e in art.entries:
            art.read(e.name)
    assert _listing(tmp_path) == before
    assert not (tmp_path / "evil").exists()
    assert not (cwd_in_tmp / "../../evil").exists()


@pytest.mark.parametrize(
    "name", [b"/etc/passwd", b"C:\\win.ini", b"C:/win.ini", b"\\\\server\\share\\x.py", b"/"]
)
def test_absolute_paths_are_excluded(tmp_path: Path, name: bytes) -> None:
    p = _write(tmp_path, [M(name, b"root:x:0:0"), M(b"ok.py", b"")])
    with open_artifact(p) as art:
        assert _names(art) == ["ok.py"]
        assert [(f.code, f.severity) for f in art.problems] == [("LP302", "error")]
        assert "absolute" in art.problems[0].message


def test_backslash_names_are_kept_literally_but_reported(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"pkg\\mod.py", b"x = 1\n", mode=None), M(b"..\\..\\evil", b"", mode=None)])
    with open_artifact(p) as art:
        # On Linux "\" is an ordinary character: one file each, named literally.
        assert _names(art) == ["pkg\\mod.py", "..\\..\\evil"]
        assert [(f.code, f.severity, f.path) for f in art.problems] == [
            ("LP302", "error", "pkg\\mod.py"),
            ("LP302", "error", "..\\..\\evil"),
        ]
        assert art.read("pkg\\mod.py") == b"x = 1\n"


def test_nul_in_name_is_excluded(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"a\x00.py", b"x")])
    with open_artifact(p) as art:
        assert art.entries == []
        assert [(f.code, f.path) for f in art.problems] == [("LP302", "a\\x00.py")]


def test_duplicates_keep_the_last(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"a.py", b"first"), M(b"b.py", b"b"), M(b"./a.py", b"second")])
    with open_artifact(p) as art:
        assert _names(art) == ["b.py", "a.py"]
        assert art.read("a.py") == b"second"
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP305", "error", "a.py")]


def test_cp437_name_without_utf8_flag(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"caf\x82.py", b"x"), M("naïve.py".encode(), b"y", flags=0x800)])
    with open_artifact(p) as art:
        # The name Linux would hold: the raw bytes; b"\x82" is not UTF-8, so surrogateescape.
        assert _names(art) == ["caf\udc82.py", "naïve.py"]
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP306", "warning", "caf\\x82.py")]
        assert art.read("caf\udc82.py") == b"x"


def test_invalid_utf8_with_utf8_flag(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"caf\xff.py", b"x", flags=0x800), M(b"ok.py", b"")])
    # zipfile cannot open this archive at all (a bare UnicodeDecodeError, not BadZipFile)...
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(p)
    # ...we list it, with the one bad name reported.
    with open_artifact(p) as art:
        assert _names(art) == ["caf\udcff.py", "ok.py"]
        assert [(f.code, f.path) for f in art.problems] == [("LP306", "caf\\xff.py")]
        assert "marked UTF-8 but is not valid" in art.problems[0].message


def test_utf8_without_flag_is_untrusted(tmp_path: Path) -> None:
    p = _write(tmp_path, [M("é.py".encode(), b"")])
    with open_artifact(p) as art:
        assert _names(art) == ["é.py"]
        assert _codes(art) == ["LP306"]


def test_display_name() -> None:
    assert display_name("pkg/mod.py") == "pkg/mod.py"
    assert display_name("pkg\\mod.py") == "pkg\\mod.py"
    assert display_name("a\nb") == "a\\nb"
    assert display_name("caf\udc82\\x") == "caf\\x82\\\\x"
    assert display_name("\x1b[31mred") == "\\x1b[31mred"


# -- symlinks ----------------------------------------------------------------------------


def test_symlink_inside_root_is_a_warning(tmp_path: Path) -> None:
    link = S_IFLNK | 0o777
    p = _write(tmp_path, [M(b"lib/libz.so.1", b"\x7fELF"), M(b"lib/libz.so", b"libz.so.1", mode=link)])
    with open_artifact(p) as art:
        e = art.entry("lib/libz.so")
        assert e.is_symlink and not e.is_dir and e.mode == 0o777
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP303", "warning", "lib/libz.so")]
        assert "libz.so.1" in art.problems[0].message


@pytest.mark.parametrize("target", [b"/etc/passwd", b"../../etc/passwd", b"a/../../../x", b""])
def test_symlink_escaping_root_is_an_error(tmp_path: Path, target: bytes) -> None:
    p = _write(tmp_path, [M(b"pkg/evil", target, mode=S_IFLNK | 0o777)])
    with open_artifact(p) as art:
        assert [(f.code, f.severity) for f in art.problems] == [("LP303", "error")]


def test_symlink_chain_escaping_root_is_an_error(tmp_path: Path) -> None:
    link = S_IFLNK | 0o777
    # Each link alone stays inside; followed together they reach the parent of the root.
    p = _write(tmp_path, [M(b"a/up", b"..", mode=link), M(b"b", b"a/up/..", mode=link)])
    with open_artifact(p) as art:
        sev = {f.path: f.severity for f in art.problems}
        assert sev == {"a/up": "warning", "b": "error"}


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    link = S_IFLNK | 0o777
    p = _write(tmp_path, [M(b"a", b"b/x", mode=link), M(b"b", b"a/y", mode=link)])
    with open_artifact(p) as art:
        assert {f.severity for f in art.problems} == {"error"}


def test_entry_written_through_a_symlink_is_traversal(tmp_path: Path, cwd_in_tmp: Path) -> None:
    p = _write(tmp_path, [M(b"lib", b"/tmp", mode=S_IFLNK | 0o777), M(b"lib/evil.py", b"x")])
    with open_artifact(p) as art:
        assert _names(art) == ["lib"]
        assert ("LP301", "lib/evil.py") in [(f.code, f.path) for f in art.problems]
    assert not Path("/tmp/evil.py").exists()


# -- bombs and lies --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 MB of zeros streamed through zipfile: about 300 KB on disk."""
    p = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.py", b"pass\n")
        info = zipfile.ZipInfo("zeros.so")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as w:
            for _ in range(300):
                w.write(chunk)
    return p


def test_ratio_bomb_is_reported_and_not_inflated(bomb: Path, bytes_read: Callable[[], int]) -> None:
    compressed = bomb.stat().st_size
    assert compressed < 1024 * 1024
    with open_artifact(bomb) as art:
        e = art.entry("zeros.so")
        assert e.size == 300 * 1024 * 1024
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP304", "error", "zeros.so")]
        assert "ratio" in art.problems[0].message
        before = bytes_read()
        assert art.head("zeros.so") == bytes(64)
        assert art.read("zeros.so") == b""  # whole reads of a declared bomb are refused
        # Inflating the member means reading its ~300 KB of deflate data; the head needs
        # one buffer of it and the refused read none.
        took = bytes_read() - before
        print(f"head + refused read of the bomb: {took} bytes read of {compressed}")
        assert took < compressed // 2, f"{took} of {compressed} bytes read: the member was inflated"
        assert art.read("ok.py") == b"pass\n"


def test_total_declared_size_over_limit(bomb: Path) -> None:
    limits = ArchiveLimits(max_total_uncompressed=100 * 1024 * 1024, max_ratio=10_000)
    with open_artifact(bomb, limits=limits) as art:
        assert [(f.code, f.path) for f in art.problems] == [("LP304", "")]
        assert "in total" in art.problems[0].message


def test_member_over_max_member(bomb: Path) -> None:
    limits = ArchiveLimits(max_member=10 * 1024 * 1024, max_ratio=10_000)
    with open_artifact(bomb, limits=limits) as art:
        assert [(f.code, f.path) for f in art.problems] == [("LP304", "zeros.so")]
        assert art.read("zeros.so") == b""


def test_member_inflating_past_its_declared_size(tmp_path: Path) -> None:
    data = b"A" * 100_000
    p = _write(
        tmp_path,
        [M(b"liar.so", data, declared_size=100), M(b"stored", b"x" * 50, deflate=False, declared_size=10)],
    )
    with open_artifact(p) as art:
        assert art.problems == []  # nothing to see until it is inflated
        assert art.read("liar.so") == b""
        assert art.read("stored") == b""
        assert [(f.code, f.path) for f in art.problems] == [("LP304", "liar.so"), ("LP304", "stored")]
        assert "more than its declared 100 bytes" in art.problems[0].message
        # A head read within the declared size is still served, and reports nothing new.
        assert art.head("liar.so", 10) == b"A" * 10
        assert len(art.problems) == 2


def test_local_header_size_lie_is_reported_by_verify(tmp_path: Path) -> None:
    # Reads go by the central directory, but extractors do not agree on which header
    # to believe (Info-ZIP takes a stored member's local sizes), so `verify` reports it.
    raw = bytearray(_raw_zip([M(b"a.py", b"hello world", deflate=False)]))
    struct.pack_into("<L", raw, 22, 1)  # local header's uncompressed size
    p = tmp_path / "a.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.read("a.py") == b"hello world"
        assert art.problems == []
        art.verify()
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP307", "error", "a.py")]
        assert "size 1 vs 11" in art.problems[0].message


def test_overlapping_members_are_a_bomb(tmp_path: Path) -> None:
    raw = bytearray(_raw_zip([M(b"a.py", b"x" * 100), M(b"b.py", b"y" * 100)]))
    cd = raw.find(b"PK\x01\x02", raw.find(b"PK\x01\x02") + 1)
    struct.pack_into("<L", raw, cd + 42, 0)  # b.py's central entry points at a.py's data
    p = tmp_path / "overlap.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert "LP304" in _codes(art)
        assert "overlaps" in " ".join(f.message for f in art.problems)
        assert art.read("b.py") == b""  # local header names a.py: LP307, no crash
        assert "LP307" in _codes(art)


# -- corrupt members ---------------------------------------------------------------------


def test_corrupt_deflate_data(tmp_path: Path) -> None:
    data = bytes(range(256)) * 400 + b"tail" * 1000
    raw = bytearray(_raw_zip([M(b"lib.so", data), M(b"ok.py", b"fine")]))
    start = 30 + len(b"lib.so")
    for i in range(start + 10, start + 14):  # inside the Huffman tables: zlib.error
        raw[i] ^= 0xFF
    p = tmp_path / "corrupt.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.read("lib.so") == b""
        assert art.read("lib.so") == b""
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP307", "error", "lib.so")]
        assert art.read("ok.py") == b"fine"
    # Damage further in can decode to garbage that runs past the declared size: LP304.
    raw = bytearray(_raw_zip([M(b"lib.so", data)]))
    for i in range(start + 50, start + 80):
        raw[i] ^= 0xA5
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.read("lib.so") == b""
        assert [f.code for f in art.problems] == ["LP304"]


def test_crc_mismatch(tmp_path: Path) -> None:
    raw = bytearray(_raw_zip([M(b"a.py", b"hello", deflate=False)]))
    raw[30 + 4 + 4] ^= 0x01  # "hello" -> "hellp": stored, so only the CRC can tell
    p = tmp_path / "crc.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.head("a.py", 2) == b"he"  # a partial read cannot check the CRC
        assert art.read("a.py") == b""
        assert [f.code for f in art.problems] == ["LP307"]
        assert "CRC" in art.problems[0].message


def test_member_data_cut_short(tmp_path: Path) -> None:
    raw = bytearray(_raw_zip([M(b"a.py", b"hello", deflate=False, declared_size=500)]))
    p = tmp_path / "short.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.read("a.py") == b""
        assert [f.code for f in art.problems] == ["LP307"]


def test_unsupported_method_is_reported_not_read(tmp_path: Path) -> None:
    raw = bytearray(_raw_zip([M(b"a.py", b"hello", deflate=False)]))
    struct.pack_into("<H", raw, 8, 9)  # local: deflate64
    cd = raw.find(b"PK\x01\x02")
    struct.pack_into("<H", raw, cd + 10, 9)
    p = tmp_path / "d64.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert [(f.code, f.severity) for f in art.problems] == [("LP308", "warning")]
        assert "deflate64" in art.problems[0].message
        assert art.read("a.py") == b""


def test_zip64_offset_near_2_to_the_64(tmp_path: Path) -> None:
    name, data = b"a.py", b"hi"
    crc = zlib.crc32(data)
    extra = struct.pack("<2HQ", 1, 8, 2**64 - 1)  # zip64 extra: the real header offset
    lh = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0x21, crc, 2, 2, 4, 0) + name + data
    cd = struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 45, 3, 45, 0, 0, 0, 0, 0x21, crc, 2, 2, 4, len(extra), 0, 0, 0,
        (S_IFREG | 0o644) << 16, 0xFFFFFFFF,
    )  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(cd) + 4 + len(extra), len(lh), 0)
    p = tmp_path / "z.zip"
    p.write_bytes(lh + cd + name + extra + end)
    with open_artifact(p) as art:
        assert art.read("a.py") == b""
        assert [(f.code, f.path) for f in art.problems] == [("LP307", "a.py")]


# -- cannot check at all -----------------------------------------------------------------


def test_encrypted_member_is_an_artifact_error(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"ok.py", b""), M(b"secret.py", b"x", flags=0x1)])
    with pytest.raises(ArtifactError, match=r"encrypted member \(secret\.py\)") as ei:
        open_artifact(p)
    assert isinstance(ei.value, InputError)
    assert ei.value.exit_code == 2


def _many_entries_zip(path: Path, n: int, *, zip64_end: bool) -> None:
    # Written by hand: zipfile takes several seconds for 100k members.
    local = bytearray()
    central = bytearray()
    crc0 = zlib.crc32(b"")
    lfh = struct.Struct("<4s2B4HL2L2H")
    cdh = struct.Struct("<4s4B4HL2L5H2L")
    for i in range(n):
        name = b"f%06d" % i
        off = len(local)
        local += lfh.pack(b"PK\x03\x04", 20, 0, 0, 0, 0, 0x21, crc0, 0, 0, len(name), 0) + name
        central += (
            cdh.pack(
                b"PK\x01\x02",
                20,
                3,
                20,
                0,
                0,
                0,
                0,
                0x21,
                crc0,
                0,
                0,
                len(name),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                off,
            )
            + name
        )
    end = bytearray()
    if zip64_end:
        end += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), len(local))
        end += struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local) + len(central), 1)
        n16 = 0xFFFF
    else:
        n16 = n & 0xFFFF  # what old writers store: the count modulo 65536
    end += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n16, n16, len(central), len(local), 0)
    path.write_bytes(local + central + end)


@pytest.mark.parametrize("zip64_end", [True, False])
def test_too_many_entries(tmp_path: Path, zip64_end: bool, bytes_read: Callable[[], int]) -> None:
    p = tmp_path / "many.zip"
    _many_entries_zip(p, 100_001, zip64_end=zip64_end)
    before = bytes_read()
    with pytest.raises(ArtifactError, match="100000") as ei:
        open_artifact(p)
    # Refused from the central directory, read once: never the members, never twice.
    took = bytes_read() - before
    print(f"refusing {p.stat().st_size} bytes of 100,001 entries: {took} bytes read")
    assert took <= p.stat().st_size, took
    assert "\n" not in ei.value.message


def test_exactly_max_entries_is_fine(tmp_path: Path) -> None:
    p = tmp_path / "many.zip"
    _many_entries_zip(p, 70_000, zip64_end=False)  # count stored modulo 65536
    with open_artifact(p) as art:
        assert len(art.entries) == 70_000
    with pytest.raises(ArtifactError, match="1000"):
        open_artifact(p, limits=ArchiveLimits(max_entries=1000))


def _normal_zip(tmp_path: Path) -> bytes:
    p = tmp_path / "n.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(50):
            zf.writestr(f"pkg/m{i}.py", os.urandom(200))
    return p.read_bytes()


@pytest.mark.parametrize("cut", ["half", "last10", "cd_only"])
def test_truncated_zip(tmp_path: Path, cut: str) -> None:
    data = _normal_zip(tmp_path)
    cd = data.find(b"PK\x01\x02")
    if cut == "half":
        data = data[: len(data) // 2]
    elif cut == "last10":
        data = data[:-10]
    else:  # keep the end record but drop part of the central directory
        data = data[:cd] + data[cd + 100 :]
    p = tmp_path / "t.zip"
    p.write_bytes(data)
    with pytest.raises(ArtifactError) as ei:
        open_artifact(p)
    assert "\n" not in ei.value.message


def test_corrupt_central_directory_signature(tmp_path: Path) -> None:
    data = bytearray(_normal_zip(tmp_path))
    cd = data.find(b"PK\x01\x02")
    data[cd + 1000 : cd + 1004] = b"XXXX"
    p = tmp_path / "c.zip"
    p.write_bytes(data)
    with pytest.raises(ArtifactError, match="central directory"):
        open_artifact(p)


def test_count_mismatch_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"a.py"), M(b"b.py")], count=7)
    with pytest.raises(ArtifactError, match="counts 7 entries"):
        open_artifact(p)


@pytest.mark.parametrize("content", [os.urandom(5000), b"", b"PK\x05\x06", b"hello\n"])
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "x.zip"
    p.write_bytes(content)
    with pytest.raises(ArtifactError):
        open_artifact(p)


def test_missing_and_special_paths(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot open"):
        open_artifact(tmp_path / "nope.zip")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ArtifactError, match="neither a zip file nor a directory"):
        open_artifact(fifo)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "a.zip"
    p.write_bytes(_raw_zip([M(b"a.py")]))
    p.chmod(0)
    with pytest.raises(ArtifactError, match="cannot open"):
        open_artifact(p)


def test_fuzzed_archives_never_raise_anything_else(tmp_path: Path) -> None:
    import random

    rng = random.Random(1234)
    base = _raw_zip(
        [
            M(b"pkg/a.py", b"x = 1\n" * 200),
            M(b"lib", b"pkg", mode=S_IFLNK | 0o777),
            M(b"b.so", os.urandom(300)),
        ]
    )
    p = tmp_path / "f.zip"
    for _ in range(400):
        raw = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        p.write_bytes(raw)
        try:
            with open_artifact(p) as art:
                for e in art.entries:
                    art.read(e.name)
                    art.head(e.name)
        except ArtifactError:
            pass


# -- directories --------------------------------------------------------------------------


def test_directory_artifact(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "handler.py").write_text("pass\n")
    (root / "secret.py").write_text("k = 1\n")
    (root / "secret.py").chmod(0o600)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.txt").write_text("do not read")
    (root / "sub" / "escape").symlink_to(outside)  # a directory link: never entered
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "alias.py").symlink_to("handler.py")
    os.mkfifo(root / "pipe")
    before = _listing(tmp_path)
    with open_artifact(root) as art:
        assert art.kind == "dir"
        by = {e.name: e for e in art.entries}
        assert set(by) == {"alias.py", "handler.py", "passwd", "secret.py", "sub", "sub/escape"}
        assert by["secret.py"].mode == 0o600
        assert by["secret.py"].size == 6
        assert by["sub"].is_dir
        assert by["sub/escape"].is_symlink and not by["sub/escape"].is_dir
        assert art.read("handler.py") == b"pass\n"
        assert art.head("handler.py", 2) == b"pa"
        assert art.read("passwd") == b"/etc/passwd"
        found = {(f.code, f.severity, f.path) for f in art.problems}
        assert found == {
            ("LP303", "warning", "alias.py"),
            ("LP303", "error", "passwd"),
            ("LP303", "error", "sub/escape"),
            ("LP309", "warning", "pipe"),
        }
    assert _listing(tmp_path) == before


def test_directory_with_odd_names(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "a\\b.py").write_text("")
    (root / os.fsdecode(b"caf\x82.py")).touch()  # a Linux name that is not UTF-8
    with open_artifact(root) as art:
        assert {e.name for e in art.entries} == {"a\\b.py", "caf\udc82.py"}
        assert {(f.code, f.path) for f in art.problems} == {("LP302", "a\\b.py"), ("LP306", "caf\\x82.py")}
        assert art.read("caf\udc82.py") == b""


def test_directory_too_many_entries(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    for i in range(12):
        (root / f"{i}.py").write_text("")
    with pytest.raises(ArtifactError, match="10"):
        open_artifact(root, limits=ArchiveLimits(max_entries=10))


# -- verify: every member, every byte -------------------------------------------------------


def test_verify_finds_damage_past_what_rules_read(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    raw = bytearray(_raw_zip([M(b"pkg/data.bin", data, deflate=False), M(b"ok.py", b"x = 1\n")]))
    raw[30 + len(b"pkg/data.bin") + 150_000] ^= 0x01  # far past any head or prefix read
    p = tmp_path / "crc.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.head("pkg/data.bin", 64) == data[:64]
        assert art.problems == []
        art.verify()
        assert [(f.code, f.severity, f.path) for f in art.problems] == [("LP307", "error", "pkg/data.bin")]
        assert f"the header says {zlib.crc32(data):08x}" in art.problems[0].message
        assert art.head("pkg/data.bin", 64) == b""  # a damaged member is never served afterwards
        assert art.read("ok.py") == b"x = 1\n"
        art.verify()  # idempotent
        assert len(art.problems) == 1


def test_verify_is_clean_on_real_writers(tmp_path: Path) -> None:
    # zipfile on a seekable file, and on an unseekable stream (data descriptors: the
    # local header carries zeros for the CRC and sizes, which is not a disagreement).
    files = {"pkg/__init__.py": b"", "pkg/big.bin": os.urandom(300_000), "pkg/text.py": b"x = 1\n" * 5000}
    seekable = tmp_path / "seekable.zip"
    with zipfile.ZipFile(seekable, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    r, w = os.pipe()
    streamed = tmp_path / "streamed.zip"
    with open(w, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        # A pipe cannot seek, so zipfile writes data descriptors; drain it as we go.
        chunks: list[bytes] = []
        t = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(r, 65536), b"")))
        t.start()
        for n, d in files.items():
            with zf.open(n, "w") as f:
                f.write(d)
    t.join()
    os.close(r)
    streamed.write_bytes(b"".join(chunks))
    assert streamed.read_bytes()[6] & 0x08  # general-purpose bit 3 really set
    for p in (seekable, streamed):
        with open_artifact(p) as art:
            art.verify()
            assert art.problems == [], p
            assert art.read("pkg/big.bin") == files["pkg/big.bin"]


@pytest.mark.parametrize(("field", "offset", "value", "words"), [
    ("crc", 14, 0x12345678, "CRC-32 12345678 vs"),
    ("compressed size", 18, 3, "compressed size 3 vs"),
    ("method", 8, 0, "compression method 0 vs 8"),
])
def test_verify_local_header_disagreements(tmp_path: Path, field: str, offset: int, value: int, words: str) -> None:
    # Stored: Info-ZIP takes a stored member's sizes from its local header.
    raw = bytearray(_raw_zip([M(b"a.py", b"hello world " * 20, deflate=field == "method")]))
    struct.pack_into("<H" if field == "method" else "<L", raw, offset, value)
    p = tmp_path / "a.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        art.verify()
        assert [(f.code, f.severity) for f in art.problems] == [("LP307", "error")]
        assert "bad local header" in art.problems[0].message and words in art.problems[0].message


def _verify_peak(p: Path) -> int:
    """The most memory `verify` held at once (tracemalloc), for a zip with no problems."""
    with open_artifact(p) as art:
        tracemalloc.start()
        art.verify()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert art.problems == []
    return peak


def test_verify_streams_members_over_the_whole_limit_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Members larger than inflater.WHOLE_MAX stream through zlib: a few 64 KiB chunks at a time.
    monkeypatch.setattr(zipsource, "WHOLE_MAX", 1 << 20)
    data = os.urandom(24 * 1024 * 1024)
    p = tmp_path / "big.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("stored.bin", data, compress_type=zipfile.ZIP_STORED)
        zf.writestr("deflated.bin", data)
    del data
    peak = _verify_peak(p)
    assert peak < 2 * 1024 * 1024, peak  # a few 64 KiB chunks, never a member


def test_verify_inflates_at_most_the_in_flight_budget_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Members inflated whole by the worker threads: never more than _IN_FLIGHT of them (plus
    # the member being finished, compressed and inflated) in memory, however many there are.
    monkeypatch.setattr(zipsource, "_IN_FLIGHT", 4 << 20)
    p = tmp_path / "many.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(24):
            zf.writestr(f"m{i}.bin", os.urandom(1 << 20))
    peak = _verify_peak(p)
    assert peak < 12 << 20, peak  # 24 MiB of members: without the budget all would be in flight


def test_verify_stops_a_member_inflating_past_its_size(tmp_path: Path) -> None:
    p = _write(tmp_path, [M(b"liar.bin", b"A" * 500_000, declared_size=1000)])
    with open_artifact(p) as art:
        art.verify()
        assert [(f.code, f.path) for f in art.problems] == [("LP304", "liar.bin")]


def test_verify_deflated_local_size_is_a_warning(tmp_path: Path) -> None:
    # unzip reads a deflated stream to its end and ignores the local sizes (checked with
    # `unzip -t`); streaming readers such as Java's ZipInputStream reject the member.
    raw = bytearray(_raw_zip([M(b"a.py", b"hello world " * 20)]))
    struct.pack_into("<L", raw, 22, 7)  # local header's uncompressed size
    p = tmp_path / "a.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        art.verify()
        assert [(f.code, f.severity) for f in art.problems] == [("LP307", "warning")]
        assert "size 7 vs 240" in art.problems[0].message


def test_verify_finds_overlaps_from_the_local_headers(tmp_path: Path) -> None:
    # The central directory's lengths say the members are apart; a's local header claims
    # 10 bytes of extra field, so its data really runs into b's local header.
    raw = bytearray(_raw_zip([M(b"a.py", b"x" * 100, deflate=False), M(b"b.py", b"y" * 100, deflate=False)]))
    struct.pack_into("<H", raw, 28, 10)  # a's local extra length
    p = tmp_path / "overlap.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        assert art.problems == []
        art.verify()
        assert ("LP304", "a.py") in [(f.code, f.path) for f in art.problems]
        assert any("overlaps" in f.message for f in art.problems)


def test_verify_damaged_data_is_an_error_even_with_a_header_warning(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    raw = bytearray(_raw_zip([M(b"a.bin", data)]))
    struct.pack_into("<L", raw, 22, 7)  # local size of a deflated member: a warning on its own
    raw[30 + len(b"a.bin") + 200] ^= 0xFF  # and the data is damaged: an error
    p = tmp_path / "a.zip"
    p.write_bytes(raw)
    with open_artifact(p) as art:
        art.verify()
        assert [(f.code, f.severity) for f in art.problems] == [("LP307", "error")]


def test_padded_library_is_not_a_bomb(tmp_path: Path) -> None:
    # Like a shared library linked with 2 MiB segment alignment: a little code, then
    # megabytes of zero padding (pillow's libXau compresses 224:1 this way).
    padded = os.urandom(4096) + bytes(4 * 1024 * 1024) + os.urandom(4096)
    p = tmp_path / "padded.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("lib/libpadded.so.1", padded)
        zf.writestr("zeros.bin", bytes(20 * 1024 * 1024))
    with open_artifact(p) as art:
        e = art.entry("lib/libpadded.so.1")
        assert e.size > 200 * e.compressed_size  # over the ratio, under the size it applies from
        art.verify()
        assert [(f.code, f.path) for f in art.problems] == [("LP304", "zeros.bin")]
