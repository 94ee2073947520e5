"""The content-addressed build cache, end to end: real builds, real processes, real PyPI.

Every cached result is compared byte for byte with a `--no-cache` build of the same
inputs: the cache may only ever make a build faster, never different. Damaged entries
(truncated or flipped bytes, invalid JSON) must be detected and rebuilt; builds running
at the same time or killed at any moment must never leave a cache that yields a wrong
or failing build.

Cache files are never modified in place: `dists/*/files/*` are hard links into uv's own
cache (and maybe other caches on this machine), so every "corruption" below writes a
new file and renames it over the entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import (
    HAS_PROC,
    Run,
    assert_no_outputs,
    children_mentioning,
    clean_env,
    lp_build_json,
    read_until,
    run_lp,
    wait_for,
    write_handler,
)

pytestmark = pytest.mark.network

RT = ["--runtime", "python3.12", "--arch", "x86_64"]
SMALL_REQS = "six==1.17.0\norjson==3.13.0\n"
DATA_REQS = "numpy==2.5.5\npandas==3.1.1\n"
MiB = 1024 * 1024
RSS_LIMIT_KB = 250 * 1024  # ru_maxrss is in KiB on Linux

# Our own reading of a member blob (independent of lambdapack.pack.members):
# magic, method, crc32, uncompressed size, compressed size, sha256 of the stored data.
BLOB_HEADER = struct.Struct("<4sBIQQ32s")


# --- helpers ------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replace_file(path: Path, data: bytes) -> None:
    """Give `path` new content through a new inode (never write into a shared hard link)."""
    tmp = path.with_name(path.name + ".corrupting")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0xFF
    return bytes(b)


@dataclass(frozen=True)
class Project:
    root: Path
    src: Path
    reqs: Path


def make_project(root: Path, imports: str, reqs: str) -> Project:
    src = write_handler(root / "src", f"import {imports}")
    (src / "pkg").mkdir(exist_ok=True)
    (src / "pkg" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    req = root / "requirements.txt"
    req.write_text(reqs, encoding="utf-8")
    return Project(root, src, req)


def with_code_change(p: Project, dest: Path, tag: str) -> Project:
    """A copy of the project whose handler differs (dependencies unchanged)."""
    shutil.copytree(p.src, dest / "src")
    handler = dest / "src" / "lambda_function.py"
    handler.write_text(handler.read_text(encoding="utf-8") + f"\nCHANGE = {tag!r}\n", encoding="utf-8")
    return Project(dest, dest / "src", p.reqs)


def build_args(kind: str, p: Project, out: Path, cache: Path | None, *extra: str) -> list[str]:
    """`build` argv; the outputs are `out` (+ `out`.layer.zip for --split)."""
    a = ["build"] if kind == "layer" else ["build", str(p.src)]
    a += [*RT, "-r", str(p.reqs), "-o", str(out)]
    if kind == "layer":
        a.append("--layer")
    elif kind == "split":
        a += ["--split", "--layer-output", str(layer_out(out))]
    a += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return [*a, *extra]


def layer_out(out: Path) -> Path:
    return out.with_name(out.stem + ".layer.zip")


def outputs_of(kind: str, out: Path) -> list[Path]:
    return [out, layer_out(out)] if kind == "split" else [out]


def build(kind: str, p: Project, out: Path, cache: Path | None, *extra: str) -> dict[str, Any]:
    _r, data = lp_build_json(build_args(kind, p, out, cache, *extra))
    for o in data["outputs"]:
        assert o["sha256"] == sha(Path(o["path"])), "the JSON sha256 must be that of the file written"
    return data


class Refs:
    """`--no-cache` builds, memoised by (kind, source content, requirements, extra args)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[tuple[Any, ...], list[bytes]] = {}

    def get(self, kind: str, p: Project, *extra: str) -> list[bytes]:
        src_state = tuple(sorted((str(f.relative_to(p.src)), sha(f)) for f in p.src.rglob("*") if f.is_file()))
        key = (kind, src_state, p.reqs.read_text(encoding="utf-8"), extra)
        if key not in self._done:
            out = self.root / f"ref-{len(self._done)}.zip"
            data = build(kind, p, out, None, *extra)
            assert data["cached"] is False
            self._done[key] = [f.read_bytes() for f in outputs_of(kind, out)]
        return self._done[key]

    def assert_same(self, kind: str, p: Project, out: Path, *extra: str, why: str = "") -> None:
        want = self.get(kind, p, *extra)
        for f, ref in zip(outputs_of(kind, out), want, strict=True):
            got = f.read_bytes()
            assert got == ref, (
                f"{f.name} differs from the --no-cache build of the same inputs {why}: "
                f"{hashlib.sha256(got).hexdigest()} != {hashlib.sha256(ref).hexdigest()}"
            )


def blob_files(cache: Path) -> set[Path]:
    return {p for p in (cache / "members").rglob("*.blob")}


def blob_path(cache: Path, content: bytes, level: int = 6) -> Path:
    from lambdapack.pack.members import BlobStore

    return BlobStore(cache / "members").path_for(hashlib.sha256(content).hexdigest(), level)


