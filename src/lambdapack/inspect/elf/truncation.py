"""Whether an ELF file is shorter than its own headers say, and what the loader does then."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lambdapack.inspect.elf.layout import LAYOUTS, PT_DYNAMIC, PT_LOAD, Layout

__all__ = ["ELFTruncation", "elf_truncation"]


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
    lay = LAYOUTS[(elf_class, head[5] == 1)]
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
        cut = _segment_cut(lay, table[phoff:ph_end], size)
        if cut is not None:
            return cut
    if shoff:
        sh_end = shoff + max(shnum, 1) * shentsize  # shnum 0: extended numbering, section 0 holds it
        if sh_end > size:
            return ELFTruncation(
                f"truncated: the ELF header says section headers end at byte {sh_end:,}, the file has {size:,}",
                "the loader does not read them, so it may load, but the file is not the one that was built",
                True,
            )
    return None


def _segment_cut(lay: Layout, table: bytes, size: int) -> ELFTruncation | None:
    """The truncation of the furthest-reaching PT_LOAD / PT_DYNAMIC in the program header `table`."""
    i_type, i_offset, _i_vaddr, i_filesz = lay.phdr_order
    segments = [ph for ph in lay.phdr.iter_unpack(table) if ph[i_type] in (PT_LOAD, PT_DYNAMIC)]
    if not segments:
        return None
    end, kind = max((ph[i_offset] + ph[i_filesz], ph[i_type]) for ph in segments)
    if end <= size:
        return None
    what = "PT_LOAD" if kind == PT_LOAD else "PT_DYNAMIC"
    return ELFTruncation(
        f"truncated: the program headers say its {what} segment ends at byte {end:,}, "
        f"the file has {size:,}",
        "the loader maps bytes that are not there: loading crashes the process (SIGBUS) "
        "or runs on zeros",
        False,
    )
