"""The cache's locks, with real processes: builds share the cache, prune and clean wait
for them (and auto-prune gives way), on POSIX through flock and, for the slot protocol
that Windows uses over msvcrt byte locks, through fcntl.lockf byte ranges."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdapack.cache import Cache
from lambdapack.cacherecords import ResolutionRecord

if sys.platform == "win32":
    pytest.skip("the POSIX stand-in for Windows byte locks needs fcntl", allow_module_level=True)

# A holder: takes the lock without waiting, says whether it got it, keeps it until told.
_HOLDER = textwrap.dedent("""
    import fcntl, sys
    from pathlib import Path
    from lambdapack.cache import Cache
    from lambdapack.cachelock import hold_slots

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
