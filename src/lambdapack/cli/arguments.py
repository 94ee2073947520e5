"""Arguments several commands share: the Lambda target and the output format."""

from __future__ import annotations

import argparse

from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.target.tags import Target


def target_of(args: argparse.Namespace) -> Target:
    return Target(get_runtime(args.runtime), get_arch(args.arch))  # unknown names: UsageError


def add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", required=True, metavar="NAME", help=f"Lambda runtime: {', '.join(RUNTIMES)}")
    p.add_argument("--arch", required=True, metavar="ARCH", help="x86_64 or arm64 (aarch64)")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for machines: one JSON object on stdout",
    )
