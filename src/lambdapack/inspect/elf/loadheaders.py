"""The ELF header and program headers: what the dynamic loader reads, for comparing two files."""

from __future__ import annotations

import mmap
from dataclasses import dataclass

from lambdapack.inspect.elf.layout import ELF_MAGIC, LAYOUTS
from lambdapack.inspect.elf.model import ELFInvalid

__all__ = ["LoadHeaders", "read_load_headers"]


@dataclass(frozen=True)
class LoadHeaders:
    """The parts of an ELF file that the dynamic loader reads (for comparing two files)."""

    header: tuple[int, ...]  # e_ident + ELF header fields, without the section-header ones
    phdrs: tuple[tuple[int, ...], ...]  # (type, flags, offset, vaddr, paddr, filesz, memsz, align)
    headers: tuple[tuple[int, int], ...]  # file ranges of the ELF header and the program headers


def read_load_headers(buf: bytes | mmap.mmap) -> LoadHeaders:
    """The ELF header and program headers of a whole file (ELFInvalid if they are not there)."""
    if len(buf) < 16 or buf[:4] != ELF_MAGIC or buf[4] not in (1, 2) or buf[5] not in (1, 2):
        raise ELFInvalid("not an ELF file")
    is64 = buf[4] == 2
    lay = LAYOUTS[(64 if is64 else 32, buf[5] == 1)]
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

