"""`lambdapack why`: whether a wheel fits a runtime, and why."""

from __future__ import annotations

import argparse
import json
import sys

from lambdapack.cli.arguments import add_format, add_target, target_of
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.style import Style
from lambdapack.errors import UsageError, exit_codes_help
from lambdapack.target.tags import why


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser(
        "why",
        help="say whether a wheel fits a runtime, and why",
        epilog=exit_codes_help("why"),
        formatter_class=ExitCodesFormatter,
    )
    w.add_argument("wheel", metavar="WHEEL_FILENAME")
    add_target(w)
    add_format(w)


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    try:
        verdict = why(args.wheel, target)
    except ValueError as e:
        raise UsageError(
            str(e), "pass a wheel file name like name-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
        ) from None
    if args.format == "json":
        print(json.dumps({"compatible": verdict.compatible, "reason": verdict.reason, "tag": verdict.tag}))
    else:
        st = Style(sys.stdout)
        head = st("compatible", "32") if verdict.compatible else st("not compatible", "31")
        print(f"{head}: {verdict.reason.split(': ', 1)[1]}")
    return 0 if verdict.compatible else 1
