"""`lambdapack explain`: what a Lambda error message means and how to fix it."""

from __future__ import annotations

import argparse
import json
import sys

from lambdapack.cli.arguments import add_format
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.style import mb
from lambdapack.errors import UsageError, exit_codes_help


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser(
        "explain", help="explain a Lambda error message (argument or stdin) and how to fix it",
        epilog=exit_codes_help("explain"),
        formatter_class=ExitCodesFormatter,
    )
    e.add_argument("text", nargs="?", help="the error text; read from stdin when omitted (pipe CloudWatch logs)")
    e.add_argument("--max-bytes", metavar="SIZE", default=None,
                   help="read at most the last SIZE of the input (e.g. 512K, 16M; default 4M): the error "
                   "is usually at the end of a log")
    add_format(e)


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
        print(json.dumps({"version": 1, "recognised": bool(expls), "explanations": [x.as_dict() for x in expls]},
                         indent=2))
    else:
        print(render_text(expls))
    return 0 if expls else 1
