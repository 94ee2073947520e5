"""How the CLI writes for people: colour (NO_COLOR / FORCE_COLOR / a terminal), sizes and errors."""

from __future__ import annotations

import os
import sys
from typing import TextIO


class Style:
    """Colours text with ANSI codes when the stream is a terminal, unless NO_COLOR says otherwise."""

    def __init__(self, stream: TextIO) -> None:
        env = os.environ
        if "NO_COLOR" in env:
            self.on = False
        elif env.get("FORCE_COLOR"):
            self.on = True
        else:
            self.on = hasattr(stream, "isatty") and stream.isatty()

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
