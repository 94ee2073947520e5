"""Arguments several commands share: the Lambda target and the output format."""

from __future__ import annotations

import argparse

from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.target.tags import Target


def target_of(args: argparse.Namespace) -> Target:
    return Target(get_runtime(args.runtime), get_arch(args.arch))  # unknown names: UsageError


def add_target(p: argparse.ArgumentParser, required: bool = True) -> None:
    """--runtime and --arch; `required=False` where a config file may give them (build)."""
    also = "" if required else " (default: the config file's)"
    p.add_argument("--runtime", required=required, metavar="NAME",
                   help=f"Lambda runtime: {', '.join(RUNTIMES)}{also}")
    p.add_argument("--arch", required=required, metavar="ARCH", help=f"x86_64 or arm64 (aarch64){also}")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for machines: one JSON object on stdout",
    )
