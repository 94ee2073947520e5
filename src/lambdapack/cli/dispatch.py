"""The `lambdapack` command line after the fast path (cli.main): parse, dispatch to the
command's module, map errors to exit codes.

The cli package is the only one that prints. Exit codes: 0 success; 1 build or verification
failed; 2 bad usage or input. Under --format json every failure is also one JSON object on
stdout (cli.jsonout), usage errors included once the command is known; an unknown command, or
no command, is argparse's text only: no command, no schema to answer in.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from lambdapack.cli.arguments import ParseError, global_options
from lambdapack.cli.jsonout import failure, print_json, wants_json
from lambdapack.cli.parser import COMMANDS, build_parser
from lambdapack.cli.style import print_error, set_color
from lambdapack.errors import LambdapackError, from_os_error


def _on_sigterm(_signum: int, _frame: object) -> NoReturn:
    # Turn SIGTERM into an exception so that temp files and staging dirs are removed.
    raise KeyboardInterrupt


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (of the global options, only --color takes a value)."""
    words = [a for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] != "--color")]
    return words[0] if words and words[0] in COMMANDS else None


class _HideCredentials(logging.Filter):
    """The commands logged under -v/--debug carry index URLs as given: never their passwords or tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        from lambdapack.resolve.uvfailure import hide_credentials

        record.msg, record.args = hide_credentials(record.getMessage()), ()
        return True


def _logging(debug: bool, verbose: int) -> None:
    """WARNING by default; -v: lambdapack's INFO and the commands it runs; --debug or -vv: everything."""
    level = logging.DEBUG if debug or verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _HideCredentials) for f in handler.filters):
            handler.addFilter(_HideCredentials())
    # "running uv pip install ...": the commands are -v's detail (NOTSET: as the root, for an in-process rerun)
    commands = logging.DEBUG if verbose == 1 and not debug else logging.NOTSET
    logging.getLogger("lambdapack.host.processes").setLevel(commands)


def _refused(parser: argparse.ArgumentParser, e: ParseError, argv: Sequence[str]) -> int:
    """argparse's usage and message on stderr, as argparse prints them; the JSON object too."""
    command = _command_of(argv)
    if command is not None and wants_json(argv):
        print_json(failure(e.message, f"see lambdapack {command} --help", 2))
    # The command's usage, also for what argparse reports at the top ("unrecognized arguments").
    shown = _subparser(parser, command) if command is not None else e.parser
    shown.print_usage(sys.stderr)
    print(f"{shown.prog}: error: {e.message}", file=sys.stderr)
    return 2


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


def _failed(json_out: bool, message: str, hint: str | None, exit_code: int) -> int:
    if json_out:
        print_json(failure(message, hint, exit_code))
    print_error(message, hint)
    return exit_code


def run_command(argv: Sequence[str]) -> int:
    argv = list(argv)
    parser = build_parser()
    set_color("auto")  # not the --color of an earlier in-process call
    try:
        args = global_options(parser.parse_args(argv))
    except ParseError as e:
        return _refused(parser, e, argv)
    except ValueError as e:  # the two sides' --color disagree
        return _refused(parser, ParseError(parser, str(e)), argv)
    set_color(args.color)
    _logging(args.debug, args.verbose)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:
        pass  # not the main thread (e.g. called from a test runner thread)
    json_out = getattr(args, "format", None) == "json"
    try:
        result: int = COMMANDS[args.command].run(args)
        return result
    except LambdapackError as e:
        if args.debug:
            traceback.print_exc()
        return _failed(json_out, e.message, e.hint, e.exit_code)
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
        return _failed(json_out, err.message, err.hint, err.exit_code)
    except KeyboardInterrupt as e:
        live = sys.modules.get("lambdapack.host.processes")  # loaded only if a child was ever started
        if live is not None:
            live.stop_all()
        # A project build says which zips it finished before the stop (project.run.Interrupted).
        return _failed(json_out, getattr(e, "message", "interrupted; no output was written"), None, 130)
