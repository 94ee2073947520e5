"""read_elf_prefix (used on zip members) agrees with the full reader on real ELF files,
and reads only a prefix of a large library."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.inspect.elf.model import ELFInvalid
from lambdapack.inspect.elf.reader import read_elf, read_elf_prefix

FIXTURES = sorted(
    p for d in ("elf", "needed") for p in (Path(__file__).parents[1] / "fixtures" / d).iterdir()
    if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"
)


def _full(p: Path) -> object:
    try:
        return read_elf(p.read_bytes())
    except ELFInvalid:
        return ELFInvalid


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_prefix_reader_agrees_with_the_full_reader(path: Path) -> None:
    data = path.read_bytes()
    full = _full(path)
    reads: list[int] = []

    def read(n: int) -> bytes:
        reads.append(n)
        return data[:n]

    if full is ELFInvalid:
        # Damage in the section headers is invisible to the loader (and to this reader,
        # which follows the program headers like the loader does); anything else raises
        # ELFInvalid, never another exception.
        try:
            read_elf_prefix(read, len(data))
        except ELFInvalid:
            pass
        return
    got = read_elf_prefix(read, len(data), first=64)
    assert not isinstance(full, type)
    assert (got.elf_class, got.little_endian, got.machine, got.needed, got.soname, got.rpath, got.runpath) == (
        full.elf_class, full.little_endian, full.machine, full.needed, full.soname, full.rpath, full.runpath)
    assert sorted(got.version_needs) == sorted(full.version_needs)
    assert max(reads) <= len(data)


def test_a_large_library_is_read_only_up_to_its_dynamic_section(tmp_path: Path) -> None:
    # A real shared object followed by 8 MB of trailing data (as debug info or a
    # symbol table would be): the prefix reader never asks for the tail.
    lib = next(p for p in FIXTURES if p.name == "libplain.so")
    data = lib.read_bytes() + b"\0" * (8 << 20)
    reads: list[int] = []

    def read(n: int) -> bytes:
        reads.append(n)
        return data[:n]

    info = read_elf_prefix(read, len(data), first=4096)
    assert info.needed == read_elf(lib.read_bytes()).needed
    assert max(reads) < len(lib.read_bytes()) + 8192
