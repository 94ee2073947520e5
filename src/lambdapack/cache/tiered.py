"""The local cache in front of a remote one (cachestore.CacheStore): the local cache answers
first; a remote hit is verified, then fills it, so the next build does not ask the remote.

The remote holds what lets a build with an empty local cache take the no-change shortcut
without running uv: inputs pointers, resolution records and finished artifacts (meta and
zips). Installed distributions and bytecode stay local (docs/remote-cache.md measures why).
Records are written after the zips they name; every object is verified before use, and a
damaged, stale or dangling one is a miss that this build's result overwrites.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lambdapack.cache.local import UNPINNED_TTL_SECONDS, Cache, CachedDist
from lambdapack.cache.remote import Remote
from lambdapack.cache.remotelayout import RecordKind, blob_key, open_envelope, record_key, seal

if TYPE_CHECKING:
    from lambdapack.cache.records import ArtifactMeta, InputsPointer, InterpreterRecord, ResolutionRecord
    from lambdapack.pack.members import BlobStore

__all__ = ["TieredCache"]

R = TypeVar("R")


class TieredCache:
    def __init__(self, local: Cache, remote: Remote) -> None:
        self.local, self.remote = local, remote
        # Object keys this build found damaged, stale or leading nowhere: its own result replaces them.
        self._replace: set[str] = set()
        # Objects this build asked for and did not get: not asked again (the full path looks again).
        self._missed: set[str] = set()

    @property
    def warnings(self) -> list[str]:
        """What the remote warned about in this build (each once)."""
        return self.remote.warnings

    # -- the local cache's own business ------------------------------------------------
    @property
    def root(self) -> Path:
        return self.local.root

    @property
    def tmp(self) -> Path:
        return self.local.tmp

    @property
    def blobs(self) -> BlobStore:
        return self.local.blobs

    def check_writable(self) -> None:
        self.local.check_writable()

    def using(self) -> AbstractContextManager[None]:
        return self.local.using()

    def sweep(self) -> None:
        self.local.sweep()

    def auto_prune(self, max_bytes: int) -> bool:
        return self.local.auto_prune(max_bytes)

    def load_dist(self, key: str) -> CachedDist | None:
        return self.local.load_dist(key)

    def save_dist(self, key: str, files: Sequence[tuple[str, Path, bool]]) -> CachedDist:
        return self.local.save_dist(key, files)

    def load_pyc(self, key: str) -> tuple[Path, str, int] | None:
        return self.local.load_pyc(key)

    def save_pyc(self, key: str, src: Path, move: bool = False) -> tuple[Path, str]:
        return self.local.save_pyc(key, src, move)

    def load_interpreter(self, minor: str) -> InterpreterRecord | None:
        return self.local.load_interpreter(minor)

    def save_interpreter(self, minor: str, record: InterpreterRecord) -> None:
        self.local.save_interpreter(minor, record)

    def discard_owner(self, path: Path) -> bool:
        return self.local.discard_owner(path)

    # Facts are cheap to learn again and specific to this lambdapack: never shared.
    def load_facts(self, key: str) -> bytes | None:
        return self.local.load_facts(key)

    def save_facts(self, key: str, data: bytes) -> None:
        self.local.save_facts(key, data)

    def load_wheel(self, key: str) -> tuple[str, bytes] | None:
        return self.local.load_wheel(key)

    def save_wheel(self, key: str, filename: str, data: bytes) -> None:
        self.local.save_wheel(key, filename, data)

    # -- records: local first, then the remote -------------------------------------------
    def _record(self, kind: RecordKind, key: str, parse: Callable[[Any], R | None]) -> R | None:
        """A verified record from the remote; a damaged one is one warning and a miss."""
        name = record_key(self.remote.location.prefix, kind, key)
        data = self.remote.get(name) if name not in self._missed else None
        rec = parse(open_envelope(name, data)) if data is not None else None
        if data is not None and rec is None:
            self._damaged(name)
        if rec is None:
            self._missed.add(name)
        return rec

    def _damaged(self, name: str) -> None:
        self._replace.add(name)
        self.remote.warn(f"remote cache: s3://{self.remote.location.bucket}/{name} is damaged; "
                         "not used, and replaced by this build's result")

    def _put_record(self, kind: RecordKind, key: str, record: Any) -> None:
        name = record_key(self.remote.location.prefix, kind, key)
        self.remote.put(name, seal(name, record), replace=name in self._replace)

    def load_inputs_pointer(self, key: str) -> InputsPointer | None:
        from lambdapack.cache.records import InputsPointer

        rec = self.local.load_inputs_pointer(key)
        if rec is not None:
            return rec
        rec = self._record("inputs", key, InputsPointer.from_json)
        if rec is not None:
            # A pointer this build saves again did not lead to a finished zip here: replace it.
            self._replace.add(record_key(self.remote.location.prefix, "inputs", key))
            self.local.save_inputs_pointer(key, rec)
        return rec

    def save_inputs_pointer(self, key: str, pointer: InputsPointer) -> None:
        self.local.save_inputs_pointer(key, pointer)
        self._put_record("inputs", key, pointer.to_json())

    def load_resolution(self, key: str, pinned: bool) -> ResolutionRecord | None:
        from lambdapack.cache.records import ResolutionRecord

        rec = self.local.load_resolution(key, pinned)
        if rec is not None:
            return rec
        rec = self._record("resolutions", key, ResolutionRecord.from_json)
        if rec is None:
            return None
        if not pinned:
            if time.time() - rec.created > UNPINNED_TTL_SECONDS:
                self._replace.add(record_key(self.remote.location.prefix, "resolutions", key))
                return None  # stale: this build resolves again and stores the fresh one
            return rec  # not copied: the local copy would be stamped fresh, and outlive its time
        self.local.save_resolution(key, rec)
        return rec

    def save_resolution(self, key: str, record: ResolutionRecord) -> None:
        self.local.save_resolution(key, record)
        self._put_record("resolutions", key, dataclasses.replace(record, created=time.time()).to_json())

    # -- artifacts: the meta record names its zips by sha256 ------------------------------
    def load_artifact(self, key: str) -> tuple[ArtifactMeta, list[Path]] | None:
        from lambdapack.cache.records import ArtifactMeta

        hit = self.local.load_artifact(key)
        if hit is not None:
            return hit
        meta = self._record("artifacts", key, ArtifactMeta.from_json)
        if meta is None:
            return None
        with self._fetched(meta) as zips:
            if zips is None:
                self._missed.add(record_key(self.remote.location.prefix, "artifacts", key))
                return None
            self.local.save_artifact(key, meta, zips)
        return self.local.load_artifact(key)

    @contextlib.contextmanager
    def _fetched(self, meta: ArtifactMeta) -> Iterator[list[tuple[str, Path]] | None]:
        """The artifact's zips from the remote, each verified by size and sha256, in the local
        cache's tmp/ (removed after); None when one is missing or damaged."""
        got: list[tuple[str, Path]] = []
        try:
            for o in meta.outputs:
                name = blob_key(self.remote.location.prefix, o.sha256)
                fetched = self.remote.get_file(name, self.local.tmp)
                if fetched is None:
                    self._missed.add(name)
                    yield None
                    return
                path, sha, size = fetched
                got.append((o.kind, path))
                if sha != o.sha256 or size != o.zipped_bytes:
                    self._missed.add(name)
                    self._damaged(name)
                    yield None
                    return
            yield got
        finally:
            for _kind, path in got:
                with contextlib.suppress(OSError):
                    path.unlink()

    def save_artifact(self, key: str, meta: ArtifactMeta, zips: Sequence[tuple[str, Path]]) -> None:
        self.local.save_artifact(key, meta, zips)
        if not self.remote.writable:
            return
        shas = {o.kind: o.sha256 for o in meta.outputs}
        for kind, path in zips:
            name = blob_key(self.remote.location.prefix, shas[kind])
            # Content-addressed: a blob already there is this one (unless this build found it damaged).
            if name in self._replace or self.remote.exists(name) is False:
                self.remote.put(name, path, replace=name in self._replace)
        self._put_record("artifacts", key, meta.to_json())
