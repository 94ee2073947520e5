"""Deterministic, atomic zip writing.

Same inputs give the same bytes on any machine and any day: entries sorted by name,
one fixed timestamp (SOURCE_DATE_EPOCH, clamped to the zip epoch 1980-01-01), modes
normalised to 0644 / 0755 (the executable bit kept, as `bootstrap` and `bin/` tools
need it), Unix "made by" on every platform, no extra fields, no directory entries.
The zip is written to a temporary file beside the output and renamed into place, so
the output path only ever holds a complete zip.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.errors import WRITING_OUTPUT, from_os_error
from lambdapack.host.cores import CORES
from lambdapack.pack.blobcopy import BlobCorrupt, HashedOutput, Packs, copy_blob
from lambdapack.pack.members import PACK_MIN, SMALL, Blob, BlobStore, PackWriter, file_sha256
from lambdapack.staged import StagedFile

__all__ = ["WrittenZip", "ZipSettings", "atomic_output", "check_writable", "in_zip_order", "probe_beside", "write_zip",
           "write_zip_to", "zip_date_time"]

ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest DOS date a zip can hold


@dataclass(frozen=True)
class WrittenZip:
    """A zip this run wrote (a zip being read is `inspect.archive.Artifact`)."""

    path: Path
    sha256_hex: str
    sha256_base64: str  # Lambda's CodeSha256, Terraform's source_code_hash
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    # arcname -> (unzipped, zipped) as written: the size report needs no second read of the zip
    member_sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)


def zip_date_time(environ: Mapping[str, str]) -> tuple[int, int, int, int, int, int]:
    """The one timestamp of every entry: SOURCE_DATE_EPOCH or 1980-01-01, in UTC."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    epoch = ZIP_EPOCH
    if raw:
        try:
            epoch = max(int(raw), ZIP_EPOCH)
        except ValueError:
            epoch = ZIP_EPOCH
    t = time.gmtime(min(epoch, 4354819198))  # DOS dates end in 2107
    # DOS times have 2-second resolution; round down so the value is exact.
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def _temp_beside(path: Path) -> Path:
    # The ".lambdapack-" prefix is excluded from source trees, so a temp file left by
    # a killed build (SIGKILL skips cleanup) can never end up inside the next zip.
    fd, tmp = tempfile.mkstemp(prefix=f".lambdapack-{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    return Path(tmp)


# A project builds its artifacts in threads that check outputs in one fresh dist/ at once:
# one thread's undo (rmdir) must not pull the directory from under another's check.
_CHECKING = threading.Lock()


def check_writable(path: Path) -> None:
    """Fail now, before any install, when `path` could not be written at the end.

    Does what atomic_output will do (create the missing directories, a temp file of
    the same name beside it) and undoes it, so a read-only file system, a missing
    permission or a name too long is found in milliseconds, and nothing is left behind.
    """
    try:
        if path.is_dir():  # the final rename would fail, after all the work
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        probe_beside(path, lambda _parent: _temp_beside(path).unlink())
    except OSError as e:
        raise from_os_error(e, WRITING_OUTPUT, path) from e


def probe_beside(path: Path, probe: Callable[[Path], None]) -> None:
    """Create `path`'s missing parent directories, run `probe(parent)`, then remove the
    directories it created. Serialised within the process: a project's parallel builds
    probing dist/a.zip and dist/b.zip before dist/ exists would otherwise undo each other's
    mkdir (EEXIST, or ENOENT after the other's rmdir). OSError goes to the caller."""
    with _CHECKING:
        created: list[Path] = []
        try:
            parent = path.parent
            while not parent.is_dir():
                if parent.exists() or parent == parent.parent:
                    break  # a file in the way: mkdir below says "not a directory"
                created.append(parent)
                parent = parent.parent
            for d in reversed(created):
                d.mkdir()
            probe(path.parent)
        finally:
            for d in created:
                with contextlib.suppress(OSError):
                    d.rmdir()


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename over it only when the block succeeds.

    On any failure (a full disk during the write included) the temp file is removed
    and whatever was at `path` is untouched. OS errors about the temp file or the
    output become one clear error naming `path`; others pass through unchanged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = _temp_beside(path)
    except OSError as e:
        raise from_os_error(e, WRITING_OUTPUT, path) from e
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
        # rename(2) does nothing when both names are links to one file (a no-change
        # rebuild links the cached zip, already at `path`): the temp name would stay.
        tmp_path.unlink(missing_ok=True)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(e, OSError) and e.filename in (None, str(tmp_path), str(path)):
            raise from_os_error(e, WRITING_OUTPUT, path) from e
        raise


def _dos(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, se = date_time
    return (h << 11) | (mi << 5) | (se // 2), ((y - 1980) << 9) | (mo << 5) | d


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_LOC64 = struct.Struct("<IIQI")
_MAX32 = 0xFFFFFFFF


@dataclass(frozen=True)
class ZipSettings:
    """How a zip is written, and what is already known about its members.

    `date_time` None means SOURCE_DATE_EPOCH of os.environ at write time (see
    zip_date_time); `shas` (arcname -> content sha256) spares hashing files whose
    content is known; `fresh` names members whose source was just written, so a
    stored blob for their hash is not trusted without reading them.
    """

    compresslevel: int = 6
    date_time: tuple[int, int, int, int, int, int] | None = None
    jobs: int | None = None
    shas: Mapping[str, str] = field(default_factory=dict)
    fresh: frozenset[str] = frozenset()

    def stamp(self) -> tuple[int, int]:
        """The DOS (time, date) pair written into every header."""
        return _dos(self.date_time if self.date_time is not None else zip_date_time(os.environ))


def write_zip_to(
    entries: Sequence[StagedFile],
    tmp: Path,
    final: Path,
    settings: ZipSettings = ZipSettings(),
    *,
    store: BlobStore | None = None,
    advance: Callable[[int], None] | None = None,
) -> WrittenZip:
    """Write `entries` as a reproducible zip into `tmp` (which will become `final`).

    Members are compressed in parallel (zlib and hashlib release the GIL) into blobs,
    from the content-addressed `store` when one is given, then copied in name order.
    `advance(n)`: members of n more bytes have their blob (a progress counter in bytes, since
    the largest members go first; copying them into the zip afterwards is quick).
    """
    stamp = settings.stamp()
    ordered = in_zip_order(entries)
    with contextlib.ExitStack() as stack:
        if store is None:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix=".lambdapack-blobs-", dir=tmp.parent))
            store = BlobStore(Path(scratch))
        blobs = _BlobGatherer(store, settings, advance or _uncounted).gather(ordered)
        with _naming(tmp), open(tmp, "wb") as f:
            out = HashedOutput(f)
            sizes = _write_archive(out, ordered, blobs, _Retry(store, settings.compresslevel), stamp)
    digest = out.hexdigest() or file_sha256(tmp)
    return WrittenZip(
        path=final,
        sha256_hex=digest,
        sha256_base64=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        zipped_bytes=tmp.stat().st_size,
        unzipped_bytes=sum(u for u, _c in sizes.values()),
        files=len(ordered),
        member_sizes=sizes,
    )


def _uncounted(_n: int) -> None:
    pass


def in_zip_order(entries: Sequence[StagedFile]) -> list[StagedFile]:
    """Entries sorted by their UTF-8 name, the first of each name kept."""
    ordered: list[StagedFile] = []
    seen: set[str] = set()
    for e in sorted(entries, key=lambda e: e.arcname.encode("utf-8")):
        if e.arcname not in seen:
            seen.add(e.arcname)
            ordered.append(e)
    return ordered


class _BlobGatherer:
    """Finds or makes the blob of every member, in parallel where work is needed."""

    def __init__(self, store: BlobStore, settings: ZipSettings, advance: Callable[[int], None]) -> None:
        self.store = store
        self.advance = advance
        self.level = settings.compresslevel
        self.known = settings.shas
        self.fresh = settings.fresh
        self.jobs = settings.jobs
        self.pack: PackWriter | None = None

    def blob(self, e: StagedFile, progress: Callable[[int], None] | None = None) -> tuple[str, Blob]:
        trusted = e.arcname not in self.fresh
        if self.pack is not None and e.size <= SMALL:
            return self.pack.add(e.path, self.level, self.known.get(e.arcname), trusted)
        sha, b, _hit = self.store.blob_for(e.path, self.level, self.known.get(e.arcname), trusted, progress)
        return sha, b

    def _counted_blob(self, e: StagedFile) -> tuple[str, Blob]:
        # Counted in the worker, chunk by chunk for a large member: the results come back in
        # order, and the first (largest) one would hold back the count of all the others.
        counted = 0

        def progress(n: int) -> None:
            nonlocal counted
            counted += n
            self.advance(n)

        with CORES.token():  # one core per member being compressed, across every build (host/cores)
            got = self.blob(e, progress)
        self.advance(max(0, e.size - counted))  # a stored blob, or a small member: counted whole
        return got

    def gather(self, ordered: list[StagedFile]) -> list[tuple[str, Blob]]:
        # Known content with a stored blob is a header read: done inline. Only what must
        # be hashed or compressed goes to the thread pool (zlib and hashlib release the GIL).
        found: list[tuple[str, Blob] | None] = []
        for e in ordered:
            sha = self.known.get(e.arcname)
            hit = self.store.get(sha, self.level) if sha is not None else None
            found.append((sha, hit) if sha is not None and hit is not None else None)
        # Largest first: a 20 MB library started last would leave the other cores idle
        # while one thread compresses it (longest-processing-time-first scheduling).
        todo = sorted((i for i, f in enumerate(found) if f is None), key=lambda i: -ordered[i].size)
        self.advance(sum(e.size for e, f in zip(ordered, found, strict=True) if f is not None))
        if todo:
            self._compress(ordered, todo, found)
        return [f for f in found if f is not None]

    def _compress(self, ordered: list[StagedFile], todo: list[int], found: list[tuple[str, Blob] | None]) -> None:
        workers = self.jobs or os.cpu_count() or 1
        # Many new members: small ones go into one pack file (see members.PackWriter).
        self.pack = self.store.pack_writer() if len(todo) >= PACK_MIN else None
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for i, got in zip(todo, pool.map(self._counted_blob, [ordered[i] for i in todo]), strict=True):
                    found[i] = got
            if self.pack is not None:
                self.pack.commit()
        except OSError as err:
            if self.pack is not None:
                self.pack.abort()
            if err.filename is None:
                err.filename = str(self.store.root)  # a write into the store failed (a full cache disk)
            raise
        except BaseException:
            if self.pack is not None:
                self.pack.abort()
            raise


@dataclass(frozen=True)
class _Retry:
    """Where a blob found corrupt while copying is made again from its source."""

    store: BlobStore
    level: int

    def replace(self, sha: str, e: StagedFile) -> Blob:
        return self.store.replace(sha, e.path, self.level)


def _write_archive(
    out: HashedOutput, ordered: list[StagedFile], blobs: list[tuple[str, Blob]], retry: _Retry, stamp: tuple[int, int]
) -> dict[str, tuple[int, int]]:
    """Members, central directory and end records; returns each member's (unzipped, zipped) size."""
    central: list[bytes] = []
    sizes: dict[str, tuple[int, int]] = {}
    packs = Packs()
    try:
        for e, (sha, b) in zip(ordered, blobs, strict=True):
            offset = out.tell()
            for attempt in (1, 2):
                try:
                    central.append(_write_member(out, e, b, offset, stamp, packs))
                    break
                except BlobCorrupt:
                    if attempt == 2:
                        raise
                    out.rewind(offset)
                    b = retry.replace(sha, e)
            sizes[e.arcname] = (b.usize, b.csize)
    finally:
        packs.close()
    _write_central(out, central)
    return sizes


def _write_central(out: HashedOutput, central: list[bytes]) -> None:
    cd_offset = out.tell()
    for rec in central:
        out.write(rec)
    cd_size = out.tell() - cd_offset
    n = len(central)
    if n >= 0xFFFF or cd_offset >= _MAX32 or cd_size >= _MAX32:
        eocd64_offset = out.tell()
        out.write(_EOCD64.pack(0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, n, n, cd_size, cd_offset))
        out.write(_LOC64.pack(0x07064B50, 0, eocd64_offset, 1))
        out.write(_EOCD.pack(0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                             min(cd_size, _MAX32), min(cd_offset, _MAX32), 0))
    else:
        out.write(_EOCD.pack(0x06054B50, 0, 0, n, n, cd_size, cd_offset, 0))


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError without a file name (a failed write or flush: a full disk) the
    name of the file being written, so callers can tell whose disk is full."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = str(path)
        raise


def _write_member(out: HashedOutput, e: StagedFile, b: Blob, offset: int, stamp: tuple[int, int], packs: Packs) -> bytes:
    """Write the local header and data of one member; returns its central record."""
    mod_time, mod_date = stamp
    name = e.arcname.encode("utf-8")
    flags = 0 if name.isascii() else 0x800  # bit 11: the name is UTF-8
    big = b.usize >= _MAX32 or b.csize >= _MAX32
    version = 45 if (big or offset >= _MAX32) else 20
    local_extra = struct.pack("<HHQQ", 1, 16, b.usize, b.csize) if big else b""
    out.write(_LOCAL.pack(0x04034B50, version, flags, b.method, mod_time, mod_date, b.crc,
                          _MAX32 if big else b.csize, _MAX32 if big else b.usize, len(name), len(local_extra)))
    out.write(name)
    out.write(local_extra)
    copy_blob(b, out, packs)
    # Central directory: zip64 fields only for what overflows, in the spec's order.
    z64 = b""
    if big:
        z64 += struct.pack("<QQ", b.usize, b.csize)
    if offset >= _MAX32:
        z64 += struct.pack("<Q", offset)
    extra = struct.pack("<HH", 1, len(z64)) + z64 if z64 else b""
    mode = 0o755 if e.executable else 0o644
    return _CENTRAL.pack(
        0x02014B50, (3 << 8) | version, version, flags, b.method, mod_time, mod_date, b.crc,
        _MAX32 if big else b.csize, _MAX32 if big else b.usize, len(name), len(extra), 0, 0, 0,
        (0o100000 | mode) << 16, min(offset, _MAX32),
    ) + name + extra


def write_zip(
    entries: Sequence[StagedFile],
    out: Path,
    *,
    environ: Mapping[str, str] | None = None,
    compresslevel: int = 6,
    store: BlobStore | None = None,
) -> WrittenZip:
    """Write `entries` as a reproducible zip at `out`, atomically."""
    with atomic_output(out) as tmp:
        date_time = None if environ is None else zip_date_time(environ)
        settings = ZipSettings(compresslevel=compresslevel, date_time=date_time)
        return write_zip_to(entries, tmp, out, settings, store=store)
