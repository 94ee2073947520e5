"""`lambdapack explain`: what a Lambda error message means and how to fix it."""

from __future__ import annotations

import argparse
import sys

from lambdapack.cli.arguments import add_format, epilog
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import error_object, print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.cli.style import mb
from lambdapack.errors import UsageError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser(
        "explain", help="explain a Lambda error message (argument or stdin) and how to fix it",
        description="Recognise the Lambda errors a package causes (import errors, missing shared "
        "libraries, glibc too old, wrong architecture, size limits, handler not found) in an error "
        "message or a whole CloudWatch log, and say the cause, how to confirm it and the fix.",
        epilog=epilog("explain", "lambdapack explain \"Runtime.ImportModuleError: Unable to import module "
                      "'app': No module named 'requests'\"",
                      "aws logs tail /aws/lambda/my-fn --since 1h | lambdapack explain"),
        formatter_class=ExitCodesFormatter,
    )
    e.add_argument("text", nargs="?", metavar="TEXT",
                   help="the error text; read from stdin when omitted (pipe CloudWatch logs)")
    e.add_argument("--max-bytes", metavar="SIZE", default=None,
                   help="read at most the last SIZE of the input (e.g. 512K, 16M; default 4M): the error "
                   "is usually at the end of a log")
    add_format(e, "explain")


def _limit(args: argparse.Namespace) -> int:
    from lambdapack.cache.total import parse_size
    from lambdapack.explain.logtext import DEFAULT_MAX_BYTES

    if args.max_bytes is None:
        return DEFAULT_MAX_BYTES
    try:
        limit = parse_size(args.max_bytes)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise UsageError(f"invalid size {args.max_bytes!r} for --max-bytes", "use e.g. 4M, 512K or 1000000")
    return limit


def run(args: argparse.Namespace) -> int:
    from lambdapack.explain.causes import explain
    from lambdapack.explain.logtext import keep_tail
    from lambdapack.explain.render import render_text

    limit = _limit(args)
    if args.text is not None:
        data, total = keep_tail([args.text.encode("utf-8", "surrogateescape")], limit)
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no error text given", "pass it as an argument, or pipe logs: ... | lambdapack explain")
        # In chunks, keeping only the tail: memory stays bounded whatever is piped in.
        data, total = keep_tail(iter(lambda: sys.stdin.buffer.read(1 << 16), b""), limit)
    if total > len(data):
        print(f"note: explaining the last {mb(len(data))} of {mb(total)} of input (--max-bytes {mb(limit)})",
              file=sys.stderr)
    expls = explain(data.decode("utf-8", "replace"))
    if args.format == "json":
        unknown = None if expls else error_object(
            "no known Lambda error recognised in the input",
            "pass the whole error message or the log around it (lambdapack explain --help lists examples)", 1)
        print_json(json_result({"recognised": bool(expls), "input_bytes": total, "read_bytes": len(data),
                                "explanations": [x.as_dict() for x in expls]}, unknown))
    else:
        print(render_text(expls))
    return 0 if expls else 1
