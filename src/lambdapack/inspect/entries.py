"""What an artifact holds: its entries as Lambda would extract them, and the problems found listing them.

An `Entry` is a plain description that the rules rely on; how to read one belongs
to its source (`zipsource`, `dirsource`). The limits and `ArtifactError` are shared
by both sources: every way an archive can be hostile ends in a finding or in one
`ArtifactError` ("cannot check at all", exit 2), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lambdapack.errors import InputError
from lambdapack.inspect.findings import ERROR, Finding, Severity

__all__ = [
    "DEFAULT_LIMITS",
    "REBUILD",
    "ArchiveLimits",
    "ArtifactError",
    "Entry",
    "Listing",
    "display_name",
    "entry_finding",
    "too_many_entries",
]


class ArtifactError(InputError):
    """The artifact cannot be checked at all (not a zip, corrupt directory, encrypted...)."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 100_000
    # Far above Lambda's 250 MB so that a real oversize package is measured and
    # reported by the size rule (LP101) instead of being called a bomb.
    max_total_uncompressed: int = 2 * 1024**3
    # Deflate tops out near 1032:1 on zeros; real wheels stay well under 20:1 except
    # for padded files, which is why members up to 16 MiB are exempt: shared libraries
    # linked with 2 MiB segment alignment are mostly zeros (pillow 12's libXau: 2.1 MB
    # at 224:1 in a lambdapack-built layer). Small members cannot add up to a bomb
    # anyway: the declared total and every member's real length are enforced.
    max_ratio: int = 200
    ratio_min_size: int = 16 * 1024**2
    max_member: int = 1024**3


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True)
class Entry:
    """One file of an artifact, as Lambda would extract it."""

    name: str  # normalised POSIX relative path; undecodable bytes kept via surrogateescape
    size: int  # uncompressed size as declared
    compressed_size: int
    mode: int | None  # permission bits, None when the zip was not made on Unix or has none
    is_dir: bool
    is_symlink: bool


def display_name(name: str) -> str:
    """A name safe to print on one line: undecodable bytes as \\xNN, control characters escaped.

    Names that need no escaping are returned unchanged; when anything is escaped,
    backslashes are doubled too so the escaped form is unambiguous.
    """
    if name.isprintable() and not any("\udc80" <= c <= "\udcff" for c in name):
        return name
    out: list[str] = []
    for c in name:
        if "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c == "\\":
            out.append("\\\\")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(repr(c)[1:-1])
    return "".join(out)


def entry_finding(code: str, severity: Severity, name: str, message: str, fix: str) -> Finding:
    """A finding about one entry (or, with name "", the whole artifact), its name made printable."""
    return Finding(code, severity, display_name(name) if name else "", None, message, fix)


REBUILD = "rebuild the artifact on Linux with `lambdapack build` (or `zip -r` from inside the package root)"


def too_many_entries(path: Path, n: int | str, limits: ArchiveLimits) -> ArtifactError:
    return ArtifactError(
        f"{path} has {n} entries, over the limit of {limits.max_entries}; refusing to check it",
        hint="an artifact this large is almost certainly broken or hostile",
    )


class Listing:
    """The entries a source lists, by name, and the problems found on the way.

    A problem can be found again when a member is read a second time (a head, then
    the whole of it): `report_once` keeps one finding per code and entry.
    """

    def __init__(self) -> None:
        self.by_name: dict[str, Entry] = {}
        self.problems: list[Finding] = []
        self._reported: set[tuple[str, str]] = set()

    def add(self, entry: Entry) -> None:
        if entry.name in self.by_name:
            self.report_once(
                "LP305",
                ERROR,
                entry.name,
                "duplicate entry name; which copy is extracted depends on the unzip tool",
                REBUILD,
            )
            # The last copy wins, as with Info-ZIP and Python's zipfile; re-inserting
            # puts it where it appeared last. (A list filter here would be quadratic
            # on an archive made of duplicates.)
            del self.by_name[entry.name]
        self.by_name[entry.name] = entry

    def report(self, code: str, severity: Severity, name: str, message: str, fix: str) -> None:
        self.problems.append(entry_finding(code, severity, name, message, fix))

    def report_once(self, code: str, severity: Severity, name: str, message: str, fix: str) -> None:
        if (code, name) not in self._reported:
            self._reported.add((code, name))
            self.report(code, severity, name, message, fix)
