"""`lambdapack check`: every reason a Lambda package will not import, for any zip or directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from lambdapack.cli.arguments import add_layers, epilog
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import error_object, print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.cli.style import Style, mb
from lambdapack.facts.runtimes import RUNTIMES

if TYPE_CHECKING:
    from lambdapack.inspect.check import CheckResult
    from lambdapack.inspect.findings import Finding


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "check", help="find every reason a Lambda package will not import (any zip, any tool)",
        description="Check a function zip or directory, and its layers, the way Lambda lays them out "
        "(/var/task, then /opt layers in order). Never extracts anything. One function at a time; "
        "--runtime/--arch may be omitted when the content's wheel tags tell them.",
        epilog=epilog("check", "lambdapack check dist/function.zip --handler app.handler",
                      "lambdapack check build/ --with-layer dist/layer.zip --runtime python3.12 --arch arm64",
                      "lambdapack check --with-layer dist/layer.zip --format sarif > check.sarif"),
        formatter_class=ExitCodesFormatter,
    )
    c.add_argument("path", nargs="?", type=Path, metavar="PATH",
                   help="the function zip or directory (omit it to check layers alone)")
    add_layers(c, "ZIP_OR_DIR")
    c.add_argument("--runtime", metavar="NAME", help=f"Lambda runtime: {', '.join(RUNTIMES)} (default: inferred)")
    c.add_argument("--arch", metavar="ARCH", help="x86_64 or arm64 (default: inferred)")
    c.add_argument("--handler", metavar="MODULE.FUNCTION", help="check that the handler exists, e.g. app.handler")
    c.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="text (default), json (schema: lambdapack/schemas/check.schema.json; failures "
                   "included), sarif 2.1.0")


def print_check(result: CheckResult, stream: TextIO) -> None:
    st = Style(stream)
    print(f"target: {result.target.describe()}", file=stream)
    for k, v in result.inferred.items():
        print(f"  inferred {k}: {v}", file=stream)
    for a in result.artifacts:
        z = f", zipped {mb(int(str(a['zipped_bytes'])))}" if a["zipped_bytes"] is not None else ""
        print(f"{a['role']}: {a['path']} ({a['files']} files, unzipped {mb(int(str(a['unzipped_bytes'])))}{z})",
              file=stream)
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        label = f.distribution or ("(whole package)" if not f.path else "(your code and unowned files)")
        groups.setdefault(label, []).append(f)
    colors = {"error": "31", "warning": "33", "info": "36"}
    for dist in sorted(groups):
        print(st(dist, "1"), file=stream)
        for f in groups[dist]:
            where = f" {f.path}" if f.path else ""
            print(f"  {st(f.severity, colors[f.severity])} {f.code}{where}: {f.message}", file=stream)
            print(f"      fix: {f.fix}", file=stream)
    d = result.as_dict()["summary"]
    assert isinstance(d, dict)
    verdict = st("FAIL", "1;31") if result.errors else st("OK", "1;32")
    print(f"{verdict}: {d['errors']} error(s), {d['warnings']} warning(s), {d['info']} note(s)", file=stream)


def _verdict(result: CheckResult) -> dict[str, object] | None:
    """Why the package fails the check (exit 1), for the JSON envelope; None when it passes."""
    if not result.errors:
        return None
    return error_object(f"{result.errors} error(s) found: the package will not work on Lambda",
                        "each finding's fix says what to change", 1)


def run(args: argparse.Namespace) -> int:
    from lambdapack.inspect.check import check
    from lambdapack.report.sarif import to_sarif

    paths = [args.path] if args.path is not None else []
    result = check(paths, args.layer, runtime=args.runtime, arch=args.arch, handler=args.handler)
    if args.format == "json":
        print_json(json_result(result.as_dict(), _verdict(result)))
    elif args.format == "sarif":
        print(json.dumps(to_sarif(result), indent=2))
    else:
        print_check(result, sys.stdout)
    return 1 if result.errors else 0
