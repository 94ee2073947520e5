"""A directory artifact: its files listed by walking it (never following a link), read on demand."""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lambdapack.inspect.entries import (
    ArchiveLimits,
    ArtifactError,
    Entry,
    Listing,
    display_name,
    too_many_entries,
)
from lambdapack.inspect.findings import ERROR, WARNING

if TYPE_CHECKING:
    from lambdapack.inspect.zipsource import Keeper

__all__ = ["DirSource"]


def _walk(root: str) -> Iterator[tuple[str, list[str], list[str]]]:
    def fail(e: OSError) -> None:
        raise ArtifactError(f"cannot read {e.filename}: {e.strerror}")

    # followlinks=False: a symlinked directory is listed as a link, never entered,
    # so nothing outside the root is ever read.
    yield from os.walk(root, onerror=fail, followlinks=False)


class DirSource:
    """The directory behind an Artifact; it holds no open file."""

    kind: Literal["dir"] = "dir"

    def __init__(self, path: Path, limits: ArchiveLimits, listing: Listing) -> None:
        self.path = path
        self.limits = limits
        self.listing = listing

    def close(self) -> None:
        pass

    def verify(self, entries: list[Entry], keeper: Keeper | None = None) -> None:
        # A directory's files are read from the filesystem: nothing to check beyond the rules,
        # and nothing to keep (reading a file again costs no inflation).
        pass

    def list_entries(self) -> None:
        """List every file and directory under the root into the listing (raises ArtifactError)."""
        root = os.fspath(self.path)
        count = 0
        for dirpath, dirnames, filenames in _walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            for base in sorted(dirnames + filenames):
                name = posixpath.join(rel_dir, base) if rel_dir else base
                count += 1
                if count > self.limits.max_entries:
                    raise too_many_entries(self.path, f"more than {self.limits.max_entries}", self.limits)
                entry = self._entry(Path(dirpath) / base, name)
                if entry is not None:
                    self.listing.add(entry)

    def _entry(self, full: Path, name: str) -> Entry | None:
        """The entry for one file, None for a special file (reported and skipped)."""
        try:
            st = full.lstat()
        except OSError as e:
            raise ArtifactError(f"cannot read {display_name(name)} in {self.path}: {e.strerror}") from e
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                self.listing.report("LP306", WARNING, name, "file name is not valid UTF-8", "rename the file to ASCII")
        if "\\" in full.name:
            self.listing.report(
                "LP302",
                ERROR,
                name,
                "backslash in the file name: Lambda keeps it as a literal character, so imports through it fail",
                "rename the file",
            )
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            size = len(os.fsencode(full.readlink()))
        elif stat.S_ISDIR(mode):
            size = 0
        elif stat.S_ISREG(mode):
            size = st.st_size
        else:
            self.listing.report(
                "LP309",
                WARNING,
                name,
                "special file (FIFO, socket or device); it cannot go into a zip and was skipped",
                "remove it from the package directory",
            )
            return None
        return Entry(name, size, size, stat.S_IMODE(mode) or None, stat.S_ISDIR(mode), stat.S_ISLNK(mode))

    def read(self, entry: Entry, limit: int | None) -> bytes:
        full = self.path / entry.name
        try:
            if entry.is_symlink:
                return os.fsencode(full.readlink())[: limit if limit is not None else None]
            # O_NOFOLLOW: the entry was a regular file when listed; never follow a link
            # swapped in since. O_NONBLOCK: never hang on a FIFO swapped in.
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as f:
                return f.read() if limit is None else f.read(limit)
        except OSError as e:
            raise ArtifactError(f"cannot read {display_name(entry.name)} in {self.path}: {e.strerror}") from e
