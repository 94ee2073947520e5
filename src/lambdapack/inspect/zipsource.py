"""A zip artifact: its entries listed from the central directory, its members read on demand.

Nothing is extracted: members are read by streaming their compressed bytes through a
decompressor, so a hostile archive cannot plant files, and every size it declares is
treated as a claim that the decompressor enforces rather than as a fact. A member
found damaged, or declared as a bomb, reads as b"" and leaves a finding in the listing.
"""

from __future__ import annotations

import itertools
import os
import stat
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from lambdapack.inspect.entries import ArchiveLimits, Entry, Listing
from lambdapack.inspect.findings import ERROR, WARNING
from lambdapack.inspect.inflater import WHOLE_MAX, crc32, inflate_whole
from lambdapack.inspect.placement import place
from lambdapack.inspect.zipformat import (
    DEFLATED,
    FLAG_UTF8,
    LFH_SIZE,
    METHOD_NAMES,
    STORED,
    UNIX,
    CentralRecord,
    LocalHeader,
    ZipMember,
    central_records,
    inflate,
    local_mismatch,
    locate_central_directory,
    read_local_header,
    stream_crc,
)

__all__ = ["Keeper", "ZipSource"]



class Keeper(Protocol):
    """What verify hands each sound member's bytes to (the artifact keeps what its rules read)."""

    def study(self, entry: Entry, data: bytes) -> object:
        """In a worker thread, beside the others' inflation: what to learn from the bytes (pure)."""

    def keep(self, entry: Entry, data: bytes, studied: object) -> None:
        """In verify's thread, in member order: keep what is needed of the bytes and the study."""

_DAMAGED = "rebuild the artifact; the zip was damaged after it was written"
_BOMB = "do not deploy this archive; rebuild it from source"
# A member's span in the file: (where its local header starts, where its data ends, name).
_Span = tuple[int, int, str]
# A member being verified: its entry, record, local header, and its whole inflation (None: streamed).
_Job = tuple[Entry, ZipMember, LocalHeader, "Future[tuple[bytes, object] | None] | None"]
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_IN_FLIGHT = 32 << 20  # inflated bytes of members being checked at once, beyond the oldest


