"""The content-addressed build cache.

Layout under the root (platformdirs' user cache dir, $LAMBDAPACK_CACHE_DIR, or --cache-dir):
  members/ab/<sha256>-<level>.blob  compressed zip members, keyed by content and level
  members/packs/<id>.pack, .idx     many small members of one build in one file (members.py)
  dists/<key>/files/…, manifest.json installed files of one wheel, unpacked once
  resolutions/<key>.json            the pinned resolution of (inputs, target, options)
  artifacts/<key>.zip, <key>.json   finished zips, keyed by everything that determines them
  artifacts/<key>.inputs            build inputs (files, options, environment) -> artifact key,
                                    so a no-change rebuild reads neither requirements nor dists
  tmp/                              in-flight writes; renamed into place when complete
  size                              running total of the entries' bytes (see Cache.auto_prune)
  facts/<key>.facts                 what verification learnt of a dependency set's files (filefacts)
  wheels/<key>/<name>.whl           wheels --build-native built from sdists, by sdist, target, toolchain
  interpreters.json                 interpreters found for each Python minor (probing starts processes)
Every entry is written to tmp/ and renamed into place, so a killed build leaves at
most garbage in tmp/ (swept later), never a half entry. Readers check sizes and
hashes, and a damaged entry is treated as missing and rebuilt. Builds hold a shared
lock and `clean`/`prune` an exclusive one (cachelock: flock on POSIX, byte-range
locks on Windows), so pruning never removes what a running build is using.

The cap ($LAMBDAPACK_CACHE_MAX_SIZE, default 5 GiB) is kept without walking the cache
on every build: each build adds the bytes it stored to the running total in `size`
(a read-modify-write under its own short lock); when the total is over the cap, the
cache is walked and pruned to 80% of it, least recently used first, and the walk
resets the total. What the total misses (entries removed by hand) is corrected by a
full walk at least once a day.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cache.atomic import atomic_write, copy_into, move_into, read_json, touch, writing
from lambdapack.cache.total import DEFAULT_MAX_BYTES, PRUNE_TO, RunningTotal
from lambdapack.cache.upkeep import drop_orphan_packs, evict, stored_bytes, sweep_tmp
from lambdapack.cache.walk import count_entries, du
from lambdapack.errors import LambdapackError
from lambdapack.pack.members import BlobStore, file_sha256

if TYPE_CHECKING:
    from lambdapack.cache.records import ArtifactMeta, InputsPointer, InterpreterRecord, ResolutionRecord

__all__ = ["KINDS", "Cache", "CachedDist", "CachedFile", "default_cache_dir"]

KINDS = ("members", "pyc", "dists", "resolutions", "artifacts", "facts", "wheels", "tmp")

# Resolutions of inputs that are not fully pinned may go stale as PyPI moves on; they
# are trusted for as long as PyPI lets clients cache its index pages (10 minutes).
UNPINNED_TTL_SECONDS = 600
_TMP_MAX_AGE = 3600


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    env = environ.get("LAMBDAPACK_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("lambdapack", appauthor=False))


@dataclass(frozen=True)
class CachedFile:
    rel: str
    sha256: str
    size: int
    executable: bool


@dataclass(frozen=True)
class CachedDist:
    key: str
    root: Path  # directory holding the files
    files: tuple[CachedFile, ...]


class Cache:
    """The local-disk store (cachestore.CacheStore): entries as files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.blobs = BlobStore(root / "members", self.tmp)
        self.added = 0  # bytes this process stored outside the blob store (which counts its own)
        self._added_lock = threading.Lock()
        self.total = RunningTotal(root, self.tmp)
        new = not root.exists()
        for d in KINDS:
            (root / d).mkdir(parents=True, exist_ok=True)
        if new:
            self.total.start()  # empty: its first build adds to 0 instead of walking (a cold CI job)

    def check_writable(self) -> None:
        """Raise OSError now (not midway through a build) if entries cannot be written:
        an existing cache on a read-only mount passes every mkdir above."""
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        os.close(fd)
        Path(tmp).unlink()
        with open(self.root / "cache.lock", "a+b"):
            pass

    # -- locking ---------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, exclusive: bool, wait: bool = True) -> Iterator[bool]:
        """Yields whether the lock is held (always, when `wait`)."""
        from lambdapack.cache.lock import hold

        with writing(self.root):
            f = open(self.root / "cache.lock", "a+b")  # noqa: SIM115 - closed below
        with f, hold(f, exclusive, wait) as got:
            yield got

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """Held by a build for its whole run; what the build stored is added to the
        running total on the way out (failed builds' entries count too)."""
        with self._lock(exclusive=False):
            try:
                yield
            finally:
                # Bookkeeping only: a failure here must not fail the build (the daily walk corrects it).
                with contextlib.suppress(LambdapackError, OSError):
                    self.record_added()

    # -- resolutions -----------------------------------------------------------
    def load_resolution(self, key: str, pinned: bool) -> ResolutionRecord | None:
        from lambdapack.cache.records import ResolutionRecord

        path = self.root / "resolutions" / f"{key}.json"
        rec = ResolutionRecord.from_json(read_json(path))
        if rec is None or (not pinned and time.time() - rec.created > UNPINNED_TTL_SECONDS):
            return None
        touch(path)
        return rec

    def save_resolution(self, key: str, record: ResolutionRecord) -> None:
        payload = dataclasses.replace(record, created=time.time()).to_json()
        with writing(self.root):
            self.added += atomic_write(self.root / "resolutions" / f"{key}.json", json.dumps(payload).encode(),
                                        self.tmp)

    # -- installed distributions ----------------------------------------------
    def load_dist(self, key: str) -> CachedDist | None:
        root = self.root / "dists" / key
        try:
            manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
            files = tuple(CachedFile(f["rel"], f["sha256"], f["size"], f["executable"]) for f in manifest["files"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        # A cheap integrity check on every use (sizes); contents are hashed when a
        # member blob has to be rebuilt from them. Plain strings: this runs per file.
        base = os.path.join(root, "files")  # noqa: PTH118 -- strings are 3x faster per file here
        for f in files:
            try:
                if os.stat(os.path.join(base, f.rel)).st_size != f.size:  # noqa: PTH116, PTH118
                    return None
            except OSError:
                return None
        touch(root / "manifest.json")
        return CachedDist(key, root / "files", files)

    def save_dist(self, key: str, rels: Sequence[tuple[str, Path, bool]]) -> CachedDist:
        """Store one distribution's files (hard links where possible, else copies)."""
        existing = self.load_dist(key)
        if existing is not None:
            return existing
        with writing(self.root):
            return self._save_dist(key, rels)

    def _save_dist(self, key: str, rels: Sequence[tuple[str, Path, bool]]) -> CachedDist:
        staging = Path(tempfile.mkdtemp(prefix="dist-", dir=self.tmp))
        try:
            files = _link_or_copy(rels, os.path.join(staging, "files"))  # noqa: PTH118
            manifest = json.dumps({"files": [{"rel": f.rel, "sha256": f.sha256, "size": f.size, "executable": f.executable}
                                              for f in files]})
            (staging / "manifest.json").write_text(manifest, encoding="utf-8")
            final = self.root / "dists" / key
            try:
                staging.rename(final)
                with self._added_lock:  # distributions are stored from several threads
                    self.added += sum(f.size for f in files) + len(manifest)
                # What was just written is the entry: no need to read it back file by file.
                return CachedDist(key, final / "files", files)
            except OSError:
                if self.load_dist(key) is not None:
                    # Another build stored the same distribution first; keep theirs.
                    shutil.rmtree(staging, ignore_errors=True)
                else:
                    # A damaged entry is in the way: move it aside (atomically), then retry.
                    self.discard_dist(key)
                    staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        loaded = self.load_dist(key)
        if loaded is None:
            raise OSError(f"cache entry dists/{key} could not be read back")
        return loaded

    def discard_dist(self, key: str) -> None:
        """Remove a (damaged) distribution entry without ever exposing half of it."""
        final = self.root / "dists" / key
        if not final.exists():
            return
        grave = Path(tempfile.mkdtemp(prefix="discard-", dir=self.tmp))
        with contextlib.suppress(OSError):
            final.rename(grave / key)
        shutil.rmtree(grave, ignore_errors=True)

    def discard_owner(self, path: Path) -> bool:
        """Drop the entry holding `path`, a file found altered in place (a .pyc, or a
        file of an installed distribution); False when no entry holds it."""
        resolved = path.resolve()
        if path.suffix == ".pyc" and resolved.is_relative_to((self.root / "pyc").resolve()):
            for p in (path, path.with_suffix(".sha256")):
                with contextlib.suppress(OSError):
                    p.unlink()
            return True
        try:
            rel = resolved.relative_to((self.root / "dists").resolve())
        except ValueError:
            return False
        self.discard_dist(rel.parts[0])
        return True

    # -- compiled bytecode -----------------------------------------------------
    def load_pyc(self, key: str) -> tuple[Path, str, int] | None:
        """A cached .pyc, the sha256 it was stored with and its size (missing or resized: None).

        The content is not hashed here: the zip takes the member blob stored under that
        sha256, and whenever the .pyc itself must be compressed again its content is
        checked against it (members.SourceChanged), so a damaged .pyc is never shipped.
        """
        # Strings and one stat (half the time of Paths): a code-only rebuild looks up 513 of these.
        path = os.path.join(self.root, "pyc", key[:2], f"{key}.pyc")  # noqa: PTH118
        try:
            with open(path[:-4] + ".sha256", "rb") as f:
                want, size = f.read().decode("ascii").split()
            st = os.stat(path)  # noqa: PTH116
            if st.st_size != int(size):
                return None
        except (OSError, ValueError):
            return None
        touch(path)  # last use, for prune
        return Path(path), want, st.st_size

    def save_pyc(self, key: str, src: Path, move: bool = False) -> tuple[Path, str]:
        """`move`: `src` is this build's own file under tmp/, renamed into place (no copy)."""
        path = self.root / "pyc" / key[:2] / f"{key}.pyc"
        sha = file_sha256(src)
        with writing(self.root):
            self.added += move_into(src, path) if move else copy_into(src, self.tmp, path, link=False)
            # The hash goes last: a .pyc without its hash is a miss, never trusted.
            self.added += atomic_write(path.with_suffix(".sha256"),
                                        f"{sha} {path.stat().st_size}".encode("ascii"), self.tmp)
        return path, sha

    # -- finished artifacts ----------------------------------------------------
    def load_artifact(self, key: str) -> tuple[ArtifactMeta, list[Path]] | None:
        from lambdapack.cache.records import ArtifactMeta

        meta_path = self.root / "artifacts" / f"{key}.json"
        meta = ArtifactMeta.from_json(read_json(meta_path))
        if meta is None:
            return None
        zips = [self.root / "artifacts" / f"{key}-{o.kind}.zip" for o in meta.outputs]
        for z, o in zip(zips, meta.outputs, strict=True):
            try:
                if z.stat().st_size != o.zipped_bytes or file_sha256(z) != o.sha256:
                    return None  # damaged: rebuild, never ship
            except OSError:
                return None
        touch(meta_path)
        return meta, zips

    def save_artifact(self, key: str, meta: ArtifactMeta, zips: Sequence[tuple[str, Path]]) -> None:
        with writing(self.root):
            for kind, src in zips:
                # Shares the inode with the output: neither is ever written in place, and
                # the stored hash catches an artifact altered through the output path.
                self.added += copy_into(src, self.tmp, self.root / "artifacts" / f"{key}-{kind}.zip", link=True)
            # The metadata goes last: an artifact without it is invisible.
            self.added += atomic_write(self.root / "artifacts" / f"{key}.json", json.dumps(meta.to_json()).encode(),
                                        self.tmp)

    # -- no-change shortcut: build inputs -> finished artifact -------------------
    def load_inputs_pointer(self, key: str) -> InputsPointer | None:
        """What a build with exactly these inputs produced, or None (missing or damaged)."""
        from lambdapack.cache.records import InputsPointer

        path = self.root / "artifacts" / f"{key}.inputs"
        rec = InputsPointer.from_json(read_json(path))
        if rec is not None:
            touch(path)
        return rec

    def save_inputs_pointer(self, key: str, pointer: InputsPointer) -> None:
        with writing(self.root):
            self.added += atomic_write(self.root / "artifacts" / f"{key}.inputs",
                                        json.dumps(pointer.to_json()).encode(), self.tmp)

    # -- interpreters found on this machine ------------------------------------
    def load_interpreter(self, minor: str) -> InterpreterRecord | None:
        """The interpreter found for `minor` ("3.12") before, while its file is unchanged."""
        from lambdapack.cache.records import InterpreterRecord

        known = read_json(self.root / "interpreters.json")
        rec = InterpreterRecord.from_json(known.get(minor) if isinstance(known, dict) else None)
        if rec is None:
            return None
        try:
            st = Path(rec.path).stat()
        except OSError:
            return None
        return rec if (st.st_mtime_ns, st.st_size) == rec.stat else None

    def save_interpreter(self, minor: str, record: InterpreterRecord) -> None:
        """Best effort (a memo, not an entry): a failed write only means probing again."""
        memo = self.root / "interpreters.json"
        data = read_json(memo)
        data = data if isinstance(data, dict) else {}
        data[minor] = record.to_json()
        with contextlib.suppress(OSError):
            tmp = memo.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(memo)

    # -- what verification learnt of a dependency set's files ------------------
    def load_facts(self, key: str) -> bytes | None:
        """The record's bytes (inspect.filefacts.decode checks them), or None."""
        path = self.root / "facts" / f"{key}.facts"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        touch(path)
        return data

    def save_facts(self, key: str, data: bytes) -> None:
        """Best effort: a record not written is learnt again next time."""
        with writing(self.root), contextlib.suppress(OSError):
            self.added += atomic_write(self.root / "facts" / f"{key}.facts", data, self.tmp)

    # -- wheels built from sdists (--build-native) --------------------------------
    def load_wheel(self, key: str) -> tuple[str, bytes] | None:
        """The wheel's file name and bytes; None when absent or unreadable (it is built again)."""
        found = sorted((self.root / "wheels" / key).glob("*.whl"))
        if len(found) != 1:
            return None
        try:
            data = found[0].read_bytes()
        except OSError:
            return None
        touch(found[0])
        return found[0].name, data

    def save_wheel(self, key: str, filename: str, data: bytes) -> None:
        """Best effort: a wheel not kept is built again next time."""
        with writing(self.root), contextlib.suppress(OSError):
            self.added += atomic_write(self.root / "wheels" / key / filename, data, self.tmp)

    # -- maintenance -----------------------------------------------------------
    def info(self) -> dict[str, dict[str, int]]:
        out = {}
        for d in KINDS:
            n, size = du(self.root / d)
            out[d] = {"entries": count_entries(self.root / d, d), "files": n, "bytes": size}
        return out

    def clean(self) -> int:
        with self._lock(exclusive=True):
            _n, size = du(self.root)
            for d in KINDS:
                shutil.rmtree(self.root / d, ignore_errors=True)
                (self.root / d).mkdir(parents=True, exist_ok=True)
            self.total.write(0)
            return size

    def prune(self, max_bytes: int) -> int:
        """Remove least recently used entries until the cache fits; returns bytes freed."""
        with self._lock(exclusive=True):
            return self._prune_locked(max_bytes)

    def _prune_locked(self, max_bytes: int) -> int:
        freed = sweep_tmp(self.tmp, max_age=0) + drop_orphan_packs(self.root / "members" / "packs")
        evicted, total = evict(self.root, max_bytes)
        # No build is running (this lock is exclusive): the walk is the exact total.
        self.total.write(total)
        return freed + evicted

    def sweep(self) -> None:
        """Drop in-flight files left by killed builds (older than an hour)."""
        sweep_tmp(self.tmp, _TMP_MAX_AGE)

    # -- the cap: a running total of stored bytes ------------------------------
    def record_added(self) -> int:
        """Add what this process stored to the running total (call once, at the end of
        a build, still under the shared lock); returns the new total."""
        added = self.added + self.blobs.added
        self.added = self.blobs.added = 0
        return self.total.add(added, self.stored_bytes)

    def auto_prune(self, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
        """Prune to 80% of `max_bytes` when the running total says the cache is over it.

        Takes the exclusive lock without waiting: while other builds hold the cache,
        the last of them to finish prunes instead. True when it pruned."""
        total, _walked = self.total.read()
        if total is None or total <= max_bytes:
            return False
        with self._lock(exclusive=True, wait=False) as got:
            if not got:
                return False
            self._prune_locked(int(max_bytes * PRUNE_TO))
        return True

    def stored_bytes(self) -> int:
        """The entries' bytes as prune counts them (a full walk)."""
        return stored_bytes(self.root)


def _link_or_copy(rels: Sequence[tuple[str, Path, bool]], base: str) -> tuple[CachedFile, ...]:
    """Each file into `base`/rel (a hard link where possible, else a copy), hashed.
    Plain strings and each folder made once: this runs for every installed file."""
    made: set[str] = set()
    files = []
    for rel, src, executable in rels:
        dest = os.path.join(base, rel)  # noqa: PTH118
        parent = os.path.dirname(dest)  # noqa: PTH120
        if parent not in made:
            os.makedirs(parent, exist_ok=True)  # noqa: PTH103
            made.add(parent)
        try:
            os.link(src, dest)  # uv never rewrites installed files in place
        except OSError:
            shutil.copyfile(src, dest)
        files.append(CachedFile(rel, file_sha256(dest), os.stat(dest).st_size, executable))  # noqa: PTH116
    return tuple(files)
