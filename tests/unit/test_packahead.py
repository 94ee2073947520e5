"""Compressing ahead (pipeline.packahead): the dependencies' members go into the blob store
while bytecode compiles, and the zip written afterwards takes them as hits, with the same
bytes as a zip whose members were all compressed while it was written.

Real files (this interpreter's standard library sources and one over members.SMALL), a
real blob store and real zips read back with Python's zipfile.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from lambdapack.pack.members import SMALL, BlobStore
from lambdapack.pack.zipwriter import write_zip
from lambdapack.pipeline import packahead
from lambdapack.pipeline.packahead import CompressAhead
from lambdapack.staged import StagedFile


def _deps(tmp_path: Path, n: int = 60) -> tuple[list[StagedFile], dict[str, str]]:
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files: dict[str, bytes] = {}
    for p in sorted(stdlib.glob("*.py"))[:n]:
        files[f"lib/{p.name}"] = p.read_bytes()
    big = b"".join(files.values())
    files["lib/big.txt"] = (big * (SMALL // len(big) + 2))[: SMALL + 999]
    entries, shas = [], {}
    for name, data in files.items():
        path = tmp_path / "site" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(StagedFile(name, path, False, len(data), "dep 1.0"))
        shas[name] = hashlib.sha256(data).hexdigest()
    return entries, shas


def _wait_done(ahead: CompressAhead) -> None:
    ahead._thread.join(timeout=60)  # the whole list, not a stop
    assert not ahead._thread.is_alive()


def test_every_member_is_a_hit_and_the_zip_is_the_same(tmp_path: Path) -> None:
    deps, shas = _deps(tmp_path)
    store = BlobStore(tmp_path / "blobs", tmp_path / "tmp")
    ahead = CompressAhead(store, deps, 6, shas, trusted=False)
    _wait_done(ahead)
    ahead.stop()
    assert all(store.get(shas[e.arcname], 6) is not None for e in deps)
    assert list((tmp_path / "blobs" / "packs").glob("*.idx")), "the small members are in a committed pack"
    ahead_zip = write_zip(deps, tmp_path / "ahead.zip", environ={}, store=store)
    plain_zip = write_zip(deps, tmp_path / "plain.zip", environ={}, store=BlobStore(tmp_path / "plain"))
    assert ahead_zip.path.read_bytes() == plain_zip.path.read_bytes()
    with zipfile.ZipFile(ahead_zip.path) as zf:
        assert zf.testzip() is None


def test_stopped_at_once_the_store_is_consistent_and_packing_does_the_rest(tmp_path: Path) -> None:
    deps, shas = _deps(tmp_path)
    store = BlobStore(tmp_path / "blobs", tmp_path / "tmp")
    CompressAhead(store, deps, 6, shas, trusted=False).stop()
    leftovers = list((tmp_path / "tmp").glob("*")) if (tmp_path / "tmp").exists() else []
    assert leftovers == [], "no in-flight file is left behind"
    packs = list((tmp_path / "blobs" / "packs").glob("*.pack")) if (tmp_path / "blobs" / "packs").exists() else []
    assert all(p.with_suffix(".idx").exists() for p in packs), "no pack without its index"
    z = write_zip(deps, tmp_path / "out.zip", environ={}, store=store)
    plain = write_zip(deps, tmp_path / "plain.zip", environ={}, store=BlobStore(tmp_path / "plain"))
    assert z.path.read_bytes() == plain.path.read_bytes()


def test_a_changed_file_is_left_to_packing_and_one_thread_per_process(tmp_path: Path) -> None:
    deps, shas = _deps(tmp_path)
    store = BlobStore(tmp_path / "blobs", tmp_path / "tmp")
    deps[0].path.write_bytes(b"changed after it was hashed\n")  # untrusted: checked, and given up
    ahead = CompressAhead(store, deps, 6, shas, trusted=False)
    _wait_done(ahead)
    ahead.stop()
    assert store.get(shas[deps[0].arcname], 6) is None
    assert all(store.get(shas[e.arcname], 6) is not None for e in deps[1:]), "only that member is left out"
    # While another build of this process compresses ahead, a second one does nothing.
    other = BlobStore(tmp_path / "other", tmp_path / "tmp2")
    held = packahead._ONE.acquire(blocking=False)
    assert held
    try:
        second = CompressAhead(other, deps[1:], 6, shas, trusted=False)
        _wait_done(second)
    finally:
        packahead._ONE.release()
    assert not any(store_file.is_file() for store_file in (tmp_path / "other").rglob("*"))
