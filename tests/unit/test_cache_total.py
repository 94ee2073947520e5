"""The cache's running size total (cache.Cache.record_added / auto_prune) on real files:
it matches a full walk after every kind of save, prune resets it, concurrent builds
(real processes) lose no update, and auto_prune keeps the cap."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lambdapack.cache.local import Cache
from lambdapack.cache.records import ArtifactMeta, InputsPointer, ResolutionRecord
from lambdapack.cache.total import DEFAULT_MAX_BYTES, MAX_SIZE_ENV, max_bytes_from
from lambdapack.errors import UsageError


def _walk(root: Path) -> int:
    """Our own count: every file under the entry folders (tmp/ and bookkeeping excluded)."""
    return sum(p.stat().st_size for kind in ("artifacts", "dists", "members", "pyc", "resolutions")
               for p in (root / kind).rglob("*") if p.is_file())


def _total(root: Path) -> int:
    return int((root / "size").read_text(encoding="ascii").split()[0])


def _resolution(tag: str) -> ResolutionRecord:
    return ResolutionRecord((), {"tag": tag})


def _fill(cache: Cache, tmp: Path, tag: str, n: int = 40) -> None:
    """One of every kind of entry, as a build stores them."""
    site = tmp / f"site-{tag}"
    site.mkdir()
    rels = []
    for i in range(n):
        f = site / f"m{i}.py"
        f.write_bytes(os.urandom(1000 + i))
        rels.append((f"pkg/m{i}.py", f, False))
    cache.save_dist(f"dist-{tag}", rels)
    cache.save_resolution(f"res-{tag}", _resolution(tag))
    cache.save_pyc(f"{tag}pyc", rels[0][1])
    # Blobs: one by one, then many small ones into a pack.
    for _rel, f, _x in rels[:3]:
        cache.blobs.blob_for(f, 6)
    pack = cache.blobs.pack_writer()
    for _rel, f, _x in rels[3:]:
        pack.add(f, 6)
    pack.commit()
    z = tmp / f"{tag}.zip"
    z.write_bytes(os.urandom(5000))
    cache.save_artifact(f"art-{tag}", ArtifactMeta({"outputs": []}, []), [("function", z)])
    cache.save_inputs_pointer(f"in-{tag}", InputsPointer(f"art-{tag}", True, None, None, {}, "none", None, (), (),
                                                         (), ()))


def test_running_total_matches_a_walk_after_every_kind_of_save(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = Cache(root)
    with cache.using():
        _fill(cache, tmp_path, "a")
    assert _total(root) == _walk(root) > 80_000
    # A second "build" adds to the total without walking: the walk-time stays the first one.
    walked = (root / "size").read_text(encoding="ascii").split()[1]
    cache2 = Cache(root)
    with cache2.using():
        _fill(cache2, tmp_path, "b")
        cache2.save_resolution("res-a", _resolution("a, longer now"))  # an overwrite counts its growth only
    assert _total(root) == _walk(root)
    assert (root / "size").read_text(encoding="ascii").split()[1] == walked


def test_a_cache_without_a_total_is_walked_once(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = Cache(root)
    with cache.using():
        _fill(cache, tmp_path, "a")
    (root / "size").unlink()  # a cache written by an older lambdapack
    cache = Cache(root)
    with cache.using():
        pass
    assert _total(root) == _walk(root) > 0


def test_a_new_cache_counts_its_first_build_without_a_walk(tmp_path: Path) -> None:
    # A cold CI job's cache: made by this build, so its total starts at 0 and the build's
    # bytes are added; a walk of what is already there would find nothing anyway.
    root = tmp_path / "new"
    cache = Cache(root)
    assert (root / "size").read_text(encoding="ascii").split()[0] == "0"

    def no_walk() -> int:
        raise AssertionError("walked a cache that was made empty by this process")

    cache.stored_bytes = no_walk  # type: ignore[method-assign]
    with cache.using():
        _fill(cache, tmp_path, "a")
    assert _total(root) == _walk(root) > 80_000
    # An existing folder without a total (an older lambdapack's cache) is not "new".
    old = tmp_path / "old"
    old.mkdir()
    Cache(old)
    assert not (old / "size").exists()


def test_prune_and_clean_reset_the_total(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = Cache(root)
    with cache.using():
        _fill(cache, tmp_path, "a")
        _fill(cache, tmp_path, "b")
    cache.prune(100_000)
    assert _total(root) == _walk(root) <= 100_000
    cache.clean()
    assert _total(root) == 0 == _walk(root)


def test_auto_prune_keeps_the_cap_least_recently_used_first(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = Cache(root)
    with cache.using():
        _fill(cache, tmp_path, "old")
    old = time.time() - 3600
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (old, old))
    one = _walk(root)
    with cache.using():
        _fill(cache, tmp_path, "new")
    cap = int(one * 1.5)
    assert _walk(root) > cap
    assert cache.auto_prune(cap) is True
    assert _walk(root) <= cap * 0.8
    assert _total(root) == _walk(root)
    # The most recently used entries stayed, the old ones went.
    assert (root / "resolutions" / "res-new.json").exists()
    assert not (root / "resolutions" / "res-old.json").exists()
    assert cache.auto_prune(cap) is False  # under the cap now: no walk, no prune


_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from lambdapack.cache.local import Cache
    from lambdapack.cache.records import ResolutionRecord
    cache = Cache(Path(sys.argv[1]))
    with cache.using():
        for i in range(30):
            cache.save_resolution(f"{sys.argv[2]}-{i}", ResolutionRecord((), {"pad": "x" * (100 * i)}))
""")


def test_concurrent_builds_lose_no_update_of_the_total(tmp_path: Path) -> None:
    root = tmp_path / "c"
    Cache(root).record_added()  # the total exists, so no child walks
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(root), f"p{n}"]) for n in range(6)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 6
    assert len(list((root / "resolutions").glob("*.json"))) == 180
    assert _total(root) == _walk(root)


def test_the_cap_comes_from_the_environment() -> None:
    assert max_bytes_from({}) == DEFAULT_MAX_BYTES == 5 * 1024**3
    assert max_bytes_from({MAX_SIZE_ENV: "3M"}) == 3 * 1024**2
    assert max_bytes_from({MAX_SIZE_ENV: " 1.5G "}) == int(1.5 * 1024**3)
    with pytest.raises(UsageError) as e:
        max_bytes_from({MAX_SIZE_ENV: "lots"})
    assert e.value.exit_code == 2 and MAX_SIZE_ENV in e.value.message


def test_the_total_file_is_plain_text(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    with cache.using():
        cache.save_resolution("k", _resolution("x"))
    total, walked = (tmp_path / "c" / "size").read_text(encoding="ascii").split()
    assert int(total) == (tmp_path / "c" / "resolutions" / "k.json").stat().st_size
    assert abs(float(walked) - time.time()) < 60
