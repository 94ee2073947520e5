"""What kind of native binary a file is (ELF, Mach-O, PE), from its first bytes only."""

from __future__ import annotations

import enum
import struct

from lambdapack.inspect.elf.layout import ELF_MAGIC

__all__ = ["BinaryKind", "classify"]


class BinaryKind(enum.Enum):
    """What kind of native binary a file is, judged by its magic bytes."""

    ELF = "elf"
    MACHO = "macho"
    PE = "pe"
    NONE = "none"


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
    if magic == ELF_MAGIC:
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

