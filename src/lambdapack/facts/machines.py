"""ELF `e_machine` numbers: the one table that names them.

Source: the System V gABI e_machine list (https://www.sco.com/developers/gabi/latest/ch4.eheader.html)
and glibc's elf.h. Names are `platform.machine()`'s, which manylinux wheel tags use too.
`inspect.elf.reader` names the machine of any ELF file from it; `runtimes.Arch.elf_machine`
is Lambda's two entries of it; :func:`normalize_machine` maps other systems' spellings of
`platform.machine()` (AMD64, arm64) to these names.
"""

from __future__ import annotations

__all__ = ["EM_AARCH64", "EM_X86_64", "MACHINE_NAMES", "machine_name", "normalize_machine"]

EM_X86_64 = 62
EM_AARCH64 = 183
_EM_PPC64 = 21
_EM_S390 = 22
_EM_RISCV = 243

MACHINE_NAMES: dict[int, str] = {
    2: "sparc",
    3: "i386",
    8: "mips",
    20: "ppc",
    40: "arm",
    43: "sparcv9",
    50: "ia64",
    EM_X86_64: "x86_64",
    EM_AARCH64: "aarch64",
    258: "loongarch64",
}


def machine_name(machine: int, elf_class: int, little_endian: bool) -> str:
    """The name of `e_machine` for a file of this class and byte order."""
    if machine == _EM_PPC64:
        return "ppc64le" if little_endian else "ppc64"
    if machine == _EM_S390:  # covers both s390 (31-bit) and s390x
        return "s390x" if elf_class == 64 else "s390"
    if machine == _EM_RISCV:
        return f"riscv{elf_class}"
    return MACHINE_NAMES.get(machine, f"machine {machine}")


# platform.machine() spellings of the two machines Lambda has, on other systems.
_SPELLINGS = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "aarch64_be": "aarch64"}


def normalize_machine(machine: str) -> str:
    """platform.machine() spellings differ by OS (macOS says arm64, Windows AMD64)."""
    m = machine.strip().lower()
    return _SPELLINGS.get(m, m)
