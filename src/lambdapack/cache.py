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
Every entry is written to tmp/ and renamed into place, so a killed build leaves at
most garbage in tmp/ (swept later), never a half entry. Readers check sizes and
hashes, and a damaged entry is treated as missing and rebuilt. Builds hold a shared
lock and `clean`/`prune` an exclusive one (POSIX flock), so pruning never removes
what a running build is using.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .members import BlobStore, file_sha256

__all__ = ["DEFAULT_MAX_BYTES", "KINDS", "Cache", "CachedDist", "default_cache_dir", "parse_size"]

KINDS = ("members", "pyc", "dists", "resolutions", "artifacts", "tmp")

DEFAULT_MAX_BYTES = 5 * 1024**3
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


def parse_size(text: str) -> int:
    """'500M', '2G', '1.5GB', '1000000' -> bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    factor = 1
    if t and t[-1] in mult:
        t, factor = t[:-1], mult[t[-1]]
    value = float(t) * factor  # ValueError for garbage
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a size: {text!r}")
    return int(value)


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


def _atomic_write(path: Path, data: bytes, tmp_dir: Path) -> None:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.blobs = BlobStore(root / "members", self.tmp)
        for d in KINDS:
            (root / d).mkdir(parents=True, exist_ok=True)

    # -- locking ---------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # Windows: no shared locks; prune may race a build there
            yield
            return
        with open(self.root / "cache.lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def using(self) -> contextlib.AbstractContextManager[None]:
        """Held by a build for its whole run."""
        return self._lock(exclusive=False)

    # -- resolutions -----------------------------------------------------------
    def load_resolution(self, key: str, pinned: bool) -> dict[str, Any] | None:
        path = self.root / "resolutions" / f"{key}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            created = float(data.get("created", 0))
        except (TypeError, ValueError, AttributeError):
            return None
        if not pinned and time.time() - created > UNPINNED_TTL_SECONDS:
            return None
        _touch(path)
        return data

    def save_resolution(self, key: str, data: dict[str, Any]) -> None:
        payload = {**data, "created": time.time()}
        _atomic_write(self.root / "resolutions" / f"{key}.json", json.dumps(payload).encode(), self.tmp)

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
        _touch(root / "manifest.json")
        return CachedDist(key, root / "files", files)

    def save_dist(self, key: str, site: Path, rels: Sequence[tuple[str, Path, bool]]) -> CachedDist:
        """Store one distribution's files (hard links where possible, else copies)."""
        existing = self.load_dist(key)
        if existing is not None:
            return existing
        staging = Path(tempfile.mkdtemp(prefix="dist-", dir=self.tmp))
        try:
            files = []
            for rel, src, executable in rels:
                dest = staging / "files" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(src, dest)  # uv never rewrites installed files in place
                except OSError:
                    shutil.copyfile(src, dest)
                files.append({"rel": rel, "sha256": file_sha256(dest), "size": dest.stat().st_size,
                              "executable": executable})
            (staging / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")
            final = self.root / "dists" / key
            try:
                staging.rename(final)
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

    # -- compiled bytecode -----------------------------------------------------
    def load_pyc(self, key: str) -> tuple[Path, str] | None:
        """A cached .pyc and the sha256 it was stored with (missing or resized: None).

        The content is not hashed here: the zip takes the member blob stored under that
        sha256, and whenever the .pyc itself must be compressed again its content is
        checked against it (members.SourceChanged), so a damaged .pyc is never shipped.
        """
        path = self.root / "pyc" / key[:2] / f"{key}.pyc"
        try:
            want, size = path.with_suffix(".sha256").read_text(encoding="ascii").split()
            if path.stat().st_size != int(size):
                return None
        except (OSError, ValueError):
            return None
        _touch(path)  # last use, for prune
        return path, want

    def save_pyc(self, key: str, src: Path) -> tuple[Path, str]:
        path = self.root / "pyc" / key[:2] / f"{key}.pyc"
        sha = file_sha256(src)
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        os.close(fd)
        shutil.copyfile(src, tmp)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
        # The hash goes last: a .pyc without its hash is a miss, never trusted.
        _atomic_write(path.with_suffix(".sha256"), f"{sha} {path.stat().st_size}".encode("ascii"), self.tmp)
        return path, sha

    # -- finished artifacts ----------------------------------------------------
    def load_artifact(self, key: str) -> tuple[dict[str, Any], list[Path]] | None:
        meta_path = self.root / "artifacts" / f"{key}.json"
        try:
            meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
            zips = [self.root / "artifacts" / f"{key}-{o['kind']}.zip" for o in meta["result"]["outputs"]]
            for z, o in zip(zips, meta["result"]["outputs"], strict=True):
                if z.stat().st_size != o["zipped_bytes"] or file_sha256(z) != o["sha256"]:
                    return None  # damaged: rebuild, never ship
        except (OSError, ValueError, KeyError, TypeError):
            return None
        _touch(meta_path)
        return meta, zips

    def save_artifact(self, key: str, meta: dict[str, Any], zips: Sequence[tuple[str, Path]]) -> None:
        for kind, src in zips:
            self.tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.tmp)
            os.close(fd)
            try:
                # Shares the inode with the output: neither is ever written in place, and
                # the stored hash catches an artifact altered through the output path.
                Path(tmp).unlink()
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.replace(tmp, self.root / "artifacts" / f"{key}-{kind}.zip")
        # The metadata goes last: an artifact without it is invisible.
        _atomic_write(self.root / "artifacts" / f"{key}.json", json.dumps(meta).encode(), self.tmp)

    # -- no-change shortcut: build inputs -> finished artifact -------------------
    def load_inputs_pointer(self, key: str) -> dict[str, Any] | None:
        """What a build with exactly these inputs produced, or None (missing or damaged)."""
        path = self.root / "artifacts" / f"{key}.inputs"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data["artifact"], str):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        _touch(path)
        return data

    def save_inputs_pointer(self, key: str, data: dict[str, Any]) -> None:
        _atomic_write(self.root / "artifacts" / f"{key}.inputs", json.dumps(data).encode(), self.tmp)

    # -- maintenance -----------------------------------------------------------
    def info(self) -> dict[str, dict[str, int]]:
        out = {}
        for d in KINDS:
            n, size = _du(self.root / d)
            out[d] = {"entries": _count_entries(self.root / d, d), "files": n, "bytes": size}
        return out

    def clean(self) -> int:
        with self._lock(exclusive=True):
            _n, size = _du(self.root)
            for d in KINDS:
                shutil.rmtree(self.root / d, ignore_errors=True)
                (self.root / d).mkdir(parents=True, exist_ok=True)
            return size

    def prune(self, max_bytes: int) -> int:
        """Remove least recently used entries until the cache fits; returns bytes freed."""
        with self._lock(exclusive=True):
            freed = self._sweep_tmp(max_age=0) + self._drop_orphan_packs()
            entries = []
            for kind in ("artifacts", "dists", "members", "pyc", "resolutions"):
                for path, size, used in _entries(self.root / kind, kind):
                    entries.append((used, size, path))
            total = sum(size for _u, size, _p in entries)
            for _used, size, path in sorted(entries, key=lambda e: (e[0], e[1], str(e[2]))):
                if total <= max_bytes:
                    break
                for p in path if isinstance(path, list) else [path]:
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        with contextlib.suppress(OSError):
                            p.unlink()
                total -= size
                freed += size
            return freed

    def sweep(self) -> None:
        """Drop in-flight files left by killed builds (older than an hour)."""
        self._sweep_tmp(_TMP_MAX_AGE)

    def auto_prune(self, max_bytes: int = DEFAULT_MAX_BYTES, every: float = 86400.0) -> None:
        """Keep the cache under the default cap; measured at most once a day."""
        stamp = self.root / "last-prune"
        try:
            if time.time() - stamp.stat().st_mtime < every:
                return
        except OSError:
            # First build with this cache: nothing to measure yet (a walk costs ~0.2 s).
            stamp.touch()
            return
        stamp.touch()
        if sum(v["bytes"] for v in self.info().values()) > max_bytes:
            self.prune(int(max_bytes * 0.8))

    def _drop_orphan_packs(self) -> int:
        """A pack without its index (or the reverse) is never read: garbage of a killed
        build. Only called under the exclusive lock, when no build is between the renames."""
        freed = 0
        for parts, complete in _pack_units(self.root / "members" / "packs"):
            if not complete:
                for f in parts:
                    with contextlib.suppress(OSError):
                        size = f.stat().st_size
                        f.unlink()
                        freed += size
        return freed

    def _sweep_tmp(self, max_age: float) -> int:
        freed = 0
        now = time.time()
        for p in self.tmp.iterdir() if self.tmp.exists() else []:
            try:
                if max_age and now - p.stat().st_mtime < max_age:
                    continue
                _n, size = _du(p) if p.is_dir() else (1, p.stat().st_size)
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
                freed += size
            except OSError:
                continue
        return freed


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _pack_units(packs: Path) -> Iterator[tuple[list[Path], bool]]:
    """Each pack with its index, as the files present and whether both are. One without
    the other (its build was killed between the two renames) is never read."""
    stems = {f.stem for pattern in ("*.pack", "*.idx") for f in packs.glob(pattern)} if packs.exists() else set()
    for stem in sorted(stems):
        pair = [packs / f"{stem}.pack", packs / f"{stem}.idx"]
        present = [f for f in pair if f.exists()]
        yield present, len(present) == 2


