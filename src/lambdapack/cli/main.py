"""The `lambdapack` command line: parse, dispatch to the command's module, map errors to exit codes.

The cli package is the only one that prints. Exit codes: 0 success; 1 build or verification
failed; 2 bad usage or input.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from lambdapack.cli.parser import COMMANDS, build_parser
from lambdapack.cli.style import print_error
from lambdapack.errors import LambdapackError, from_os_error


def _on_sigterm(_signum: int, _frame: object) -> NoReturn:
    # Turn SIGTERM into an exception so that temp files and staging dirs are removed.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:
        pass  # not the main thread (e.g. called from a test runner thread)
    try:
        result: int = COMMANDS[args.command].run(args)
        return result
    except LambdapackError as e:
        if args.debug:
            traceback.print_exc()
        print_error(e.message, e.hint)
        return e.exit_code
    except BrokenPipeError:
        # `lambdapack tags ... | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # The last resort: the places that know what they were doing map their own.
        if args.debug:
            traceback.print_exc()
        err = from_os_error(e)
        print_error(err.message, err.hint)
        return err.exit_code
    except KeyboardInterrupt as e:
        live = sys.modules.get("lambdapack.host.processes")  # loaded only if a child was ever started
        if live is not None:
            live.stop_all()
        # A project build says which zips it finished before the stop (project.run.Interrupted).
        print_error(getattr(e, "message", "interrupted; no output was written"))
        return 130


if __name__ == "__main__":
    sys.exit(main())
