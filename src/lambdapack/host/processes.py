"""The subprocess edge: the only module that starts processes.

Every child (uv, the target interpreters that compile bytecode, import modules and
describe themselves, strip tools) is started here, so that the rules hold for all:

* the caller passes the whole environment (nothing is inherited by accident);
* output is captured and kept, so an error can quote the child's stderr;
* a child can get its own process group (POSIX: a new session; Windows:
  CREATE_NEW_PROCESS_GROUP), and stopping it then kills what it started too
  (killpg; taskkill /T on Windows, then a plain kill);
* a timeout kills the child (and its group) and raises `Timeout`, which the caller
  maps to its own message; a KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one by
  the CLI) kills the child before it goes on;
* `Group` registers the children of one operation run from worker threads, so the
  main thread can kill them all at once (see `children.map_with_children`).

Child-process Python lives in real files under `scripts/`; `script()` gives the path.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

__all__ = ["Group", "Process", "Result", "Stopped", "Stopping", "Timeout", "run", "run_text", "script", "start", "start_text", "stop_all"]

log = logging.getLogger(__name__)

# str with text=True (decoded as UTF-8, undecodable bytes replaced), else bytes.
Out = TypeVar("Out", str, bytes)

# How long stop() waits for a killed child to be reaped (and taskkill may take).
_GRACE_SECONDS = 1.0


class Timeout(Exception):
    """The child ran past its timeout and was killed (with its group); what it had
    written until then is kept."""

    def __init__(self, argv: Sequence[str], seconds: float, stdout: str | bytes, stderr: str | bytes,
                 returncode: int) -> None:
        super().__init__(f"{argv[0]} did not finish within {seconds:g} s")
        self.argv = list(argv)
        self.seconds = seconds
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode

    @property
    def stdout_text(self) -> str:
        return _text(self.stdout)

    @property
    def stderr_text(self) -> str:
        return _text(self.stderr)


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


class Stopped(Exception):
    """A child was to be started after its group was stopped (the operation is ending)."""


@dataclass(frozen=True)
class Result(Generic[Out]):
    argv: list[str]
    returncode: int
    stdout: Out
    stderr: Out


class Process(Generic[Out]):
    """A started child. `communicate` waits (raising `Timeout`), `stop` kills and reaps."""

    def __init__(self, popen: subprocess.Popen[Out], own_group: bool, empty: Out) -> None:
        self._popen: subprocess.Popen[Out] = popen
        self.own_group = own_group
        self._empty: Out = empty  # "" or b"": what a closed pipe gave

    @property
    def argv(self) -> list[str]:
        args = self._popen.args
        return [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    @property
    def stdout(self) -> IO[Out] | None:
        """The child's output pipe, to read as it comes (a caller waiting for a line)."""
        return self._popen.stdout

    def poll(self) -> int | None:
        return self._popen.poll()

    def communicate(self, input: Out | None = None, timeout: float | None = None) -> tuple[Out, Out]:
        """Send `input`, wait for the end, return (stdout, stderr). Past `timeout` the
        child is NOT killed here (the caller decides): `Timeout` is raised."""
        try:
            out = self._popen.communicate(input, timeout=timeout)
            _reaped(self)
            return out
        except subprocess.TimeoutExpired:
            raise Timeout(self.argv, timeout or 0.0, self._empty, self._empty, -1) from None

    def kill(self) -> None:
        """SIGKILL the child, and its process group when it leads one; never raises, never waits."""
        proc = self._popen
        if self.own_group and sys.platform == "win32":
            if proc.poll() is None:
                try:
                    # /T: the whole tree (Windows has no process-group kill).
                    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True,
                                   timeout=_GRACE_SECONDS, check=False)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        elif self.own_group and hasattr(os, "killpg"):
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined,unused-ignore]
                return
            except OSError:
                pass  # already gone (or the group is): kill the process itself below
        try:
            proc.kill()
        except OSError:
            pass

    def stop(self, grace: float = _GRACE_SECONDS) -> None:
        """Kill the child and everything it started (if still running), then wait for it briefly."""
        if self._popen.poll() is None:
            self.kill()
        try:
            self._popen.wait(timeout=grace)
            _reaped(self)
        except subprocess.TimeoutExpired:
            log.debug("%s (pid %d) did not exit within %.1f s of being killed", self.argv[0], self.pid, grace)

    def rest(self) -> tuple[Out, Out]:
        """What a killed child wrote before it died (empty if its pipes do not close within the grace)."""
        empty = self._empty
        try:
            out, err = self._popen.communicate(timeout=_GRACE_SECONDS)
        except (subprocess.TimeoutExpired, ValueError):
            return empty, empty
        return (out if out is not None else empty), (err if err is not None else empty)


def _start(argv: Sequence[str], env: Mapping[str, str], cwd: str | Path | None, stdin: bool, text: bool,
           own_group: bool) -> Process[Any]:
    grouped = own_group and (sys.platform == "win32" or hasattr(os, "killpg"))
    flags = 0
    if sys.platform == "win32" and grouped:
        flags = subprocess.CREATE_NEW_PROCESS_GROUP
    decode: dict[str, Any] = {"text": True, "encoding": "utf-8", "errors": "replace"} if text else {}
    if _refusing.is_set():
        raise Stopping
    with _signals_deferred():
        # An interrupt inside Popen (after the fork, while it waits for the exec) or
        # before the child is registered would leave a child nobody knows of: deferred
        # until it is in `_live`, where `stop_all` finds it.
        popen: subprocess.Popen[Any] = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=dict(env), cwd=cwd, creationflags=flags,
            start_new_session=grouped and sys.platform != "win32", **decode,
        )
        proc = Process(popen, grouped, "" if text else b"")
        with _live_lock:
            refused = _refusing.is_set()
            if not refused:
                _live.add(proc)
        if refused:  # started while stop_all ran: it goes the way of the others
            proc.kill()
            raise Stopping
    return proc


