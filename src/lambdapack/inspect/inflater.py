"""A zip member's data checked in one call: inflated whole, its CRC-32 computed.

`check` must see every byte of every member (its CRC-32, as unzip does), and CPython's
zlib streams at ~150 MB/s here; libdeflate, bundled in the `deflate` wheel that `pack`
compresses with, inflates a whole buffer ~3x faster and releases the GIL, so members
check in parallel threads. It needs the whole compressed member and an output buffer
of its declared size in memory, so it is used only up to WHOLE_MAX; larger members, and
any member this path rejects, go through zlib's bounded stream, which also says exactly
what is wrong (`zipformat.stream_crc`). Without the `deflate` wheel everything streams.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

__all__ = ["WHOLE_MAX", "crc32", "inflate_whole"]

WHOLE_MAX = 32 << 20  # bytes, compressed or inflated: the largest member inflated whole (~1 per thread)

_Inflate = Callable[[bytes, int], "bytes | bytearray"]


def _load() -> tuple[_Inflate | None, Callable[[bytes], int]]:
    try:
        import deflate
    except ImportError:
        return None, zlib.crc32

    def crc(data: bytes) -> int:
        return int(deflate.crc32(data))

    return deflate.deflate_decompress, crc


_INFLATE, crc32 = _load()


def inflate_whole(data: bytes, size: int, method_deflated: bool) -> bytes | None:
    """The member's `size` bytes from its whole compressed `data`, or None when they cannot
    be had this way (no libdeflate, too large, a stream that is not exactly `size` bytes).

    None is never a verdict: the caller streams the member to find out what is wrong.
    """
    if not method_deflated:
        return data if len(data) == size else None
    if _INFLATE is None or size > WHOLE_MAX or len(data) > WHOLE_MAX:
        return None
    try:
        # One byte of room past the declared size: a stream that would produce more
        # fails here (insufficient space) instead of being cut to fit.
        out = _INFLATE(data, size + 1)
    except Exception:  # deflate.DeflateError: bad data, or more than declared
        return None
    return bytes(out) if len(out) == size else None
