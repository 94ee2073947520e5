"""Strict, dependency-free readers for the native binaries found in wheels.

:func:`classify` tells ELF, Mach-O and PE files apart by their magic bytes.
:func:`read_elf` / :func:`read_elf_file` extract what lambdapack needs to judge
whether an ELF shared object will load on AWS Lambda: the machine, DT_NEEDED,
SONAME, RPATH/RUNPATH, the symbol versions it needs (``GLIBC_2.17`` ...), its
exported dynamic symbols and whether debug information is still present.

References:

* ELF generic ABI (file header, sections, program headers, dynamic section,
  symbol table): https://refspecs.linuxfoundation.org/elf/gabi4+/contents.html
* Symbol versioning (``SHT_GNU_verneed``, ``Elfxx_Verneed``/``Elfxx_Vernaux``):
  https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/symversion.html

Every offset, size and count read from the file is checked against the file
length before use and every loop is bounded by the size of the table it walks,
so a hostile or truncated file raises :class:`ELFInvalid` (never another
exception, never an endless loop or a huge allocation).
"""

from __future__ import annotations

import enum
import mmap
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lambdapack.facts.machines import machine_name

__all__ = [
    "BinaryKind",
    "ELFInfo",
    "ELFInvalid",
    "ELFTruncation",
    "LoadHeaders",
    "classify",
    "elf_truncation",
    "read_elf",
    "read_elf_file",
    "read_elf_prefix",
    "read_load_headers",
]


class BinaryKind(enum.Enum):
    """What kind of native binary a file is, judged by its magic bytes."""

    ELF = "elf"
    MACHO = "macho"
    PE = "pe"
    NONE = "none"