# Children started and not yet reaped: `stop_all` kills them when the program is interrupted.
_live: set[Process[Any]] = set()
_live_lock = threading.Lock()
_refusing = threading.Event()  # set by stop_all(refuse_new=True); never cleared
_INTERRUPTS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while a child is being started; deliver them afterwards.

    Python runs signal handlers in the main thread only, so elsewhere there is nothing
    to hold. The signal is raised again through the handler that was in place (the
    CLI's turns SIGTERM into KeyboardInterrupt), once the child can be found."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, Any] = {}
    try:
        for sig in _INTERRUPTS:
            try:
                previous[sig] = signal.signal(sig, lambda signum, _frame: pending.append(signum))
            except (ValueError, OSError):
                pass  # not settable here (an embedding program): leave it
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])


def _reaped(proc: Process[Any]) -> None:
    with _live_lock:
        _live.discard(proc)


class Stopping(KeyboardInterrupt):
    """A child was to be started after `stop_all(refuse_new=True)`: the program is ending."""


def stop_all(refuse_new: bool = False) -> None:
    """Kill every child (and its group) that is still running: the program is ending on
    an interrupt, and no child may outlive it, whatever moment the signal came.
    `refuse_new`: other threads may still be running (a project build's); a child they
    start from now on raises Stopping, so none retries a killed step with a new child."""
    with _live_lock:
        if refuse_new:
            _refusing.set()
        running = list(_live)
        _live.clear()
    for proc in running:
        if proc.poll() is None:
            proc.kill()


def start(argv: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None,
          stdin: bool = False, own_group: bool = True) -> Process[bytes]:
    """Start `argv` without waiting; output as bytes. `stdin`: a pipe (else the null device).
    `own_group`: in a new process group, so that stopping it kills what it started.
    OSError if it cannot be started."""
    log.debug("starting %s", subprocess.list2cmdline(list(argv)))
    return _start(argv, env, cwd, stdin, False, own_group)


def start_text(argv: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None,
               stdin: bool = False, own_group: bool = True) -> Process[str]:
    """`start`, with output decoded as UTF-8 (undecodable bytes replaced)."""
    log.debug("starting %s", subprocess.list2cmdline(list(argv)))
    return _start(argv, env, cwd, stdin, True, own_group)


def _wait(proc: Process[Out], input: Out | None, timeout: float | None) -> Result[Out]:
    try:
        out, err = proc.communicate(input, timeout)
    except Timeout:
        proc.stop()
        out, err = proc.rest()
        rc = proc.returncode
        raise Timeout(proc.argv, timeout or 0.0, out, err, rc if rc is not None else -1) from None
    except BaseException:
        proc.stop()  # KeyboardInterrupt (Ctrl-C, SIGTERM) or anything else: no orphan
        raise
    rc = proc.returncode
    return Result(proc.argv, rc if rc is not None else -1, out, err)


def run(argv: Sequence[str], *, env: Mapping[str, str], timeout: float | None = None,
        cwd: str | Path | None = None, input: bytes | None = None, own_group: bool = True) -> Result[bytes]:
    """Run `argv` to its end: exit status and output (bytes); `input` goes to its stdin
    (else it reads the null device).

    Past `timeout` seconds the child and its group are killed and `Timeout` is raised;
    on any exception while waiting (KeyboardInterrupt included) they are killed before
    it propagates. OSError if the program cannot be started."""
    log.debug("running %s", subprocess.list2cmdline(list(argv)))
    proc: Process[bytes] = _start(argv, env, cwd, input is not None, False, own_group)
    return _wait(proc, input, timeout)


def run_text(argv: Sequence[str], *, env: Mapping[str, str], timeout: float | None = None,
             cwd: str | Path | None = None, input: str | None = None, own_group: bool = True) -> Result[str]:
    """`run`, with input and output as text (UTF-8, undecodable bytes replaced)."""
    log.debug("running %s", subprocess.list2cmdline(list(argv)))
    proc: Process[str] = _start(argv, env, cwd, input is not None, True, own_group)
    return _wait(proc, input, timeout)


class Group:
    """The children of one operation (a compile, a smoke test), started from worker threads.

    Why: the CLI turns SIGTERM (and Python turns SIGINT) into KeyboardInterrupt in the
    main thread only; `stop()` from there kills every registered child at once, so the
    threads waiting on them return, and forbids new ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Process[bytes]] = set()
        self._stopped = False

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None,
              stdin: bool = False, own_group: bool = False) -> Process[bytes]:
        """`start(...)`, registered; `Stopped` once the group is stopped."""
        with self._lock:
            if self._stopped:
                raise Stopped
            proc = start(argv, env=env, cwd=cwd, stdin=stdin, own_group=own_group)
            self._running.add(proc)
        return proc

    def forget(self, proc: Process[bytes]) -> None:
        """`proc` has finished (and was reaped) or has been dealt with by its caller."""
        with self._lock:
            self._running.discard(proc)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Kill every running child (and its group), and refuse to start new ones."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for proc in running:
            proc.kill()


_scripts = contextlib.ExitStack()
atexit.register(_scripts.close)


def script(name: str) -> str:
    """The file path of `scripts/<name>`, a child-process script shipped as package data.

    An editable install and a wheel both give a real file; should the package ever be
    imported from a zip, the script is extracted to a temporary file for this process."""
    from importlib.resources import as_file, files

    res = files("lambdapack") / "scripts" / name
    if isinstance(res, Path):
        return str(res)
    return str(_scripts.enter_context(as_file(res)))
