"""Pure parts of the cache: size parsing, member blob headers, zips written over blobs.

(Named *_pure so that it does not collide with tests/integration/test_cache.py: the
test folders are not packages, so two test_cache.py modules cannot both be collected.)
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from lambdapack.cache.total import parse_size
from lambdapack.pack.members import BlobStore, compress_to_blob, read_blob_header
from lambdapack.pack.zipwriter import write_zip
from lambdapack.staged import StagedFile

KiB, MiB, GiB = 1024, 1024**2, 1024**3
HEADER = struct.Struct("<4sBIQQ32s")  # our own reading of the format


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("1000000", 1000000),
        ("0", 0),
        ("500M", 500 * MiB),
        ("500m", 500 * MiB),
        ("500MB", 500 * MiB),
        ("500MiB", 500 * MiB),
        ("2G", 2 * GiB),
        ("1.5GB", int(1.5 * GiB)),
        ("1K", KiB),
        (" 2g ", 2 * GiB),
        ("1T", 1024**4),
    ],
)
def test_parse_size(text: str, want: int) -> None:
    assert parse_size(text) == want


@pytest.mark.parametrize("text", ["garbage", "", "M", "12Q", "1.5.5G", "nanG", "infK", "1e999G", "-1G", "-5"])
def test_parse_size_rejects_garbage_with_value_error(text: str) -> None:
    # The CLI turns ValueError into a usage error (exit 2); anything else is a traceback,
    # and a negative size would silently empty the whole cache.
    with pytest.raises(ValueError):
        parse_size(text)


def _blob(tmp_path: Path, content: bytes, level: int = 6) -> Path:
    src = tmp_path / "src.bin"
    src.write_bytes(content)
    dest = tmp_path / "b.blob"
    compress_to_blob(src, dest, level)
    return dest


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_blob_format(tmp_path: Path, level: int) -> None:
    content = os.urandom(5000) + b"a" * 100_000
    path = _blob(tmp_path, content, level)
    raw = path.read_bytes()
    magic, method, crc, usize, csize, digest = HEADER.unpack_from(raw)
    data = raw[HEADER.size:]
    assert magic == b"LPB2" and method == (0 if level == 0 else 8)
    assert (crc, usize, csize) == (zlib.crc32(content), len(content), len(data))
    # The seal covers the header fields and the data: no field can rot unnoticed.
    fields = struct.pack("<BIQQ", method, crc, usize, csize)
    assert hashlib.sha256(fields + hashlib.sha256(data).digest()).digest() == digest
    assert (zlib.decompress(data, -15) if method == 8 else data) == content
    h = read_blob_header(path)
    assert h is not None and (h.crc, h.usize, h.csize, h.method) == (crc, usize, csize, method)


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated data
        lambda raw: raw[:40],  # truncated header
        lambda raw: b"",
        lambda raw: raw + b"\0",  # trailing garbage
        lambda raw: b"XXXX" + raw[4:],  # magic
        lambda raw: raw[:4] + b"\x05" + raw[5:],  # unknown method
    ],
    ids=["data-truncated", "header-truncated", "empty", "extra-byte", "bad-magic", "bad-method"],
)
def test_damaged_blob_headers_are_rejected(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    path = _blob(tmp_path, b"hello world\n" * 1000)
    path.write_bytes(damage(path.read_bytes()))
    assert read_blob_header(path) is None


def test_missing_blob(tmp_path: Path) -> None:
    assert read_blob_header(tmp_path / "nope.blob") is None
    assert BlobStore(tmp_path).get("ab" * 32, 6) is None


def _zip_over_store(tmp_path: Path, store: BlobStore, files: dict[str, bytes], out: Path) -> bytes:
    src = tmp_path / "files"
    entries = []
    for name, data in files.items():
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        entries.append(StagedFile(name, p, False, len(data), None))
    write_zip(entries, out, environ={}, store=store)
    return out.read_bytes()


FILES = {"a.py": b"print('a')\n" * 300, "pkg/b.txt": b"b" * 5000, "c.bin": bytes(range(256)) * 50}


@pytest.mark.parametrize(
    "offset",
    [HEADER.size + 3, 5, 9, 17],
    ids=["data-byte", "crc", "uncompressed-size", "compressed-size"],
)
def test_zip_over_a_damaged_blob_is_still_correct(tmp_path: Path, offset: int) -> None:
    """A blob damaged anywhere (data or header fields) must never reach the zip."""
    store = BlobStore(tmp_path / "store")
    want = _zip_over_store(tmp_path, store, FILES, tmp_path / "good.zip")
    content = FILES["a.py"]
    blob = store.path_for(hashlib.sha256(content).hexdigest(), 6)
    raw = bytearray(blob.read_bytes())
    raw[offset] ^= 0x01
    tmp = blob.with_name("x")
    tmp.write_bytes(bytes(raw))
    os.replace(tmp, blob)
    got = _zip_over_store(tmp_path, store, FILES, tmp_path / "again.zip")
    with zipfile.ZipFile(tmp_path / "again.zip") as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == FILES
    assert got == want
