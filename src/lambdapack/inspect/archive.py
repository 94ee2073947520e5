"""Open a Lambda artifact (a zip built by any tool, or a directory) for checking.

Nothing here writes to disk: members are listed from the zip's central directory
and read by streaming their compressed bytes through a decompressor, so a hostile
archive cannot plant files, and every size it declares is treated as a claim that
the decompressor enforces rather than as a fact.

The zip format is parsed here instead of with :mod:`zipfile` because zipfile
raises on a single member name that is invalid UTF-8 (making the whole artifact
uncheckable), trusts the local headers' names over what Lambda extracts, and gives
no way to stop listing at a limit before it has built every ``ZipInfo``.

Reference: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12
(central directory), 4.3.14-4.3.16 (zip64 end records), 4.5.3 (zip64 extra).

Every way an archive can be hostile ends in either a :class:`Finding` in
``Artifact.problems`` (and the entry excluded when it cannot be placed safely) or
one :class:`ArtifactError` ("cannot check at all", exit 2) — never a traceback.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import stat
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from lambdapack.errors import InputError
from lambdapack.inspect.findings import ERROR, WARNING, Finding, Severity

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveLimits",
    "Artifact",
    "ArtifactError",
    "Entry",
    "display_name",
    "open_artifact",
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


# Private per-entry facts needed to read a zip member; kept apart from Entry so
# that Entry stays a plain description that rules can rely on.
@dataclass(frozen=True)
class _ZipMember:
    raw_name: bytes
    method: int
    crc: int
    header_offset: int  # absolute, prefix ("self-extractor stub") already added
    flags: int = 0


@dataclass(frozen=True)
class _LocalHeader:
    """The fields of a local file header that must agree with the central directory."""

    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    data_offset: int  # absolute offset of the member's data


_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CDH = struct.Struct("<4s4B4HL2L5H2L")
_LFH = struct.Struct("<4s2B4HL2L2H")
_SIG_EOCD = b"PK\x05\x06"
_SIG_EOCD64_LOC = b"PK\x06\x07"
_SIG_EOCD64 = b"PK\x06\x06"
_SIG_CDH = b"PK\x01\x02"
_SIG_LFH = b"PK\x03\x04"
_FLAG_ENCRYPTED = 0x1
_FLAG_DATA_DESCRIPTOR = 0x8  # CRC and sizes follow the data; the local header holds zeros
_FLAG_UTF8 = 0x800
_UNIX = 3
_STORED, _DEFLATED = 0, 8
_METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstd",
    95: "xz",
    99: "AES",
}
_PATH_MAX = 4096  # Linux cannot create a longer path, so a longer name is never extracted
_CHUNK = 1 << 16
_MAX_SYMLINK_TARGET = 4096
_MAX_SYMLINK_HOPS = 40  # Linux's own limit before ELOOP


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


def _finding(code: str, severity: Severity, name: str, message: str, fix: str) -> Finding:
    return Finding(code, severity, display_name(name) if name else "", None, message, fix)


_REBUILD = "rebuild the artifact on Linux with `lambdapack build` (or `zip -r` from inside the package root)"


@dataclass(frozen=True)
class _Placed:
    """Where a raw name lands when extracted, or why it must not be extracted."""

    name: str | None
    is_dir: bool
    problem: Finding | None


def _place(name: str) -> _Placed:
    """Normalise an entry name the way an extractor on Linux would, or reject it."""
    shown = name
    is_dir = name.endswith("/")

    def unplaceable(why: str, code: str = "LP302", shown: str = shown, fix: str = _REBUILD) -> _Placed:
        return _Placed(None, is_dir, _finding(code, ERROR, shown, why, fix))

    if "\x00" in name:
        return unplaceable("entry name contains a NUL byte; no Linux extractor can create it")
    if len(name.encode("utf-8", "surrogateescape")) > _PATH_MAX:
        return unplaceable(f"entry name longer than Linux's PATH_MAX ({_PATH_MAX} bytes)", shown=shown[:200] + "…")
    drive = len(name) >= 2 and name[1] == ":" and name[0].isalpha()
    if name.startswith(("/", "\\")) or drive:
        return unplaceable("absolute path; unzip tools strip or refuse it, so where it lands is tool-dependent")
    parts: list[str] = []
    for seg in name.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                return unplaceable(
                    "path traversal: the entry would be written outside the extraction directory",
                    code="LP301", fix="remove the entry; a legitimate package never contains '../' names",
                )
            parts.pop()
            continue
        parts.append(seg)
    if not parts:
        return _Placed(None, True, None)  # "./" and the like: the root itself
    problem = None
    if "\\" in name:
        # Lambda extracts on Linux, where "\" is an ordinary character: "pkg\mod.py"
        # becomes one file with that literal name and `import pkg.mod` fails.
        problem = _finding(
            "LP302",
            ERROR,
            shown,
            "backslash in the entry name (a zip made on Windows): Lambda extracts it as one file with a literal '\\' in its name",
            _REBUILD,
        )
    return _Placed("/".join(parts), is_dir, problem)


def _escapes(link: str, target: str, links: dict[str, str]) -> bool:
    """Whether following symlink `link` -> `target` leaves the root, following the
    artifact's own symlinks on the way (a chain of individually harmless links can escape)."""
    if target.startswith("/") or not target:
        return True
    pending = target.split("/")
    stack = link.split("/")[:-1]
    hops = 0
    while pending:
        seg = pending.pop(0)
        if seg in ("", "."):
            continue
        if seg == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(seg)
        here = "/".join(stack)
        if here in links:
            hops += 1
            if hops > _MAX_SYMLINK_HOPS:
                return True  # a loop: treat as hostile rather than spin
            nxt = links[here]
            if nxt.startswith("/") or not nxt:
                return True
            stack.pop()
            pending = nxt.split("/") + pending
    return False


