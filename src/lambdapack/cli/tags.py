"""`lambdapack tags`: the wheel tags a runtime accepts, best first."""

from __future__ import annotations

import argparse
import json
import sys

from lambdapack.cli.arguments import add_format, add_target, target_of
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.errors import exit_codes_help


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser("tags", help="print the wheel tags a runtime accepts, best first",
                       epilog=exit_codes_help("tags"), formatter_class=ExitCodesFormatter)
    add_target(t)
    add_format(t)


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    tags = [str(t) for t in target.tags]
    if args.format == "json":
        print(
            json.dumps(
                {"version": 1, "runtime": target.runtime.name, "arch": target.arch.value,
                 "preview": target.runtime.preview, "tags": tags},
                indent=2,
            )
        )
    else:
        if target.runtime.preview:  # on stderr: stdout stays one tag per line for scripts
            print(f"note: {target.runtime.name} is a preview runtime (not for production)", file=sys.stderr)
        print("\n".join(tags))
    return 0
