"""What the ELF reader found in one file, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ELFInfo", "ELFInvalid"]


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

