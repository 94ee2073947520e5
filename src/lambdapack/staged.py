"""The one model of a file on its way into an artifact, and the text-valued choices.

Every stage after resolving speaks in `StagedFile`: staging creates them, slimming
and bytecode compilation replace them, verification reads them, packing writes them
and the size report counts them. A zip being *read* is modelled apart
(`lambdapack.inspect.archive`), because it says what a zip holds, not where a file
comes from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StagedFile", "TextChoice"]


@dataclass(frozen=True)
class StagedFile:
    arcname: str  # POSIX path inside the zip
    path: Path  # file on disk
    executable: bool
    size: int
    distribution: str | None  # "name version" of the owner, None for user code

    @property
    def top_level(self) -> str:
        return self.arcname.split("/", 1)[0]


class TextChoice(str, enum.Enum):
    """An option whose values are words (a slim profile, a build kind, a severity).

    It equals, prints and serialises as its word on every Python we run on: a plain
    `(str, Enum)` prints as `Class.MEMBER` from 3.12 on, and `enum.StrEnum` is 3.11+.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    # Enum hashes by member name; hashing by the word keeps `{"error": ...}[Severity.ERROR]` working.
    def __hash__(self) -> int:
        return hash(str(self.value))