class Artifact:
    """An opened zip or directory. Use as a context manager; not thread-safe (one file handle)."""

    def __init__(self, path: Path, kind: Literal["zip", "dir"], limits: ArchiveLimits) -> None:
        self.path = path
        self.kind: Literal["zip", "dir"] = kind
        self.limits = limits
        self.entries: list[Entry] = []
        self.problems: list[Finding] = []
        self._by_name: dict[str, Entry] = {}
        self._zip: dict[str, _ZipMember] = {}
        self._file: BinaryIO | None = None
        self._inflated = 0  # bytes actually produced by all reads, against max_total_uncompressed
        self._reported: set[tuple[str, str]] = set()
        self._bombs: set[str] = set()  # members whose declared size or ratio is over the limits
        self._corrupt: set[str] = set()  # members `verify` found damaged: they read as b""
        self._verified = False
        self._cd_start = 0  # where the central directory starts: member data must end before it
        self._overlap_reported = False

    # -- public ----------------------------------------------------------------

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
        if self._file is not None:
            self._file.close()
            self._file = None

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
        if self.kind == "dir":
            return self._read_dir(entry, limit)
        return self._read_zip(entry, limit)

    def verify(self) -> None:
        """Read every zip member once, start to end, in bounded memory: its CRC-32, its
        length against its declared size, its local header against the central
        directory, and where its data really lies (overlaps). Findings go to `problems`
        (LP304/LP307); a damaged member then reads as b"".

        The rules read only heads and prefixes, so this is the one pass that sees every
        byte (Lambda's unzip does too). Idempotent; nothing to do for a directory.
        """
        if self._verified or self.kind != "zip":
            return
        self._verified = True
        f = self._file
        if f is None:
            raise ValueError(f"{self.path} is closed")
        spans: list[tuple[int, int, str]] = []
        inflated = 0
        for entry in self.entries:
            member = self._zip.get(entry.name)
            if member is None or member.method not in (_STORED, _DEFLATED) or entry.name in self._bombs:
                continue  # LP308 / LP304 reported at open
            if inflated > self.limits.max_total_uncompressed:
                break  # reported at open (declared total) or below; stop inflating
            try:
                local = _read_local_header(f, member.header_offset)
            # OverflowError: a zip64 offset near 2**64 reaches seek().
            except (OSError, OverflowError, EOFError, ValueError, struct.error) as e:
                self._damaged("LP307", entry.name, f"member data is corrupt: {e}")
                continue
            end = local.data_offset + entry.compressed_size
            spans.append((member.header_offset, end, entry.name))
            if end > self._cd_start:
                self._damaged("LP307", entry.name, "member data is corrupt: it runs into the central directory")
                continue
            try:
                crc, produced, complete = _stream_crc(f, local.data_offset, entry, member.method)
            except (OSError, OverflowError, zlib.error, EOFError, ValueError) as e:
                self._damaged("LP307", entry.name, f"member data is corrupt: {e}")
                continue
            inflated += produced
            if produced > entry.size:
                self._damaged(
                    "LP304", entry.name,
                    f"member inflates to more than its declared {entry.size} bytes "
                    "(a zip bomb, a forged header or corrupt data)",
                    fix="do not deploy this archive; rebuild it from source",
                )  # fmt: skip
            elif produced < entry.size or not complete:
                how = "the compressed data ends early" if not complete else "it is shorter than declared"
                self._damaged("LP307", entry.name, f"member data is corrupt: {how} ({produced} of {entry.size} bytes)")
            elif crc != member.crc:
                self._damaged(
                    "LP307", entry.name,
                    f"member data is corrupt: CRC-32 mismatch (the data gives {crc:08x}, the header says {member.crc:08x})",
                )  # fmt: skip
            mismatch = _local_mismatch(local, member, entry)
            if mismatch is not None and entry.name not in self._corrupt:
                # After the data checks: LP307 is reported once per member, and damaged
                # data (an error) must not hide behind a header warning. Extractors differ
                # in which header they believe, so the zip extracts differently by tool.
                what, severe = mismatch
                self._report_once(
                    "LP307", ERROR if severe else WARNING, entry.name,
                    f"bad local header: it disagrees with the central directory ({what})"
                    + ("" if severe else "; unzip ignores this, streaming extractors reject it"),
                    "rebuild the artifact; the zip was damaged or written by a broken tool",
                )  # fmt: skip
        if not self._overlap_reported:
            _report_overlap(self, spans)

    # -- findings --------------------------------------------------------------

    def _damaged(self, code: str, name: str, message: str,
                 fix: str = "rebuild the artifact; the zip was damaged after it was written") -> None:
        self._corrupt.add(name)
        self._report_once(code, ERROR, name, message, fix)

    def _report_once(self, code: str, severity: Severity, name: str, message: str, fix: str) -> None:
        if (code, name) not in self._reported:
            self._reported.add((code, name))
            self.problems.append(_finding(code, severity, name, message, fix))

    # -- directory ---------------------------------------------------------------

    def _read_dir(self, entry: Entry, limit: int | None) -> bytes:
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

    # -- zip ---------------------------------------------------------------------

    def _read_zip(self, entry: Entry, limit: int | None) -> bytes:
        member = self._zip[entry.name]
        lim = self.limits
        if member.method not in (_STORED, _DEFLATED) or entry.name in self._corrupt:
            return b""  # LP308 reported at open, LP304/LP307 by `verify`
        if limit is None and entry.name in self._bombs:
            # Reported as LP304 at open; a head read is bounded anyway, but inflating
            # the whole of a member declared as a bomb is what the limit is for.
            return b""
        if self._inflated > lim.max_total_uncompressed:
            return b""
        # Read one byte past the declared size so a member that inflates to more
        # than it declares is caught without inflating the rest of it.
        want = entry.size + 1 if limit is None else min(limit, entry.size + 1)
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        try:
            data, at_end = self._inflate(entry, member, want)
        # OverflowError: a zip64 offset near 2**64 reaches seek().
        except (OSError, OverflowError, zlib.error, EOFError, ValueError, struct.error) as e:
            self._report_once(
                "LP307",
                ERROR,
                entry.name,
                f"member data is corrupt: {e}",
                "rebuild the artifact; the zip was damaged after it was written",
            )
            return b""
        self._inflated += len(data)
        if len(data) > entry.size:
            self._report_once(
                "LP304",
                ERROR,
                entry.name,
                f"member inflates to more than its declared {entry.size} bytes (a zip bomb, a forged header or corrupt data)",
                "do not deploy this archive; rebuild it from source",
            )
            return b""
        if self._inflated > lim.max_total_uncompressed:
            self._report_once(
                "LP304",
                ERROR,
                "",
                f"members inflate to more than {lim.max_total_uncompressed} bytes in total",
                "do not deploy this archive; rebuild it from source",
            )
            return b""
        if len(data) < min(want, entry.size):
            how = "the compressed data ends early" if not at_end else "it is shorter than declared"
            self._report_once(
                "LP307",
                ERROR,
                entry.name,
                f"member data is corrupt: {how} ({len(data)} of {entry.size} bytes)",
                "rebuild the artifact; the zip was damaged after it was written",
            )
            return b""
        if len(data) == entry.size and (zlib.crc32(data) & 0xFFFFFFFF) != member.crc:
            self._report_once(
                "LP307",
                ERROR,
                entry.name,
                "member data is corrupt: CRC-32 mismatch",
                "rebuild the artifact; the zip was damaged after it was written",
            )
            return b""
        return data if limit is None else data[:limit]

    def _inflate(self, entry: Entry, member: _ZipMember, want: int) -> tuple[bytes, bool]:
        """Up to `want` bytes of the member, and whether its stream ended."""
        f = self._file
        assert f is not None
        local = _read_local_header(f, member.header_offset)
        # The central directory is what extractors list; a different local name means
        # tools that stream local headers (and zipfile) see another file.
        if local.raw_name != member.raw_name:
            raise ValueError("local header names a different file than the central directory")
        f.seek(local.data_offset)
        remaining = entry.compressed_size
        if member.method == _STORED:
            data = f.read(min(remaining, want))
            return data, len(data) == remaining
        d = zlib.decompressobj(-15)
        out = bytearray()
        while len(out) < want and not d.eof:
            buf = d.unconsumed_tail
            if not buf:
                if remaining == 0:
                    break
                buf = f.read(min(_CHUNK, remaining))
                if not buf:
                    raise EOFError("compressed data past the end of the file")
                remaining -= len(buf)
            # max_length bounds memory: a bomb can never make one call return more
            # than we still want, whatever it declares.
            out += d.decompress(buf, want - len(out))
        return bytes(out), d.eof

    # -- listing -----------------------------------------------------------------

    def _add(self, entry: Entry, member: _ZipMember | None) -> None:
        if entry.name in self._by_name:
            self._report_once(
                "LP305",
                ERROR,
                entry.name,
                "duplicate entry name; which copy is extracted depends on the unzip tool",
                _REBUILD,
            )
            # The last copy wins, as with Info-ZIP and Python's zipfile; re-inserting
            # puts it where it appeared last. (A list filter here would be quadratic
            # on an archive made of duplicates.)
            del self._by_name[entry.name]
        self._by_name[entry.name] = entry
        if member is not None:
            self._zip[entry.name] = member

    def _check_symlinks(self) -> None:
        self.entries = list(self._by_name.values())
        links: dict[str, str] = {}
        for e in self.entries:
            if e.is_symlink:
                raw = self.read(e.name, _MAX_SYMLINK_TARGET)
                links[e.name] = raw.decode("utf-8", "surrogateescape")
        for name, target in links.items():
            bad = _escapes(name, target, links)
            self.problems.append(
                _finding(
                    "LP303",
                    ERROR if bad else WARNING,
                    name,
                    f"symbolic link to {display_name(target)!r}"
                    + (
                        ", outside the extraction root"
                        if bad
                        else "; Lambda extracts it as a link, most packaging tools do not"
                    ),
                    "replace the link with the file it points to"
                    if not bad
                    else "remove the link; it points outside the package",
                )
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
                self.problems.append(
                    _finding(
                        "LP301",
                        ERROR,
                        e.name,
                        f"path traversal: written through the symbolic link {display_name(via)!r}",
                        "remove the link and the entries below it",
                    )
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
    if stat.S_ISDIR(st.st_mode):
        art = Artifact(path, "dir", limits)
        _list_dir(art)
    elif stat.S_ISREG(st.st_mode):
        art = Artifact(path, "zip", limits)
        try:
            # Held open for the artifact's life (closed by Artifact.close).
            art._file = open(path, "rb")  # noqa: SIM115
        except OSError as e:
            raise ArtifactError(f"cannot open {path}: {e.strerror}") from e
        try:
            _list_zip(art, st.st_size)
        except ArtifactError:
            art.close()
            raise
        except OSError as e:
            art.close()
            raise ArtifactError(f"cannot read {path}: {e.strerror or e}") from e
    else:
        raise ArtifactError(f"{path} is neither a zip file nor a directory")
    try:
        art._check_symlinks()
    except BaseException:
        art.close()
        raise
    return art


def _too_many(path: Path, n: int | str, limits: ArchiveLimits) -> ArtifactError:
    return ArtifactError(
        f"{path} has {n} entries, over the limit of {limits.max_entries}; refusing to check it",
        hint="an artifact this large is almost certainly broken or hostile",
    )


# -- zip parsing ------------------------------------------------------------------


def _list_zip(art: Artifact, file_size: int) -> None:
    f = art._file
    assert f is not None
    path, lim = art.path, art.limits
    corrupt = f"{path} is not a readable zip: the central directory is truncated or corrupt"

    tail_len = min(file_size, _EOCD.size + 0xFFFF)
    f.seek(file_size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(_SIG_EOCD)
    # The last signature with a whole record after it (the comment may contain "PK\5\6").
    while pos >= 0 and pos + _EOCD.size > len(tail):
        pos = tail.rfind(_SIG_EOCD, 0, pos)
    if pos < 0:
        f.seek(0)
        if f.read(4) == _SIG_LFH:
            raise ArtifactError(f"{path} is a truncated zip: it has no end-of-central-directory record")
        raise ArtifactError(f"{path} is neither a zip file nor a directory")
    eocd_at = file_size - tail_len + pos
    _, disk, cd_disk, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    end_at = eocd_at
    loc_at = eocd_at - _EOCD64_LOC.size
    if loc_at >= _EOCD64.size:
        f.seek(loc_at)
        loc = f.read(_EOCD64_LOC.size)
        if loc[:4] == _SIG_EOCD64_LOC:
            # Like zipfile and Info-ZIP, take the zip64 record right before the locator.
            f.seek(loc_at - _EOCD64.size)
            rec = f.read(_EOCD64.size)
            if rec[:4] != _SIG_EOCD64:
                raise ArtifactError(corrupt)
            (_, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset) = _EOCD64.unpack(rec)
            end_at = loc_at - _EOCD64.size
    if disk != 0 or cd_disk != 0:
        raise ArtifactError(f"{path} is a multi-part (spanned) zip; Lambda needs a single file")
    if count > lim.max_entries:
        raise _too_many(path, count, lim)
    # Bytes in front of the archive (a self-extractor stub, `cat stub a.zip`) shift
    # every offset; zipfile and Info-ZIP both allow for it, so do we.
    prefix = end_at - cd_size - cd_offset
    if prefix < 0:
        raise ArtifactError(corrupt)
    cd_start = cd_offset + prefix  # == end_at - cd_size: always inside the file
    art._cd_start = cd_start

    f.seek(cd_start)
    left = cd_size
    seen = 0
    declared_total = 0
    spans: list[tuple[int, int, str]] = []
    while left > 0:
        head = f.read(_CDH.size)
        if len(head) < _CDH.size or head[:4] != _SIG_CDH:
            raise ArtifactError(corrupt)
        (
            _,
            _,
            create_system,
            _,
            _,
            flags,
            method,
            _,
            _,
            crc,
            csize,
            usize,
            name_len,
            extra_len,
            comment_len,
            _,
            _,
            ext_attr,
            offset,
        ) = _CDH.unpack(head)
        raw = f.read(name_len)
        extra = f.read(extra_len)
        if len(raw) < name_len or len(extra) < extra_len or len(f.read(comment_len)) < comment_len:
            raise ArtifactError(corrupt)
        left -= _CDH.size + name_len + extra_len + comment_len
        seen += 1
        if seen > lim.max_entries:
            raise _too_many(path, f"more than {lim.max_entries}", lim)
        usize, csize, offset = _zip64_fields(extra, usize, csize, offset)
        if usize is None or csize is None or offset is None:
            raise ArtifactError(corrupt)
        name, trusted = _decode_name(raw, flags)
        if flags & _FLAG_ENCRYPTED:
            raise ArtifactError(
                f"{path} has an encrypted member ({display_name(name)}); Lambda cannot extract encrypted zips",
                hint="zip the package again without a password",
            )
        if not trusted:
            why = (
                "is marked UTF-8 but is not valid UTF-8"
                if flags & _FLAG_UTF8
                else "is not marked UTF-8 and is not plain ASCII (zipfile reads it as cp437, Linux unzip as raw bytes)"
            )
            art.problems.append(
                _finding(
                    "LP306",
                    WARNING,
                    name,
                    f"entry name {why}; its name after extraction depends on the tool",
                    "rename the file to ASCII, or rebuild with a tool that writes UTF-8 names (`lambdapack build`)",
                )
            )
        placed = _place(name)
        if placed.problem is not None:
            art.problems.append(placed.problem)
        if placed.name is None:
            continue
        unix_mode = ext_attr >> 16 if create_system == _UNIX else 0
        is_link = stat.S_ISLNK(unix_mode)
        is_dir = (placed.is_dir or stat.S_ISDIR(unix_mode)) and not is_link
        entry = Entry(placed.name, usize, csize, (unix_mode & 0o7777) or None, is_dir, is_link)
        member = _ZipMember(raw, method, crc, offset + prefix, flags)
        art._add(entry, member)
        declared_total += usize
        spans.append((offset + prefix, offset + prefix + _LFH.size + name_len + csize, name))
        if offset + prefix + _LFH.size > cd_start:
            art._report_once(
                "LP307",
                ERROR,
                placed.name,
                "member data is corrupt: the central directory points past the member data",
                "rebuild the artifact; the zip was damaged after it was written",
            )
        if method not in (_STORED, _DEFLATED) and not is_dir:
            what = _METHOD_NAMES.get(method, f"method {method}")
            art._report_once(
                "LP308",
                WARNING,
                placed.name,
                f"compressed with {what}; lambdapack cannot read it to check it, and Lambda's unzip may not either",
                "rebuild the zip with deflate (the default of `zip` and `lambdapack build`)",
            )
        if usize > lim.max_member:
            art._bombs.add(placed.name)
            art._report_once(
                "LP304",
                ERROR,
                placed.name,
                f"member declares {usize} bytes uncompressed, over the {lim.max_member}-byte limit",
                "do not deploy this archive; rebuild it from source",
            )
        elif usize > lim.ratio_min_size and usize > lim.max_ratio * max(csize, 1):
            art._bombs.add(placed.name)
            art._report_once(
                "LP304",
                ERROR,
                placed.name,
                f"compression ratio {usize // max(csize, 1)}:1 is over {lim.max_ratio}:1 (zip bomb)",
                "do not deploy this archive; rebuild it from source",
            )
    if left < 0:
        raise ArtifactError(corrupt)
    if seen != count and seen & 0xFFFF != count:
        # Some writers store the count modulo 65536 without zip64; anything else
        # means the directory is not what the end record says.
        raise ArtifactError(
            f"{path} is not a readable zip: the end record counts {count} entries, the central directory holds {seen}"
        )
    if declared_total > lim.max_total_uncompressed:
        art.problems.append(
            _finding(
                "LP304",
                ERROR,
                "",
                f"members declare {declared_total} bytes uncompressed in total, over the {lim.max_total_uncompressed}-byte limit (zip bomb)",
                "do not deploy this archive; rebuild it from source",
            )
        )
    # Spans from the central directory's name lengths; `verify` redoes this with
    # where each member's data really is (its local header's own lengths).
    _report_overlap(art, spans)


def _report_overlap(art: Artifact, spans: list[tuple[int, int, str]]) -> None:
    """LP304 for the first member whose data overlaps the next member's local header.

    Overlapping members (one local header's data containing another's) are how
    non-recursive zip bombs multiply a small kernel; no writer produces them.
    """
    spans.sort()
    for (_, end, name), (nxt, _, _) in itertools.pairwise(spans):
        if end > nxt:
            art._overlap_reported = True
            art.problems.append(
                _finding(
                    "LP304",
                    ERROR,
                    name,
                    "member data overlaps another member's (a zip bomb construction)",
                    "do not deploy this archive; rebuild it from source",
                )
            )
            return


def _read_local_header(f: BinaryIO, offset: int) -> _LocalHeader:
    """The local file header at `offset` (raises EOFError/ValueError when there is none)."""
    f.seek(offset)
    head = f.read(_LFH.size)
    if len(head) < _LFH.size:
        raise EOFError("local header past the end of the file")
    sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _LFH.unpack(head)
    if sig != _SIG_LFH:
        raise ValueError("no local file header at the offset the central directory gives")
    name = f.read(name_len)
    extra = f.read(extra_len)
    if len(name) < name_len or len(extra) < extra_len:
        raise EOFError("local header past the end of the file")
    # A zip64 local header carries both sizes in its extra field (APPNOTE 4.5.3);
    # -1 marks "said 0xFFFFFFFF with no zip64 field", which matches no real size.
    z_usize, z_csize, _ = _zip64_fields(extra, usize, csize, 0)
    return _LocalHeader(
        name, flags, method, crc,
        -1 if z_csize is None else z_csize, -1 if z_usize is None else z_usize,
        offset + _LFH.size + name_len + extra_len,
    )  # fmt: skip


def _local_mismatch(local: _LocalHeader, member: _ZipMember, entry: Entry) -> tuple[str, bool] | None:
    """How a local header disagrees with its central directory entry, and whether
    Info-ZIP's unzip fails on it (an error) or only streaming readers such as Java's
    ZipInputStream do (a warning); None when they agree.

    unzip takes the name, method and CRC-32 from the local header, and for a stored
    member its sizes; a deflated member's stream ends by itself, so unzip ignores its
    local sizes. With a data descriptor (flag bit 3) a streaming writer puts zeros in
    the local CRC and sizes and writes the real values after the data: no disagreement.
    """
    diffs: list[tuple[str, bool]] = []
    if local.raw_name != member.raw_name:
        diffs.append(("it names a different file", True))
    if local.method != member.method:
        diffs.append((f"compression method {local.method} vs {member.method}", True))
    if not (local.flags | member.flags) & _FLAG_DATA_DESCRIPTOR:
        stored = member.method == _STORED
        if local.crc != member.crc:
            diffs.append((f"CRC-32 {local.crc:08x} vs {member.crc:08x}", True))
        if local.compressed_size != entry.compressed_size:
            diffs.append((f"compressed size {local.compressed_size} vs {entry.compressed_size}", stored))
        if local.size != entry.size:
            diffs.append((f"size {local.size} vs {entry.size}", stored))
    if not diffs:
        return None
    return "; ".join(d for d, _ in diffs), any(severe for _, severe in diffs)


def _stream_crc(f: BinaryIO, data_offset: int, entry: Entry, method: int) -> tuple[int, int, bool]:
    """(CRC-32, bytes produced, whether the stream ended) for a member's data, read in
    chunks: never more than one chunk in memory, and never more than `entry.size` + 1
    bytes produced, whatever the data claims."""
    f.seek(data_offset)
    remaining = entry.compressed_size
    cap = entry.size + 1
    crc = produced = 0
    if method == _STORED:
        while remaining and produced < cap:
            buf = f.read(min(_CHUNK, remaining, cap - produced))
            if not buf:
                raise EOFError("member data past the end of the file")
            remaining -= len(buf)
            produced += len(buf)
            crc = zlib.crc32(buf, crc)
        return crc & 0xFFFFFFFF, produced, remaining == 0
    d = zlib.decompressobj(-15)
    while produced < cap and not d.eof:
        buf = d.unconsumed_tail
        if not buf:
            if remaining == 0:
                # All input given: what zlib still holds is at most a window's worth.
                out = d.flush()[: cap - produced]
                produced += len(out)
                crc = zlib.crc32(out, crc)
                break
            buf = f.read(min(_CHUNK, remaining))
            if not buf:
                raise EOFError("compressed data past the end of the file")
            remaining -= len(buf)
        out = d.decompress(buf, min(_CHUNK, cap - produced))
        produced += len(out)
        crc = zlib.crc32(out, crc)
    return crc & 0xFFFFFFFF, produced, d.eof


def _zip64_fields(
    extra: bytes, usize: int, csize: int, offset: int
) -> tuple[int | None, int | None, int | None]:
    """Replace 0xFFFFFFFF sizes/offset by their zip64 extra-field values (APPNOTE 4.5.3)."""
    need = [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, offset == 0xFFFFFFFF]
    if not any(need):
        return usize, csize, offset
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, i)
        body = extra[i + 4 : i + 4 + size]
        i += 4 + size
        if tag != 0x0001:
            continue
        vals: list[int | None] = [usize, csize, offset]
        j = 0
        for k in range(3):
            if need[k]:
                if j + 8 > len(body):
                    vals[k] = None
                else:
                    vals[k] = struct.unpack_from("<Q", body, j)[0]
                    j += 8
        return vals[0], vals[1], vals[2]
    return None, None, None


def _decode_name(raw: bytes, flags: int) -> tuple[str, bool]:
    """The name as Lambda's Linux filesystem would hold it, and whether it is trustworthy.

    Linux file names are bytes, and Python on Lambda reads them as UTF-8 with
    surrogateescape; so the raw bytes decoded that way are the name an import sees,
    whatever the zip's flag claims. (zipfile instead decodes unflagged names as
    cp437 and raises on a flagged name that is not UTF-8.)
    """
    name = raw.decode("utf-8", "surrogateescape")
    if raw.isascii():
        return name, True
    if flags & _FLAG_UTF8:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return name, False
        return name, True
    return name, False


# -- directories ------------------------------------------------------------------


def _walk(root: str) -> Iterator[tuple[str, list[str], list[str]]]:
    def fail(e: OSError) -> None:
        raise ArtifactError(f"cannot read {e.filename}: {e.strerror}")

    # followlinks=False: a symlinked directory is listed as a link, never entered,
    # so nothing outside the root is ever read.
    yield from os.walk(root, onerror=fail, followlinks=False)


def _list_dir(art: Artifact) -> None:
    root = os.fspath(art.path)
    count = 0
    for dirpath, dirnames, filenames in _walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        for base in sorted(dirnames + filenames):
            name = posixpath.join(rel_dir, base) if rel_dir else base
            count += 1
            if count > art.limits.max_entries:
                raise _too_many(art.path, f"more than {art.limits.max_entries}", art.limits)
            try:
                st = (Path(dirpath) / base).lstat()
            except OSError as e:
                raise ArtifactError(f"cannot read {display_name(name)} in {art.path}: {e.strerror}") from e
            if not name.isascii():
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:
                    art.problems.append(
                        _finding(
                            "LP306", WARNING, name, "file name is not valid UTF-8", "rename the file to ASCII"
                        )
                    )
            if "\\" in base:
                art.problems.append(
                    _finding(
                        "LP302",
                        ERROR,
                        name,
                        "backslash in the file name: Lambda keeps it as a literal character, so imports through it fail",
                        "rename the file",
                    )
                )
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                size = len(os.fsencode((Path(dirpath) / base).readlink()))
            elif stat.S_ISDIR(mode):
                size = 0
            elif stat.S_ISREG(mode):
                size = st.st_size
            else:
                art.problems.append(
                    _finding(
                        "LP309",
                        WARNING,
                        name,
                        "special file (FIFO, socket or device); it cannot go into a zip and was skipped",
                        "remove it from the package directory",
                    )
                )
                continue
            art._add(
                Entry(name, size, size, stat.S_IMODE(mode) or None, stat.S_ISDIR(mode), stat.S_ISLNK(mode)),
                None,
            )