def _pack_entries(packs: Path) -> Iterator[tuple[Any, int, float]]:
    """A pack and its index are one unit, last used when its index was touched; a half
    pair counts as unused."""
    for parts, complete in _pack_units(packs):
        used = parts[1].stat().st_mtime if complete else 0.0
        yield parts, sum(p.stat().st_size for p in parts), used


def _du(path: Path) -> tuple[int, int]:
    n = size = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                size += Path(dirpath, f).lstat().st_size
                n += 1
    return n, size


def _count_entries(path: Path, kind: str) -> int:
    if kind == "artifacts":  # finished zips; their input pointers are bookkeeping
        return sum(1 for _ in path.glob("*.json")) if path.exists() else 0
    return sum(1 for _ in _entries(path, kind))


def _entries(path: Path, kind: str) -> Iterator[tuple[Any, int, float]]:
    """(removable unit, bytes, last use) for each cache entry of a kind."""
    if not path.exists():
        return
    if kind == "dists":
        for d in path.iterdir():
            m = d / "manifest.json"
            used = m.stat().st_mtime if m.exists() else 0.0
            yield d, _du(d)[1], used
    elif kind == "artifacts":
        for meta in path.glob("*.json"):
            key = meta.stem
            parts = [meta, *path.glob(f"{key}-*.zip")]
            yield parts, sum(p.stat().st_size for p in parts if p.exists()), meta.stat().st_mtime
        for pointer in path.glob("*.inputs"):
            st = pointer.stat()
            yield pointer, st.st_size, st.st_mtime
    elif kind == "members":
        for sub in path.iterdir():
            if sub.name == "packs":
                yield from _pack_entries(sub)
                continue
            for b in sub.iterdir() if sub.is_dir() else []:
                st = b.stat()
                yield b, st.st_size, st.st_mtime
    elif kind == "pyc":
        for sub in path.iterdir():
            for b in sub.glob("*.pyc") if sub.is_dir() else []:
                parts = [b, b.with_suffix(".sha256")]
                yield parts, sum(p.stat().st_size for p in parts if p.exists()), b.stat().st_mtime
    elif kind == "tmp":
        for p in path.iterdir():
            yield p, _du(p)[1] if p.is_dir() else p.stat().st_size, p.stat().st_mtime
    else:
        for f in path.glob("*.json"):
            st = f.stat()
            yield f, st.st_size, st.st_mtime