class ZipSource:
    """The open zip behind an Artifact: one file handle, so not thread-safe."""

    kind: Literal["zip"] = "zip"

    def __init__(self, path: Path, file: BinaryIO, limits: ArchiveLimits, listing: Listing) -> None:
        self.path = path
        self.limits = limits
        self.listing = listing
        self._file: BinaryIO | None = file
        self._members: dict[str, ZipMember] = {}
        self._inflated = 0  # bytes actually produced by all reads, against max_total_uncompressed
        self._bombs: set[str] = set()  # members whose declared size or ratio is over the limits
        self._corrupt: set[str] = set()  # members `verify` found damaged: they read as b""
        self._verified = False
        self._cd_start = 0  # where the central directory starts: member data must end before it
        self._overlap_reported = False

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_file(self) -> BinaryIO:
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        return self._file

    # -- listing -----------------------------------------------------------------

    def list_entries(self, file_size: int) -> None:
        """List every central directory entry into the listing (raises ArtifactError)."""
        f = self._open_file()
        lim = self.limits
        cd = locate_central_directory(f, self.path, file_size, lim)
        self._cd_start = cd.start
        declared_total = 0
        spans: list[_Span] = []
        for rec in central_records(f, self.path, cd, lim):
            if not self._add_record(rec):
                continue
            declared_total += rec.size
            spans.append((rec.header_offset, rec.header_offset + LFH_SIZE + rec.name_len + rec.compressed_size,
                          rec.name))  # fmt: skip
        if declared_total > lim.max_total_uncompressed:
            self.listing.report(
                "LP304",
                ERROR,
                "",
                f"members declare {declared_total} bytes uncompressed in total, over the {lim.max_total_uncompressed}-byte limit (zip bomb)",
                _BOMB,
            )
        # Spans from the central directory's name lengths; `verify` redoes this with
        # where each member's data really is (its local header's own lengths).
        self._report_overlap(spans)

    def _add_record(self, rec: CentralRecord) -> bool:
        """Add the record's entry unless it cannot be placed; False when it was left out."""
        if not rec.trusted:
            why = (
                "is marked UTF-8 but is not valid UTF-8"
                if rec.flags & FLAG_UTF8
                else "is not marked UTF-8 and is not plain ASCII (zipfile reads it as cp437, Linux unzip as raw bytes)"
            )
            self.listing.report(
                "LP306",
                WARNING,
                rec.name,
                f"entry name {why}; its name after extraction depends on the tool",
                "rename the file to ASCII, or rebuild with a tool that writes UTF-8 names (`lambdapack build`)",
            )
        placed = place(rec.name)
        if placed.problem is not None:
            self.listing.problems.append(placed.problem)
        if placed.name is None:
            return False
        unix_mode = rec.external_attr >> 16 if rec.create_system == UNIX else 0
        is_link = stat.S_ISLNK(unix_mode)
        is_dir = (placed.is_dir or stat.S_ISDIR(unix_mode)) and not is_link
        entry = Entry(placed.name, rec.size, rec.compressed_size, (unix_mode & 0o7777) or None, is_dir, is_link)
        self.listing.add(entry)
        self._members[entry.name] = ZipMember(rec.raw_name, rec.method, rec.crc, rec.header_offset, rec.flags)
        self._judge_record(rec, entry)
        return True

    def _judge_record(self, rec: CentralRecord, entry: Entry) -> None:
        """What the central directory alone says is wrong with a member."""
        lim, name, usize, csize = self.limits, entry.name, rec.size, rec.compressed_size
        if rec.header_offset + LFH_SIZE > self._cd_start:
            self.listing.report_once(
                "LP307", ERROR, name,
                "member data is corrupt: the central directory points past the member data",
                "rebuild the artifact; the zip was damaged after it was written",
            )  # fmt: skip
        if rec.method not in (STORED, DEFLATED) and not entry.is_dir:
            what = METHOD_NAMES.get(rec.method, f"method {rec.method}")
            self.listing.report_once(
                "LP308", WARNING, name,
                f"compressed with {what}; lambdapack cannot read it to check it, and Lambda's unzip may not either",
                "rebuild the zip with deflate (the default of `zip` and `lambdapack build`)",
            )  # fmt: skip
        if usize > lim.max_member:
            self._bombs.add(name)
            self.listing.report_once(
                "LP304", ERROR, name,
                f"member declares {usize} bytes uncompressed, over the {lim.max_member}-byte limit", _BOMB,
            )  # fmt: skip
        elif usize > lim.ratio_min_size and usize > lim.max_ratio * max(csize, 1):
            self._bombs.add(name)
            self.listing.report_once(
                "LP304", ERROR, name,
                f"compression ratio {usize // max(csize, 1)}:1 is over {lim.max_ratio}:1 (zip bomb)", _BOMB,
            )  # fmt: skip

    def _report_overlap(self, spans: list[_Span]) -> None:
        """LP304 for the first member whose data overlaps the next member's local header.

        Overlapping members (one local header's data containing another's) are how
        non-recursive zip bombs multiply a small kernel; no writer produces them.
        """
        spans.sort()
        for (_, end, name), (nxt, _, _) in itertools.pairwise(spans):
            if end > nxt:
                self._overlap_reported = True
                self.listing.report(
                    "LP304", ERROR, name, "member data overlaps another member's (a zip bomb construction)", _BOMB
                )
                return

    # -- reading -----------------------------------------------------------------

    def read(self, entry: Entry, limit: int | None) -> bytes:
        member = self._members[entry.name]
        lim = self.limits
        if member.method not in (STORED, DEFLATED) or entry.name in self._corrupt:
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
        f = self._open_file()
        try:
            data, at_end = inflate(f, entry, member, want)
        # OverflowError: a zip64 offset near 2**64 reaches seek().
        except (OSError, OverflowError, zlib.error, EOFError, ValueError, struct.error) as e:
            self.listing.report_once("LP307", ERROR, entry.name, f"member data is corrupt: {e}", _DAMAGED)
            return b""
        self._inflated += len(data)
        problem = self._read_problem(entry, member, data, want, at_end)
        if problem is not None:
            name, code, message, fix = problem
            self.listing.report_once(code, ERROR, name, message, fix)
            return b""
        return data if limit is None else data[:limit]

    def _read_problem(
        self, entry: Entry, member: ZipMember, data: bytes, want: int, at_end: bool
    ) -> tuple[str, str, str, str] | None:
        """(name, code, message, fix) when what was read cannot be trusted, else None."""
        total = self.limits.max_total_uncompressed
        if len(data) > entry.size:
            return (entry.name, "LP304",
                    f"member inflates to more than its declared {entry.size} bytes (a zip bomb, a forged header or corrupt data)",
                    _BOMB)  # fmt: skip
        if self._inflated > total:
            return "", "LP304", f"members inflate to more than {total} bytes in total", _BOMB
        if len(data) < min(want, entry.size):
            how = "the compressed data ends early" if not at_end else "it is shorter than declared"
            return (entry.name, "LP307", f"member data is corrupt: {how} ({len(data)} of {entry.size} bytes)",
                    _DAMAGED)  # fmt: skip
        if len(data) == entry.size and (zlib.crc32(data) & 0xFFFFFFFF) != member.crc:
            return entry.name, "LP307", "member data is corrupt: CRC-32 mismatch", _DAMAGED
        return None

    # -- verifying ---------------------------------------------------------------

    def verify(self, entries: list[Entry], keeper: Keeper | None = None) -> None:
        """Read every member once, start to end, in bounded memory: its CRC-32, its
        length against its declared size, its local header against the central
        directory, and where its data really lies (overlaps). Findings go to the
        listing (LP304/LP307); a damaged member then reads as b"". Idempotent.

        Members up to inflater.WHOLE_MAX are inflated whole by worker threads (at most
        _IN_FLIGHT bytes of them at once), in order, while this thread reads the next;
        `keeper` studies each sound member's bytes in the worker and keeps what the rules
        will read, instead of inflating it again. The rest stream through zlib.
        """
        if self._verified:
            return
        self._verified = True
        f = self._open_file()
        spans: list[_Span] = []
        inflated = 0
        pending: deque[_Job] = deque()
        in_flight = 0
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            for entry in entries:
                member = self._members.get(entry.name)
                if member is None or member.method not in (STORED, DEFLATED) or entry.name in self._bombs:
                    continue  # LP308 / LP304 reported at open
                if inflated > self.limits.max_total_uncompressed:
                    break  # reported at open (declared total) or below; stop inflating
                local = self._locate(f, entry, member, spans)
                if local is None:
                    continue
                inflated += entry.size
                job = None
                if entry.size <= WHOLE_MAX and entry.compressed_size <= WHOLE_MAX:
                    f.seek(local.data_offset)
                    job = pool.submit(_whole, f.read(entry.compressed_size), entry, member, keeper)
                    in_flight += entry.size
                pending.append((entry, member, local, job))
                while pending and (in_flight > _IN_FLIGHT or pending[0][3] is None):
                    in_flight -= self._finish(f, pending.popleft(), keeper)
            while pending:
                self._finish(f, pending.popleft(), keeper)
        if not self._overlap_reported:
            self._report_overlap(spans)

    def _locate(self, f: BinaryIO, entry: Entry, member: ZipMember, spans: list[_Span]) -> LocalHeader | None:
        """The member's local header, its span noted; None (and LP307) when its data cannot be read."""
        try:
            local = read_local_header(f, member.header_offset)
        # OverflowError: a zip64 offset near 2**64 reaches seek().
        except (OSError, OverflowError, EOFError, ValueError, struct.error) as e:
            self._damaged("LP307", entry.name, f"member data is corrupt: {e}")
            return None
        end = local.data_offset + entry.compressed_size
        spans.append((member.header_offset, end, entry.name))
        if end > self._cd_start:
            self._damaged("LP307", entry.name, "member data is corrupt: it runs into the central directory")
            return None
        return local

    def _finish(self, f: BinaryIO, job: _Job, keeper: Keeper | None) -> int:
        """Judge one member's data (streamed through zlib when the whole path gave up, or
        was not tried); the inflated bytes it had in flight."""
        entry, member, local, future = job
        done = future.result() if future is not None else None
        in_flight = entry.size if future is not None else 0
        if done is None and not self._stream_check(f, entry, member, local):
            return in_flight
        mismatch = local_mismatch(local, member, entry)
        if mismatch is not None:
            # After the data checks: LP307 is reported once per member, and damaged
            # data (an error) must not hide behind a header warning. Extractors differ
            # in which header they believe, so the zip extracts differently by tool.
            what, severe = mismatch
            self.listing.report_once(
                "LP307", ERROR if severe else WARNING, entry.name,
                f"bad local header: it disagrees with the central directory ({what})"
                + ("" if severe else "; unzip ignores this, streaming extractors reject it"),
                "rebuild the artifact; the zip was damaged or written by a broken tool",
            )  # fmt: skip
        if done is not None and keeper is not None and (mismatch is None or not mismatch[1]):
            keeper.keep(entry, *done)  # a severe mismatch reads as `read` decides, not from here
        return in_flight

    def _stream_check(self, f: BinaryIO, entry: Entry, member: ZipMember, local: LocalHeader) -> bool:
        """Stream the member's data through zlib; False (and LP304/LP307) when it is damaged."""
        try:
            crc, produced, complete = stream_crc(f, local.data_offset, entry, member.method)
        except (OSError, OverflowError, zlib.error, EOFError, ValueError) as e:
            self._damaged("LP307", entry.name, f"member data is corrupt: {e}")
            return False
        if produced > entry.size:
            self._damaged(
                "LP304", entry.name,
                f"member inflates to more than its declared {entry.size} bytes "
                "(a zip bomb, a forged header or corrupt data)",
                fix=_BOMB,
            )  # fmt: skip
        elif produced < entry.size or not complete:
            how = "the compressed data ends early" if not complete else "it is shorter than declared"
            self._damaged("LP307", entry.name, f"member data is corrupt: {how} ({produced} of {entry.size} bytes)")
        elif crc != member.crc:
            self._damaged(
                "LP307", entry.name,
                f"member data is corrupt: CRC-32 mismatch (the data gives {crc:08x}, the header says {member.crc:08x})",
            )  # fmt: skip
        return entry.name not in self._corrupt

    def _damaged(self, code: str, name: str, message: str, fix: str = _DAMAGED) -> None:
        self._corrupt.add(name)
        self.listing.report_once(code, ERROR, name, message, fix)


def _whole(data: bytes, entry: Entry, member: ZipMember, keeper: Keeper | None) -> tuple[bytes, object] | None:
    """In a worker thread: the member's bytes and the keeper's study of them, when they
    inflate whole to the declared size with the right CRC-32; else None (the caller then
    streams the member to say what is wrong)."""
    out = inflate_whole(data, entry.size, member.method == DEFLATED)
    if out is None or (crc32(out) & 0xFFFFFFFF) != member.crc:
        return None
    return out, (keeper.study(entry, out) if keeper is not None else None)
