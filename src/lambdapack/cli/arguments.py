"""Arguments several commands share: the Lambda target, the output format and the global options
(--debug, -v, --color, accepted before or after the command); the parser class, the action of a
single-value option and the --help epilog every command uses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

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


class Once(argparse._StoreAction):
    """A single-value option: given twice with different values is a usage error naming both,
    where argparse would keep the last one silently. The same value twice is fine."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        seen = f"_given_{self.dest}"  # the default is not a given value: remember what was
        if hasattr(namespace, seen) and getattr(namespace, seen) != values:
            raise argparse.ArgumentError(
                self, f"given twice with different values, {getattr(namespace, seen)} and {values}: give one")
        setattr(namespace, seen, values)
        setattr(namespace, self.dest, values)


_GLOBALS = ("debug", "verbose", "color")


def add_global(p: argparse.ArgumentParser, top: bool) -> None:
    """--debug, -v and --color: on the top parser (`top`) and again on every command's, so that
    they work on either side of the command. A command's copies default to nothing and have
    their own dests, which cli.main adds to the top ones (global_options)."""
    pre = "" if top else "sub_"
    g = p.add_argument_group("global options") if not top else p
    none: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    g.add_argument("--debug", dest=pre + "debug", action="store_true",
                   help="show uv's output, every command run, and tracebacks", **none)
    g.add_argument("-v", "--verbose", dest=pre + "verbose", action="count",
                   help="more detail on stderr: every command run, bytecode compiled or from the cache (-vv: all the "
                   "debug output)",
                   **({"default": 0} if top else none))
    g.add_argument("--color", dest=pre + "color", choices=("auto", "always", "never"), action=Once,
                   help="colour the output: auto (default; on a terminal, unless NO_COLOR is set), always, never",
                   **({"default": "auto"} if top else none))


def global_options(args: argparse.Namespace) -> argparse.Namespace:
    """The top parser's global options and the command's copies, as one set (args.debug, ...).
    A conflicting --color on the two sides is a ParseError's message (ValueError)."""
    args.debug = args.debug or getattr(args, "sub_debug", False)
    args.verbose += getattr(args, "sub_verbose", 0)
    sub_color = getattr(args, "sub_color", None)
    if sub_color is not None:
        if hasattr(args, "_given_color") and args.color != sub_color:
            raise ValueError(f"argument --color: given twice with different values, {args.color} and {sub_color}: "
                             "give one")
        args.color = sub_color
    for name in _GLOBALS:
        if hasattr(args, "sub_" + name):
            delattr(args, "sub_" + name)
    return args


def epilog(command: str, *examples: str) -> str:
    """The --help epilog: examples, then the command's exit codes (errors.EXIT_CODES)."""
    lines = ["examples:", *(f"  {e}" for e in examples)]
    return "\n".join(lines) + "\n\n" + exit_codes_help(command)


def target_of(args: argparse.Namespace) -> Target:
    return Target(get_runtime(args.runtime), get_arch(args.arch))  # unknown names: UsageError


def add_target(p: argparse.ArgumentParser, required: bool = True) -> None:
    """--runtime and --arch; `required=False` where a config file may give them (build)."""
    also = "" if required else " (default: the config file's)"
    p.add_argument("--runtime", required=required, metavar="NAME", action=Once,
                   help=f"Lambda runtime: {', '.join(RUNTIMES)}{also}")
    p.add_argument("--arch", required=required, metavar="ARCH", action=Once, help=f"x86_64 or arm64 (aarch64){also}")


def add_format(p: argparse.ArgumentParser, schema: str | None = None) -> None:
    where = f" (schema: lambdapack/schemas/{schema}.schema.json)" if schema else ""
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        action=Once,
        help=f"text for people (default), json for machines: one JSON object on stdout{where}, "
        "failures included",
    )


def add_layers(p: argparse.ArgumentParser, metavar: str) -> None:
    """The layers a function uses, named as in build (--with-layer; build's --layer builds one).
    --layer, the older name in check and smoke, stays accepted."""
    p.add_argument("--with-layer", "--layer", dest="layer", action="append", default=[], type=Path,
                   metavar=metavar, help="a layer the function uses, in the order Lambda merges them "
                   "(repeatable; --layer is the older name)")
