"""What is known of a file's content before the rules run: its ELF parse, its secrets.

Both are pure functions of the file's bytes (and name), the two per-file results the
rules spend their time on. `check` learns them while `verify` has each member's bytes
(keptreads), so no library is inflated twice and the secrets scan runs beside the
worker threads' inflation; the rules use a known result instead of reading the file.
A build learns them for its dependencies' files and keeps them in the cache with the
heads the rules classify a file by (`encode`/`decode`), keyed by those files' content
hashes, so a build that changed only the user's code reads none of them again.
"""

from __future__ import annotations

import hashlib
import marshal
from dataclasses import astuple, dataclass, field
from typing import Any, TypeVar

from lambdapack.inspect import credentials
from lambdapack.inspect.credentials import SecretHit
from lambdapack.inspect.elf.layout import ELF_MAGIC
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_prefix

__all__ = ["FORMAT", "HEAD", "FileFacts", "decode", "encode", "head_length"]

HEAD = 64  # what every file is classified from (binarykind); an ELF file's: _ELF_HEAD
_ELF_HEAD = 4096  # the ELF header and program headers (elf.truncation)
# Changes whenever what is learnt, or how, changes: older records are then misses.
FORMAT = b"lambdapack-filefacts-1"
_T = TypeVar("_T")


def head_length(data: bytes) -> int:
    """How much of a file's start the rules classify it by (its whole `data`, or a prefix of
    at least _ELF_HEAD bytes): the ELF headers of an ELF file, else its first HEAD bytes."""
    return _ELF_HEAD if data[:4] == ELF_MAGIC else HEAD


@dataclass
class FileFacts:
    """By file name (a member's in an artifact, a Lambda path in a view)."""

    elf: dict[str, ELFInfo | ELFInvalid] = field(default_factory=dict)
    secrets: dict[str, list[SecretHit]] = field(default_factory=dict)  # only for files worth scanning
    heads: dict[str, bytes] = field(default_factory=dict)  # first head_length() bytes; builds only

    def learn(self, name: str, data: bytes, size: int | None = None) -> None:
        """Learn what the rules would from the file's `data`: all of it for an ELF file, at
        least its first SCAN_BYTES otherwise (`size`: the file's, when `data` is a prefix)."""
        size = len(data) if size is None else size
        if data[:4] == ELF_MAGIC:
            try:
                self.elf[name] = read_elf_prefix(lambda k: data[:k], size)
            except ELFInvalid as e:
                self.elf[name] = e
        elif credentials.worth_scanning(name, size):
            self.secrets[name] = credentials.find_secrets(name, data[: credentials.SCAN_BYTES])

    def take(self, other: FileFacts, name: str, as_name: str) -> None:
        """What `other` knows of `name`, known here as `as_name` (and nothing older of it)."""
        _take(self.elf, other.elf, name, as_name)
        _take(self.secrets, other.secrets, name, as_name)
        _take(self.heads, other.heads, name, as_name)


def encode(facts: FileFacts) -> bytes:
    """The facts as bytes for the cache: marshal (plain values only, nothing runs when it is
    read), behind a SHA-256 of it, so a damaged record is a miss, never a wrong fact."""
    body = marshal.dumps((
        FORMAT,
        {n: (("invalid", str(v)) if isinstance(v, ELFInvalid) else astuple(v)) for n, v in facts.elf.items()},
        {n: [astuple(h) for h in hits] for n, hits in facts.secrets.items()},
        facts.heads,
    ), 4)  # fmt: skip
    return hashlib.sha256(body).digest() + body


def decode(data: bytes) -> FileFacts | None:
    """The facts `encode` wrote, or None for a damaged record or one of another format."""
    body = data[32:]
    if len(data) < 32 or hashlib.sha256(body).digest() != data[:32]:
        return None
    try:
        fmt, elf, secrets, heads = marshal.loads(body)
        if fmt != FORMAT:
            return None
        return FileFacts(
            elf={n: ELFInvalid(v[1]) if v[0] == "invalid" else _elf_info(v) for n, v in elf.items()},
            secrets={n: [SecretHit(*h) for h in hits] for n, hits in secrets.items()},
            heads=heads,
        )
    except (ValueError, EOFError, TypeError, IndexError):
        return None


def _elf_info(fields: Any) -> ELFInfo:
    return ELFInfo(*fields)


def _take(mine: dict[str, _T], theirs: dict[str, _T], name: str, as_name: str) -> None:
    mine.pop(as_name, None)
    if name in theirs:
        mine[as_name] = theirs[name]
