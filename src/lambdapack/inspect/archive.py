"""Open a Lambda artifact (a zip built by any tool, or a directory) for checking.

An `Artifact` is what the rules see: its entries as Lambda would extract them, a way
to read each one, and the problems found on the way. Nothing here writes to disk;
the reading is done by its source (`zipsource` for a zip, `dirsource` for a
directory), and what makes an entry unsafe to place by `placement`.

Every way an archive can be hostile ends in either a finding in
``Artifact.problems`` (and the entry excluded when it cannot be placed safely) or
one `ArtifactError` ("cannot check at all", exit 2) — never a traceback.
"""

from __future__ import annotations

import stat
from pathlib import Path
from types import TracebackType
from typing import Literal

from lambdapack.inspect.dirsource import DirSource
from lambdapack.inspect.entries import (
    DEFAULT_LIMITS,
    ArchiveLimits,
    ArtifactError,
    Entry,
    Listing,
    display_name,
)
from lambdapack.inspect.filefacts import FileFacts
from lambdapack.inspect.findings import ERROR, WARNING
from lambdapack.inspect.keptreads import KeptReads
from lambdapack.inspect.placement import MAX_SYMLINK_TARGET, escapes
from lambdapack.inspect.zipsource import ZipSource

__all__ = ["Artifact", "open_artifact"]


class Artifact:
    """An opened zip or directory. Use as a context manager; not thread-safe (one file handle)."""

    def __init__(self, source: ZipSource | DirSource) -> None:
        listing = source.listing
        self.path = source.path
        self.kind: Literal["zip", "dir"] = source.kind
        self.limits = source.limits
        self._source = source
        self._listing = listing
        self._by_name = listing.by_name
        self.entries: list[Entry] = list(self._by_name.values())
        self.problems = listing.problems  # the listing's own list: reads append to it
        self._kept = KeptReads()

    def __enter__(self) -> Artifact:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    def entry(self, name: str) -> Entry:
        return self._by_name[name]

    def head(self, name: str, n: int = 64) -> bytes:
        return self.read(name, n)

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The member's bytes (the first `limit` of them when given).

        A symlink reads as its target; a directory as b"". A member that is corrupt,
        lies about its size or exceeds the limits reads as b"" and adds a finding.
        Raises KeyError for a name not in `entries`.
        """
        entry = self._by_name[name]
        if entry.is_dir or limit == 0:
            return b""
        kept = self._kept.get(name, entry.size, limit)
        return kept if kept is not None else self._source.read(entry, limit)

    @property
    def facts(self) -> FileFacts:
        """What `verify` learnt of the members' content while it had their bytes, by member name."""
        return self._kept.facts

    def verify(self) -> None:
        """Read every zip member once, start to end (CRC-32, sizes, local headers,
        overlaps); findings go to `problems` and a damaged member then reads as b"".

        The rules read only heads and prefixes, so this is the one pass that sees every
        byte (Lambda's unzip does too). Idempotent; nothing to do for a directory.
        """
        self._source.verify(self.entries, self._kept)

    def _check_symlinks(self) -> None:
        self.entries = list(self._by_name.values())
        links: dict[str, str] = {}
        for e in self.entries:
            if e.is_symlink:
                raw = self.read(e.name, MAX_SYMLINK_TARGET)
                links[e.name] = raw.decode("utf-8", "surrogateescape")
        for name, target in links.items():
            bad = escapes(name, target, links)
            self._listing.report(
                "LP303",
                ERROR if bad else WARNING,
                name,
                f"symbolic link to {display_name(target)!r}"
                + (", outside the extraction root" if bad else "; Lambda extracts it as a link, most packaging tools do not"),
                "replace the link with the file it points to" if not bad else "remove the link; it points outside the package",
            )
        # An entry written through a symlinked parent ("lib -> /tmp", then "lib/x")
        # lands wherever the link points: the classic zip-slip through a link.
        if links:
            kept: list[Entry] = []
            for e in self.entries:
                parts = e.name.split("/")
                via = next(
                    ("/".join(parts[:i]) for i in range(1, len(parts)) if "/".join(parts[:i]) in links), None
                )
                if via is None:
                    kept.append(e)
                    continue
                self._listing.report(
                    "LP301",
                    ERROR,
                    e.name,
                    f"path traversal: written through the symbolic link {display_name(via)!r}",
                    "remove the link and the entries below it",
                )
                del self._by_name[e.name]
            self.entries = kept


def open_artifact(path: Path, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> Artifact:
    """Open a zip (by content, whatever its suffix) or a directory for checking.

    Raises ArtifactError when it cannot be checked at all: missing or unreadable,
    neither a directory nor a zip, a truncated or corrupt central directory, an
    encrypted member (Lambda cannot extract it), more than `limits.max_entries`.
    """
    try:
        st = path.stat()
    except OSError as e:
        raise ArtifactError(f"cannot open {path}: {e.strerror}") from e
    listing = Listing()
    source: ZipSource | DirSource
    if stat.S_ISDIR(st.st_mode):
        source = DirSource(path, limits, listing)
        source.list_entries()
    elif stat.S_ISREG(st.st_mode):
        try:
            # Held open for the artifact's life (closed by Artifact.close).
            file = open(path, "rb")  # noqa: SIM115
        except OSError as e:
            raise ArtifactError(f"cannot open {path}: {e.strerror}") from e
        source = ZipSource(path, file, limits, listing)
        try:
            source.list_entries(st.st_size)
        except ArtifactError:
            source.close()
            raise
        except OSError as e:
            source.close()
            raise ArtifactError(f"cannot read {path}: {e.strerror or e}") from e
    else:
        raise ArtifactError(f"{path} is neither a zip file nor a directory")
    art = Artifact(source)
    try:
        art._check_symlinks()
    except BaseException:
        art.close()
        raise
    return art
