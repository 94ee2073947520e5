"""`lambdapack smoke`: import a built zip and its layers the way Lambda would, locally."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from lambdapack.cli.arguments import add_format
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.errors import UsageError, exit_codes_help
from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.target.tags import Target


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sm = sub.add_parser(
        "smoke",
        help="import a built zip (and its layers) like Lambda would, with a matching local interpreter",
        description="Extracts into a read-only temporary tree laid out like /var/task and /opt, then imports "
        "the handler module (or every top-level module) in isolated processes (-I -S, only Lambda's paths).",
        epilog=exit_codes_help("smoke"),
        formatter_class=ExitCodesFormatter,
    )
    sm.add_argument("zip", nargs="?", type=Path, metavar="ZIP", help="function zip")
    sm.add_argument("--layer", action="append", default=[], type=Path, metavar="ZIP", help="layer, in order")
    sm.add_argument("--runtime", metavar="NAME", help="default: inferred from the content")
    sm.add_argument("--arch", metavar="ARCH", help="default: inferred from the content")
    sm.add_argument("--handler", metavar="MODULE.FUNCTION", help="import only the handler's module and check the function")
    sm.add_argument("--with-runtime-boto3", action="store_true",
                    help="let boto3/botocore come from the local interpreter, as the runtime provides them")
    add_format(sm)


def _target(args: argparse.Namespace) -> Target:
    """The flags' runtime and arch, the missing ones inferred from the zips' content."""
    from lambdapack.inspect.archive import open_artifact
    from lambdapack.inspect.check import infer_target

    runtime, arch = args.runtime, args.arch
    if runtime is None or arch is None:
        paths = ([args.zip] if args.zip else []) + list(args.layer)
        with contextlib.ExitStack() as stack:
            arts = [stack.enter_context(open_artifact(p)) for p in paths]
            rt_guess, arch_guess, _notes = infer_target(arts)
        runtime = runtime or rt_guess
        arch = arch or arch_guess
        if runtime is None or arch is None:
            raise UsageError("cannot infer the runtime/architecture from the content", "pass --runtime and --arch")
    return Target(get_runtime(runtime), get_arch(arch))


def run(args: argparse.Namespace) -> int:
    from lambdapack.inspect.smoke import render_text, smoke

    target = _target(args)
    res = smoke(args.zip, args.layer, target, handler=args.handler, with_runtime_boto3=args.with_runtime_boto3)
    if args.format == "json":
        print(json.dumps(res.as_dict(), indent=2))
    else:
        print(render_text(res))
    return {"passed": 0, "failed": 1, "skipped": 3}[res.status]
