"""Watching one CLI run to write its seal (seal.py): every path it opened, listed, probed or
wrote, seen through an audit hook (opens, listings, renames, links, removals, utime) and
wrappers of os.stat/os.lstat and os.path's probes (existence checks open nothing).

A record is written only for a run that exited 0 after exactly one build that took the
inputs-pointer shortcut (pipeline calls `note_build` and `note_reuse`), and only when the
run started no process, used no network, read no pipe, ran without -v/--debug, and no path
it looked at changed during the run or less than RACY_SECONDS before it started (an edit in
the same mtime tick as the seal, with the same size, would be invisible: git's "racy clean").
Anything else is simply not recorded: the next run takes the normal path again.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from lambdapack.seal import FULL_CHECK_SECONDS, Raw, digest_of, invocation, record_path, stat_of, view

__all__ = ["finish", "not_recordable", "note_build", "note_reuse", "watch"]

RACY_SECONDS = 2.0
MAX_RECORDS = 256  # one per distinct invocation; the oldest go first
_SPAWNS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
           "os.startfile", "socket.connect", "socket.getaddrinfo", "os.chdir")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _Run:
    def __init__(self) -> None:
        self.on = False
        self.start = time.time()
        self.seen: dict[tuple[str, bool], tuple[str, Raw]] = {}  # (path, follow) -> (mode, first raw)
        self.written: set[str] = set()
        self.out: list[tuple[int, str]] = []
        self.blocked: str | None = None
        self.builds = 0
        self.reuse: tuple[str, float, tuple[str, ...]] | None = None  # cache root, until, extra paths


_RUN = _Run()


def _path(p: Any) -> str | None:
    if isinstance(p, int) or p is None:
        return None if isinstance(p, int) else os.getcwd()
    try:
        return os.path.abspath(os.fsdecode(p))
    except (TypeError, ValueError):
        return None


def _see(p: Any, mode: str, follow: bool = True, raw: Raw | bool = False) -> None:
    path = _path(p)
    if path is None or "__pycache__" in path:
        return
    key = (path, follow)
    known = _RUN.seen.get(key)
    if known is not None and (known[0] == "full" or mode == "kind"):
        return
    first: Raw = stat_of(path, follow) if raw is False else raw  # type: ignore[assignment]
    _RUN.seen[key] = (mode, first if known is None else known[1])


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _RUN.on:
        return
    if event == "open":
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        if writes:
            path = _path(args[0])
            if path is not None:
                _RUN.written.add(path)
        else:
            _see(args[0], "full")
    elif event in ("os.listdir", "os.scandir"):
        # The import system lists sys.path's folders (the cwd under -m, which the output's rename
        # changes): the modules it loaded are sealed file by file instead (_code_files).
        _see(args[0], "kind" if _path(args[0]) in _import_roots() else "full")
    elif event in ("os.rename", "os.link", "os.symlink"):
        for p in (args[0], args[1]):
            path = _path(p)
            if path is not None:
                _RUN.written.add(path)
    elif event in ("os.remove", "os.rmdir", "os.truncate", "os.chmod") or event == "os.utime":
        path = _path(args[0])
        if path is not None:
            _RUN.written.add(path)
    elif event.startswith(_SPAWNS):
        _RUN.blocked = f"{event} during the run"


def _import_roots() -> set[str]:
    return {os.path.abspath(p or os.curdir) for p in sys.path if isinstance(p, str)}


def _stat_wrapper(real: Callable[..., os.stat_result], follow_default: bool) -> Callable[..., os.stat_result]:
    def wrapped(path: Any, *args: Any, **kw: Any) -> os.stat_result:
        follow = kw.get("follow_symlinks", True) and follow_default
        try:
            st = real(path, *args, **kw)
        except (FileNotFoundError, NotADirectoryError):
            if _RUN.on and kw.get("dir_fd") is None:
                _see(path, "kind", follow, None)
            raise
        if _RUN.on and kw.get("dir_fd") is None:
            import stat as st_mod

            raw = (st_mod.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            _see(path, "kind", follow, raw)
        return st
    return wrapped


def _probe_wrapper(real: Callable[[Any], bool], follow: bool) -> Callable[[Any], bool]:
    def wrapped(path: Any) -> bool:
        if _RUN.on:
            _see(path, "kind", follow)
        return real(path)
    return wrapped


class _Tee:
    """A text stream that keeps what is written to it (print() only calls write and flush)."""

    def __init__(self, stream: TextIO, fd: int) -> None:
        self._stream, self._fd = stream, fd

    def write(self, text: str) -> int:
        if _RUN.on:
            _RUN.out.append((self._fd, text))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def watch() -> None:
    """Start watching this process (the real CLI process only: an audit hook stays for life)."""
    if sys.stdout is None or sys.stderr is None:
        return
    sys.addaudithook(_hook)
    os.stat = _stat_wrapper(os.stat, True)
    os.lstat = _stat_wrapper(os.lstat, False)
    for name, follow in (("exists", True), ("isfile", True), ("isdir", True), ("islink", False),
                         ("lexists", False)):
        setattr(os.path, name, _probe_wrapper(getattr(os.path, name), follow))
    sys.stdout, sys.stderr = _Tee(sys.stdout, 0), _Tee(sys.stderr, 1)
    _RUN.on = True


def note_build() -> None:
    _RUN.builds += 1


def note_reuse(cache_root: str, until: float, extra: Iterable[str]) -> None:
    """The build took the shortcut: its record may stand until `until` (unpinned inputs expire)."""
    _RUN.reuse = (os.path.abspath(cache_root), until, tuple(os.path.abspath(p) for p in extra))


def not_recordable(why: str, stop: bool = False) -> None:
    """This run leaves no record; `stop`: and nothing more of it is watched (a full build stats
    and opens every staged file, which would only cost time)."""
    _RUN.blocked = why
    if stop:
        _RUN.on = False


def _seals(root: str) -> list[tuple[str, bool, str, tuple[object, ...]]] | None:
    """The seals of everything the run used, or None when one of them moved during the run."""
    inside = root + os.sep
    tmp = os.path.join(root, "tmp")
    racy = int((_RUN.start - RACY_SECONDS) * 1e9)
    out = []
    for (path, follow), (mode, first) in _RUN.seen.items():
        if path in _RUN.written or path == tmp or path.startswith(tmp + os.sep):
            continue
        if mode == "full" and first is not None and not first[0] and not _regular(path):
            return None  # a pipe or a device: its content is not sealed by a stat
        now = view(stat_of(path, follow), mode)
        if now != view(first, mode) or _racy(first, mode, racy):
            return None
        out.append((path, follow, mode, now))
    for path in sorted(_RUN.written):
        # The cache's own bookkeeping (its lock, the running total, in-flight files) is no input.
        if path.startswith(inside) and (path.startswith(tmp + os.sep) or os.path.dirname(path) == root):
            continue
        raw = stat_of(path)
        if _racy(raw, "full", racy, written=True) and not path.startswith(inside):
            return None
        out.append((path, True, "full", view(raw, "full")))
    return out


def _racy(raw: Raw, mode: str, racy_ns: int, written: bool = False) -> bool:
    """Changed so recently that an edit in the same tick would leave the seal as it is. An
    input by its ctime too (POSIX: no tool sets it back); an output by its mtime, which is the
    cached zip's, from its first build (the hard link made now renews only the ctime)."""
    if raw is None or (mode != "full" and raw[0]):
        return False
    changed = raw[2] if written or os.name == "nt" else max(raw[2], raw[3])
    return changed >= racy_ns


