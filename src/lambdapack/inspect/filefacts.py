"""What is known of a file's content before the rules run: its ELF parse, its secrets.

Both are pure functions of the file's bytes (and name), the two per-file results the
rules spend their time on. `check` learns them while `verify` has each member's bytes
(keptreads), so no library is inflated twice and the secrets scan runs beside the
worker threads' inflation; the rules use a known result instead of reading the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from lambdapack.inspect import credentials
from lambdapack.inspect.credentials import SecretHit
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_prefix

__all__ = ["ELF_MAGIC", "FileFacts"]

ELF_MAGIC = b"\x7fELF"
_T = TypeVar("_T")


@dataclass
class FileFacts:
    """By file name (a member's in an artifact, a Lambda path in a view)."""

    elf: dict[str, ELFInfo | ELFInvalid] = field(default_factory=dict)
    secrets: dict[str, list[SecretHit]] = field(default_factory=dict)  # only for files worth scanning

    def learn(self, name: str, data: bytes) -> None:
        """Learn what the rules would from the file's whole `data`."""
        if data[:4] == ELF_MAGIC:
            try:
                self.elf[name] = read_elf_prefix(lambda k: data[:k], len(data))
            except ELFInvalid as e:
                self.elf[name] = e
        elif credentials.worth_scanning(name, len(data)):
            self.secrets[name] = credentials.find_secrets(name, data[: credentials.SCAN_BYTES])

    def take(self, other: FileFacts, name: str, as_name: str) -> None:
        """What `other` knows of `name`, known here as `as_name` (and nothing older of it)."""
        _take(self.elf, other.elf, name, as_name)
        _take(self.secrets, other.secrets, name, as_name)


def _take(mine: dict[str, _T], theirs: dict[str, _T], name: str, as_name: str) -> None:
    mine.pop(as_name, None)
    if name in theirs:
        mine[as_name] = theirs[name]
