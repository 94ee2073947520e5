"""Progress on stderr, so stdout stays the result.

On a terminal: one live line per running stage (one per artifact in a project build),
`compiling 812/1,995 modules  12.4 s`, redrawn by a ticker thread about ten times a second
(so elapsed time moves even when no counter does); a finished stage stays as one line with
its duration. Elsewhere (CI, pipes): no redraws and no cursor movement, one line per stage when
it ends (`compiling 1,995 modules: 36.2 s`), and the notes as they come. `-q`: nothing.
The frame strings are pure functions of the stages' snapshots, tested without a terminal.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from lambdapack.cli.style import Style
from lambdapack.progress import Progress, Snapshot, Stage, StageStart

__all__ = ["Console", "end_line", "fit_rows", "live_line", "progress", "redraw", "seconds"]

TICK = 0.1  # seconds between redraws: at most ~10 a second, at least one a second


def seconds(s: float) -> str:
    """'0.3 s', '36.2 s', '2 min 05 s'."""
    if s < 60:
        return f"{s:.1f} s"
    m, rest = divmod(int(s), 60)
    return f"{m} min {rest:02d} s"


def _prefix(label: str | None) -> str:
    return f"{label}: " if label else ""


def live_line(s: Snapshot, width: int, label: str | None = None) -> str:
    """The running stage as one line that fits `width` columns without wrapping (a wrapped
    line would break the cursor-up redraw): the stage's tail is shortened first."""
    left = f"{_prefix(label)}{s.head}{' ' + s.counter if s.counter else ''}"
    right = f"  {seconds(s.seconds)}"
    tail = f" {s.tail}" if s.tail else ""
    room = width - 1 - len(left) - len(right)
    if len(tail) > room:
        tail = tail[:room - 1] + "…" if room > 2 else ""
    if room < 0:  # narrower still: the counter's words go, the elapsed time stays
        left = left[:max(width - 2 - len(right), 0)] + "…"
    return (left + tail + right)[-max(width - 1, 1):]


def end_line(s: Snapshot, label: str | None = None) -> str:
    """A finished stage, as it stays: '• compiling 1,995 modules ...: 36.2 s'."""
    took = seconds(s.seconds) if s.ok else f"stopped after {seconds(s.seconds)}"
    return f"• {_prefix(label)}{s.text}: {took}"


def fit_rows(lines: list[str], rows: int) -> list[str]:
    """At most `rows - 1` live lines: the cursor cannot move up past the top of the screen,
    so a taller block could not be redrawn in place. The rest are counted on the last line."""
    room = max(rows - 1, 1)
    if len(lines) <= room:
        return lines
    return [*lines[:room - 1], f"… and {len(lines) - room + 1} more running"]


def redraw(drawn: int, above: Sequence[str], live: Sequence[str]) -> str:
    """The bytes that replace the `drawn` live lines on the screen with `above` (lines that
    stay) and then `live` (the new live block): cursor up to the block's first line, erase
    to the end of the screen, write. Lines must not wrap (`live_line` fits them)."""
    up = f"\r\x1b[{drawn}A" if drawn else ""
    return up + "\x1b[J" + "".join(f"{line}\n" for line in [*above, *live])


class Console:
    """One stderr shared by every artifact's reporter; thread-safe (a project builds in threads)."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, live: bool | None = None,
                 width: Callable[[], int] | None = None) -> None:
        self.stream, self.quiet = stream, quiet
        # Debug logging writes to the same stream: a live block would be torn by it.
        tty = hasattr(stream, "isatty") and stream.isatty()
        if live is None:
            live = tty and logging.getLogger().getEffectiveLevel() > logging.INFO and _cursor_moves(stream)
        self.live = live
        self.style = Style(stream)
        self.width: Callable[[], int] = width or (lambda: _size(stream).columns)
        self.rows: Callable[[], int] = lambda: _size(stream).lines
        self._lock = threading.Lock()
        self._running: dict[str | None, list[Stage]] = {}  # label -> its stages, the newest shown
        self._drawn = 0  # live lines on the screen now
        self._shown: list[str] = []
        self._ticker: threading.Thread | None = None

    def reporter(self, label: str | None = None) -> Progress:
        """The `Progress` of one artifact (`label` prefixes its lines in a project build)."""

        def say(msg: str) -> None:
            if self.quiet:
                return
            if isinstance(msg, StageStart):
                self._start(label, msg.stage)
            else:
                self._emit([self.style(f"• {_prefix(label)}{msg}", "2")])

        return say

    def _start(self, label: str | None, stage: Stage) -> None:
        stage.on_end(lambda st: self._end(label, st))
        with self._lock:
            self._running.setdefault(label, []).append(stage)
            if self.live and self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="lambdapack-progress", daemon=True)
                self._ticker.start()
        if self.live:
            self._emit([])

    def _end(self, label: str | None, stage: Stage) -> None:
        with self._lock:
            stages = self._running.get(label, [])
            if stage in stages:
                stages.remove(stage)
            if not stages:
                self._running.pop(label, None)
        self._emit([self.style(end_line(stage.snapshot(), label), "2")])

    def _live_lines(self) -> list[str]:
        width = self.width()
        lines = [live_line(stages[-1].snapshot(), width, label) for label, stages in self._running.items() if stages]
        return [self.style(line, "36") for line in fit_rows(lines, self.rows())]

    def _emit(self, above: list[str]) -> None:
        """Print `above` (lines that stay) and, on a terminal, the live block again below them."""
        with self._lock:
            if not self.live:
                text = "".join(f"{line}\n" for line in above)
            else:
                live = self._live_lines()
                if not above and live == self._shown:
                    return
                text = redraw(self._drawn, above, live)
                self._drawn, self._shown = len(live), live
            if text:
                self.stream.write(text)
                self.stream.flush()

    def _tick(self) -> None:
        while True:
            time.sleep(TICK)
            with self._lock:
                if not self._running:
                    self._ticker = None
                    return
            self._emit([])


if sys.platform == "win32":
    def _cursor_moves(stream: TextIO) -> bool:
        """Whether the console obeys cursor movement: a Windows console only once asked to
        (ENABLE_VIRTUAL_TERMINAL_PROCESSING, Windows 10 on); where it refuses, no live lines."""
        import ctypes
        import msvcrt

        try:
            handle = msvcrt.get_osfhandle(stream.fileno())
            mode = ctypes.c_uint32()
            kernel = ctypes.windll.kernel32
            return bool(kernel.GetConsoleMode(handle, ctypes.byref(mode))
                        and kernel.SetConsoleMode(handle, mode.value | 0x0004))
        except (OSError, ValueError, AttributeError):
            return False
else:
    def _cursor_moves(_stream: TextIO) -> bool:
        return True  # every POSIX terminal does


def _size(stream: TextIO) -> os.terminal_size:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return shutil.get_terminal_size()
    return size if size.columns and size.lines else shutil.get_terminal_size()


def progress(quiet: bool) -> Progress:
    """The progress of a single build, on stderr."""
    return Console(sys.stderr, quiet=quiet).reporter()
