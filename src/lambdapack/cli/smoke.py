"""`lambdapack smoke`: import a built zip and its layers the way Lambda would, locally."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from lambdapack.cli.arguments import add_format, add_layers, epilog
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import error_object, print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.errors import UsageError
from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.target.tags import Target


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sm = sub.add_parser(
        "smoke",
        help="import a built zip (and its layers) like Lambda would, with a matching local interpreter",
        description="Extracts into a read-only temporary tree laid out like /var/task and /opt, then imports "
        "the handler module (or every top-level module) in isolated processes (-I -S, only Lambda's paths). "
        "Needs a local CPython of the target's version and architecture, or, for another machine's zip (arm64 on "
        "x86_64), qemu user-mode (qemu-aarch64 on PATH or $LAMBDAPACK_QEMU_AARCH64) and a CPython of that machine "
        "($LAMBDAPACK_SMOKE_PYTHON_AARCH64; $QEMU_LD_PREFIX: the root of its libraries, if not its own); "
        "without them it says what is missing (exit 3).",
        epilog=epilog("smoke", "lambdapack smoke dist/function.zip --handler app.handler",
                      "lambdapack smoke dist/function.zip --with-layer dist/layer.zip --format json"),
        formatter_class=ExitCodesFormatter,
    )
    sm.add_argument("zip", nargs="?", type=Path, metavar="ZIP",
                    help="the function zip (omit it to import layers alone)")
    add_layers(sm, "ZIP")
    sm.add_argument("--runtime", metavar="NAME", help="Lambda runtime (default: inferred from the content)")
    sm.add_argument("--arch", metavar="ARCH", help="x86_64 or arm64 (default: inferred from the content)")
    sm.add_argument("--handler", metavar="MODULE.FUNCTION", help="import only the handler's module and check the function")
    sm.add_argument("--with-runtime-boto3", action="store_true",
                    help="let boto3/botocore come from the local interpreter, as the runtime provides them")
    add_format(sm, "smoke")


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

    if args.zip is None and not args.layer:  # before inferring: "cannot infer" would mislead
        raise UsageError("nothing to smoke-test", "pass a function zip, and/or --layer ZIP")
    target = _target(args)
    res = smoke(args.zip, args.layer, target, handler=args.handler, with_runtime_boto3=args.with_runtime_boto3)
    code = {"passed": 0, "failed": 1, "skipped": 3}[res.status]
    if args.format == "json":
        print_json(json_result(res.as_dict(), None if code == 0 else error_object(
            res.reason or res.status, _HINTS[res.status], code)))
    else:
        print(render_text(res))
    return code


_HINTS = {"failed": "results[] says each module's error and findings",
          "skipped": "install a CPython of the target's version and architecture (uv python install, pyenv); "
                     "for arm64 on x86_64, qemu-user and an aarch64 CPython named by LAMBDAPACK_SMOKE_PYTHON_AARCH64"}
