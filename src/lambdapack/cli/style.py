"""How the CLI writes for people: colour (--color, NO_COLOR, FORCE_COLOR, a terminal), sizes and errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

COLOR_MODES = ("auto", "always", "never")

# The --color of this run, set once by cli.main; every Style reads it (one place decides).
_mode = "auto"


def set_color(mode: str) -> None:
    global _mode
    _mode = mode


def color_on(mode: str, environ: Mapping[str, str], is_terminal: bool) -> bool:
    """--color always/never wins; then NO_COLOR, then FORCE_COLOR, then whether it is a terminal.

    no-color.org: only a non-empty NO_COLOR disables colour (an empty one is as if unset);
    FORCE_COLOR, likewise non-empty, turns it on where no terminal is (CI logs that render ANSI)."""
    if mode != "auto":
        return mode == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return is_terminal


class Style:
    """Colours text with ANSI codes when color_on says so for this stream."""

    def __init__(self, stream: TextIO) -> None:
        tty = hasattr(stream, "isatty") and stream.isatty()
        self.on = color_on(_mode, os.environ, tty)

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text


def mb(n: int) -> str:
    # Binary units throughout: Lambda's "250 MB" is 262,144,000 bytes = 250 MiB.
    from lambdapack.units import human  # lazily: `tags` and `why` never need it

    return human(n)


def print_error(msg: str, hint: str | None = None) -> None:
    st = Style(sys.stderr)
    print(f"{st('error:', '1;31')} {msg}", file=sys.stderr)
    if hint:
        print(f"{st('hint:', '1;36')} {hint}", file=sys.stderr)
