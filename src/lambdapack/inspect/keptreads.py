"""What the rules will read from a zip member, kept while `verify` has its bytes.

`verify` inflates every member once (its CRC-32); the rules then read each member's
first 64 bytes (what kind of file it is), the first SCAN_BYTES of text files (secrets)
and an ELF file's headers and dynamic section, which for a shared library lies behind
its code, so reading it again meant inflating most of the library a second time. Kept
instead: those prefixes, within KEEP_BUDGET bytes in all, and the file's `FileFacts`
(each ELF file parsed, each text file scanned for secrets) while its whole bytes are in
memory. A read that asks for more than was kept inflates the member again, as before.
"""

from __future__ import annotations

from lambdapack.inspect import credentials
from lambdapack.inspect.entries import Entry
from lambdapack.inspect.filefacts import HEAD, FileFacts, head_length

__all__ = ["KEEP_BUDGET", "KeptReads"]

KEEP_BUDGET = 48 << 20  # bytes of member prefixes kept for one artifact


class KeptReads:
    """Member prefixes and facts by member name; filled by `keep`, read by `get` and `facts`."""

    def __init__(self, budget: int | None = None) -> None:
        self._prefixes: dict[str, bytes] = {}
        self.facts = FileFacts()
        self._left = KEEP_BUDGET if budget is None else budget

    def study(self, entry: Entry, data: bytes) -> FileFacts:
        """What the rules would learn from a member's whole bytes (thread-safe: a new FileFacts)."""
        facts = FileFacts()
        facts.learn(entry.name, data)
        return facts

    def keep(self, entry: Entry, data: bytes, studied: object) -> None:
        """Keep what the rules will read of a member whose whole, sound `data` is at hand."""
        if isinstance(studied, FileFacts):
            self.facts.take(studied, entry.name, entry.name)
        n = head_length(data)
        if n == HEAD and credentials.secret_name(entry.name):  # .pem files are read for a private key
            n = credentials.SCAN_BYTES
        n = min(n, len(data))
        if n > HEAD and n > self._left:
            n = min(HEAD, len(data))
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
