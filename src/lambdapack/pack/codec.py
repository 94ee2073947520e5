"""The one deflate implementation every zip member is compressed with.

A zip's bytes are its members' deflate streams, and those depend on the implementation:
CPython's zlib module links whatever zlib the build has (zlib 1.2/1.3, zlib-ng on Fedora 40+
and on CPython 3.14 for Windows, each version its own output). With it, the same inputs gave
a different CodeSha256 on another machine: a redeploy for nothing. So members are compressed
by libdeflate, bundled in the `deflate` wheel pinned in pyproject.toml: the same version on
every host, and its compressor makes no CPU-dependent choice (its SIMD paths initialise hash
tables and compute checksums; the values are the same), so the bytes are the same on x86_64
and arm64, Linux, macOS and Windows, for every Python. It is also faster: level 6 compresses
real site-packages at 116 MB/s against zlib's 43 MB/s with a slightly better ratio (measured
for issue 14, docs/architecture.md#packing).

libdeflate compresses whole buffers, never streams: a member is read whole (the largest in
real packages is ~100 MB) and memory is bounded by how many large members compress at once
(zipwriter). Where `deflate` cannot be imported (a platform without its wheel and no compiler
for its sdist), CPython's zlib is used with a warning: the zip is valid, its bytes may differ
from other machines'. The codec's name is part of every blob's and artifact's key, so bytes
from one never stand in for the other's.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CODEC", "Codec", "crc32"]

crc32 = zlib.crc32  # a checksum has one right value whatever computes it


@dataclass(frozen=True)
class Codec:
    """A raw-deflate compressor and what names its output."""

    name: str  # e.g. "libdeflate-0.9.0": in blob file names and cache keys
    compress: Callable[[bytes, int], bytes]  # (data, level) -> raw deflate stream
    fallback: str | None = None  # why the bundled codec is not in use (a warning), else None


def _zlib(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)  # zlib.compress takes wbits from 3.11 on
    return c.compress(data) + c.flush()


def _choose() -> Codec:
    try:
        import deflate
    except ImportError as e:
        why = (f"the bundled deflate codec cannot be loaded ({e}); compressing with this Python's zlib "
               f"{zlib.ZLIB_RUNTIME_VERSION}: the zips are valid, but their bytes (and CodeSha256) may differ "
               "from other machines' builds (reinstall lambdapack to get the 'deflate' wheel)")
        return Codec(f"zlib-{zlib.ZLIB_RUNTIME_VERSION}", _zlib, why)

    def compress(data: bytes, level: int) -> bytes:
        # libdeflate releases the GIL: members compress in parallel threads.
        return bytes(deflate.deflate_compress(data, level))

    return Codec(f"libdeflate-{deflate.__version__}", compress)


CODEC = _choose()