def assert_valid_blob(path: Path, content: bytes) -> None:
    """The blob is complete and decodes (by our own reading) to exactly `content`."""
    raw = path.read_bytes()
    magic, method, crc, usize, csize, digest = BLOB_HEADER.unpack_from(raw)
    data = raw[BLOB_HEADER.size:]
    assert magic == b"LPB2" and len(data) == csize, f"{path} is not a complete blob"
    fields = struct.pack("<BIQQ", method, crc, usize, csize)
    assert hashlib.sha256(fields + hashlib.sha256(data).digest()).digest() == digest, f"{path}: seal mismatch"
    plain = zlib.decompress(data, -15) if method == 8 else data
    assert plain == content and usize == len(content) and crc == zlib.crc32(content), f"{path} is wrong"


def cache_leftovers(cache: Path) -> list[Path]:
    """In-flight files a killed build may leave: anything in tmp/, blob temp files."""
    left = list((cache / "tmp").iterdir()) if (cache / "tmp").exists() else []
    left += [p for p in cache.rglob("*")
             if p.name.startswith(".tmp-") or p.name.endswith((".partial", ".tmp", ".corrupting"))]
    return left


def zip_contents(path: Path) -> set[bytes]:
    with zipfile.ZipFile(path) as zf:
        return {zf.read(n) for n in zf.namelist()}


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None, f"{path} has a member whose CRC does not match"
        return zf.namelist()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("small"), "six, orjson", SMALL_REQS)


@pytest.fixture(scope="module")
def data_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("data"), "numpy, pandas", DATA_REQS)


@pytest.fixture(scope="module")
def refs(tmp_path_factory: pytest.TempPathFactory) -> Refs:
    return Refs(tmp_path_factory.mktemp("refs"))


# --- 1. cached == --no-cache --------------------------------------------------------


