"""The seal of a no-change rebuild: the CLI's fast path, which answers a repeated `lambdapack
build` from a record of the last identical run without loading the pipeline.

A record (written by `sealwatch` after a run that took the inputs-pointer shortcut) holds the
exact invocation (argv, working directory, environment, which streams are terminals and their
sizes, today's date, this interpreter and lambdapack's version), the stat seal of every path
that run looked at or wrote, the cache entries it touched, the time it is good until, and what
it printed. The fast path hits only when the invocation is identical and every seal still
matches; anything else falls through to the normal path, which refreshes the record. It parses
no argument: the record stands for the real parser's answer to exactly this command line.

Imports only modules the interpreter has loaded before `main` runs (os, sys, time, marshal,
stat) and CPython's built-in sha256: `json` alone costs ~6 ms and `hashlib` ~2.5 ms, a third of
the budget. The invocation is kept as its sha256 (the environment may hold credentials).
docs/cache.md says what a seal proves and when a full hash runs instead.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import time

from lambdapack import __version__

try:  # CPython's own sha256, without hashlib's OpenSSL load (~2.5 ms); hashlib where it is absent
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256

__all__ = ["FORMAT", "FULL_CHECK_SECONDS", "digest_of", "invocation", "record_path", "replay", "stat_of", "view"]

FORMAT = 1
# The seals trust (size, mtime_ns, ctime_ns, inode); at least once an hour the normal path runs
# instead, which hashes the cached zip in full (and `deploy` always hashes what it uploads).
FULL_CHECK_SECONDS = 3600.0
# Shell bookkeeping that changes between identical commands and that no build reads.
_VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})

Raw = tuple[bool, int, int, int, int] | None  # (is a directory, size, mtime_ns, ctime_ns, inode); None: absent


def invocation() -> tuple[object, ...]:
    """Everything about this process that the normal path could answer differently to."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE))
    ttys = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            fd = stream.fileno() if stream is not None else -1
            ttys.append(os.get_terminal_size(fd) if fd >= 0 and os.isatty(fd) else None)
        except (OSError, ValueError):
            ttys.append(None)
    return (FORMAT, __version__, sys.executable, sys.version, tuple(sys.argv), os.getcwd(), env,
            tuple(None if t is None else (t.columns, t.lines) for t in ttys), time.strftime("%Y-%m-%d"))


def seal_dir(environ: dict[str, str] | os._Environ[str]) -> str:
    """Where records live: beside the default cache (platformdirs' user cache dir, computed
    here without importing it), or $LAMBDAPACK_CACHE_DIR. Not --cache-dir: the fast path
    parses no argument; a record only names the cache its run used."""
    given = environ.get("LAMBDAPACK_CACHE_DIR")
    if given:
        return os.path.join(given, "seals")
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.path.join(environ.get("LOCALAPPDATA") or home, "lambdapack", "Cache")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches", "lambdapack")
    else:
        base = os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "lambdapack")
    return os.path.join(base, "seals")


def digest_of(inv: tuple[object, ...]) -> str:
    """The invocation as its sha256: the record's name (nothing of the environment is stored)."""
    return str(sha256(repr(inv).encode("utf-8", "surrogateescape")).hexdigest())


def record_path(digest: str) -> str:
    return os.path.join(seal_dir(os.environ), f"{digest}.seal")


def stat_of(path: str, follow: bool = True) -> Raw:
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None
    return (stat.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def view(raw: Raw, mode: str) -> tuple[object, ...]:
    """What a seal compares, by how the path was used: `full` (read, listed or written: a
    directory by its mtime and inode, a file by size, mtime, ctime and inode), `kind` (only
    probed: a directory that exists, or a file as in `full`), and absence."""
    if raw is None:
        return ("absent",)
    is_dir, size, mtime, ctime, ino = raw
    if is_dir:
        return ("dir",) if mode == "kind" else ("dir", mtime, ino)
    return ("file", size, mtime, ctime, ino)


def _load(digest: str) -> dict[str, object] | None:
    try:
        with open(record_path(digest), "rb") as f:
            rec = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(rec, dict) or rec.get("inv") != digest:
        return None
    until = rec.get("until")
    return rec if isinstance(until, float) and time.time() < until else None


def _sealed(rec: dict[str, object]) -> bool:
    seals = rec.get("seals")
    if not isinstance(seals, list):
        return False
    try:
        return all(view(stat_of(p, follow), mode) == want for p, follow, mode, want in seals)
    except (TypeError, ValueError):
        return False  # a damaged record is a miss


def replay() -> int | None:
    """The recorded answer to this exact invocation when every seal still holds; else None."""
    rec = _load(digest_of(invocation()))
    if rec is None or not _sealed(rec):
        return None
    out, code = rec.get("out"), rec.get("rc")
    if not isinstance(out, list) or not isinstance(code, int):
        return None
    # Cache entries are not touched: their seals include the mtime, and the normal path that
    # runs at least every FULL_CHECK_SECONDS marks them used for the LRU again.
    streams = (sys.stdout, sys.stderr)
    try:
        for fd, text in out:
            streams[fd].write(text)
            streams[fd].flush()
    except BrokenPipeError:  # `lambdapack build ... | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return code
