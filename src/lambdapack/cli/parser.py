"""The `lambdapack` argument parser: the global options, then one subcommand per command module."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from lambdapack import __version__
from lambdapack.cli import build, cache, check, deploy, explain, smoke, tags, why
from lambdapack.cli.arguments import CommandParser, add_global
from lambdapack.cli.helpformat import EXIT_CODES


class Command(Protocol):
    """A command: a module (or deploy's PUBLISH_LAYER) that adds its parser and runs it."""

    def add_parser(self, sub: Any, /) -> None: ...

    def run(self, args: argparse.Namespace, /) -> int: ...


# In the order `lambdapack --help` lists them.
COMMANDS: dict[str, Command] = {"build": build, "tags": tags, "why": why, "check": check, "smoke": smoke, "cache": cache,
            "explain": explain, "deploy": deploy, "publish-layer": deploy.PUBLISH_LAYER}


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
    add_global(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    _add_global_after(sub)
    return parser


def _add_global_after(sub: argparse._SubParsersAction[Any]) -> None:
    """`lambdapack build ... --debug` as well as `lambdapack --debug build`; `cache info -v` too."""
    for command in sub.choices.values():
        add_global(command, top=False)
        for nested in command._actions:
            if isinstance(nested, argparse._SubParsersAction):
                _add_global_after(nested)
