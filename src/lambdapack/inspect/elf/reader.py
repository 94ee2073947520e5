"""Parse an ELF file: its header, section headers and dynamic section, into an `ELFInfo`.

:func:`read_elf` takes the whole contents, :func:`read_elf_file` maps a file,
:func:`read_elf_prefix` reads as short a prefix of a zip member as will do.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Callable

from lambdapack.facts.machines import machine_name
from lambdapack.inspect.elf.dynamic import (
    from_program_headers,
    parse_dynamic,
    parse_dynsym,
    parse_verneed,
)
from lambdapack.inspect.elf.layout import (
    DT_VERNEEDNUM,
    ELF_MAGIC,
    LAYOUTS,
    PT_DYNAMIC,
    SHN_XINDEX,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_GNU_VERNEED,
    SHT_SYMTAB,
    Reader,
    Section,
    StrTab,
)
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid

__all__ = ["read_elf", "read_elf_file", "read_elf_prefix"]


def _read_sections(r: Reader, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> list[Section]:
    lay = r.layout
    if shentsize != lay.shdr.size:
        raise ELFInvalid(f"e_shentsize {shentsize} != {lay.shdr.size}")
    first = r.unpack(lay.shdr, shoff, "section header 0")
    if shnum == 0:  # extended numbering: the real count is in section 0's sh_size
        shnum = first[5]
    if shstrndx == SHN_XINDEX:
        shstrndx = first[6]
    sections = [
        Section(s[0], s[1], s[3], s[4], s[5], s[6], s[7], s[9])
        for s in r.table(shoff, shnum * shentsize, lay.shdr, "section headers")
    ]
    if sections and shstrndx >= len(sections):
        raise ELFInvalid(f"e_shstrndx {shstrndx} out of range ({len(sections)} sections)")
    return sections


def _has_debug(r: Reader, sections: list[Section], shstrndx: int) -> bool:
    if any(s.type == SHT_SYMTAB for s in sections):
        return True
    if not sections or shstrndx == 0:
        return False
    shstr = sections[shstrndx]
    names = StrTab(r, shstr.offset, shstr.size, "section name table")
    prefixes = (".debug_", ".zdebug_")
    return any(s.name and names.get(s.name).startswith(prefixes) for s in sections)


def _strtab_of(r: Reader, sections: list[Section], sec: Section, what: str) -> StrTab:
    if not 0 < sec.link < len(sections):
        raise ELFInvalid(f"{what}: sh_link {sec.link} out of range")
    st = sections[sec.link]
    return StrTab(r, st.offset, st.size, f"{what} string table")


def _parse(buf: bytes | mmap.mmap | memoryview, dynamic_only: bool = False) -> ELFInfo:
    if len(buf) < 16 or buf[:4] != ELF_MAGIC:
        raise ELFInvalid("not an ELF file (bad magic or too short)")
    ei_class, ei_data = buf[4], buf[5]
    if ei_class not in (1, 2):
        raise ELFInvalid(f"bad EI_CLASS {ei_class}")
    if ei_data not in (1, 2):
        raise ELFInvalid(f"bad EI_DATA {ei_data}")
    elf_class = 32 if ei_class == 1 else 64
    little = ei_data == 1
    r = Reader(buf, LAYOUTS[(elf_class, little)])
    lay = r.layout
    (
        e_type, e_machine, _, _, e_phoff, e_shoff, _, _,
        e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx,
    ) = r.unpack(lay.ehdr, 16, "ELF header")  # fmt: skip

    sections: list[Section] = []
    if e_shoff and not dynamic_only:
        sections = _read_sections(r, e_shoff, e_shentsize, e_shnum, e_shstrndx)
        if e_shstrndx == SHN_XINDEX and sections:
            e_shstrndx = sections[0].link
    dyn_sec = next((s for s in sections if s.type == SHT_DYNAMIC), None)

    if dyn_sec is not None:
        strtab = _strtab_of(r, sections, dyn_sec, "SHT_DYNAMIC")
        dyn = parse_dynamic(r.table(dyn_sec.offset, dyn_sec.size, lay.dyn, "SHT_DYNAMIC"), strtab)
        needs: list[tuple[str, str]] = []
        for sec in sections:
            if sec.type == SHT_GNU_VERNEED:
                vstr = _strtab_of(r, sections, sec, "SHT_GNU_verneed")
                count = sec.info or dyn.tags.get(DT_VERNEEDNUM, 0)
                needs.extend(parse_verneed(r, sec.offset, sec.size, count, vstr))
        exports: list[str] = []
        for sec in sections:
            if sec.type == SHT_DYNSYM:
                sstr = _strtab_of(r, sections, sec, "SHT_DYNSYM")
                exports = parse_dynsym(r, sec.offset, sec.size, sstr)
                break
    else:
        dyn, needs, exports = from_program_headers(r, e_phoff, e_phentsize, e_phnum, symbols=not dynamic_only)

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
        if len(head) < 64 or head[:4] != ELF_MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
            return None
        r = Reader(head, LAYOUTS[(32 if head[4] == 1 else 64, head[5] == 1)])
        lay = r.layout
        fields = r.unpack(lay.ehdr, 16, "ELF header")
        phoff, phentsize, phnum = fields[4], fields[8], fields[9]
        if phentsize != lay.phdr.size or not phnum:
            return None
        i_type, i_offset, _i_vaddr, i_filesz = lay.phdr_order
        for ph in r.table(phoff, phnum * phentsize, lay.phdr, "program headers"):
            if ph[i_type] == PT_DYNAMIC:
                return int(ph[i_offset] + ph[i_filesz])
    except (ELFInvalid, struct.error, IndexError, OverflowError):
        return None
    return None


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
        if head != ELF_MAGIC:
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
