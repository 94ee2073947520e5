"""Compressed zip members, stored by content so that a zip is mostly copied bytes.

A member blob is the raw deflate stream of one file's content at one compression
level, plus what a zip header needs (CRC-32, sizes) and a SHA-256 of the stored
bytes, so a truncated or corrupted blob is detected before it is ever shipped.
Blobs live in the cache (content-addressed, shared by every build) or, with
--no-cache, in the build's work directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Blob", "BlobStore", "compress_to_blob", "file_sha256"]

_MAGIC = b"LPB1"
# magic, method, crc32, uncompressed size, compressed size, sha256 of the data
_HEADER = struct.Struct("<4sBIQQ32s")
_CHUNK = 1 << 20
STORED, DEFLATED = 0, 8


@dataclass(frozen=True)
class Blob:
    path: Path
    method: int
    crc: int
    usize: int
    csize: int
    digest: bytes  # sha256 of the stored (compressed) bytes

    @property
    def data_offset(self) -> int:
        return _HEADER.size


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def compress_to_blob(src: Path, dest: Path, level: int) -> Blob:
    """Compress `src` into a blob file at `dest` (written atomically)."""
    method = STORED if level == 0 else DEFLATED
    comp = zlib.compressobj(level, zlib.DEFLATED, -15) if method == DEFLATED else None
    crc = 0
    usize = 0
    h = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            out.write(b"\0" * _HEADER.size)  # filled in once sizes are known
            csize = 0
            while chunk := f.read(_CHUNK):
                crc = zlib.crc32(chunk, crc)
                usize += len(chunk)
                data = comp.compress(chunk) if comp is not None else chunk
                if data:
                    h.update(data)
                    out.write(data)
                    csize += len(data)
            if comp is not None:
                data = comp.flush()
                h.update(data)
                out.write(data)
                csize += len(data)
            digest = h.digest()
            out.seek(0)
            out.write(_HEADER.pack(_MAGIC, method, crc, usize, csize, digest))
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    return Blob(dest, method, crc, usize, csize, digest)


def read_blob_header(path: Path) -> Blob | None:
    """The blob's header, or None when missing, truncated or not a blob."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER.size)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if len(head) != _HEADER.size:
        return None
    magic, method, crc, usize, csize, digest = _HEADER.unpack(head)
    if magic != _MAGIC or method not in (STORED, DEFLATED) or size != _HEADER.size + csize:
        return None
    return Blob(path, method, crc, usize, csize, digest)


class BlobStore:
    """Content-addressed blobs: <root>/<sha[:2]>/<sha>-<level>.blob."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha: str, level: int) -> Path:
        return self.root / sha[:2] / f"{sha}-{level}.blob"

    def get(self, sha: str, level: int) -> Blob | None:
        path = self.path_for(sha, level)
        blob = read_blob_header(path)
        if blob is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # last use, for `lambdapack cache prune`
        return blob

    def blob_for(self, src: Path, level: int, sha: str | None = None) -> tuple[str, Blob, bool]:
        """(content sha256, blob, hit). Reads `src` once on a miss, once to hash on a hit."""
        if sha is None:
            sha = file_sha256(src)
        blob = self.get(sha, level)
        if blob is not None:
            return sha, blob, True
        return sha, compress_to_blob(src, self.path_for(sha, level), level), False

    def replace(self, sha: str, src: Path, level: int) -> Blob:
        """Rebuild a blob found corrupt: never trust it again, never ship it."""
        return compress_to_blob(src, self.path_for(sha, level), level)

