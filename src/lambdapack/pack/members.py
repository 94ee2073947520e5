"""Compressed zip members, stored by content so that a zip is mostly copied bytes.

A member blob is the raw deflate stream of one file's content at one compression
level, plus what a zip header needs (CRC-32, sizes) and a SHA-256 that seals the
header fields and the stored bytes together, so a truncated or corrupted blob, or
a damaged header, is detected before anything of it is shipped. Blobs live in the
cache (content-addressed, shared by every build) or, with --no-cache, in the
build's work directory.

Members are compressed by pack.codec (one bundled deflate implementation, so the bytes are
the same on every machine); blobs are keyed by content, level and codec.

A build that compresses many files appends its small blobs to one pack file
(`packs/<id>.pack`, the blobs back to back) with an index (`packs/<id>.idx`: content
hash, level, offset and header fields of each, sealed by a SHA-256 of the index), so a
cold build creates a few files instead of thousands: creating a file costs about as
much as compressing 30 KB on this project's reference machine. The index is renamed
into place after the pack, so a pack is only ever seen complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import os
import secrets
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lambdapack.pack.codec import CODEC, crc32

__all__ = ["LARGE_IN_MEMORY", "PACK_MIN", "SMALL", "Blob", "BlobStore", "InMemory", "PackWriter", "SourceChanged",
           "compress_to_blob", "file_sha256", "seal"]

_MAGIC = b"LPB2"
# magic, method, crc32, uncompressed size, compressed size, seal (see `seal`)
_HEADER = struct.Struct("<4sBIQQ32s")
_FIELDS = struct.Struct("<BIQQ")
_CHUNK = 1 << 20
STORED, DEFLATED = 0, 8
_INDEX_MAGIC = b"LPX2"
# entry count, the codec's name (NUL-padded): an index of another codec's blobs is not read
_INDEX_COUNT = struct.Struct("<Q32s")
# content sha256, level, record offset in the pack, method, crc32, sizes, seal
_INDEX_ENTRY = struct.Struct("<32sBQBIQQ32s")
PACK_MIN = 32  # fewer new members than this: one blob file each (finer pruning, no index)


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
    offset: int = 0  # where the record starts: 0 in a blob file, anywhere in a pack

    @property
    def data_offset(self) -> int:
        return self.offset + _HEADER.size


def seal(method: int, crc: int, usize: int, csize: int, data_sha256: bytes) -> bytes:
    """One hash for everything a zip entry is made of, so no field can rot unnoticed."""
    return hashlib.sha256(_FIELDS.pack(method, crc, usize, csize) + data_sha256).digest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


SMALL = 1 << 20  # files up to this size are read, compressed and written in one go
_tmp_names = itertools.count()


class InMemory:
    """A process-wide bound on the bytes of large members held whole at once (each costs its
    size and its compressed size): the threads of every build in the process, a project's
    artifacts included, wait their turn. One member alone always goes, whatever its size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._held == 0 or self._held + size <= self.limit)
            self._held += size
        try:
            yield
        finally:
            with self._cond:
                self._held -= size
                self._cond.notify_all()


# 96 MiB of sources in memory at once (~200 MB with their compressed copies): two 35 MB
# OpenBLAS libraries compress side by side, a 100 MB libarrow alone.
LARGE_IN_MEMORY = InMemory(96 << 20)


def _ensure_dir(d: Path) -> None:
    # Not remembered across calls: another process may `cache clean` meanwhile.
    d.mkdir(parents=True, exist_ok=True)


def _temp_name(where: Path) -> Path:
    # Unique per process and call; the pid keeps concurrent builds apart, and the
    # ".tmp-" prefix is what the cache sweeps after a killed build.
    return where / f".tmp-{os.getpid()}-{next(_tmp_names)}"


