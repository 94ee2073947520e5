"""The cache behind its store protocol, on real files and processes.

Locks: builds share the cache, prune and clean wait for them (and auto-prune gives way),
through flock and, for the slot protocol Windows uses over msvcrt byte locks, through
fcntl.lockf byte ranges. Keys hash the payloads entries were always stored under; records
read and write today's JSON, and damage is a miss; the interpreter memo and dropping a
damaged file's entry work through the store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdapack.cache.keys import (
    ArtifactKeyInputs,
    InputFingerprint,
    InputsKeyInputs,
    ResolutionKeyInputs,
    artifact_key,
    dist_key,
    files_key,
    index_environment,
    inputs_key,
    key_environment,
    pyc_key,
    resolution_key,
)
from lambdapack.cache.local import Cache
from lambdapack.cache.records import ArtifactMeta, InputsPointer, InterpreterRecord, ResolutionRecord

# The holders run the slot protocol over fcntl.lockf, the POSIX stand-in for Windows byte locks.
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the lock holders use fcntl")

# A holder: takes the lock without waiting, says whether it got it, keeps it until told.
_HOLDER = textwrap.dedent("""
    import fcntl, sys
    from pathlib import Path
    from lambdapack.cache.local import Cache
    from lambdapack.cache.lock import hold_slots

    class LockfBytes:  # exclusive one-byte locks, as msvcrt.locking gives on Windows
        def __init__(self, f):
            self.fd = f.fileno()
        def try_lock(self, offset):
            try:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except OSError:
                return False
            return True
        def unlock(self, offset):
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, offset)

    how, kind, path = sys.argv[1:4]
    exclusive = kind == "exclusive"
    if how == "cache":
        lock = Cache(Path(path))._lock(exclusive, wait=False)
    else:
        f = open(path, "a+b")
        lock = hold_slots(LockfBytes(f), exclusive, wait=False)
    with lock as got:
        print("held" if got else "busy", flush=True)
        sys.stdin.readline()