@pytest.mark.parametrize("kind", ["function", "split"])
def test_cold_warm_and_code_change_builds_equal_no_cache_builds(
    kind: str, small: Project, refs: Refs, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cold = build(kind, small, tmp_path / "cold.zip", cache)
    assert cold["cached"] is False
    refs.assert_same(kind, small, tmp_path / "cold.zip", why="(cold cache)")

    warm = build(kind, small, tmp_path / "warm.zip", cache)
    assert warm["cached"] is True, "nothing changed: the zip must come whole from the artifact cache"
    refs.assert_same(kind, small, tmp_path / "warm.zip", why="(artifact hit)")
    assert [o["sha256"] for o in warm["outputs"]] == [o["sha256"] for o in cold["outputs"]]

    before = blob_files(cache)
    changed = with_code_change(small, tmp_path / "changed", "v2")
    code = build(kind, changed, tmp_path / "code.zip", cache)
    assert code["cached"] is False, "the code changed: the artifact must not be reused"
    refs.assert_same(kind, changed, tmp_path / "code.zip", why="(code-only change)")
    # Members hit: only contents that no earlier zip had (the handler, its bytecode)
    # are compressed anew; everything else is copied from existing blobs.
    old_contents = {c for z in outputs_of(kind, tmp_path / "cold.zip") for c in zip_contents(z)}
    fresh = {c for z in outputs_of(kind, tmp_path / "code.zip") for c in zip_contents(z)} - old_contents
    handler = (changed.src / "lambda_function.py").read_bytes()
    assert handler in fresh and len(fresh) <= 2, "a code-only change: the handler (and its .pyc) are new"
    new = blob_files(cache) - before
    assert new == {blob_path(cache, c) for c in fresh}, f"members were compressed again: {sorted(new)}"


# --- 2. corruption ------------------------------------------------------------------


def _six_py(small: Project, cache: Path) -> bytes:
    [f] = list((cache / "dists").glob("*/files/six.py"))
    return f.read_bytes()


def _drop_artifacts(cache: Path) -> None:
    """Make the next build assemble the zip from members (no whole-zip hit)."""
    for f in (cache / "artifacts").iterdir():
        f.unlink()


CORRUPTIONS = [
    "blob-truncated", "blob-data-flipped", "blob-crc-flipped",
    "artifact-truncated", "artifact-flipped",
    "dist-file-size-changed",
    "resolution-invalid-json", "resolution-json-list", "resolution-entry-without-key",
    "resolution-dists-emptied",
    "pyc-truncated", "pyc-flipped",
]


@pytest.mark.parametrize("what", CORRUPTIONS)
def test_damaged_entry_is_rebuilt_and_build_equals_no_cache(
    what: str, small: Project, refs: Refs, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    build("function", small, tmp_path / "first.zip", cache)
    six_py = _six_py(small, cache)
    check: Callable[[], None]

    if what.startswith("blob"):
        blob = blob_path(cache, six_py)
        raw = blob.read_bytes()
        if what == "blob-truncated":
            replace_file(blob, raw[: len(raw) // 2])
        elif what == "blob-data-flipped":
            replace_file(blob, flip(raw, BLOB_HEADER.size + 10))
        else:  # the CRC-32 in the header: the zip would fail to extract
            replace_file(blob, flip(raw, 5))
        _drop_artifacts(cache)

        def check() -> None:
            assert_valid_blob(blob, six_py)

    elif what.startswith("artifact"):
        [z] = list((cache / "artifacts").glob("*-function.zip"))
        raw = z.read_bytes()
        replace_file(z, raw[:-100] if what == "artifact-truncated" else flip(raw, len(raw) // 2))

        def check() -> None:
            assert z.read_bytes() == refs.get("function", small)[0], "the damaged artifact was not rewritten"
            again = build("function", small, tmp_path / "again.zip", cache)
            assert again["cached"] is True, "the rebuilt artifact must be used by the next build"

    elif what.startswith("pyc"):
        pycs = sorted((cache / "pyc").rglob("*.pyc"))
        assert pycs, "expected the bytecode cache to hold .pyc files (is a Python 3.12 on this machine?)"
        for f in pycs:
            raw = f.read_bytes()
            replace_file(f, raw[: len(raw) // 2] if what == "pyc-truncated" else flip(raw, len(raw) - 5))
        _drop_artifacts(cache)

        def check() -> None:
            pass

    elif what == "dist-file-size-changed":
        [f] = list((cache / "dists").glob("*/files/six.py"))
        replace_file(f, six_py[:100])
        _drop_artifacts(cache)  # else the finished zip is reused whole and the dist is not read

        def check() -> None:
            manifest = json.loads((f.parents[1] / "manifest.json").read_text(encoding="utf-8"))
            [rec] = [r for r in manifest["files"] if r["rel"] == "six.py"]
            assert f.read_bytes() == six_py and rec["sha256"] == hashlib.sha256(six_py).hexdigest()

    else:
        [res] = list((cache / "resolutions").glob("*.json"))
        bad = {
            "resolution-invalid-json": res.read_bytes()[:-7],
            "resolution-json-list": b"[]",
            "resolution-entry-without-key": b'{"dists": [{}], "laptop": {}}',
            "resolution-dists-emptied": b'{"dists": [], "laptop": {}}',
        }[what]
        replace_file(res, bad)

        def check() -> None:
            data = json.loads(res.read_text(encoding="utf-8"))
            assert isinstance(data, dict) and [d["display_name"] for d in data["dists"]] == ["orjson", "six"]

    r = run_lp([*build_args("function", small, tmp_path / "next.zip", cache), "--format", "json"])
    assert r.returncode == 0, f"a damaged cache entry ({what}) must be rebuilt, not fail the build\n{r.explain()}"
    assert "Traceback" not in r.stderr
    refs.assert_same("function", small, tmp_path / "next.zip", why=f"(after {what})")
    zip_names(tmp_path / "next.zip")
    check()


def test_same_size_corruption_of_a_dist_file_never_reaches_a_zip(
    small: Project, refs: Refs, tmp_path: Path
) -> None:
    """Sizes are all `load_dist` checks. A same-size change is invisible to it; whatever
    else happens, the changed bytes must never be shipped, including when the member has
    to be compressed again from the dist file (another level, or members pruned)."""
    cache = tmp_path / "cache"
    build("function", small, tmp_path / "first.zip", cache)
    [f] = list((cache / "dists").glob("*/files/six.py"))
    good = f.read_bytes()
    bad = good[:200] + b"X" * 16 + good[216:]
    assert len(bad) == len(good)
    replace_file(f, bad)

    # Same level: the artifact (keyed by the manifest's sha) is reused; the zip is right.
    build("function", small, tmp_path / "same-level.zip", cache)
    refs.assert_same("function", small, tmp_path / "same-level.zip", why="(same-size dist corruption)")
    # Members rebuilt from the dist files: an artifact miss with all blobs gone.
    _drop_artifacts(cache)
    shutil.rmtree(cache / "members")
    build("function", small, tmp_path / "no-members.zip", cache)
    with zipfile.ZipFile(tmp_path / "no-members.zip") as zf:
        shipped = zf.read("six.py")
    assert shipped == good, "a same-size corruption of a dist file reached the zip (six.py has the changed bytes)"
    refs.assert_same("function", small, tmp_path / "no-members.zip", why="(members rebuilt from a changed dist)")
    # Another compression level: new blobs are made from the dist files.
    build("function", small, tmp_path / "level9.zip", cache, "--compression-level", "9")
    refs.assert_same("function", small, tmp_path / "level9.zip", "--compression-level", "9",
                     why="(level 9 after same-size dist corruption)")


def test_damaged_member_pack_of_a_real_build_never_reaches_a_zip(
    data_project: Project, refs: Refs, tmp_path: Path
) -> None:
    """A cold numpy+pandas build packs its ~3,000 small members into one file (compressed
    ahead while bytecode compiles; the .pyc go into a second, smaller one); bytes flipped
    all over it (and then an index cut short) are found and compressed again."""
    cache = tmp_path / "cache"
    build("function", data_project, tmp_path / "first.zip", cache)
    pack = max((cache / "members" / "packs").glob("*.pack"), key=lambda p: p.stat().st_size)
    idx = pack.with_suffix(".idx")
    assert pack.stat().st_size > 5 * MiB, "expected the small members in one pack"
    raw = bytearray(pack.read_bytes())
    for at in range(4096, len(raw), 65_537):
        raw[at] ^= 0x10
    replace_file(pack, bytes(raw))
    _drop_artifacts(cache)
    build("function", data_project, tmp_path / "flipped.zip", cache)
    refs.assert_same("function", data_project, tmp_path / "flipped.zip", why="(pack bytes flipped)")
    zip_names(tmp_path / "flipped.zip")

    replace_file(idx, idx.read_bytes()[:-1000])
    _drop_artifacts(cache)
    build("function", data_project, tmp_path / "cut.zip", cache)
    refs.assert_same("function", data_project, tmp_path / "cut.zip", why="(pack index cut short)")


# --- 3. concurrency -----------------------------------------------------------------


def _popen(args: list[str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "lambdapack", *args, "--format", "json"], env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _finish(procs: Iterable[subprocess.Popen[str]], timeout: float = 300) -> list[Run]:
    runs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        runs.append(Run(list(map(str, p.args)), p.returncode, out, err))  # type: ignore[arg-type]
    return runs


def test_two_identical_builds_at_once_on_an_empty_cache(
    data_project: Project, refs: Refs, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    outs = [tmp_path / "a.zip", tmp_path / "b.zip"]
    runs = _finish([_popen(build_args("function", data_project, o, cache)) for o in outs])
    for r in runs:
        assert r.returncode == 0, r.explain()
    assert outs[0].read_bytes() == outs[1].read_bytes()
    refs.assert_same("function", data_project, outs[0], why="(two concurrent builds)")
    assert cache_leftovers(cache) == []


def test_four_mixed_builds_in_parallel(small: Project, refs: Refs, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    orjson_only = Project(tmp_path, small.src, tmp_path / "orjson.txt")
    orjson_only.reqs.write_text("orjson==3.13.0\n", encoding="utf-8")
    jobs = [("function", small), ("layer", small), ("layer", orjson_only), ("split", small)]
    outs = [tmp_path / f"{i}-{k}.zip" for i, (k, _p) in enumerate(jobs)]
    runs = _finish([_popen(build_args(k, p, o, cache)) for (k, p), o in zip(jobs, outs, strict=True)])
    for r in runs:
        assert r.returncode == 0, r.explain()
    for (k, p), o in zip(jobs, outs, strict=True):
        refs.assert_same(k, p, o, why="(four builds in parallel)")
    # And the cache they filled together serves whole-zip hits that are right.
    for (k, p), o in zip(jobs, outs, strict=True):
        again = o.with_name("again-" + o.name)
        assert build(k, p, again, cache)["cached"] is True
        refs.assert_same(k, p, again, why="(hit from a cache filled in parallel)")


# --- 4. killed builds ---------------------------------------------------------------


def _kill_tree(proc: subprocess.Popen[str], sig: int) -> None:
    """Signal the build; afterwards take down what it left running (uv), all ours."""
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only processes this test started


def test_sigkill_at_any_moment_leaves_a_usable_cache(data_project: Project, refs: Refs, tmp_path: Path) -> None:
    """SIGKILL after fixed and random delays, and once while members are being written."""
    rng = random.Random()
    delays: list[float | str] = [0.2, 1.0, round(rng.uniform(0.1, 3.0), 2), "packing"]
    refs.get("function", data_project)  # the reference first, so it does not run beside a killed build
    for i, delay in enumerate(delays):
        # The index keeps folders apart: the random delay can round to one of the fixed ones.
        d = tmp_path / f"kill-{i}-{delay}"
        cache = d / "cache"
        d.mkdir()
        if delay == "packing":
            # Text mode: wait for the progress line, then kill in the middle of compression.
            proc = subprocess.Popen([sys.executable, "-m", "lambdapack",
                                     *build_args("function", data_project, d / "killed.zip", cache)],
                                    env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            assert proc.stderr is not None
            # Off a terminal a stage's line comes when it ends: verifying's, just before packing.
            read_until(proc.stderr, "verifying")
            time.sleep(0.3)
        else:
            proc = _popen(build_args("function", data_project, d / "killed.zip", cache), start_new_session=True)
            assert isinstance(delay, float)
            time.sleep(delay)
        _kill_tree(proc, signal.SIGKILL)

        info = run_lp(["cache", "info", "--cache-dir", str(cache), "--format", "json"])
        assert info.returncode == 0, f"after SIGKILL at {delay!r}: {info.explain()}"
        assert info.json["total_bytes"] >= 0
        data = build("function", data_project, d / "next.zip", cache)
        refs.assert_same("function", data_project, d / "next.zip", why=f"(after SIGKILL at {delay!r})")
        assert data["ok"] is True

        pruned = run_lp(["cache", "prune", "--cache-dir", str(cache)])
        assert pruned.returncode == 0, pruned.explain()
        assert cache_leftovers(cache) == [], f"prune left in-flight files of the build killed at {delay!r}"
        assert build("function", data_project, d / "warm.zip", cache)["cached"] is True


@pytest.mark.parametrize("stage", ["resolving", "packing"])
def test_sigterm_exits_130_and_writes_no_zip(stage: str, data_project: Project, tmp_path: Path) -> None:
    """SIGTERM once the build is in `stage` (a state, not a delay, which under load could land
    before the CLI set its handler): uv running as its child, or the line of the stage before
    packing (off a terminal a stage's line comes when it ends)."""
    if stage == "resolving" and not HAS_PROC:
        pytest.skip("needs /proc to see uv running")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "lambdapack",
                             *build_args("function", data_project, out_dir / "f.zip", cache)],
                            env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    if stage == "resolving":
        wait_for(lambda: children_mentioning(proc.pid, "pip"), "uv installing", proc=proc)
    else:
        read_until(proc.stderr, "verifying")
    _kill_tree(proc, signal.SIGTERM)
    assert proc.returncode == 130, f"SIGTERM while {stage}: exit {proc.returncode}"
    assert_no_outputs(out_dir)
    assert list(out_dir.iterdir()) == []
    assert cache_leftovers(cache) == []


# --- 5. cache info / clean / prune --------------------------------------------------


def _units(cache: Path) -> dict[str, tuple[int, float]]:
    """Our own list of removable cache units: {name: (bytes, last use)}."""
    units: dict[str, tuple[int, float]] = {}
    for meta in (cache / "artifacts").glob("*.json"):
        parts = [meta, *meta.parent.glob(f"{meta.stem}-*.zip")]
        units[f"artifacts/{meta.stem}"] = (sum(p.stat().st_size for p in parts), meta.stat().st_mtime)
    for ptr in (cache / "artifacts").glob("*.inputs"):  # no-change shortcut: inputs -> artifact key
        units[f"artifacts/{ptr.name}"] = (ptr.stat().st_size, ptr.stat().st_mtime)
    for d in (cache / "dists").iterdir():
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        units[f"dists/{d.name}"] = (size, (d / "manifest.json").stat().st_mtime)
    for b in (cache / "members").rglob("*.blob"):
        units[f"members/{b.name}"] = (b.stat().st_size, b.stat().st_mtime)
    for idx in (cache / "members").glob("packs/*.idx"):  # a pack and its index: one unit
        pack = idx.with_suffix(".pack")
        units[f"members/packs/{idx.stem}"] = (idx.stat().st_size + pack.stat().st_size, idx.stat().st_mtime)
    for r in (cache / "resolutions").glob("*.json"):
        units[f"resolutions/{r.name}"] = (r.stat().st_size, r.stat().st_mtime)
    for c in (cache / "pyc").rglob("*.pyc"):
        sha = c.with_suffix(".sha256")
        size = c.stat().st_size + (sha.stat().st_size if sha.exists() else 0)
        units[f"pyc/{c.name}"] = (size, c.stat().st_mtime)
    for f in (cache / "facts").glob("*.facts"):  # what verification learnt of a dependency set
        units[f"facts/{f.name}"] = (f.stat().st_size, f.stat().st_mtime)
    return units


_BOOKKEEPING = {"cache.lock", "size.lock", "size", "interpreters.json"}


def _stored_bytes(cache: Path) -> int:
    """Bytes of every file in the cache except its lock, stamp and interpreter memo."""
    return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file() and p.name not in _BOOKKEEPING)


def _age_everything(cache: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in cache.rglob("*"):
        # Not the files under dists/*/files: they are hard links shared with uv's cache.
        if p.is_file() and "files" not in p.relative_to(cache).parts[2:3]:
            os.utime(p, (then, then))


def test_info_prune_lru_and_clean(small: Project, refs: Refs, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build("function", small, tmp_path / "a.zip", cache)
    _age_everything(cache, 1800)  # A's entries: used half an hour ago
    only_orjson = Project(small.root, small.src, tmp_path / "orjson.txt")
    only_orjson.reqs.write_text("orjson==3.13.0\n", encoding="utf-8")
    t_mark = time.time() - 60
    build("layer", only_orjson, tmp_path / "b.zip", cache)  # B: uses orjson's entries again

    info = run_lp(["cache", "info", "--cache-dir", str(cache), "--format", "json"])
    assert info.returncode == 0, info.explain()
    kinds = info.json["kinds"]
    on_disk = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    assert info.json["total_bytes"] == sum(v["bytes"] for v in kinds.values())
    assert info.json["total_bytes"] == _stored_bytes(cache) <= on_disk, "info must count every entry (pyc/ too)"
    assert kinds["artifacts"]["entries"] == 2 and kinds["resolutions"]["entries"] == 2
    assert kinds["dists"]["entries"] == 2 and kinds["members"]["bytes"] > 0
    text = run_lp(["cache", "info", "--cache-dir", str(cache)])
    assert text.returncode == 0, text.explain()
    for word in ("members", "dists", "resolutions", "artifacts", "total", str(cache)):
        assert word in text.stdout
    assert "KiB" in text.stdout

    units = _units(cache)
    recent = {k for k, (_s, used) in units.items() if used >= t_mark}
    old = set(units) - recent
    assert any(k.startswith("artifacts/") for k in recent) and any(k.startswith("artifacts/") for k in old)
    limit = sum(units[k][0] for k in recent) + 1
    pr = run_lp(["cache", "prune", "--max-size", str(limit), "--cache-dir", str(cache), "--format", "json"])
    assert pr.returncode == 0, pr.explain()
    after = _units(cache)
    assert set(after) == recent, f"LRU: removed {sorted(set(units) - set(after))}, kept {sorted(after)}"
    assert pr.json["freed_bytes"] >= sum(units[k][0] for k in old)
    assert pr.json["max_bytes"] == limit

    # The next builds still work: B is whole in the cache, A is rebuilt and right.
    assert build("layer", only_orjson, tmp_path / "b2.zip", cache)["cached"] is True
    refs.assert_same("layer", only_orjson, tmp_path / "b2.zip", why="(after prune)")
    assert build("function", small, tmp_path / "a2.zip", cache)["cached"] is False
    refs.assert_same("function", small, tmp_path / "a2.zip", why="(after prune)")

    tiny = run_lp(["cache", "prune", "--max-size", "1K", "--cache-dir", str(cache)])
    assert tiny.returncode == 0 and "freed" in tiny.stdout, tiny.explain()
    assert sum(s for s, _u in _units(cache).values()) <= 1024
    left = _stored_bytes(cache)
    assert left <= 1024, f"prune --max-size 1K left {left} bytes of entries (pyc/ included)"
    build("function", small, tmp_path / "a3.zip", cache)
    refs.assert_same("function", small, tmp_path / "a3.zip", why="(after prune to 1K)")

    cl = run_lp(["cache", "clean", "--cache-dir", str(cache), "--format", "json"])
    assert cl.returncode == 0 and cl.json["freed_bytes"] > 0, cl.explain()
    empty = run_lp(["cache", "info", "--cache-dir", str(cache), "--format", "json"]).json
    assert empty["total_bytes"] == 0 and all(v["entries"] == 0 for v in empty["kinds"].values())
    assert _stored_bytes(cache) == 0, f"clean left entries: {[str(p) for p in cache.rglob('*') if p.is_file()][:5]}"
    assert build("function", small, tmp_path / "a4.zip", cache)["cached"] is False
    refs.assert_same("function", small, tmp_path / "a4.zip", why="(after clean)")


@pytest.mark.parametrize("size", ["garbage", "", "12Q", "1.5.5G", "infK", "-1G"])
def test_prune_with_an_invalid_size_is_a_usage_error(size: str, small: Project, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build("function", small, tmp_path / "a.zip", cache)
    before = _units(cache)
    r = run_lp(["cache", "prune", "--max-size", size, "--cache-dir", str(cache)])
    assert r.returncode == 2, r.explain()
    assert "Traceback" not in r.stderr and "error:" in r.stderr, r.explain()
    assert _units(cache) == before, "a rejected prune must not remove anything"


def test_cache_commands_use_lambdapack_cache_dir(small: Project, tmp_path: Path) -> None:
    cache = tmp_path / "env-cache"
    env = clean_env({"LAMBDAPACK_CACHE_DIR": str(cache)})
    lp_build_json(["build", str(small.src), *RT, "-r", str(small.reqs), "-o", str(tmp_path / "a.zip")], env=env)
    info = run_lp(["cache", "info", "--format", "json"], env=env)
    assert info.returncode == 0 and info.json["path"] == str(cache) and info.json["kinds"]["artifacts"]["entries"] == 1


# --- 6. resolution freshness --------------------------------------------------------

RESOLVING = "resolving and installing"
FROM_CACHE = "from the cache (no resolution needed)"
NO_CHANGE = "no change: the finished zip comes from the cache"


def reused(progress: str) -> bool:
    """The cached resolution was used: through the dists, or whole (the no-change shortcut)."""
    return RESOLVING not in progress and (FROM_CACHE in progress or NO_CHANGE in progress)


def _progress_build(p: Project, out: Path, cache: Path, *extra: str) -> str:
    r = run_lp(build_args("function", p, out, cache, *extra))
    assert r.returncode == 0, r.explain()
    return r.stderr


def _set_created(cache: Path, when: object) -> None:
    [res] = list((cache / "resolutions").glob("*.json"))
    data = json.loads(res.read_text(encoding="utf-8"))
    data["created"] = when
    replace_file(res, json.dumps(data).encode())


def test_refresh_and_unpinned_resolution_lifetime(small: Project, refs: Refs, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    unpinned = Project(small.root, small.src, tmp_path / "requirements.txt")
    unpinned.reqs.write_text("six\norjson\n", encoding="utf-8")
    assert RESOLVING in _progress_build(unpinned, tmp_path / "1.zip", cache)
    second = _progress_build(unpinned, tmp_path / "2.zip", cache)
    assert reused(second), "a fresh unpinned resolution must be reused"
    third = _progress_build(unpinned, tmp_path / "3.zip", cache, "--refresh")
    assert RESOLVING in third, "--refresh must resolve again even when the cached resolution is fresh"

    _set_created(cache, time.time() - 9 * 60)
    assert reused(_progress_build(unpinned, tmp_path / "4.zip", cache)), "9 minutes old: still fresh"
    _set_created(cache, time.time() - 11 * 60)
    assert RESOLVING in _progress_build(unpinned, tmp_path / "5.zip", cache), "11 minutes old: stale"
    _set_created(cache, "yesterday")
    assert RESOLVING in _progress_build(unpinned, tmp_path / "6.zip", cache), "an unreadable age: resolve again"
    for i in range(1, 7):
        assert (tmp_path / f"{i}.zip").read_bytes() == (tmp_path / "1.zip").read_bytes()

    # Pinned inputs do not expire.
    pinned_cache = tmp_path / "pinned"
    build("function", small, tmp_path / "p1.zip", pinned_cache)
    _set_created(pinned_cache, time.time() - 30 * 86400)
    assert reused(_progress_build(small, tmp_path / "p2.zip", pinned_cache))
    assert RESOLVING in _progress_build(small, tmp_path / "p3.zip", pinned_cache, "--refresh")
    refs.assert_same("function", small, tmp_path / "p3.zip", why="(--refresh)")


def test_no_change_shortcut_misses_on_any_input_change(small: Project, refs: Refs, tmp_path: Path) -> None:
    """The shortcut skips reading requirements and dists; every input it skips must still
    count: a file a requirements file includes, SOURCE_DATE_EPOCH, options, a damaged pointer."""
    cache = tmp_path / "cache"
    root = tmp_path / "proj"
    root.mkdir()
    (root / "base.txt").write_text("six==1.17.0\n", encoding="utf-8")
    main = root / "requirements.txt"
    main.write_text("-r base.txt\norjson==3.13.0\n", encoding="utf-8")
    p = Project(root, small.src, main)
    assert RESOLVING in _progress_build(p, tmp_path / "1.zip", cache)
    assert NO_CHANGE in _progress_build(p, tmp_path / "2.zip", cache)
    assert (tmp_path / "2.zip").read_bytes() == (tmp_path / "1.zip").read_bytes()

    # Only the included file changes: the shortcut must not hand back the old zip.
    (root / "base.txt").write_text("six==1.17.0\nidna==3.11\n", encoding="utf-8")
    out = _progress_build(p, tmp_path / "3.zip", cache)
    assert NO_CHANGE not in out and RESOLVING in out
    assert any(n.startswith("idna/") for n in zip_names(tmp_path / "3.zip")), "the included file's new pin is missing"
    assert NO_CHANGE in _progress_build(p, tmp_path / "3b.zip", cache)

    # The zip's timestamp comes from the environment.
    env = clean_env({"SOURCE_DATE_EPOCH": "1700000000"})
    r = run_lp(build_args("function", p, tmp_path / "4.zip", cache), env=env)
    assert r.returncode == 0 and NO_CHANGE not in r.stderr, r.explain()
    with zipfile.ZipFile(tmp_path / "4.zip") as zf:
        assert zf.infolist()[0].date_time[0] == 2023
    r = run_lp(build_args("function", p, tmp_path / "4b.zip", cache), env=env)
    assert NO_CHANGE in r.stderr and (tmp_path / "4b.zip").read_bytes() == (tmp_path / "4.zip").read_bytes()

    # How long uv may wait changes nothing that is installed: still no change.
    out = _progress_build(p, tmp_path / "4c.zip", cache, "--network-timeout", "40", "--deadline", "1200")
    assert NO_CHANGE in out and RESOLVING not in out, out

    # An option that changes the zip.
    out = _progress_build(p, tmp_path / "5.zip", cache, "--no-compile")
    assert NO_CHANGE not in out
    assert not any(n.endswith(".pyc") for n in zip_names(tmp_path / "5.zip"))

    # Damaged pointers are misses, never crashes; the zip is still right.
    for damage in (b"{", b"[]", b'{"artifact": 5}', b'{"artifact": "0", "resolution": null, "included": {}}'):
        for ptr in (cache / "artifacts").glob("*.inputs"):
            replace_file(ptr, damage)
        r = run_lp(build_args("function", p, tmp_path / "6.zip", cache))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.explain()
        assert (tmp_path / "6.zip").read_bytes() == (tmp_path / "3.zip").read_bytes(), f"after pointer {damage!r}"


def test_no_change_shortcut_across_working_dirs_and_project_copies(small: Project, tmp_path: Path) -> None:
    """Relative paths are made absolute: the same project from another working directory
    hits; a copy of the project elsewhere, whose included file differs, never does."""
    cache = tmp_path / "cache"

    def project(where: Path, base: str) -> Path:
        shutil.copytree(small.src, where / "src")
        (where / "base.txt").write_text(base, encoding="utf-8")
        (where / "requirements.txt").write_text("-r base.txt\norjson==3.13.0\n", encoding="utf-8")
        return where

    def build_in(cwd: Path, proj: Path, out: Path) -> Run:
        rel = os.path.relpath(proj, cwd)
        r = run_lp(["build", f"{rel}/src", *RT, "-r", f"{rel}/requirements.txt", "-o", str(out),
                    "--cache-dir", str(cache)], cwd=cwd)
        assert r.returncode == 0, r.explain()
        return r

    a = project(tmp_path / "a", "six==1.17.0\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    build_in(a, a, tmp_path / "1.zip")
    again = build_in(elsewhere, a, tmp_path / "2.zip")
    assert NO_CHANGE in again.stderr, "the same project from another working directory must hit"
    assert (tmp_path / "2.zip").read_bytes() == (tmp_path / "1.zip").read_bytes()

    b = project(tmp_path / "b", "six==1.17.0\nidna==3.11\n")  # same requirements.txt bytes, other base.txt
    other = build_in(b, b, tmp_path / "3.zip")
    assert NO_CHANGE not in other.stderr
    assert any(n.startswith("idna/") for n in zip_names(tmp_path / "3.zip")), "b's included file was ignored"


# --- 7. memory (and timings, reported only) -----------------------------------------

# lambdapack run inside this process exactly as `python -m lambdapack` runs it; records
# its own peak RSS and that of its children (uv, which it waits for) separately.
_RSS_WRAPPER = r"""
import json, resource, runpy, sys, time
report = sys.argv.pop(1)
t0 = time.monotonic()
code = 0
try:
    runpy.run_module("lambdapack", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
with open(report, "w") as f:
    json.dump({"self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
               "seconds": time.monotonic() - t0, "exit": code}, f)
sys.exit(code)
"""

# A fresh, small helper whose only child is the build. On Linux ru_maxrss carries the
# peak of the image a process was forked from across exec, so a child of pytest (which
# holds zips in memory) would report pytest's size; a child of this helper cannot.
# The helper's RUSAGE_CHILDREN is the peak of the whole tree (lambdapack and uv).
_HELPER = r"""
import json, resource, subprocess, sys
report, wrapper, args = sys.argv[1], sys.argv[2], sys.argv[3:]
r = subprocess.run([sys.executable, "-c", wrapper, report + ".self", *args], stdout=subprocess.DEVNULL)
with open(report + ".self") as f:
    data = json.load(f)
data["tree_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(report, "w") as f:
    json.dump(data, f)
sys.exit(r.returncode)
"""


def _measured(args: list[str], report: Path) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-c", _HELPER, str(report), _RSS_WRAPPER, *args], env=clean_env(),
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit"] == 0
    return data


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def test_data_workload_memory_and_timings(
    data_project: Project, refs: Refs, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "no-change": [], "code-only": []}
    for i in range(3):
        cache = tmp_path / f"cache-{i}"
        out = tmp_path / f"cold-{i}.zip"
        runs["cold"].append(_measured(build_args("function", data_project, out, cache, "-q"), tmp_path / f"c{i}"))
        refs.assert_same("function", data_project, out, why="(cold, measured)")
        runs["no-change"].append(
            _measured(build_args("function", data_project, tmp_path / f"warm-{i}.zip", cache, "-q"), tmp_path / f"w{i}")
        )
        changed = with_code_change(data_project, tmp_path / f"changed-{i}", f"v{i}")
        runs["code-only"].append(
            _measured(build_args("function", changed, tmp_path / f"code-{i}.zip", cache, "-q"), tmp_path / f"k{i}")
        )

    lines = ["numpy==2.5.5 pandas==3.1.1, python3.12 x86_64 (time: median of 3; peak RSS: max of 3):"]
    for name, rs in runs.items():
        self_mb = max(r["self_kb"] for r in rs) / 1024
        kids_mb = max(r["children_kb"] for r in rs) / 1024
        tree_mb = max(r["tree_kb"] for r in rs) / 1024
        secs = _median([r["seconds"] for r in rs])
        lines.append(f"  {name:<10} {secs:6.2f} s   lambdapack {self_mb:6.1f} MiB   uv (children) {kids_mb:6.1f} MiB"
                     f"   tree {tree_mb:6.1f} MiB"
                     "   [" + ", ".join(f"{r['seconds']:.2f}" for r in rs) + "]")
        record_property(f"{name}_seconds_median", round(secs, 3))
        record_property(f"{name}_lambdapack_peak_rss_mib", round(self_mb, 1))
        record_property(f"{name}_uv_peak_rss_mib", round(kids_mb, 1))
    print("\n".join(lines))
    for name, rs in runs.items():
        for r in rs:
            assert r["self_kb"] < RSS_LIMIT_KB, f"{name}: lambdapack peak RSS {r['self_kb'] / 1024:.1f} MiB"
            assert r["tree_kb"] < RSS_LIMIT_KB, f"{name}: peak RSS of lambdapack or uv {r['tree_kb'] / 1024:.1f} MiB"


# --- 8. output zip (and cache) inside the source directory --------------------------


@pytest.mark.parametrize("cache_inside", [False, True], ids=["cache-outside", "cache-inside-src"])
def test_output_zip_inside_the_source_dir(cache_inside: bool, small: Project, refs: Refs, tmp_path: Path) -> None:
    src = tmp_path / "proj"
    shutil.copytree(small.src, src)
    shutil.copy(small.reqs, src / "requirements.txt")
    pristine = Project(tmp_path, tmp_path / "pristine", src / "requirements.txt")
    shutil.copytree(src, pristine.src)
    cache = src / ".lpcache" if cache_inside else tmp_path / "cache"
    args = ["build", ".", *RT, "-o", "function.zip", "--cache-dir", str(cache)]
    _r, first = lp_build_json(args, cwd=src)
    first_bytes = (src / "function.zip").read_bytes()
    _r, second = lp_build_json(args, cwd=src)
    names = zip_names(src / "function.zip")
    assert "function.zip" not in names
    stray = [n for n in names if n.startswith((".lpcache", ".lambdapack")) or n.endswith((".partial", ".zip"))]
    assert stray == [], f"the zip holds the output or cache files: {stray[:5]}"
    assert (src / "function.zip").read_bytes() == first_bytes
    assert second["cached"] is True, "nothing changed between the two builds"
    refs.assert_same("function", pristine, src / "function.zip", why="(output inside the source dir)")
    assert first["ok"] is True