def compress_to_blob(src: Path, dest: Path, level: int, tmp_dir: Path | None = None,
                     expect_sha: str | None = None, progress: Callable[[int], None] | None = None) -> Blob:
    """Compress `src` into a blob file at `dest` (written in `tmp_dir`, then renamed).

    With `expect_sha`, the content is hashed on the way and SourceChanged is raised
    (nothing stored) when it differs: a damaged cache file must never be stored under
    the hash of what it should have been. `progress(n)`: n more bytes of a large file read
    (a counter should move while a 100 MiB library is read).
    """
    where = tmp_dir or dest.parent
    _ensure_dir(where)
    tmp = _temp_name(where)
    job = _BlobJob(src, dest, tmp, level, expect_sha, progress)
    try:
        with open(src, "rb") as f:
            first = f.read(SMALL + 1)
            if len(first) <= SMALL:
                # Most members are small: one read, one compress call, one write. Per-file
                # system calls, not deflate, dominate for them (thousands per build).
                blob = _write_blob(first, job)
            else:
                with LARGE_IN_MEMORY.hold(os.fstat(f.fileno()).st_size):
                    blob = _write_blob(_read_rest(first, f, job.progress), job)
        _ensure_dir(dest.parent)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return blob


@dataclass(frozen=True)
class _BlobJob:
    """One file being compressed into a blob: where from, where to, how."""

    src: Path
    dest: Path
    tmp: Path  # written here, renamed to `dest` by the caller
    level: int
    expect_sha: str | None
    progress: Callable[[int], None] | None = None


def _method(level: int) -> int:
    return STORED if level == 0 else DEFLATED  # level 0: stored as is, like zip -0


def _check(content: Any, expect_sha: str | None, src: Path) -> None:
    if expect_sha is not None and content.hexdigest() != expect_sha:
        raise SourceChanged(src, expect_sha, content.hexdigest())


def _encode(data: bytes, level: int) -> tuple[bytes, bytes, Blob]:
    """The blob record of a file's content, as (header, stored bytes); the Blob has no path yet."""
    method = _method(level)
    crc = crc32(data)
    stored = CODEC.compress(data, level) if method == DEFLATED else data
    digest = seal(method, crc, len(data), len(stored), hashlib.sha256(stored).digest())
    header = _HEADER.pack(_MAGIC, method, crc, len(data), len(stored), digest)
    return header, stored, Blob(Path(), method, crc, len(data), len(stored), digest)


def _read_rest(first: bytes, f: BinaryIO, progress: Callable[[int], None] | None) -> bytes:
    """A large file read whole (the codec compresses buffers, not streams), counted chunk by
    chunk: a 100 MiB library takes a while to read from a cold disk; the counter moves meanwhile."""
    chunks: list[bytes] = []
    chunk = first
    while chunk:
        chunks.append(chunk)
        if progress is not None:
            progress(len(chunk))
        chunk = f.read(_CHUNK)
    return b"".join(chunks)


def _write_blob(data: bytes, job: _BlobJob) -> Blob:
    if job.expect_sha is not None:
        _check(hashlib.sha256(data), job.expect_sha, job.src)
    header, stored, blob = _encode(data, job.level)
    with open(job.tmp, "xb") as out:
        out.write(header)
        out.write(stored)
    return dataclasses.replace(blob, path=job.dest)


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


def _blob_name(sha: str, level: int) -> str:
    return f"{sha}-{level}-{CODEC.name}.blob"