def _regular(path: str) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # absent: its seal says so


def _code_files(extra: Iterable[str]) -> list[str]:
    """The files of every module loaded (lambdapack's code and its libraries), and `extra`."""
    files = [f for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str)]
    return sorted({os.path.abspath(f) for f in files if "__pycache__" not in f} | set(extra))


def finish(code: int) -> None:
    """Write the record of this run if it qualifies (see the module's doc); never fails the run."""
    _RUN.on = False
    if code != 0 or _RUN.blocked or _RUN.builds != 1 or _RUN.reuse is None:
        return
    logging = sys.modules.get("logging")
    if logging is not None and logging.getLogger().getEffectiveLevel() < logging.WARNING:
        return  # -v/--debug: its lines describe work that a replay would not do
    root, until, extra = _RUN.reuse
    for f in _code_files(extra):
        _see(f, "full")
    seals = _seals(root)
    if seals is None:
        return
    digest = digest_of(invocation())
    record = {"inv": digest, "until": min(until, time.time() + FULL_CHECK_SECONDS), "seals": seals,
              "out": _RUN.out, "rc": 0}
    with contextlib.suppress(OSError, ValueError):
        _write(record_path(digest), marshal.dumps(record))


def _write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fresh = not os.path.exists(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    # Only its user may read it: it holds what the build printed and the paths it used.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with open(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    if fresh:
        _bound(folder)


def _bound(folder: str) -> None:
    """At most MAX_RECORDS records (a new cwd per CI job makes new ones): drop the oldest."""
    names = [n for n in os.listdir(folder) if n.endswith(".seal")]
    if len(names) <= MAX_RECORDS:
        return
    paths = sorted((os.path.join(folder, n) for n in names), key=lambda p: os.stat(p).st_mtime_ns)
    for p in paths[: len(paths) - MAX_RECORDS * 3 // 4]:
        with contextlib.suppress(OSError):
            os.remove(p)
