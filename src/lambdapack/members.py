"""Compressed zip members, stored by content so that a zip is mostly copied bytes.

A member blob is the raw deflate stream of one file's content at one compression
level, plus what a zip header needs (CRC-32, sizes) and a SHA-256 that seals the
header fields and the stored bytes together, so a truncated or corrupted blob, or
a damaged header, is detected before anything of it is shipped. Blobs live in the
cache (content-addressed, shared by every build) or, with --no-cache, in the
build's work directory.
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

__all__ = ["Blob", "BlobStore", "SourceChanged", "compress_to_blob", "file_sha256", "seal"]

_MAGIC = b"LPB2"
# magic, method, crc32, uncompressed size, compressed size, seal (see `seal`)
_HEADER = struct.Struct("<4sBIQQ32s")
_FIELDS = struct.Struct("<BIQQ")
_CHUNK = 1 << 20
STORED, DEFLATED = 0, 8


class SourceChanged(Exception):
    """A file's content no longer has the hash its cache manifest recorded."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(f"{path}: content sha256 {actual}, expected {expected}")
        self.path = path


@dataclass(frozen=True)
class Blob:
    path: Path
    method: int
    crc: int
    usize: int
    csize: int
    digest: bytes  # the seal: sha256 over the header fields and sha256(stored bytes)

    @property
    def data_offset(self) -> int:
        return _HEADER.size


def seal(method: int, crc: int, usize: int, csize: int, data_sha256: bytes) -> bytes:
    """One hash for everything a zip entry is made of, so no field can rot unnoticed."""
    return hashlib.sha256(_FIELDS.pack(method, crc, usize, csize) + data_sha256).digest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def compress_to_blob(src: Path, dest: Path, level: int, tmp_dir: Path | None = None,
                     expect_sha: str | None = None) -> Blob:
    """Compress `src` into a blob file at `dest` (written in `tmp_dir`, then renamed).

    With `expect_sha`, the content is hashed on the way and SourceChanged is raised
    (nothing stored) when it differs: a damaged cache file must never be stored under
    the hash of what it should have been.
    """
    method = STORED if level == 0 else DEFLATED
    comp = zlib.compressobj(level, zlib.DEFLATED, -15) if method == DEFLATED else None
    crc = usize = csize = 0
    stored = hashlib.sha256()
    content = hashlib.sha256() if expect_sha is not None else None
    where = tmp_dir or dest.parent
    where.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=where)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            out.write(b"\0" * _HEADER.size)  # filled in once sizes are known
            while chunk := f.read(_CHUNK):
                if content is not None:
                    content.update(chunk)
                crc = zlib.crc32(chunk, crc)
                usize += len(chunk)
                data = comp.compress(chunk) if comp is not None else chunk
                if data:
                    stored.update(data)
                    out.write(data)
                    csize += len(data)
            if comp is not None:
                data = comp.flush()
                stored.update(data)
                out.write(data)
                csize += len(data)
            digest = seal(method, crc, usize, csize, stored.digest())
            out.seek(0)
            out.write(_HEADER.pack(_MAGIC, method, crc, usize, csize, digest))
        if content is not None and expect_sha is not None and content.hexdigest() != expect_sha:
            raise SourceChanged(src, expect_sha, content.hexdigest())
        dest.parent.mkdir(parents=True, exist_ok=True)
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

    def __init__(self, root: Path, tmp_dir: Path | None = None) -> None:
        self.root = root
        self.tmp_dir = tmp_dir  # in-flight writes, swept by the cache (never under root)

    def path_for(self, sha: str, level: int) -> Path:
        return self.root / sha[:2] / f"{sha}-{level}.blob"

    def get(self, sha: str, level: int) -> Blob | None:
        path = self.path_for(sha, level)
        blob = read_blob_header(path)
        if blob is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # last use, for `lambdapack cache prune`
        return blob

    def blob_for(
        self, src: Path, level: int, sha: str | None = None, verify: bool = True
    ) -> tuple[str, Blob, bool]:
        """(content sha256, blob, hit). A known `sha` is checked against `src` on a miss,
        unless the caller hashed that very file moments ago (`verify=False`)."""
        expect = sha if verify else None
        if sha is None:
            sha = file_sha256(src)
        blob = self.get(sha, level)
        if blob is not None:
            return sha, blob, True
        return sha, compress_to_blob(src, self.path_for(sha, level), level, self.tmp_dir, expect), False

    def replace(self, sha: str, src: Path, level: int) -> Blob:
        """Rebuild a blob found corrupt from its source (checked against `sha`)."""
        return compress_to_blob(src, self.path_for(sha, level), level, self.tmp_dir, sha)