class BlobStore:
    """Content-addressed blobs: <root>/<sha[:2]>/<sha>-<level>-<codec>.blob, and packs under
    <root>/packs. The codec is in every name and pack index: a blob another deflate made (an
    older lambdapack's zlib, a fallback) is never copied into a zip this codec writes."""

    def __init__(self, root: Path, tmp_dir: Path | None = None) -> None:
        self.root = root
        self.tmp_dir = tmp_dir  # in-flight writes, swept by the cache (never under root)
        self._packed: dict[tuple[str, int], Blob] | None = None  # read on first use
        self._lock = threading.Lock()
        self._touched: set[Path] = set()
        self._singles: set[str] | None = None  # blob file names, listed on first use
        self.added = 0  # bytes this process stored under root (the cache's running size total)

    def path_for(self, sha: str, level: int) -> Path:
        return self.root / sha[:2] / _blob_name(sha, level)

    def get(self, sha: str, level: int) -> Blob | None:
        # A blob file comes first: it is what replaces a pack entry found damaged. Only a file
        # listed at the first lookup is opened before the packs (most members of a zip are
        # packed: a failed open per member cost a code-only rebuild of numpy+pandas ~0.1 s).
        if _blob_name(sha, level) in self._single_names():
            blob = self._read_single(self.path_for(sha, level))
            if blob is not None:
                return blob
        blob = self._packs().get((sha, level))
        if blob is not None:
            if blob.path not in self._touched:  # its index, once per pack and build
                self._touched.add(blob.path)
                with contextlib.suppress(OSError):
                    os.utime(blob.path.with_suffix(".idx"))
            return blob
        return self._read_single(self.path_for(sha, level))  # written since the listing (by another build)

    def _read_single(self, path: Path) -> Blob | None:
        blob = read_blob_header(path)
        if blob is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # last use, for `lambdapack cache prune`
        return blob

    def _single_names(self) -> set[str]:
        """The names of the blob files under root when first asked (plus those stored since)."""
        with self._lock:
            if self._singles is None:
                self._singles = set()
                with contextlib.suppress(OSError), os.scandir(self.root) as top:
                    for d in top:
                        if len(d.name) == 2 and d.is_dir():
                            with contextlib.suppress(OSError), os.scandir(d.path) as inner:
                                self._singles.update(e.name for e in inner)
            return self._singles

    def blob_for(
        self, src: Path, level: int, sha: str | None = None, verify: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[str, Blob, bool]:
        """(content sha256, blob, hit). A known `sha` is checked against `src` on a miss,
        unless the caller hashed that very file moments ago (`verify=False`). `progress`: as
        compress_to_blob's."""
        expect = sha if verify else None
        if sha is None:
            sha = file_sha256(src)
        blob = self.get(sha, level)
        if blob is not None:
            return sha, blob, True
        blob = compress_to_blob(src, self.path_for(sha, level), level, self.tmp_dir, expect, progress)
        return sha, self._stored(blob), False

    def replace(self, sha: str, src: Path, level: int) -> Blob:
        """Rebuild a blob found corrupt from its source (checked against `sha`)."""
        return self._stored(compress_to_blob(src, self.path_for(sha, level), level, self.tmp_dir, sha))

    def _stored(self, blob: Blob) -> Blob:
        with self._lock:
            self.added += _HEADER.size + blob.csize  # a blob file is its header and its data
            if self._singles is not None:
                self._singles.add(blob.path.name)
        return blob

    def pack_writer(self) -> PackWriter:
        return PackWriter(self)

    def _packs(self) -> dict[tuple[str, int], Blob]:
        with self._lock:
            if self._packed is None:
                self._packed = read_pack_indexes(self.root / "packs")
            return self._packed

    def _add_packed(self, entries: dict[tuple[str, int], Blob]) -> None:
        packed = self._packs()
        with self._lock:
            for key, blob in entries.items():
                packed.setdefault(key, blob)


class PackWriter:
    """Appends the blobs of many small files to one new pack (thread-safe `add`).

    Blobs it hands out point into the final pack path: read them only after `commit`.
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.path = store.root / "packs" / f"{secrets.token_hex(8)}.pack"
        where = store.tmp_dir or self.path.parent
        _ensure_dir(where)
        self._tmp = _temp_name(where)
        self._out = open(self._tmp, "xb")  # noqa: SIM115 - closed by commit or abort
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], Blob] = {}

    def add(self, src: Path, level: int, sha: str | None = None, verify: bool = True) -> tuple[str, Blob]:
        """Compress `src` (a small file) into the pack: (content sha256, blob).

        A known `sha` is checked against the content unless `verify` is False (the
        caller hashed that very file moments ago)."""
        data = src.read_bytes()
        if sha is None:
            sha = hashlib.sha256(data).hexdigest()
            known = self._store.get(sha, level)  # known content under another name
            if known is not None:
                return sha, known
        elif verify:
            _check(hashlib.sha256(data), sha, src)
        header, stored, blob = _encode(data, level)
        with self._lock:
            known = self._entries.get((sha, level))
            if known is not None:
                return sha, known
            blob = dataclasses.replace(blob, path=self.path, offset=self._out.tell())
            self._out.write(header)
            self._out.write(stored)
            self._entries[(sha, level)] = blob
        return sha, blob

    def commit(self) -> None:
        """Put the pack, then its index, into place; an empty pack leaves nothing."""
        self._out.close()
        if not self._entries:
            self._tmp.unlink()
            return
        _ensure_dir(self.path.parent)
        size = self._tmp.stat().st_size
        os.replace(self._tmp, self.path)
        body = b"".join(
            _INDEX_ENTRY.pack(bytes.fromhex(sha), level, b.offset, b.method, b.crc, b.usize, b.csize, b.digest)
            for (sha, level), b in self._entries.items()
        )
        index = _INDEX_MAGIC + _INDEX_COUNT.pack(len(self._entries), _codec_field()) + body
        tmp = _temp_name(self._store.tmp_dir or self.path.parent)
        try:
            with open(tmp, "xb") as f:
                f.write(index + hashlib.sha256(index).digest())
            os.replace(tmp, self.path.with_suffix(".idx"))  # the pack becomes visible here
        except BaseException:
            # No index (a full disk): the pack would never be read; leave neither.
            for leftover in (tmp, self.path):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        self._store._add_packed(self._entries)
        with self._store._lock:
            self._store.added += size + len(index) + hashlib.sha256().digest_size

    def abort(self) -> None:
        # close() flushes; on a full disk that fails, and the temp file must still go.
        with contextlib.suppress(OSError):
            self._out.close()
        with contextlib.suppress(OSError):
            self._tmp.unlink()


def _codec_field() -> bytes:
    return CODEC.name.encode("ascii")[:32]


def read_pack_indexes(packs: Path) -> dict[tuple[str, int], Blob]:
    """Every entry of every complete, undamaged pack index under `packs`.

    A damaged index (bad magic, count, or seal) is skipped whole; an entry that would
    reach past the end of its pack (truncated) is skipped. The data of each entry is
    checked against its seal when it is copied into a zip.
    """
    out: dict[tuple[str, int], Blob] = {}
    try:
        indexes = sorted(packs.glob("*.idx"))
    except OSError:
        return out
    for idx in indexes:
        pack = idx.with_suffix(".pack")
        try:
            raw = idx.read_bytes()
            pack_size = pack.stat().st_size
        except OSError:
            continue
        head = len(_INDEX_MAGIC) + _INDEX_COUNT.size
        if len(raw) < head + 32 or raw[:4] != _INDEX_MAGIC:
            continue
        body, digest = raw[:-32], raw[-32:]
        count, codec = _INDEX_COUNT.unpack_from(body, 4)
        if (hashlib.sha256(body).digest() != digest or len(body) != head + count * _INDEX_ENTRY.size
                or codec.rstrip(b"\0") != _codec_field()):
            continue
        for sha, level, offset, method, crc, usize, csize, seal_ in _INDEX_ENTRY.iter_unpack(body[head:]):
            if offset + _HEADER.size + csize > pack_size or method not in (STORED, DEFLATED):
                continue
            out.setdefault((sha.hex(), level), Blob(pack, method, crc, usize, csize, seal_, offset))
    return out
