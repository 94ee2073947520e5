"""The zip format, read without :mod:`zipfile`: the end records, the central directory
and the local headers, and a member's data streamed in bounded memory.

The format is parsed here instead of with zipfile because zipfile raises on a single
member name that is invalid UTF-8 (making the whole artifact uncheckable), trusts the
local headers' names over what Lambda extracts, and gives no way to stop listing at a
limit before it has built every ``ZipInfo``. Nothing here judges an entry: that is
`zipsource`'s job; a structure that cannot be read at all raises `ArtifactError`.

Reference: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12
(central directory), 4.3.14-4.3.16 (zip64 end records), 4.5.3 (zip64 extra).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lambdapack.inspect.entries import ArchiveLimits, ArtifactError, Entry, display_name, too_many_entries

__all__ = [
    "DEFLATED",
    "FLAG_UTF8",
    "LFH_SIZE",
    "METHOD_NAMES",
    "STORED",
    "UNIX",
    "CentralDirectory",
    "CentralRecord",
    "LocalHeader",
    "ZipMember",
    "central_records",
    "inflate",
    "local_mismatch",
    "locate_central_directory",
    "read_local_header",
    "stream_crc",
]

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CDH = struct.Struct("<4s4B4HL2L5H2L")
_LFH = struct.Struct("<4s2B4HL2L2H")
LFH_SIZE = _LFH.size
_SIG_EOCD = b"PK\x05\x06"
_SIG_EOCD64_LOC = b"PK\x06\x07"
_SIG_EOCD64 = b"PK\x06\x06"
_SIG_CDH = b"PK\x01\x02"
_SIG_LFH = b"PK\x03\x04"
_FLAG_ENCRYPTED = 0x1
_FLAG_DATA_DESCRIPTOR = 0x8  # CRC and sizes follow the data; the local header holds zeros
FLAG_UTF8 = 0x800
UNIX = 3
STORED, DEFLATED = 0, 8
METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstd",
    95: "xz",
    99: "AES",
}
_CHUNK = 1 << 16


# Private per-entry facts needed to read a zip member; kept apart from Entry so
# that Entry stays a plain description that rules can rely on.
@dataclass(frozen=True)
class ZipMember:
    raw_name: bytes
    method: int
    crc: int
    header_offset: int  # absolute, prefix ("self-extractor stub") already added
    flags: int = 0


@dataclass(frozen=True)
class LocalHeader:
    """The fields of a local file header that must agree with the central directory."""

    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    data_offset: int  # absolute offset of the member's data


@dataclass(frozen=True)
class CentralDirectory:
    """Where the central directory is, from the end record (zip64 when there is one)."""

    start: int  # absolute: member data must end before it
    size: int
    count: int  # entries, as the end record says
    prefix: int  # bytes in front of the archive, added to every offset


@dataclass(frozen=True)
class CentralRecord:
    """One central directory header, its sizes and offset resolved (zip64, prefix)."""

    raw_name: bytes
    name: str  # as Lambda's filesystem would hold it (surrogateescape)
    trusted: bool  # whether the name's bytes are trustworthy UTF-8
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    create_system: int
    external_attr: int
    header_offset: int  # absolute, prefix added
    name_len: int


def _corrupt(path: Path) -> ArtifactError:
    return ArtifactError(f"{path} is not a readable zip: the central directory is truncated or corrupt")


def _end_record_at(f: BinaryIO, path: Path, file_size: int) -> tuple[int, bytes, int]:
    """(offset in `tail`, the file's tail, where the tail starts) of the end record."""
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
    return pos, tail, file_size - tail_len


def locate_central_directory(f: BinaryIO, path: Path, file_size: int, lim: ArchiveLimits) -> CentralDirectory:
    pos, tail, tail_at = _end_record_at(f, path, file_size)
    eocd_at = tail_at + pos
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
                raise _corrupt(path)
            (_, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset) = _EOCD64.unpack(rec)
            end_at = loc_at - _EOCD64.size
    if disk != 0 or cd_disk != 0:
        raise ArtifactError(f"{path} is a multi-part (spanned) zip; Lambda needs a single file")
    if count > lim.max_entries:
        raise too_many_entries(path, count, lim)
    # Bytes in front of the archive (a self-extractor stub, `cat stub a.zip`) shift
    # every offset; zipfile and Info-ZIP both allow for it, so do we.
    prefix = end_at - cd_size - cd_offset
    if prefix < 0:
        raise _corrupt(path)
    # cd_offset + prefix == end_at - cd_size: always inside the file
    return CentralDirectory(cd_offset + prefix, cd_size, count, prefix)


def central_records(f: BinaryIO, path: Path, cd: CentralDirectory, lim: ArchiveLimits) -> Iterator[CentralRecord]:
    """Every central directory header in order; raises ArtifactError on a directory that
    is truncated, holds more than `lim.max_entries`, disagrees with the end record's
    count, or has an encrypted member (Lambda cannot extract it)."""
    f.seek(cd.start)
    left = cd.size
    seen = 0
    while left > 0:
        head = f.read(_CDH.size)
        if len(head) < _CDH.size or head[:4] != _SIG_CDH:
            raise _corrupt(path)
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
            raise _corrupt(path)
        left -= _CDH.size + name_len + extra_len + comment_len
        seen += 1
        if seen > lim.max_entries:
            raise too_many_entries(path, f"more than {lim.max_entries}", lim)
        usize, csize, offset = _zip64_fields(extra, usize, csize, offset)
        if usize is None or csize is None or offset is None:
            raise _corrupt(path)
        name, trusted = _decode_name(raw, flags)
        if flags & _FLAG_ENCRYPTED:
            raise ArtifactError(
                f"{path} has an encrypted member ({display_name(name)}); Lambda cannot extract encrypted zips",
                hint="zip the package again without a password",
            )
        yield CentralRecord(raw, name, trusted, flags, method, crc, csize, usize, create_system, ext_attr,
                            offset + cd.prefix, name_len)  # fmt: skip
    if left < 0:
        raise _corrupt(path)
    if seen != cd.count and seen & 0xFFFF != cd.count:
        # Some writers store the count modulo 65536 without zip64; anything else
        # means the directory is not what the end record says.
        raise ArtifactError(
            f"{path} is not a readable zip: the end record counts {cd.count} entries, the central directory holds {seen}"
        )


def read_local_header(f: BinaryIO, offset: int) -> LocalHeader:
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
    return LocalHeader(
        name, flags, method, crc,
        -1 if z_csize is None else z_csize, -1 if z_usize is None else z_usize,
        offset + _LFH.size + name_len + extra_len,
    )  # fmt: skip


def local_mismatch(local: LocalHeader, member: ZipMember, entry: Entry) -> tuple[str, bool] | None:
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
        stored = member.method == STORED
        if local.crc != member.crc:
            diffs.append((f"CRC-32 {local.crc:08x} vs {member.crc:08x}", True))
        if local.compressed_size != entry.compressed_size:
            diffs.append((f"compressed size {local.compressed_size} vs {entry.compressed_size}", stored))
        if local.size != entry.size:
            diffs.append((f"size {local.size} vs {entry.size}", stored))
    if not diffs:
        return None
    return "; ".join(d for d, _ in diffs), any(severe for _, severe in diffs)


def stream_crc(f: BinaryIO, data_offset: int, entry: Entry, method: int) -> tuple[int, int, bool]:
    """(CRC-32, bytes produced, whether the stream ended) for a member's data, read in
    chunks: never more than one chunk in memory, and never more than `entry.size` + 1
    bytes produced, whatever the data claims."""
    f.seek(data_offset)
    remaining = entry.compressed_size
    cap = entry.size + 1
    crc = produced = 0
    if method == STORED:
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


def inflate(f: BinaryIO, entry: Entry, member: ZipMember, want: int) -> tuple[bytes, bool]:
    """Up to `want` bytes of the member, and whether its stream ended."""
    local = read_local_header(f, member.header_offset)
    # The central directory is what extractors list; a different local name means
    # tools that stream local headers (and zipfile) see another file.
    if local.raw_name != member.raw_name:
        raise ValueError("local header names a different file than the central directory")
    f.seek(local.data_offset)
    remaining = entry.compressed_size
    if member.method == STORED:
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
    if flags & FLAG_UTF8:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return name, False
        return name, True
    return name, False
