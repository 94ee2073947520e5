"""The dynamic section or segment: DT_NEEDED, SONAME, RPATH/RUNPATH, version needs, exports.

Reached through the section headers when a file has them (`reader`), else through
PT_DYNAMIC and PT_LOAD (:func:`from_program_headers`), which is all a stripped file
or a short prefix of one may offer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from lambdapack.inspect.elf.layout import (
    DT_GNU_HASH,
    DT_HASH,
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMTAB,
    DT_VERNEED,
    DT_VERNEEDNUM,
    MAX_TABLE_ENTRIES,
    PT_DYNAMIC,
    PT_LOAD,
    SHN_ABS,
    SHN_UNDEF,
    Reader,
    StrTab,
)
from lambdapack.inspect.elf.model import ELFInvalid

_EXPORT_BINDS = frozenset({1, 2, 10})  # STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE
_EXPORT_TYPES = frozenset({1, 2, 10})  # STT_OBJECT, STT_FUNC, STT_GNU_IFUNC
_HIDDEN_VIS = frozenset({1, 2})  # STV_INTERNAL, STV_HIDDEN

@dataclass
class Dynamic:
    needed: list[str]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    tags: dict[int, int]  # first value of each address-like tag (fallback path)


def _split_path(value: str) -> tuple[str, ...]:
    return tuple(value.split(":")) if value else ()


def parse_dynamic(entries: Iterator[tuple[int, ...]], strtab: StrTab | None) -> Dynamic:
    """Walk dynamic entries up to DT_NULL; strings resolved via ``strtab`` if given."""
    raw_needed: list[int] = []
    soname: int | None = None
    rpath: int | None = None
    runpath: int | None = None
    tags: dict[int, int] = {}
    for tag, val in entries:
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            raw_needed.append(val)
        elif tag == DT_SONAME:
            soname = val
        elif tag == DT_RPATH:
            rpath = val
        elif tag == DT_RUNPATH:
            runpath = val
        else:
            tags.setdefault(tag, val)
    if strtab is None:
        return Dynamic([], None, (), (), tags)
    return Dynamic(
        needed=[strtab.get(v) for v in raw_needed],
        soname=None if soname is None else strtab.get(soname),
        rpath=() if rpath is None else _split_path(strtab.get(rpath)),
        runpath=() if runpath is None else _split_path(strtab.get(runpath)),
        tags=tags,
    )


def parse_verneed(r: Reader, offset: int, size: int, count: int, strtab: StrTab) -> list[tuple[str, str]]:
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


def parse_dynsym(r: Reader, offset: int, size: int, strtab: StrTab) -> list[str]:
    lay = r.layout
    i_name, i_info, i_other, i_shndx = lay.sym_order
    names: dict[str, None] = {}
    for sym in r.table(offset, size, lay.sym, "dynamic symbol table"):
        info = sym[i_info]
        if (
            info >> 4 in _EXPORT_BINDS
            and info & 0xF in _EXPORT_TYPES
            and sym[i_shndx] not in (SHN_UNDEF, SHN_ABS)
            and sym[i_other] & 0x3 not in _HIDDEN_VIS
        ):
            names[strtab.get(sym[i_name])] = None
    return list(names)

class _AddressMap:
    """Translate virtual addresses to file offsets through PT_LOAD segments."""

    def __init__(self, loads: list[tuple[int, int, int]]) -> None:
        self.loads = loads  # (vaddr, offset, filesz)

    def offset(self, addr: int, what: str) -> int:
        for vaddr, off, filesz in self.loads:
            if vaddr <= addr < vaddr + filesz:
                return off + (addr - vaddr)
        raise ELFInvalid(f"{what}: address {addr:#x} is not in any PT_LOAD segment")


def _gnu_hash_symcount(r: Reader, off: int) -> int:
    """Number of dynamic symbols implied by a DT_GNU_HASH table (highest chain end)."""
    lay = r.layout
    u32 = lay.u32
    nbuckets, symoffset, bloom_size, _ = r.unpack(struct.Struct(u32.format[0] + "IIII"), off, "DT_GNU_HASH")
    if nbuckets > MAX_TABLE_ENTRIES or bloom_size > MAX_TABLE_ENTRIES:
        raise ELFInvalid("DT_GNU_HASH is too large")
    buckets = off + 16 + bloom_size * lay.word.size
    last = max((v for (v,) in r.table(buckets, nbuckets * 4, u32, "DT_GNU_HASH buckets")), default=0)
    if last < symoffset:
        return symoffset
    chain = buckets + nbuckets * 4
    for idx in range(last, last + MAX_TABLE_ENTRIES):
        (h,) = r.unpack(u32, chain + (idx - symoffset) * 4, "DT_GNU_HASH chain")
        if h & 1:
            return idx + 1
    raise ELFInvalid("DT_GNU_HASH chain does not end")


def from_program_headers(
    r: Reader, phoff: int, phentsize: int, phnum: int, symbols: bool = True
) -> tuple[Dynamic, list[tuple[str, str]], list[str]]:
    """Fallback for files without section headers: PT_DYNAMIC and PT_LOAD only."""
    lay = r.layout
    empty = Dynamic([], None, (), (), {})
    if phoff == 0 or phnum == 0:
        return empty, [], []
    if phentsize != lay.phdr.size:
        raise ELFInvalid(f"e_phentsize {phentsize} != {lay.phdr.size}")
    i_type, i_offset, i_vaddr, i_filesz = lay.phdr_order
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for ph in r.table(phoff, phnum * phentsize, lay.phdr, "program headers"):
        if ph[i_type] == PT_LOAD:
            loads.append((ph[i_vaddr], ph[i_offset], ph[i_filesz]))
        elif ph[i_type] == PT_DYNAMIC and dynamic is None:
            dynamic = (ph[i_offset], ph[i_filesz])
    if dynamic is None:
        return empty, [], []
    entries = list(r.table(dynamic[0], dynamic[1], lay.dyn, "PT_DYNAMIC"))
    tags = parse_dynamic(iter(entries), None).tags
    if DT_STRTAB not in tags:
        raise ELFInvalid("PT_DYNAMIC has no DT_STRTAB")
    amap = _AddressMap(loads)
    str_off = amap.offset(tags[DT_STRTAB], "DT_STRTAB")
    strtab = StrTab(r, str_off, min(tags.get(DT_STRSZ, 0), r.size - str_off), "DT_STRTAB")
    dyn = parse_dynamic(iter(entries), strtab)
    needs: list[tuple[str, str]] = []
    if DT_VERNEED in tags:
        vn_off = amap.offset(tags[DT_VERNEED], "DT_VERNEED")
        needs = parse_verneed(r, vn_off, r.size - vn_off, tags.get(DT_VERNEEDNUM, 0), strtab)
    exports: list[str] = []
    if symbols and DT_SYMTAB in tags:
        nsyms = 0
        if DT_HASH in tags:
            hash_off = amap.offset(tags[DT_HASH], "DT_HASH")
            (nsyms,) = r.unpack(lay.u32, hash_off + 4, "DT_HASH nchain")
        elif DT_GNU_HASH in tags:
            gh_off = amap.offset(tags[DT_GNU_HASH], "DT_GNU_HASH")
            nsyms = _gnu_hash_symcount(r, gh_off)
        sym_off = amap.offset(tags[DT_SYMTAB], "DT_SYMTAB")
        exports = parse_dynsym(r, sym_off, nsyms * lay.sym.size, strtab)
    return dyn, needs, exports