_ELF_MAGIC = b"\x7fELF"
_MACHO_MAGICS = frozenset(
    {
        b"\xfe\xed\xfa\xce",  # MH_MAGIC (32-bit, big-endian)
        b"\xfe\xed\xfa\xcf",  # MH_MAGIC_64 (64-bit, big-endian)
        b"\xce\xfa\xed\xfe",  # MH_CIGAM (32-bit, little-endian)
        b"\xcf\xfa\xed\xfe",  # MH_CIGAM_64 (64-bit, little-endian)
    }
)
_FAT_MAGICS = frozenset({b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"})  # FAT_MAGIC, FAT_MAGIC_64
_MAX_FAT_ARCHS = 30  # Java .class files share 0xcafebabe but have a version >= 45 here
_MAX_E_LFANEW = 0x10000


def classify(head: bytes) -> BinaryKind:
    """Classify a file by its first bytes (pass the first 64; fewer is fine).

    * ELF: ``\\x7fELF``.
    * Mach-O: thin magics in either byte order, and universal ("fat") files
      whose big-endian ``nfat_arch`` is 1..30 (which rules out Java classes).
    * PE: ``MZ`` with a plausible ``e_lfanew`` (uint32 LE at 0x3c, < 0x10000);
      when the ``PE\\0\\0`` signature lies inside ``head`` it must be there.
      A PE file is never shorter than its 64-byte DOS header, so ``MZ`` in a
      shorter ``head`` (a tiny text file) is NONE, as is text starting "MZ".
    """
    magic = head[:4]
    if magic == _ELF_MAGIC:
        return BinaryKind.ELF
    if magic in _MACHO_MAGICS:
        return BinaryKind.MACHO
    if magic in _FAT_MAGICS and len(head) >= 8:
        (nfat_arch,) = struct.unpack_from(">I", head, 4)
        return BinaryKind.MACHO if 1 <= nfat_arch <= _MAX_FAT_ARCHS else BinaryKind.NONE
    if head[:2] == b"MZ" and len(head) >= 64:
        (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
        if e_lfanew >= _MAX_E_LFANEW:
            return BinaryKind.NONE
        if e_lfanew + 4 <= len(head) and head[e_lfanew : e_lfanew + 4] != b"PE\0\0":
            return BinaryKind.NONE
        return BinaryKind.PE
    return BinaryKind.NONE


class ELFInvalid(ValueError):
    """The data is not a well-formed ELF file (or uses something out of range)."""


def _version_key(name: str, prefix: str) -> tuple[int, ...] | None:
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split(".")
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class ELFInfo:
    """What :func:`read_elf` found in one ELF file."""

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int  # e_machine
    machine_name: str  # "x86_64", "aarch64", ... else "machine N"
    elf_type: int  # e_type: 1 REL, 2 EXEC, 3 DYN, 4 CORE
    needed: tuple[str, ...]  # DT_NEEDED, in order
    soname: str | None
    rpath: tuple[str, ...]  # DT_RPATH split on ':'
    runpath: tuple[str, ...]  # DT_RUNPATH split on ':'
    # (library file, version name) from SHT_GNU_verneed, in file order,
    # e.g. ("libc.so.6", "GLIBC_2.17").
    version_needs: tuple[tuple[str, str], ...]
    # Defined (st_shndx not UNDEF/ABS), global/weak/unique, default or protected
    # visibility FUNC/OBJECT/IFUNC symbols of .dynsym, first occurrence order.
    exported_symbols: tuple[str, ...]
    has_debug_info: bool  # a .debug_*, .zdebug_* or .symtab section exists

    def versions(self, prefix: str) -> list[str]:
        """Distinct needed version names with ``prefix`` (e.g. ``"GLIBC_"``),
        sorted by numeric version; non-numeric ones (``GLIBC_PRIVATE``) are left out."""
        keyed: dict[str, tuple[int, ...]] = {}
        for _, name in self.version_needs:
            key = _version_key(name, prefix)
            if key is not None:
                keyed[name] = key
        return sorted(keyed, key=keyed.__getitem__)

    def max_version(self, prefix: str) -> tuple[int, ...] | None:
        """Highest numeric version needed for ``prefix``: ``"GLIBC_2.17"`` -> ``(2, 17)``."""
        keys = [_version_key(name, prefix) for _, name in self.version_needs]
        found = [k for k in keys if k is not None]
        return max(found) if found else None


# --- low-level layout -------------------------------------------------------

_SHT_SYMTAB = 2
_SHT_DYNAMIC = 6
_SHT_DYNSYM = 11
_SHT_GNU_VERNEED = 0x6FFFFFFE
_SHN_UNDEF = 0
_SHN_ABS = 0xFFF1
_SHN_XINDEX = 0xFFFF
_PT_LOAD = 1
_PT_DYNAMIC = 2

_DT_NULL = 0
_DT_NEEDED = 1
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_DT_SONAME = 14
_DT_RPATH = 15
_DT_RUNPATH = 29
_DT_GNU_HASH = 0x6FFFFEF5
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF

_EXPORT_BINDS = frozenset({1, 2, 10})  # STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE
_EXPORT_TYPES = frozenset({1, 2, 10})  # STT_OBJECT, STT_FUNC, STT_GNU_IFUNC
_HIDDEN_VIS = frozenset({1, 2})  # STV_INTERNAL, STV_HIDDEN

_MAX_TABLE_ENTRIES = 1 << 24  # upper bound on any table walk, whatever the file says


@dataclass(frozen=True)
class _Layout:
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


def _make_layout(elf_class: int, little_endian: bool) -> _Layout:
    e = "<" if little_endian else ">"
    if elf_class == 64:
        return _Layout(
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
    return _Layout(
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


_LAYOUTS = {(c, le): _make_layout(c, le) for c in (32, 64) for le in (True, False)}


@dataclass(frozen=True)
class _Section:
    name: int
    type: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


class _Reader:
    def __init__(self, buf: bytes | mmap.mmap | memoryview, layout: _Layout) -> None:
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
        if count > _MAX_TABLE_ENTRIES:
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


class _StrTab:
    """A string table: strings are decoded only when looked up."""

    def __init__(self, reader: _Reader, offset: int, size: int, what: str) -> None:
        reader.check(offset, size, what)
        self.reader = reader
        self.offset = offset
        self.end = offset + size
        self.what = what

    def get(self, index: int) -> str:
        return self.reader.cstr(self.offset + index, self.end, self.what)


# --- parsing ----------------------------------------------------------------


@dataclass
class _Dynamic:
    needed: list[str]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    tags: dict[int, int]  # first value of each address-like tag (fallback path)


def _split_path(value: str) -> tuple[str, ...]:
    return tuple(value.split(":")) if value else ()


def _parse_dynamic(entries: Iterator[tuple[int, ...]], strtab: _StrTab | None) -> _Dynamic:
    """Walk dynamic entries up to DT_NULL; strings resolved via ``strtab`` if given."""
    raw_needed: list[int] = []
    soname: int | None = None
    rpath: int | None = None
    runpath: int | None = None
    tags: dict[int, int] = {}
    for tag, val in entries:
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            raw_needed.append(val)
        elif tag == _DT_SONAME:
            soname = val
        elif tag == _DT_RPATH:
            rpath = val
        elif tag == _DT_RUNPATH:
            runpath = val
        else:
            tags.setdefault(tag, val)
    if strtab is None:
        return _Dynamic([], None, (), (), tags)
    return _Dynamic(
        needed=[strtab.get(v) for v in raw_needed],
        soname=None if soname is None else strtab.get(soname),
        rpath=() if rpath is None else _split_path(strtab.get(rpath)),
        runpath=() if runpath is None else _split_path(strtab.get(runpath)),
        tags=tags,
    )


def _parse_verneed(r: _Reader, offset: int, size: int, count: int, strtab: _StrTab) -> list[tuple[str, str]]:
    """Walk ``count`` Verneed records (and their Vernaux chains) in [offset, offset+size)."""
    r.check(offset, size, "SHT_GNU_verneed")
    lay = r.layout
    max_records = size // lay.verneed.size
    if count > max_records:
        raise ELFInvalid(f"verneed count {count} exceeds section capacity {max_records}")
    end = offset + size
    out: list[tuple[str, str]] = []
    budget = max_records  # all Verneed + Vernaux records together fit in the section
    pos = offset
    for i in range(count):
        if pos + lay.verneed.size > end:
            raise ELFInvalid("verneed entry runs past its section")
        _, vn_cnt, vn_file, vn_aux, vn_next = lay.verneed.unpack_from(r.buf, pos)
        budget -= 1 + vn_cnt
        if budget < 0:
            raise ELFInvalid("verneed entries exceed their section (looping chain?)")
        file = strtab.get(vn_file)
        apos = pos + vn_aux
        for j in range(vn_cnt):
            if apos + lay.vernaux.size > end:
                raise ELFInvalid("vernaux entry runs past its section")
            _, _, _, vna_name, vna_next = lay.vernaux.unpack_from(r.buf, apos)
            out.append((file, strtab.get(vna_name)))
            if vna_next == 0:
                if j != vn_cnt - 1:
                    raise ELFInvalid("vernaux chain ends before vn_cnt entries")
                break
            apos += vna_next
        if vn_next == 0:
            if i != count - 1:
                raise ELFInvalid("verneed chain ends before its count")
            break
        pos += vn_next
    return out


def _parse_dynsym(r: _Reader, offset: int, size: int, strtab: _StrTab) -> list[str]:
    lay = r.layout
    i_name, i_info, i_other, i_shndx = lay.sym_order
    names: dict[str, None] = {}
    for sym in r.table(offset, size, lay.sym, "dynamic symbol table"):
        info = sym[i_info]
        if (
            info >> 4 in _EXPORT_BINDS
            and info & 0xF in _EXPORT_TYPES
            and sym[i_shndx] not in (_SHN_UNDEF, _SHN_ABS)
            and sym[i_other] & 0x3 not in _HIDDEN_VIS
        ):
            names[strtab.get(sym[i_name])] = None
    return list(names)


def _read_sections(r: _Reader, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> list[_Section]:
    lay = r.layout
    if shentsize != lay.shdr.size:
        raise ELFInvalid(f"e_shentsize {shentsize} != {lay.shdr.size}")
    first = r.unpack(lay.shdr, shoff, "section header 0")
    if shnum == 0:  # extended numbering: the real count is in section 0's sh_size
        shnum = first[5]
    if shstrndx == _SHN_XINDEX:
        shstrndx = first[6]
    sections = [
        _Section(s[0], s[1], s[3], s[4], s[5], s[6], s[7], s[9])
        for s in r.table(shoff, shnum * shentsize, lay.shdr, "section headers")
    ]
    if sections and shstrndx >= len(sections):
        raise ELFInvalid(f"e_shstrndx {shstrndx} out of range ({len(sections)} sections)")
    return sections


def _has_debug(r: _Reader, sections: list[_Section], shstrndx: int) -> bool:
    if any(s.type == _SHT_SYMTAB for s in sections):
        return True
    if not sections or shstrndx == 0:
        return False
    shstr = sections[shstrndx]
    names = _StrTab(r, shstr.offset, shstr.size, "section name table")
    prefixes = (".debug_", ".zdebug_")
    return any(s.name and names.get(s.name).startswith(prefixes) for s in sections)


def _strtab_of(r: _Reader, sections: list[_Section], sec: _Section, what: str) -> _StrTab:
    if not 0 < sec.link < len(sections):
        raise ELFInvalid(f"{what}: sh_link {sec.link} out of range")
    st = sections[sec.link]
    return _StrTab(r, st.offset, st.size, f"{what} string table")


class _AddressMap:
    """Translate virtual addresses to file offsets through PT_LOAD segments."""

    def __init__(self, loads: list[tuple[int, int, int]]) -> None:
        self.loads = loads  # (vaddr, offset, filesz)

    def offset(self, addr: int, what: str) -> int:
        for vaddr, off, filesz in self.loads:
            if vaddr <= addr < vaddr + filesz:
                return off + (addr - vaddr)
        raise ELFInvalid(f"{what}: address {addr:#x} is not in any PT_LOAD segment")


def _gnu_hash_symcount(r: _Reader, off: int) -> int:
    """Number of dynamic symbols implied by a DT_GNU_HASH table (highest chain end)."""
    lay = r.layout
    u32 = lay.u32
    nbuckets, symoffset, bloom_size, _ = r.unpack(struct.Struct(u32.format[0] + "IIII"), off, "DT_GNU_HASH")
    if nbuckets > _MAX_TABLE_ENTRIES or bloom_size > _MAX_TABLE_ENTRIES:
        raise ELFInvalid("DT_GNU_HASH is too large")
    buckets = off + 16 + bloom_size * lay.word.size
    last = max((v for (v,) in r.table(buckets, nbuckets * 4, u32, "DT_GNU_HASH buckets")), default=0)
    if last < symoffset:
        return symoffset
    chain = buckets + nbuckets * 4
    for idx in range(last, last + _MAX_TABLE_ENTRIES):
        (h,) = r.unpack(u32, chain + (idx - symoffset) * 4, "DT_GNU_HASH chain")
        if h & 1:
            return idx + 1
    raise ELFInvalid("DT_GNU_HASH chain does not end")


def _from_program_headers(
    r: _Reader, phoff: int, phentsize: int, phnum: int, symbols: bool = True
) -> tuple[_Dynamic, list[tuple[str, str]], list[str]]:
    """Fallback for files without section headers: PT_DYNAMIC and PT_LOAD only."""
    lay = r.layout
    empty = _Dynamic([], None, (), (), {})
    if phoff == 0 or phnum == 0:
        return empty, [], []
    if phentsize != lay.phdr.size:
        raise ELFInvalid(f"e_phentsize {phentsize} != {lay.phdr.size}")
    i_type, i_offset, i_vaddr, i_filesz = lay.phdr_order
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for ph in r.table(phoff, phnum * phentsize, lay.phdr, "program headers"):
        if ph[i_type] == _PT_LOAD:
            loads.append((ph[i_vaddr], ph[i_offset], ph[i_filesz]))
        elif ph[i_type] == _PT_DYNAMIC and dynamic is None:
            dynamic = (ph[i_offset], ph[i_filesz])
    if dynamic is None:
        return empty, [], []
    entries = list(r.table(dynamic[0], dynamic[1], lay.dyn, "PT_DYNAMIC"))
    tags = _parse_dynamic(iter(entries), None).tags
    if _DT_STRTAB not in tags:
        raise ELFInvalid("PT_DYNAMIC has no DT_STRTAB")
    amap = _AddressMap(loads)
    str_off = amap.offset(tags[_DT_STRTAB], "DT_STRTAB")
    strtab = _StrTab(r, str_off, min(tags.get(_DT_STRSZ, 0), r.size - str_off), "DT_STRTAB")
    dyn = _parse_dynamic(iter(entries), strtab)
    needs: list[tuple[str, str]] = []
    if _DT_VERNEED in tags:
        vn_off = amap.offset(tags[_DT_VERNEED], "DT_VERNEED")
        needs = _parse_verneed(r, vn_off, r.size - vn_off, tags.get(_DT_VERNEEDNUM, 0), strtab)
    exports: list[str] = []
    if symbols and _DT_SYMTAB in tags:
        nsyms = 0
        if _DT_HASH in tags:
            hash_off = amap.offset(tags[_DT_HASH], "DT_HASH")
            (nsyms,) = r.unpack(lay.u32, hash_off + 4, "DT_HASH nchain")
        elif _DT_GNU_HASH in tags:
            gh_off = amap.offset(tags[_DT_GNU_HASH], "DT_GNU_HASH")
            nsyms = _gnu_hash_symcount(r, gh_off)
        sym_off = amap.offset(tags[_DT_SYMTAB], "DT_SYMTAB")
        exports = _parse_dynsym(r, sym_off, nsyms * lay.sym.size, strtab)
    return dyn, needs, exports


def _parse(buf: bytes | mmap.mmap | memoryview, dynamic_only: bool = False) -> ELFInfo:
    if len(buf) < 16 or buf[:4] != _ELF_MAGIC:
        raise ELFInvalid("not an ELF file (bad magic or too short)")
    ei_class, ei_data = buf[4], buf[5]
    if ei_class not in (1, 2):
        raise ELFInvalid(f"bad EI_CLASS {ei_class}")
    if ei_data not in (1, 2):
        raise ELFInvalid(f"bad EI_DATA {ei_data}")
    elf_class = 32 if ei_class == 1 else 64
    little = ei_data == 1
    r = _Reader(buf, _LAYOUTS[(elf_class, little)])
    lay = r.layout
    (
        e_type, e_machine, _, _, e_phoff, e_shoff, _, _,
        e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx,
    ) = r.unpack(lay.ehdr, 16, "ELF header")  # fmt: skip

    sections: list[_Section] = []
    if e_shoff and not dynamic_only:
        sections = _read_sections(r, e_shoff, e_shentsize, e_shnum, e_shstrndx)
        if e_shstrndx == _SHN_XINDEX and sections:
            e_shstrndx = sections[0].link
    dyn_sec = next((s for s in sections if s.type == _SHT_DYNAMIC), None)

    if dyn_sec is not None:
        strtab = _strtab_of(r, sections, dyn_sec, "SHT_DYNAMIC")
        dyn = _parse_dynamic(r.table(dyn_sec.offset, dyn_sec.size, lay.dyn, "SHT_DYNAMIC"), strtab)
        needs: list[tuple[str, str]] = []
        for sec in sections:
            if sec.type == _SHT_GNU_VERNEED:
                vstr = _strtab_of(r, sections, sec, "SHT_GNU_verneed")
                count = sec.info or dyn.tags.get(_DT_VERNEEDNUM, 0)
                needs.extend(_parse_verneed(r, sec.offset, sec.size, count, vstr))
        exports: list[str] = []
        for sec in sections:
            if sec.type == _SHT_DYNSYM:
                sstr = _strtab_of(r, sections, sec, "SHT_DYNSYM")
                exports = _parse_dynsym(r, sec.offset, sec.size, sstr)
                break
    else:
        dyn, needs, exports = _from_program_headers(r, e_phoff, e_phentsize, e_phnum, symbols=not dynamic_only)

    return ELFInfo(
        elf_class=elf_class,
        little_endian=little,
        machine=e_machine,
        machine_name=machine_name(e_machine, elf_class, little),
        elf_type=e_type,
        needed=tuple(dyn.needed),
        soname=dyn.soname,
        rpath=dyn.rpath,
        runpath=dyn.runpath,
        version_needs=tuple(needs),
        exported_symbols=tuple(exports),
        has_debug_info=_has_debug(r, sections, e_shstrndx),
    )


def _dynamic_end(head: bytes) -> int | None:
    """End offset of PT_DYNAMIC, from the program headers in `head` (None if unknown)."""
    try:
        if len(head) < 64 or head[:4] != _ELF_MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
            return None
        r = _Reader(head, _LAYOUTS[(32 if head[4] == 1 else 64, head[5] == 1)])
        lay = r.layout
        fields = r.unpack(lay.ehdr, 16, "ELF header")
        phoff, phentsize, phnum = fields[4], fields[8], fields[9]
        if phentsize != lay.phdr.size or not phnum:
            return None
        i_type, i_offset, _i_vaddr, i_filesz = lay.phdr_order
        for ph in r.table(phoff, phnum * phentsize, lay.phdr, "program headers"):
            if ph[i_type] == _PT_DYNAMIC:
                return int(ph[i_offset] + ph[i_filesz])
    except (ELFInvalid, struct.error, IndexError, OverflowError):
        return None
    return None


@dataclass(frozen=True)
class ELFTruncation:
    """An ELF file shorter than its own headers say it is (see :func:`elf_truncation`)."""

    message: str  # "truncated: ..." naming the byte the headers need and the file's size
    effect: str  # what the dynamic loader does with it (checked against glibc's)
    loads: bool  # True when only what the loader never reads (section headers) is missing


def elf_truncation(read: Callable[[int], bytes], size: int) -> ELFTruncation | None:
    """Whether the ELF file of `size` bytes is cut short, judged from its own headers.

    `read(n)` returns the file's first n bytes. What the dynamic loader needs comes
    first: the ELF header, the program header table, and every PT_LOAD / PT_DYNAMIC
    file range; glibc refuses a file shorter than its header ("file too short") and
    maps segments past the end of the file as pages that fault (SIGBUS) or read as
    zeros. Section headers are not needed to load (stripped files may have none), so
    a file cut only there is still reported, with `loads` True.

    Returns None when nothing is cut, and for headers too malformed to judge (the
    ELF parser reports those).
    """
    head = read(min(size, 4096))
    elf_class = 32 if len(head) > 4 and head[4] == 1 else 64
    header_size = 52 if elf_class == 32 else 64
    if size < header_size:
        return ELFTruncation(
            f"truncated: {size} bytes, shorter than the {header_size}-byte ELF header",
            'the loader refuses it ("file too short")',
            False,
        )
    if len(head) < header_size or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    lay = _LAYOUTS[(elf_class, head[5] == 1)]
    fields = lay.ehdr.unpack_from(head, 16)
    phoff, shoff = fields[4], fields[5]
    phentsize, phnum, shentsize, shnum = fields[8], fields[9], fields[10], fields[11]
    if phnum:
        ph_end = phoff + phnum * phentsize
        if ph_end > size:
            return ELFTruncation(
                f"truncated: the ELF header says program headers end at byte {ph_end:,}, the file has {size:,}",
                'the loader refuses it ("cannot read file data")',
                False,
            )
        if phentsize != lay.phdr.size:
            return None
        table = head if ph_end <= len(head) else read(ph_end)
        if len(table) < ph_end:
            return None
        i_type, i_offset, _i_vaddr, i_filesz = lay.phdr_order
        segments = [ph for ph in lay.phdr.iter_unpack(table[phoff:ph_end]) if ph[i_type] in (_PT_LOAD, _PT_DYNAMIC)]
        if segments:
            end, kind = max((ph[i_offset] + ph[i_filesz], ph[i_type]) for ph in segments)
            if end > size:
                what = "PT_LOAD" if kind == _PT_LOAD else "PT_DYNAMIC"
                return ELFTruncation(
                    f"truncated: the program headers say its {what} segment ends at byte {end:,}, "
                    f"the file has {size:,}",
                    "the loader maps bytes that are not there: loading crashes the process (SIGBUS) "
                    "or runs on zeros",
                    False,
                )
    if shoff:
        sh_end = shoff + max(shnum, 1) * shentsize  # shnum 0: extended numbering, section 0 holds it
        if sh_end > size:
            return ELFTruncation(
                f"truncated: the ELF header says section headers end at byte {sh_end:,}, the file has {size:,}",
                "the loader does not read them, so it may load, but the file is not the one that was built",
                True,
            )
    return None


@dataclass(frozen=True)
class LoadHeaders:
    """The parts of an ELF file that the dynamic loader reads (for comparing two files)."""

    header: tuple[int, ...]  # e_ident + ELF header fields, without the section-header ones
    phdrs: tuple[tuple[int, ...], ...]  # (type, flags, offset, vaddr, paddr, filesz, memsz, align)
    headers: tuple[tuple[int, int], ...]  # file ranges of the ELF header and the program headers


def read_load_headers(buf: bytes | mmap.mmap) -> LoadHeaders:
    """The ELF header and program headers of a whole file (ELFInvalid if they are not there)."""
    if len(buf) < 16 or buf[:4] != _ELF_MAGIC or buf[4] not in (1, 2) or buf[5] not in (1, 2):
        raise ELFInvalid("not an ELF file")
    is64 = buf[4] == 2
    lay = _LAYOUTS[(64 if is64 else 32, buf[5] == 1)]
    if len(buf) < 16 + lay.ehdr.size:
        raise ELFInvalid("truncated ELF header")
    (
        e_type, e_machine, e_version, e_entry, e_phoff, _shoff, e_flags,
        e_ehsize, e_phentsize, e_phnum, _shentsize, _shnum, _shstrndx,
    ) = lay.ehdr.unpack_from(buf, 16)  # fmt: skip
    header = (*buf[:16], e_type, e_machine, e_version, e_entry, e_phoff, e_flags, e_ehsize, e_phentsize, e_phnum)
    phdr = lay.phdr
    if e_phnum and (e_phentsize != phdr.size or e_phoff + e_phnum * phdr.size > len(buf)):
        raise ELFInvalid("program headers outside the file")
    phdrs = []
    for i in range(e_phnum):
        v = phdr.unpack_from(buf, e_phoff + i * phdr.size)
        if is64:
            p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = v
        else:
            p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align = v
        phdrs.append((p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align))
    headers = ((0, e_ehsize), (e_phoff, e_phoff + e_phnum * e_phentsize))
    return LoadHeaders(header, tuple(phdrs), headers)


def read_elf_prefix(read: Callable[[int], bytes], size: int, first: int = 1 << 16) -> ELFInfo:
    """What the loader needs (header, DT_NEEDED, RPATH/RUNPATH, version needs) from as
    short a prefix of the file as possible, through the program headers.

    For zip members: the prefix ends where PT_DYNAMIC does (the dynamic strings and
    version needs come before it), so a library's trailing sections, symbol tables
    and debug info are never decompressed. `exported_symbols` and `has_debug_info`
    are not read (empty / False). When a prefix is not enough, the whole file is
    read, and only then is a failure a malformed file.
    """
    tries = [min(first, size)]
    head = read(tries[0])
    end = _dynamic_end(head)
    if end is not None and tries[0] < end < size:
        tries.append(min(size, end + 4096))
    tries.append(size)
    data = head
    for i, n in enumerate(tries):
        if i:
            if n <= tries[i - 1]:
                continue
            data = read(n)
        try:
            return _parse(data, dynamic_only=True)
        except (ELFInvalid, struct.error, IndexError, OverflowError) as e:
            if n >= size or len(data) < n:
                if isinstance(e, ELFInvalid):
                    raise
                raise ELFInvalid(f"malformed ELF file: {e}") from e
    raise ELFInvalid("malformed ELF file")  # pragma: no cover - the last try is the whole file


def read_elf(data: bytes | memoryview) -> ELFInfo:
    """Parse an ELF file from its complete contents (e.g. a zip member's bytes).

    Raises :class:`ELFInvalid` for anything that is not a well-formed ELF file.
    """
    buf: bytes | memoryview = data
    if isinstance(data, memoryview):
        if not data.c_contiguous:
            buf = data.tobytes()
        elif data.format != "B":
            buf = data.cast("B")
    try:
        return _parse(buf)
    except (struct.error, IndexError, OverflowError) as e:
        raise ELFInvalid(f"malformed ELF file: {e}") from e


def read_elf_file(path: os.PathLike[str] | str) -> ELFInfo:
    """Parse the ELF file at ``path``, memory-mapping it read-only.

    Falls back to reading the file when it cannot be mapped. An empty or
    non-ELF file raises :class:`ELFInvalid`; I/O errors propagate as ``OSError``.
    """
    with open(path, "rb") as f:
        head = f.read(4)
        if head != _ELF_MAGIC:
            raise ELFInvalid(f"{os.fspath(path)}: not an ELF file (bad magic or empty)")
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            f.seek(0)
            return read_elf(f.read())
        with mm:
            try:
                return _parse(mm)
            except ELFInvalid as e:
                raise ELFInvalid(f"{os.fspath(path)}: {e}") from e
            except (struct.error, IndexError, OverflowError) as e:
                raise ELFInvalid(f"{os.fspath(path)}: malformed ELF file: {e}") from e
