"""ELF constants, struct layouts per class and byte order, and bounds-checked reads.

Everything that reads ELF bytes goes through :class:`Reader`, which checks each
offset and size against the file before unpacking, so the parsers above it never
index outside the file.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from lambdapack.inspect.elf.model import ELFInvalid

ELF_MAGIC = b"\x7fELF"

SHT_SYMTAB = 2
SHT_DYNAMIC = 6
SHT_DYNSYM = 11
SHT_GNU_VERNEED = 0x6FFFFFFE
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_XINDEX = 0xFFFF
PT_LOAD = 1
PT_DYNAMIC = 2

DT_NULL = 0
DT_NEEDED = 1
DT_HASH = 4
DT_STRTAB = 5
DT_SYMTAB = 6
DT_STRSZ = 10
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29
DT_GNU_HASH = 0x6FFFFEF5
DT_VERNEED = 0x6FFFFFFE
DT_VERNEEDNUM = 0x6FFFFFFF

MAX_TABLE_ENTRIES = 1 << 24  # upper bound on any table walk, whatever the file says


@dataclass(frozen=True)
class Layout:
    ehdr: struct.Struct  # e_type .. e_shstrndx, after e_ident
    shdr: struct.Struct  # name, type, flags, addr, offset, size, link, info, align, entsize
    phdr: struct.Struct
    phdr_order: tuple[int, int, int, int]  # indexes of p_type, p_offset, p_vaddr, p_filesz
    dyn: struct.Struct
    sym: struct.Struct
    sym_order: tuple[int, int, int, int]  # indexes of st_name, st_info, st_other, st_shndx
    verneed: struct.Struct  # vn_version, vn_cnt, vn_file, vn_aux, vn_next
    vernaux: struct.Struct  # vna_hash, vna_flags, vna_other, vna_name, vna_next
    u32: struct.Struct
    word: struct.Struct  # address-sized unsigned


def _make_layout(elf_class: int, little_endian: bool) -> Layout:
    e = "<" if little_endian else ">"
    if elf_class == 64:
        return Layout(
            ehdr=struct.Struct(e + "HHIQQQIHHHHHH"),
            shdr=struct.Struct(e + "IIQQQQIIQQ"),
            phdr=struct.Struct(e + "IIQQQQQQ"),
            phdr_order=(0, 2, 3, 5),
            dyn=struct.Struct(e + "qQ"),
            sym=struct.Struct(e + "IBBHQQ"),
            sym_order=(0, 1, 2, 3),
            verneed=struct.Struct(e + "HHIII"),
            vernaux=struct.Struct(e + "IHHII"),
            u32=struct.Struct(e + "I"),
            word=struct.Struct(e + "Q"),
        )
    return Layout(
        ehdr=struct.Struct(e + "HHIIIIIHHHHHH"),
        shdr=struct.Struct(e + "IIIIIIIIII"),
        phdr=struct.Struct(e + "IIIIIIII"),
        phdr_order=(0, 1, 2, 4),
        dyn=struct.Struct(e + "iI"),
        sym=struct.Struct(e + "IIIBBH"),
        sym_order=(0, 3, 4, 5),
        verneed=struct.Struct(e + "HHIII"),
        vernaux=struct.Struct(e + "IHHII"),
        u32=struct.Struct(e + "I"),
        word=struct.Struct(e + "I"),
    )


LAYOUTS = {(c, le): _make_layout(c, le) for c in (32, 64) for le in (True, False)}


@dataclass(frozen=True)
class Section:
    name: int
    type: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


class Reader:
    def __init__(self, buf: bytes | mmap.mmap | memoryview, layout: Layout) -> None:
        self.buf = buf
        self.size = len(buf)
        self.layout = layout

    def check(self, offset: int, size: int, what: str) -> None:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ELFInvalid(
                f"{what} at offset {offset:#x} size {size:#x} lies outside the file ({self.size:#x} bytes)"
            )

    def unpack(self, st: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
        self.check(offset, st.size, what)
        return st.unpack_from(self.buf, offset)

    def table(self, offset: int, size: int, st: struct.Struct, what: str) -> Iterator[tuple[int, ...]]:
        """Iterate fixed-size records of a table that must lie inside the file."""
        self.check(offset, size, what)
        count = size // st.size
        if count > MAX_TABLE_ENTRIES:
            raise ELFInvalid(f"{what} has too many entries ({count})")
        return st.iter_unpack(self.buf[offset : offset + count * st.size])

    def cstr(self, start: int, end: int, what: str) -> str:
        """The NUL-terminated string at ``start``, which must end before ``end``."""
        end = min(end, self.size)
        if start < 0 or start >= end:
            raise ELFInvalid(f"{what}: string offset {start:#x} out of range")
        buf = self.buf
        if isinstance(buf, memoryview):
            pos = start
            while pos < end:
                chunk = bytes(buf[pos : min(pos + 256, end)])
                nul = chunk.find(b"\0")
                if nul >= 0:
                    return _decode(bytes(buf[start : pos + nul]))
                pos += len(chunk)
            raise ELFInvalid(f"{what}: unterminated string at {start:#x}")
        nul = buf.find(b"\0", start, end)
        if nul < 0:
            raise ELFInvalid(f"{what}: unterminated string at {start:#x}")
        return _decode(buf[start:nul])


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class StrTab:
    """A string table: strings are decoded only when looked up."""

    def __init__(self, reader: Reader, offset: int, size: int, what: str) -> None:
        reader.check(offset, size, what)
        self.reader = reader
        self.offset = offset
        self.end = offset + size
        self.what = what

    def get(self, index: int) -> str:
        return self.reader.cstr(self.offset + index, self.end, self.what)

