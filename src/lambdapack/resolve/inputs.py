"""The dependency input model: every format (requirements files, pyproject.toml [project]
tables, uv.lock, poetry.lock, Pipfile.lock, pylock.toml) is read into one `Requirements`.

A `Requirements` is a requirements file that uv installs, plus the top-level requirements we
parsed ourselves, so that after installing we can prove that nothing requested for the target
was dropped. The readers live beside it: `requirementsfile`, `pyprojectfile`, `lockfiles` and
one module per lock format; `detect` chooses one when none is given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["MAX_REQUIREMENTS_BYTES", "STDIN_NAME", "Piped", "Requirements", "display_path"]

# A lock export of a large project is about 1 MB; ten times that is not a requirements
# file but a mistake (a log, a binary, /dev/zero), and must not be read into memory.
MAX_REQUIREMENTS_BYTES = 10 * 1024 * 1024
STDIN_NAME = "-"


@dataclass(frozen=True)
class Requirements:
    kind: str  # "requirements" | "pyproject" | "lock" | "none"
    source: Path | None
    top_level: tuple[Requirement, ...]
    extras: tuple[str, ...] = ()
    included: tuple[Path, ...] = ()  # files pulled in with -r / -c, for cache keys
    # The file uv reads when it is not `source`: a pipe's content, written once to the
    # build's work directory (a pipe cannot be read again, and uv cannot open our /dev/fd).
    uv_file: Path | None = None
    groups: tuple[str, ...] = ()  # PEP 735 dependency groups taken with the main dependencies
    # Said once the input is read (a uv.lock re-locked in a temporary copy with --relock).
    notes: tuple[str, ...] = ()
    # The file names every distribution to install (a uv.lock export): installed with --no-deps, as
    # `uv sync` installs a lock, so a built project's wheel pulls in nothing the lock does not pin.
    closed: bool = False

    @property
    def display_name(self) -> str:
        """The input as the user named it ("standard input" for `-`)."""
        return display_path(self.source) if self.source is not None else "no dependencies"

    def describe(self) -> str:
        if self.source is None:
            return "no dependencies"
        parts = [f"extras: {', '.join(self.extras)}"] if self.extras else []
        parts += [f"groups: {', '.join(self.groups)}"] if self.groups else []
        extra = f" ({'; '.join(parts)})" if parts else ""
        return f"{self.display_name} [{self.kind}]{extra}"


def display_path(path: Path) -> str:
    return "standard input" if str(path) == STDIN_NAME else str(path)



@dataclass(frozen=True)
class Piped:
    """Requirements that arrived through a pipe: read once, kept for the whole build.

    `text` is what uv reads (written to the build's work directory): the input with
    relative `-r`/`-c` includes made absolute, because the copy lives elsewhere and a
    pipe has no directory of its own: they, like the package paths uv resolves itself,
    mean paths relative to `base`, the current directory.
    """

    given: Path  # "-" or "/dev/fd/63", as the user wrote it
    text: str
    base: Path

    @property
    def name(self) -> str:
        return display_path(self.given)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
