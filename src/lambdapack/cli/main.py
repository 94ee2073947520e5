"""The `lambdapack` entry point: the no-change fast path first (lambdapack.seal), then the
command line proper (cli.dispatch), watched so that a no-change build leaves its seal.

Nothing is imported at module level: a replayed rebuild must cost little more than the
interpreter's own start-up.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing's own costs ~4 ms at start-up; mypy takes any TYPE_CHECKING as true
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lambdapack ARGV`. Called with `argv` (in-process: tests, tools), it never replays
    nor records: only the real process's command line is sealed."""
    if argv is not None:
        from lambdapack.cli.dispatch import run_command

        return run_command(argv)
    from lambdapack.seal import replay

    code = replay()
    if code is not None:
        return code
    from lambdapack import sealwatch

    sealwatch.watch()
    from lambdapack.cli.dispatch import run_command

    code = run_command(sys.argv[1:])
    sealwatch.finish(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
