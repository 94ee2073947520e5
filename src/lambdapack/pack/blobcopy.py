"""A stored member's compressed bytes copied into a zip, checked against its seal on the way.

A zip is mostly these copies; a blob found truncated or not matching its seal raises
BlobCorrupt, and the writer rebuilds it from its source and tries again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from lambdapack.pack.members import Blob, seal

__all__ = ["BlobCorrupt", "HashedOutput", "Packs", "copy_blob"]

_CHUNK = 1 << 20


class BlobCorrupt(Exception):
    pass


class HashedOutput:
    """The zip being written, hashed on the way: reading 30 MB back to hash it cost a code-only
    rebuild of numpy+pandas ~50 ms. Writes are sequential; a member written again after a
    `rewind` leaves the hash to be taken from the file (`hexdigest` is then None)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._hash = hashlib.sha256()
        self._pos = f.tell()
        self._whole = self._pos == 0

    def write(self, data: bytes) -> None:
        self._f.write(data)  # a buffered file writes all of it or raises
        self._hash.update(data)
        self._pos += len(data)

    def tell(self) -> int:
        return self._pos

    def rewind(self, offset: int) -> None:
        self._f.seek(offset)
        self._f.truncate()
        self._pos = offset
        self._whole = False

    def hexdigest(self) -> str | None:
        return self._hash.hexdigest() if self._whole else None


class Packs:
    """Pack files held open while one zip is written: a pack holds thousands of its members,
    and opening it for each cost a code-only rebuild of numpy+pandas ~30 ms of 3,612 opens.
    Single blob files are opened per use (there may be many; each is read once)."""

    def __init__(self) -> None:
        self._open: dict[Path, BinaryIO] = {}

    def reading(self, path: Path) -> tuple[BinaryIO, bool]:
        """The file open at `path` and whether the caller closes it (a single blob file)."""
        if path.suffix != ".pack":
            return open(path, "rb"), True  # closed by the caller
        held = self._open.get(path)
        if held is None:
            held = self._open[path] = open(path, "rb")  # noqa: SIM115 -- closed by close()
        return held, False

    def close(self) -> None:
        for f in self._open.values():
            f.close()
        self._open.clear()


def copy_blob(blob: Blob, out: HashedOutput, packs: Packs) -> None:
    f, own = packs.reading(blob.path)
    try:
        f.seek(blob.data_offset)
        if blob.csize <= _CHUNK:  # nearly every member: one read
            data = f.read(blob.csize)
            if len(data) != blob.csize:
                raise BlobCorrupt(f"{blob.path} is truncated")
            digest = hashlib.sha256(data).digest()
            out.write(data)
        else:
            digest = _copy_chunks(f, out, blob)
    finally:
        if own:
            f.close()
    if seal(blob.method, blob.crc, blob.usize, blob.csize, digest) != blob.digest:
        raise BlobCorrupt(f"{blob.path} does not match its checksum")


def _copy_chunks(f: BinaryIO, out: HashedOutput, blob: Blob) -> bytes:
    h = hashlib.sha256()
    left = blob.csize
    while left:
        chunk = f.read(min(_CHUNK, left))
        if not chunk:
            raise BlobCorrupt(f"{blob.path} is truncated")
        h.update(chunk)
        out.write(chunk)
        left -= len(chunk)
    return h.digest()
