"""Member packs: a build's many small members in one file with a sealed index.

Real files (this interpreter's standard library sources), real zips read back with
Python's zipfile. Packs must give the same zip bytes as one blob file per member,
and any damage to a pack or its index must never reach a zip.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
import zipfile
from pathlib import Path

import pytest

from lambdapack.cache.local import Cache
from lambdapack.pack.members import PACK_MIN, SMALL, BlobStore, SourceChanged, read_pack_indexes
from lambdapack.pack.zipwriter import write_zip
from lambdapack.staged import StagedFile


def _stdlib_files(n: int) -> dict[str, bytes]:
    """`n` real, distinct source files of the running Python, by relative name."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for p in sorted(root.glob("*.py")):
        data = p.read_bytes()
        if 0 < len(data) <= SMALL and data not in seen:
            seen.add(data)
            out[f"lib/{p.name}"] = data
        if len(out) == n:
            return out
    raise AssertionError(f"fewer than {n} standard library files under {root}")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    fs = _stdlib_files(PACK_MIN + 20)
    # One file over the small limit (it keeps a blob file of its own): real text repeated.
    big = b"".join(fs.values())
    fs["big/all.txt"] = (big * (SMALL // len(big) + 2))[: SMALL + 12345]
    # Two members with the same content: one record in the pack.
    fs["lib/copy_of_first.py"] = next(iter(fs.values()))
    return fs


def _entries(tmp_path: Path, files: dict[str, bytes]) -> list[StagedFile]:
    src = tmp_path / "files"
    entries = []
    for name, data in files.items():
        p = src / name
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        entries.append(StagedFile(name, p, False, len(data), None))
    return entries


def _zip(tmp_path: Path, store: BlobStore, files: dict[str, bytes], name: str) -> bytes:
    out = tmp_path / name
    write_zip(_entries(tmp_path, files), out, environ={}, store=store)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None, f"{name}: a member's CRC does not match"
        assert {n: zf.read(n) for n in zf.namelist()} == files, f"{name}: contents differ"
    return out.read_bytes()


def _store_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _one_pack(root: Path) -> tuple[Path, Path]:
    [pack] = list((root / "packs").glob("*.pack"))
    return pack, pack.with_suffix(".idx")


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _reference(tmp_path: Path, files: dict[str, bytes]) -> bytes:
    """The same zip from one blob file per member: compressed in batches below PACK_MIN."""
    store = BlobStore(tmp_path / "blobs-only")
    names = list(files)
    for i in range(0, len(names), PACK_MIN - 1):
        _zip(tmp_path, store, {n: files[n] for n in names[i:i + PACK_MIN - 1]}, f"batch{i}.zip")
    assert not (tmp_path / "blobs-only" / "packs").exists()
    return _zip(tmp_path, store, files, "reference.zip")


def test_a_pack_gives_the_same_zip_as_blob_files(tmp_path: Path, files: dict[str, bytes]) -> None:
    store = BlobStore(tmp_path / "store")
    got = _zip(tmp_path, store, files, "packed.zip")
    assert got == _reference(tmp_path, files)
    pack, _idx = _one_pack(tmp_path / "store")
    blob_files = [p for p in _store_files(tmp_path / "store") if p.suffix == ".blob"]
    assert [p.name.split("-")[0] for p in blob_files] == [hashlib.sha256(files["big/all.txt"]).hexdigest()]
    packed = read_pack_indexes(tmp_path / "store" / "packs")
    distinct_small = {hashlib.sha256(d).hexdigest() for d in files.values() if len(d) <= SMALL}
    assert {sha for sha, _level in packed} == distinct_small
    assert {b.path for b in packed.values()} == {pack}


def test_a_later_build_reads_the_pack_and_writes_nothing(tmp_path: Path, files: dict[str, bytes]) -> None:
    first = _zip(tmp_path, BlobStore(tmp_path / "store"), files, "first.zip")
    before = {p: p.stat().st_size for p in _store_files(tmp_path / "store")}
    again = _zip(tmp_path, BlobStore(tmp_path / "store"), files, "again.zip")  # a new process's store
    assert again == first
    assert {p: p.stat().st_size for p in _store_files(tmp_path / "store")} == before


@pytest.mark.parametrize("damage", ["index-flipped", "index-truncated", "pack-data-flipped", "pack-truncated",
                                    "index-missing", "pack-missing"])
def test_a_damaged_pack_never_reaches_a_zip(tmp_path: Path, files: dict[str, bytes], damage: str) -> None:
    root = tmp_path / "store"
    first = _zip(tmp_path, BlobStore(root), files, "first.zip")
    pack, idx = _one_pack(root)
    if damage == "index-flipped":
        raw = bytearray(idx.read_bytes())
        raw[len(raw) // 2] ^= 0x40
        _replace(idx, bytes(raw))
    elif damage == "index-truncated":
        _replace(idx, idx.read_bytes()[:-50])
    elif damage == "pack-data-flipped":
        raw = bytearray(pack.read_bytes())
        for at in range(1000, len(raw), 7919):  # bytes across many records
            raw[at] ^= 0x01
        _replace(pack, bytes(raw))
    elif damage == "pack-truncated":
        _replace(pack, pack.read_bytes()[: pack.stat().st_size // 2])
    elif damage == "index-missing":
        idx.unlink()
    else:
        pack.unlink()
    if damage.startswith("index") or damage == "pack-missing":
        assert read_pack_indexes(root / "packs") == {}, "a damaged or orphaned index must be ignored whole"
    if damage == "pack-truncated":
        left = read_pack_indexes(root / "packs")
        assert left and all(b.data_offset + b.csize <= pack.stat().st_size for b in left.values())
    again = _zip(tmp_path, BlobStore(root), files, "again.zip")
    assert again == first


def test_prune_drops_a_pack_whose_index_never_landed(tmp_path: Path, files: dict[str, bytes]) -> None:
    """A build killed between the two renames leaves a pack without an index."""
    cache = Cache(tmp_path / "cache")
    _zip(tmp_path, cache.blobs, files, "first.zip")
    pack, idx = _one_pack(cache.root / "members")
    idx.unlink()
    freed = cache.prune(10 * 1024**3)  # far under the cap: only garbage goes
    assert not pack.exists() and freed >= len(files) // 2
    assert cache.info()["members"]["entries"] == 1  # the big file's blob stays


def test_pack_writer_refuses_content_that_is_not_what_was_promised(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store", tmp_path / "tmp")
    src = tmp_path / "f.py"
    src.write_bytes(b"print('now')\n")
    writer = store.pack_writer()
    with pytest.raises(SourceChanged):
        writer.add(src, 6, hashlib.sha256(b"print('then')\n").hexdigest(), verify=True)
    writer.abort()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "store" / "packs").exists() or list((tmp_path / "store" / "packs").iterdir()) == []


def test_a_cache_cleaned_between_builds_of_one_process_is_refilled(tmp_path: Path, files: dict[str, bytes]) -> None:
    """A long-running process (the Python API) must not remember directories that
    `lambdapack cache clean` in another process has since removed."""
    first = _zip(tmp_path, Cache(tmp_path / "cache").blobs, files, "first.zip")
    Cache(tmp_path / "cache").clean()
    assert _zip(tmp_path, Cache(tmp_path / "cache").blobs, files, "again.zip") == first
    assert list((tmp_path / "cache" / "members" / "packs").glob("*.idx")), "the members were stored again"


def test_blob_files_that_replaced_damaged_pack_entries_are_read_first_by_a_later_build(
        tmp_path: Path, files: dict[str, bytes]) -> None:
    """A store lists its blob files once and reads a listed one before the packs: a later
    process must take the replacements, not the damaged entries (which would be rebuilt again)."""
    root = tmp_path / "store"
    first = _zip(tmp_path, BlobStore(root), files, "first.zip")
    pack, _idx = _one_pack(root)
    raw = bytearray(pack.read_bytes())
    for at in range(1000, len(raw), 7919):
        raw[at] ^= 0x01
    _replace(pack, bytes(raw))
    assert _zip(tmp_path, BlobStore(root), files, "repaired.zip") == first  # replaces what it finds damaged
    replaced = {p: p.stat().st_ino for p in _store_files(root) if p.suffix == ".blob"}
    assert len(replaced) > 1, "the damage should have reached more than the one large member"
    assert _zip(tmp_path, BlobStore(root), files, "later.zip") == first
    assert {p: p.stat().st_ino for p in _store_files(root) if p.suffix == ".blob"} == replaced, \
        "a later build rebuilt blobs it should have read"


def test_a_blob_file_written_after_the_listing_is_still_found(tmp_path: Path) -> None:
    root, src = tmp_path / "store", tmp_path / "member.txt"
    src.write_bytes(b"lambdapack " * 5000)
    early = BlobStore(root)
    assert early.get("00" * 32, 6) is None  # the listing is taken here, before the file exists
    sha, written, hit = BlobStore(root).blob_for(src, 6)  # another build stores it
    assert not hit
    found = early.get(sha, 6)
    assert found is not None and found.path == written.path and found.csize == written.csize
