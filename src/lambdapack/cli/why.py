"""`lambdapack why`: whether a wheel fits a runtime, and why."""

from __future__ import annotations

import argparse
import sys

from lambdapack.cli.arguments import add_format, add_target, epilog, target_of
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import error_object, print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.cli.style import Style
from lambdapack.errors import UsageError
from lambdapack.target.tags import Target, Verdict, explain_tag, why


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser(
        "why",
        help="say whether a wheel fits a runtime, and why",
        description="Say whether a wheel, named by its file name, installs on a Lambda runtime and "
        "architecture: the accepted tag and its rank, or what does not fit (Python version, ABI, "
        "OS, CPU, glibc). Nothing is downloaded.",
        epilog=epilog("why", "lambdapack why numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.whl "
                      "--runtime python3.12 --arch arm64"),
        formatter_class=ExitCodesFormatter,
    )
    w.add_argument("wheel", metavar="WHEEL_FILENAME",
                   help="a wheel's file name (or a path or URL ending in one), e.g. "
                   "orjson-3.10.7-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    add_target(w)
    add_format(w, "why")


def verdict_json(wheel: str, target: Target, verdict: Verdict) -> dict[str, object]:
    """The verdict with its parts as fields: the rank of the accepted tag, or the problems of the closest."""
    from packaging.tags import parse_tag

    tag = next(iter(parse_tag(verdict.tag))) if verdict.tag else None
    rank = target.tag_rank[tag] + 1 if verdict.compatible and tag is not None else None
    problems = explain_tag(tag, target) if not verdict.compatible and tag is not None else []
    return {"wheel": wheel, "target": {"runtime": target.runtime.name, "arch": target.arch.value},
            "compatible": verdict.compatible, "tag": verdict.tag, "rank": rank, "of": len(target.tags),
            "problems": problems, "reason": verdict.reason}


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    try:
        verdict = why(args.wheel, target)
    except ValueError as e:
        raise UsageError(
            str(e), "pass a wheel file name like name-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
        ) from None
    if args.format == "json":
        hint = f"`lambdapack tags --runtime {target.runtime.name} --arch {target.arch.value}` lists the tags it accepts"
        print_json(json_result(verdict_json(args.wheel, target, verdict),
                               None if verdict.compatible else error_object(verdict.reason, hint, 1)))
    else:
        st = Style(sys.stdout)
        head = st("compatible", "32") if verdict.compatible else st("not compatible", "31")
        print(f"{head}: {verdict.reason.split(': ', 1)[1]}")
    return 0 if verdict.compatible else 1