""")


class Holder:
    def __init__(self, how: str, kind: str, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _HOLDER, how, kind, str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.state = self.proc.stdout.readline().strip()  # waits for the state, not for a time

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=60) == 0


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        if h.proc.poll() is None:
            h.proc.kill()
            h.proc.wait()


@posix_only
@pytest.mark.parametrize("how", ["cache", "slots"])
def test_shared_holders_coexist_and_keep_an_exclusive_one_out(how: str, tmp_path: Path,
                                                              holders: list[Holder]) -> None:
    path = tmp_path / "c" if how == "cache" else tmp_path / "slots.lock"
    if how == "cache":
        Cache(path)

    def start(kind: str) -> Holder:
        holders.append(Holder(how, kind, path))
        return holders[-1]

    a, b = start("shared"), start("shared")
    assert (a.state, b.state) == ("held", "held")  # two builds at once
    assert start("exclusive").state == "busy"  # prune/clean must not run under a build
    holders.pop().release()
    a.release()
    assert start("exclusive").state == "busy"  # one build is still running
    holders.pop().release()
    b.release()
    ex = start("exclusive")
    assert ex.state == "held"  # no build left
    assert start("shared").state == "busy"  # and no build starts while it prunes
    holders.pop().release()
    ex.release()
    assert start("shared").state == "held"


@posix_only
def test_auto_prune_gives_way_to_a_running_build(tmp_path: Path, holders: list[Holder]) -> None:
    root = tmp_path / "c"
    cache = Cache(root)
    with cache.using():
        cache.save_resolution("k", ResolutionRecord((), {"pad": "x" * 5000}))
    holders.append(Holder("cache", "shared", root))
    assert holders[0].state == "held"
    assert cache.auto_prune(100) is False  # over the cap, but a build holds the cache
    assert (root / "resolutions" / "k.json").exists()
    holders[0].release()
    assert cache.auto_prune(100) is True
    assert not (root / "resolutions" / "k.json").exists()


# -- keys: the payloads lambdapack has always hashed, so existing entries still hit -------------

def _sha(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_keys_hash_the_payloads_entries_were_stored_under() -> None:
    assert dist_key("https://i/simple", "six", "1.16.0", ["py3-none-any", "py2-none-any"],
                    "six-1.16.0.dist-info") == _sha(
        '{"dist_info":"six-1.16.0.dist-info","index":"https://i/simple","name":"six",'
        '"tags":["py2-none-any","py3-none-any"],"version":"1.16.0"}')
    assert pyc_key((3, 12, 4), "checked-hash", "/var/task/app.py", "ab") == _sha(
        '[[3,12,4],"checked-hash","/var/task/app.py","ab"]')
    assert files_key([("b/__init__.py", "s2", False), ("a/__init__.py", "s1", True)]) == _sha(
        '[["a/__init__.py","s1",true],["b/__init__.py","s2",false]]')
    res = ResolutionKeyInputs("0.1.0", "python3.12", "arm64", "aarch64-manylinux_2_34",
                              InputFingerprint("requirements", ("six==1.16.0",), (), {"uv-input": "f"}),
                              {"no_binary": False}, None, index_environment({"UV_INDEX_URL": "u", "UV_X": "y"}))
    assert resolution_key(res) == _sha(
        '{"index":null,"inputs":{"extras":[],"files":{"uv-input":"f"},"kind":"requirements","top":["six==1.16.0"]},'
        '"install":{"no_binary":false},"target":["python3.12","arm64","aarch64-manylinux_2_34"],'
        '"uv_env":{"UV_INDEX_URL":"u"},"v":"0.1.0"}')


@pytest.mark.parametrize("allow", [(), ("conf/*",)])
def test_artifact_key_payload_and_allow_secret_only_when_given(allow: tuple[str, ...]) -> None:
    k = ArtifactKeyInputs("0.1.0", "python3.12", "x86_64", "function", 6, "libdeflate-0.9.0", (1980, 1, 1, 0, 0, 0), None, False,
                          ("checked-hash", (3, 12, 4)), "safe", (), (), False, [], [], allow,
                          [("z.py", "s2", False), ("a.py", "s1", False)], [("app.py", "s3", True)])
    extra = '"allow_secrets":["conf/*"],' if allow else ""
    assert artifact_key(k) == _sha(
        f'{{{extra}"code":[["app.py","s3",true]],"date":[1980,1,1,0,0,0],'
        '"deflate":["libdeflate-0.9.0",6],"deps":[["a.py","s1",false],["z.py","s2",false]],"handler":null,'
        '"kind":"function","layers":[],"pyc":["checked-hash",[3,12,4]],"slim":["safe",[],[],false,[]],"smoke":false,'
        '"target":["python3.12","x86_64"],"v":"0.1.0"}')


def test_inputs_key_covers_environment_and_interpreter() -> None:
    def key(env: dict[str, str], interp: tuple[str, tuple[int, ...]] | None) -> str:
        return inputs_key(InputsKeyInputs("0.1.0", "opts", "requirements", {"/r.txt": "h"}, "python3.12", "arm64",
                                          key_environment(env), (1980, 1, 1, 0, 0, 0), "libdeflate-0.9.0", interp, [], [],
                                          [("app.py", "s", False)]))

    base = key({"HOME": "/root", "UV_INDEX_URL": "u"}, ("/usr/bin/python3.12", (3, 12, 4)))
    assert base == key({"HOME": "/elsewhere", "UV_INDEX_URL": "u"}, ("/usr/bin/python3.12", (3, 12, 4)))
    assert base != key({"UV_INDEX_URL": "v"}, ("/usr/bin/python3.12", (3, 12, 4)))
    assert base != key({"UV_INDEX_URL": "u", "SOURCE_DATE_EPOCH": "1"}, ("/usr/bin/python3.12", (3, 12, 4)))
    assert base != key({"UV_INDEX_URL": "u"}, ("/usr/bin/python3.12", (3, 12, 5)))
    assert base == _sha('{"code":[["app.py","s",false]],"date":[1980,1,1,0,0,0],"deflate":"libdeflate-0.9.0","env":[["UV_INDEX_URL","u"]],'
                        '"files":{"/r.txt":"h"},"interp":["/usr/bin/python3.12",[3,12,4]],"kind":"requirements",'
                        '"layers":[],"opts":"opts","strip":[],"target":["python3.12","arm64"],"v":"0.1.0"}')


# -- records: today's JSON on disk, and damage is a miss ------------------------------------------

_DIST = {"key": "k1", "label": "six 1.16.0", "name": "six", "display_name": "six", "version": "1.16.0",
         "tags": ["py3-none-any"], "dist_info": "six-1.16.0.dist-info"}
_OLD_RESOLUTION = {"dists": [_DIST], "laptop": {"six": "1.16.0"}, "created": 1.5e9,
                   "held_back": [{"name": "a", "chosen": "1", "newest": "2", "reason": "r"}]}
_OLD_POINTER = {"artifact": "a1", "pinned": True, "resolution": "r1", "dists_digest": "d1",
                "included": {"/p/base.txt": "missing"},
                "inputs": {"kind": "requirements", "source": "/p/requirements.txt", "extras": []},
                "distributions": [["six", "six", "1.16.0", ["py3-none-any"], "six-1.16.0.dist-info"]],
                "held_back": [], "warnings": ["w"]}


def test_records_read_and_write_the_json_older_builds_wrote() -> None:
    rec = ResolutionRecord.from_json(_OLD_RESOLUTION)
    assert rec is not None and rec.dists[0].label == "six 1.16.0" and rec.held_back is not None
    assert rec.to_json() == _OLD_RESOLUTION
    # Before the held-back report is known, there is no such field (a missing report, not an empty one).
    fresh = ResolutionRecord.from_json({"dists": [], "laptop": {}, "created": 2.0})
    assert fresh is not None and fresh.held_back is None and "held_back" not in fresh.to_json()
    ptr = InputsPointer.from_json(_OLD_POINTER)
    assert ptr is not None and ptr.to_json() == _OLD_POINTER
    out = {"kind": "function", "path": "f.zip", "sha256": "h", "sha256_base64": "b", "zipped_bytes": 3,
           "unzipped_bytes": 4, "files": 1}
    meta = ArtifactMeta.from_json({"result": {"outputs": [out], "findings": []}, "size_reports": []})
    assert meta is not None and meta.outputs[0].zipped_bytes == 3
    assert meta.to_json() == {"result": {"outputs": [out], "findings": []}, "size_reports": []}


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b"null", b'{"dists": "six"}', b'{"dists": [{}], "laptop": {}}',
    b'{"dists": [], "laptop": {}, "created": "yesterday"}', b'{"dists": [], "laptop": {"six": 1}}',
    json.dumps({**_OLD_RESOLUTION, "dists": [{**_DIST, "tags": "py3-none-any"}]}).encode(),
    json.dumps({**_OLD_RESOLUTION, "dists": [{**_DIST, "label": 7}]}).encode(),
])
def test_a_damaged_resolution_is_a_miss(raw: bytes, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    (cache.root / "resolutions" / "k.json").write_bytes(raw)
    assert cache.load_resolution("k", pinned=True) is None


@pytest.mark.parametrize("change", [
    {"artifact": 3}, {"pinned": None, "inputs": "x"}, {"included": {"/p": 1}}, {"warnings": "w"},
    {"distributions": [["six", "six"]]}, {"resolution": ["r"]}, {"held_back": [{"name": 1}]},
])
def test_a_damaged_inputs_pointer_is_a_miss(change: dict[str, object], tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    path = cache.root / "artifacts" / "k.inputs"
    path.write_text(json.dumps(_OLD_POINTER))
    assert cache.load_inputs_pointer("k") is not None
    path.write_text(json.dumps({**_OLD_POINTER, **change}))
    assert cache.load_inputs_pointer("k") is None


def test_an_artifact_is_a_miss_when_its_meta_or_zip_is_damaged(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    z = tmp_path / "f.zip"
    z.write_bytes(b"PK\x05\x06" + bytes(18))
    out = {"kind": "function", "path": str(z), "sha256": hashlib.sha256(z.read_bytes()).hexdigest(),
           "sha256_base64": "-", "zipped_bytes": 22, "unzipped_bytes": 0, "files": 0}
    meta = ArtifactMeta.from_json({"result": {"outputs": [out]}, "size_reports": []})
    assert meta is not None
    cache.save_artifact("a", meta, [("function", z)])
    hit = cache.load_artifact("a")
    assert hit is not None and hit[1][0].read_bytes() == z.read_bytes()
    stored = cache.root / "artifacts" / "a.json"
    stored.write_text(json.dumps({"result": {"outputs": [{**out, "zipped_bytes": "22"}]}}))
    assert cache.load_artifact("a") is None
    stored.write_text(json.dumps(meta.to_json()))
    (cache.root / "artifacts" / "a-function.zip").write_bytes(b"PK\x05\x06" + bytes(17) + b"!")
    assert cache.load_artifact("a") is None  # same size, other bytes: never shipped


def test_unpinned_resolutions_expire_and_pinned_ones_do_not(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    (cache.root / "resolutions" / "k.json").write_text(json.dumps({**_OLD_RESOLUTION, "created": time.time() - 3600}))
    assert cache.load_resolution("k", pinned=False) is None
    assert cache.load_resolution("k", pinned=True) is not None


# -- what build.py used to reach into the directory for ------------------------------------------

def test_the_interpreter_memo_holds_while_the_file_is_unchanged(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    exe = tmp_path / "python3.12"
    exe.write_bytes(b"#!/bin/sh\n")
    st = exe.stat()
    rec = InterpreterRecord(str(exe), (3, 12, 4), "x86_64", (st.st_mtime_ns, st.st_size))
    assert cache.load_interpreter("3.12") is None
    cache.save_interpreter("3.12", rec)
    cache.save_interpreter("3.11", InterpreterRecord("/nowhere/python3.11", (3, 11, 9), "x86_64", (1, 1)))
    assert Cache(cache.root).load_interpreter("3.12") == rec  # another run reads it
    assert cache.load_interpreter("3.11") is None  # gone since
    exe.write_bytes(b"#!/bin/sh\n# upgraded\n")
    assert cache.load_interpreter("3.12") is None  # changed: probe again
    (cache.root / "interpreters.json").write_text('{"3.12": {"path": 1}}')
    assert cache.load_interpreter("3.12") is None


def test_discard_owner_drops_the_entry_holding_a_damaged_file(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    src = tmp_path / "m.py"
    src.write_text("x = 1\n")
    dist = cache.save_dist("d1", [("pkg/m.py", src, False), ("pkg/n.py", src, False)])
    pyc, _sha = cache.save_pyc("p1", src)
    assert cache.discard_owner(src) is False  # not in the cache: nothing to drop
    assert cache.discard_owner(dist.root / "pkg" / "m.py") is True
    assert cache.load_dist("d1") is None and not (cache.root / "dists" / "d1").exists()
    assert cache.discard_owner(pyc) is True
    assert cache.load_pyc("p1") is None and not pyc.with_suffix(".sha256").exists()
