"""What the rules will read from a zip member, kept while `verify` has its bytes.

`verify` inflates every member once (its CRC-32); the rules then read each member's
first 64 bytes (what kind of file it is), the first SCAN_BYTES of text files (secrets)
and an ELF file's headers and dynamic section, which for a shared library lies behind
its code, so reading it again meant inflating most of the library a second time. Kept
instead: those prefixes, within KEEP_BUDGET bytes in all, and each ELF file parsed
(`read_elf_prefix`, the parse the rules would do) while its whole bytes are in memory.
A read that asks for more than was kept inflates the member again, as before.
"""

from __future__ import annotations

from lambdapack.inspect import credentials
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_prefix
from lambdapack.inspect.entries import Entry

__all__ = ["KEEP_BUDGET", "KeptReads"]

KEEP_BUDGET = 48 << 20  # bytes of member prefixes kept for one artifact
_HEAD = 64  # what every member is classified from (binarykind)
_ELF_HEAD = 4096  # the ELF header and program headers (truncation check)
_ELF_MAGIC = b"\x7fELF"


class KeptReads:
    """Member prefixes and ELF parses by member name; filled by `keep`, read by `get`."""

    def __init__(self, budget: int | None = None) -> None:
        self._prefixes: dict[str, bytes] = {}
        self.elf: dict[str, ELFInfo | ELFInvalid] = {}
        self._left = KEEP_BUDGET if budget is None else budget

    def keep(self, entry: Entry, data: bytes) -> None:
        """Keep what the rules will read of a member whose whole, sound `data` is at hand."""
        n = _HEAD
        if data[:4] == _ELF_MAGIC:
            n = _ELF_HEAD
            try:
                self.elf[entry.name] = read_elf_prefix(lambda k: data[:k], len(data))
            except ELFInvalid as e:
                self.elf[entry.name] = e
        elif credentials.worth_scanning(entry.name, entry.size) or credentials.secret_name(entry.name):
            n = credentials.SCAN_BYTES
        n = min(n, len(data))
        if n > _HEAD and n > self._left:
            n = min(_HEAD, len(data))
        self._left -= n
        self._prefixes[entry.name] = data[:n] if n < len(data) else data

    def get(self, name: str, size: int, limit: int | None) -> bytes | None:
        """The member's first `limit` bytes (all of them for None) if kept, else None."""
        kept = self._prefixes.get(name)
        if kept is None:
            return None
        if limit is None:
            return kept if len(kept) == size else None
        if limit <= len(kept) or len(kept) == size:
            return kept[:limit]
        return None
