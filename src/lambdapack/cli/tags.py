"""`lambdapack tags`: the wheel tags a runtime accepts, best first."""

from __future__ import annotations

import argparse
import sys

from lambdapack.cli.arguments import add_format, add_target, epilog, target_of
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import print_json
from lambdapack.cli.jsonout import result as json_result


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser(
        "tags", help="print the wheel tags a runtime accepts, best first",
        description="Print the wheel tags (python-abi-platform) a Lambda runtime and architecture accept, "
        "best first: the order in which an installer prefers wheels. Text: one tag per line.",
        epilog=epilog("tags", "lambdapack tags --runtime python3.12 --arch arm64",
                      "lambdapack tags --runtime python3.11 --arch x86_64 | grep manylinux_2_17"),
        formatter_class=ExitCodesFormatter)
    add_target(t)
    add_format(t, "tags")


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    tags = [str(t) for t in target.tags]
    if args.format == "json":
        print_json(json_result({"runtime": target.runtime.name, "arch": target.arch.value,
                                "preview": target.runtime.preview, "tags": tags}))
    else:
        if target.runtime.preview:  # on stderr: stdout stays one tag per line for scripts
            print(f"note: {target.runtime.name} is a preview runtime (not for production)", file=sys.stderr)
        print("\n".join(tags))
    return 0
