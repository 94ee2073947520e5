"""The --exclude / --keep patterns: one meaning for the user's code and the dependencies.

fnmatch, case-sensitive like zip names, with gitignore's reading of slashes:
- a pattern without "/" (`*.pyi`, `tests`, `tests/`) matches any path component, so
  it takes a file or a whole folder wherever it is;
- a pattern with "/" inside (`pkg/sub`, `app/*`, `/handler.py`) matches the path from
  the root (a leading "/" only says so), and a folder it matches takes everything below;
- a trailing "/" and surrounding spaces are ignored; an empty pattern matches nothing.

Not `pathspec`: gitignore's `*` stops at "/", fnmatch's does not, and the README and
--help promise fnmatch (`app/*` leaves out `app/a/b.py` too).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["PathPattern"]


@dataclass(frozen=True)
class PathPattern:
    text: str  # as the user wrote it (shown in notes: "--exclude *.txt")
    glob: str = field(init=False)  # what is matched: no spaces, no trailing or leading "/"
    anchored: bool = field(init=False)  # has a "/": matches the path from the root

    def __post_init__(self) -> None:
        glob = self.text.strip().rstrip("/")
        object.__setattr__(self, "anchored", "/" in glob)
        object.__setattr__(self, "glob", glob.lstrip("/"))

    def matches(self, path: str, *, also: Iterable[str] = (), last_only: bool = False) -> bool:
        """Whether `path` (a "/"-separated relative name) is matched; an anchored pattern
        may also match one of the other names in `also` (the same file under a prefix).

        `last_only`: the caller walks a tree and never descends into a folder already
        matched, so for an unanchored pattern the last component is enough (checking
        every component again would be quadratic in the depth).
        """
        glob = self.glob
        if not glob:
            return False
        if not self.anchored:
            parts = path.rsplit("/", 1)[-1:] if last_only else path.split("/")
            return any(fnmatch.fnmatchcase(part, glob) for part in parts)
        return any(
            fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(name, glob + "/*")
            for name in (path, *also)
        )
