"""The `lambdapack` argument parser: the global options, then one subcommand per command module."""

from __future__ import annotations

import argparse

from lambdapack import __version__
from lambdapack.cli import build, cache, check, explain, smoke, tags, why
from lambdapack.cli.arguments import CommandParser
from lambdapack.cli.helpformat import EXIT_CODES

# In the order `lambdapack --help` lists them.
COMMANDS = {"build": build, "tags": tags, "why": why, "check": check, "smoke": smoke, "cache": cache,
            "explain": explain}


def build_parser() -> argparse.ArgumentParser:
    # CommandParser: the subcommands' parsers are of the same class (argparse's parser_class).
    parser = CommandParser(
        prog="lambdapack",
        description="Build correct, reproducible AWS Lambda zips and layers for any Python runtime "
        "and architecture, from any machine, without Docker.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lambdapack {__version__}")
    parser.add_argument("--debug", action="store_true", help="show uv's output and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser
