"""A stored member's compressed bytes copied into a zip, checked against its seal on the way.

A zip is mostly these copies; a blob found truncated or not matching its seal raises
BlobCorrupt, and the writer rebuilds it from its source and tries again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lambdapack.pack.members import Blob, seal

__all__ = ["BlobCorrupt", "Packs", "copy_blob"]

_CHUNK = 1 << 20


class BlobCorrupt(Exception):
    pass


class Packs:
    """Pack files held open while one zip is written: a pack holds thousands of its members,
    and opening it for each cost a code-only rebuild of numpy+pandas ~30 ms of 3,612 opens.
    Single blob files are opened per use (there may be many; each is read once)."""

    def __init__(self) -> None:
        self._open: dict[Path, BinaryIO] = {}

    @contextlib.contextmanager
    def reading(self, path: Path) -> Iterator[BinaryIO]:
        if path.suffix != ".pack":
            with open(path, "rb") as single:
                yield single
            return
        held = self._open.get(path)
        if held is None:
            held = self._open[path] = open(path, "rb")  # noqa: SIM115 -- closed by close()
        yield held

    def close(self) -> None:
        for f in self._open.values():
            f.close()
        self._open.clear()


def copy_blob(blob: Blob, out: BinaryIO, packs: Packs) -> None:
    h = hashlib.sha256()
    with packs.reading(blob.path) as f:
        f.seek(blob.data_offset)
        left = blob.csize
        while left:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                raise BlobCorrupt(f"{blob.path} is truncated")
            h.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    if seal(blob.method, blob.crc, blob.usize, blob.csize, h.digest()) != blob.digest:
        raise BlobCorrupt(f"{blob.path} does not match its checksum")
