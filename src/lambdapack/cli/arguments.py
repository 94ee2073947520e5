"""Arguments several commands share: the Lambda target and the output format; the parser class
and the --help epilog every command uses."""

from __future__ import annotations

import argparse
from typing import NoReturn

from lambdapack.errors import exit_codes_help
from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.target.tags import Target


class ParseError(Exception):
    """argparse refused the command line; cli.main reports it (as JSON too under --format json)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors reach cli.main instead of exiting on the spot."""

    def error(self, message: str) -> NoReturn:
        raise ParseError(self, message)


def epilog(command: str, *examples: str) -> str:
    """The --help epilog: examples, then the command's exit codes (errors.EXIT_CODES)."""
    lines = ["examples:", *(f"  {e}" for e in examples)]
    return "\n".join(lines) + "\n\n" + exit_codes_help(command)


def target_of(args: argparse.Namespace) -> Target:
    return Target(get_runtime(args.runtime), get_arch(args.arch))  # unknown names: UsageError


def add_target(p: argparse.ArgumentParser, required: bool = True) -> None:
    """--runtime and --arch; `required=False` where a config file may give them (build)."""
    also = "" if required else " (default: the config file's)"
    p.add_argument("--runtime", required=required, metavar="NAME",
                   help=f"Lambda runtime: {', '.join(RUNTIMES)}{also}")
    p.add_argument("--arch", required=required, metavar="ARCH", help=f"x86_64 or arm64 (aarch64){also}")


def add_format(p: argparse.ArgumentParser, schema: str | None = None) -> None:
    where = f" (schema: lambdapack/schemas/{schema}.schema.json)" if schema else ""
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help=f"text for people (default), json for machines: one JSON object on stdout{where}, "
        "failures included",
    )
