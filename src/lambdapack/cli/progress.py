"""The progress printer: one dim line on stderr per step, so stdout stays the result."""

from __future__ import annotations

import sys
from collections.abc import Callable

from lambdapack.cli.style import Style


def progress(quiet: bool) -> Callable[[str], None]:
    st = Style(sys.stderr)

    def say(msg: str) -> None:
        if not quiet:
            print(st(f"• {msg}", "2"), file=sys.stderr, flush=True)

    return say
