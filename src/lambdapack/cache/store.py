"""The build cache as the build sees it: one protocol, whatever keeps the entries.

`cache.Cache` (a local directory) is the first implementation. A remote store (S3, a
shared team cache) is one more class with these methods, typically a local `Cache` in
front of the remote one; the build never changes, because it names no path in the cache
(only `root`, to keep the cache out of source walks and to name it in errors) and never
builds a record by hand (cacherecords).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from lambdapack.cache.local import CachedDist
from lambdapack.cache.records import ArtifactMeta, InputsPointer, InterpreterRecord, ResolutionRecord
from lambdapack.pack.members import BlobStore

__all__ = ["CacheStore"]


class CacheStore(Protocol):
    @property
    def root(self) -> Path:
        """The local directory the store keeps its files in."""

    @property
    def tmp(self) -> Path:
        """Where a build's work directory goes: swept when a killed build leaves it."""

    @property
    def blobs(self) -> BlobStore:
        """Compressed zip members, by content and level."""

    def check_writable(self) -> None: ...
    def using(self) -> AbstractContextManager[None]:
        """Held for a whole build (shared): prune and clean wait for it."""

    def sweep(self) -> None: ...
    def auto_prune(self, max_bytes: int) -> bool: ...

    def load_resolution(self, key: str, pinned: bool) -> ResolutionRecord | None: ...
    def save_resolution(self, key: str, record: ResolutionRecord) -> None: ...

    def load_dist(self, key: str) -> CachedDist | None: ...
    def save_dist(self, key: str, files: Sequence[tuple[str, Path, bool]]) -> CachedDist: ...

    def load_pyc(self, key: str) -> tuple[Path, str, int] | None: ...
    def save_pyc(self, key: str, src: Path, move: bool = False) -> tuple[Path, str]: ...

    def load_artifact(self, key: str) -> tuple[ArtifactMeta, list[Path]] | None: ...
    def save_artifact(self, key: str, meta: ArtifactMeta, zips: Sequence[tuple[str, Path]]) -> None: ...

    def load_inputs_pointer(self, key: str) -> InputsPointer | None: ...
    def save_inputs_pointer(self, key: str, pointer: InputsPointer) -> None: ...

    def load_interpreter(self, minor: str) -> InterpreterRecord | None:
        """The interpreter found for "3.12" before, if its file has not changed since."""

    def save_interpreter(self, minor: str, record: InterpreterRecord) -> None: ...

    def load_facts(self, key: str) -> bytes | None:
        """What verification learnt of a set of files (inspect.filefacts), local only."""

    def save_facts(self, key: str, data: bytes) -> None: ...

    def load_wheel(self, key: str) -> tuple[str, bytes] | None:
        """A wheel built from an sdist for a target (--build-native): (file name, bytes), local only."""

    def save_wheel(self, key: str, filename: str, data: bytes) -> None: ...

    def discard_owner(self, path: Path) -> bool:
        """Drop the entry that holds `path` (a file found damaged); False if none does."""
