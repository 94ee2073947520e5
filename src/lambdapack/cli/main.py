"""The `lambdapack` command line. The only module that prints.

Exit codes: 0 success; 1 build or verification failed; 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from lambdapack import __version__
from lambdapack.errors import CREATING_CACHE, LambdapackError, UsageError, exit_codes_help, from_os_error
from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.pipeline.build import BuildFailed, BuildOptions, BuildResult, build
from lambdapack.resolve.install import InstallOptions
from lambdapack.target.tags import Target, why

if TYPE_CHECKING:
    from lambdapack.inspect.check import CheckResult
    from lambdapack.inspect.checks import Finding

# The exit codes of the commands, from the one table (errors.EXIT_CODES) the README quotes.
EXIT_CODES = exit_codes_help("build") + "\n  (each command's --help says what its codes mean)"


class _ExitCodesFormatter(argparse.HelpFormatter):
    """Wraps the description as usual but prints the exit-code epilog as laid out."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("exit codes:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Style:
    def __init__(self, stream: TextIO) -> None:
        env = os.environ
        if "NO_COLOR" in env:
            self.on = False
        elif env.get("FORCE_COLOR"):
            self.on = True
        else:
            self.on = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text


def _err(msg: str, hint: str | None = None) -> None:
    st = _Style(sys.stderr)
    print(f"{st('error:', '1;31')} {msg}", file=sys.stderr)
    if hint:
        print(f"{st('hint:', '1;36')} {hint}", file=sys.stderr)


def _progress(quiet: bool) -> object:
    st = _Style(sys.stderr)

    def say(msg: str) -> None:
        if not quiet:
            print(st(f"• {msg}", "2"), file=sys.stderr, flush=True)

    return say


def _runtime_arch(args: argparse.Namespace) -> Target:
    return Target(get_runtime(args.runtime), get_arch(args.arch))  # unknown names: UsageError


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", required=True, metavar="NAME", help=f"Lambda runtime: {', '.join(RUNTIMES)}")
    p.add_argument("--arch", required=True, metavar="ARCH", help="x86_64 or arm64 (aarch64)")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for machines: one JSON object on stdout",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambdapack",
        description="Build correct, reproducible AWS Lambda zips and layers for any Python runtime "
        "and architecture, from any machine, without Docker.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lambdapack {__version__}")
    parser.add_argument("--debug", action="store_true", help="show uv's output and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="build a function zip, a layer zip, or both",
        description="Install dependencies for the Lambda target with uv, add your code, verify every "
        "binary, and write a byte-reproducible zip.",
        epilog=exit_codes_help("build") + "\n\ndefault outputs: dist/function-<runtime>-<arch>.zip and "
        "dist/layer-<runtime>-<arch>.zip",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("src", nargs="?", type=Path, metavar="SRC_DIR", help="your handler code")
    _add_target(b)
    kind = b.add_mutually_exclusive_group()
    kind.add_argument("--layer", action="store_true", help="build a layer zip (dependencies under python/)")
    kind.add_argument(
        "--split", action="store_true", help="dependencies into a layer zip, code into the function zip"
    )
    deps = b.add_argument_group(
        "dependencies (default: uv.lock, pyproject.toml or requirements.txt in SRC_DIR)"
    )
    deps.add_argument(
        "-r", "--requirements", type=Path, metavar="FILE", help="requirements.txt (hashes allowed)"
    )
    deps.add_argument("--pyproject", type=Path, metavar="FILE", help="pyproject.toml [project].dependencies")
    deps.add_argument(
        "--lock", type=Path, metavar="FILE", help="uv.lock (its pyproject.toml must be beside it)"
    )
    deps.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="optional dependency group to include (repeatable)",
    )
    deps.add_argument(
        "--allow-sdist",
        action="store_true",
        help="allow packages without wheels when what they build is pure Python",
    )
    deps.add_argument("--index-url", metavar="URL", help="package index (default: uv's, normally PyPI)")
    deps.add_argument("--extra-index-url", action="append", default=[], metavar="URL")
    deps.add_argument("--find-links", action="append", default=[], metavar="PATH_OR_URL")
    deps.add_argument("--network-timeout", type=float, metavar="SECONDS", default=None,
                      help="give up on an index request that stalls this long "
                      "(default $LAMBDAPACK_NETWORK_TIMEOUT, else 15)")
    deps.add_argument("--deadline", type=float, metavar="SECONDS", default=None,
                      help="give up when resolving and installing take longer "
                      "(default $LAMBDAPACK_DEADLINE, else 900)")
    out = b.add_argument_group("output")
    out.add_argument(
        "-o", "--output", type=Path, metavar="ZIP", help="function zip (or the layer zip with --layer)"
    )
    out.add_argument("--layer-output", type=Path, metavar="ZIP", help="layer zip of --split")
    out.add_argument("--exclude-tests", action="store_true", help="leave tests/ and test/ of SRC_DIR out")
    out.add_argument("--follow-external-links", action="store_true",
                     help="pack the content of symlinks that point outside SRC_DIR (a warning per file) "
                     "instead of failing")
    out.add_argument("--allow-secret", action="append", default=[], metavar="PATTERN",
                     help="ship a file that looks like a secret anyway (fnmatch on the path in the zip; repeatable)")
    out.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave matching files out, your code's and the dependencies' (fnmatch on the path in the zip; repeatable)",
    )
    out.add_argument(
        "--slim",
        choices=("none", "safe", "aggressive"),
        default="safe",
        help="what to leave out of the dependencies (default safe); the exact lists are in the README",
    )
    out.add_argument("--keep", action="append", default=[], metavar="PATTERN",
                     help="never remove or strip matching dependency files (wins over --slim and --exclude)")
    out.add_argument("--exclude-runtime-provided", action="store_true",
                     help="drop boto3, botocore, s3transfer, jmespath (and what only they need): the runtime has them")
    comp = out.add_mutually_exclusive_group()
    comp.add_argument("--compile", dest="compile", action="store_const", const="on", default="auto",
                      help="ship hash-based .pyc compiled by a local Python of the target's version "
                      "(default: when one is found)")
    comp.add_argument("--no-compile", dest="compile", action="store_const", const="off",
                      help="ship no bytecode")
    out.add_argument("--pyc-mode", choices=("unchecked-hash", "checked-hash"), default="unchecked-hash",
                     help="unchecked-hash (default; /var/task is read-only, sources never change) or checked-hash")
    out.add_argument(
        "--smoke",
        action="store_true",
        help="import-test the package with a matching local interpreter before writing it (see `smoke`)",
    )
    out.add_argument(
        "--report", type=Path, metavar="HTML", help="also write a self-contained HTML size report with a treemap"
    )
    out.add_argument(
        "--with-layer",
        action="append",
        default=[],
        type=Path,
        metavar="ZIP_OR_DIR",
        help="an existing layer the function uses (zip or directory), counted in the 250 MB limit (repeatable)",
    )
    out.add_argument(
        "--compression-level",
        type=int,
        default=6,
        choices=range(0, 10),
        metavar="0-9",
        help="deflate level (default 6)",
    )
    out.add_argument(
        "--no-held-back", action="store_true", help="skip comparing versions with what a laptop would get"
    )
    out.add_argument("--handler", metavar="MODULE.FUNCTION",
                     help="check that the handler exists in the built function (e.g. lambda_function.lambda_handler)")
    cache = b.add_argument_group("cache")
    cache.add_argument("--no-cache", action="store_true", help="build everything from scratch; read and write no cache")
    cache.add_argument("--cache-dir", type=Path, metavar="DIR",
                       help="cache location (default: $LAMBDAPACK_CACHE_DIR, else the user cache directory)")
    cache.add_argument("--refresh", action="store_true",
                       help="resolve again even if a cached resolution of the same inputs is fresh")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    _add_format(b)

    t = sub.add_parser("tags", help="print the wheel tags a runtime accepts, best first",
                       epilog=exit_codes_help("tags"), formatter_class=_ExitCodesFormatter)
    _add_target(t)
    _add_format(t)

    w = sub.add_parser(
        "why",
        help="say whether a wheel fits a runtime, and why",
        epilog=exit_codes_help("why"),
        formatter_class=_ExitCodesFormatter,
    )
    w.add_argument("wheel", metavar="WHEEL_FILENAME")
    _add_target(w)
    _add_format(w)
    c = sub.add_parser(
        "check", help="find every reason a Lambda package will not import (any zip, any tool)",
        description="Check a function zip or directory, and its layers, the way Lambda lays them out "
        "(/var/task, then /opt layers in order). Never extracts anything.",
        epilog=exit_codes_help("check") + "\n\n"
        "--runtime/--arch may be omitted when the content's wheel tags tell them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="function zip or directory")
    c.add_argument("--layer", action="append", default=[], type=Path, metavar="ZIP_OR_DIR",
                   help="a layer, in the order Lambda merges them (repeatable)")
    c.add_argument("--runtime", metavar="NAME", help=f"Lambda runtime: {', '.join(RUNTIMES)} (default: inferred)")
    c.add_argument("--arch", metavar="ARCH", help="x86_64 or arm64 (default: inferred)")
    c.add_argument("--handler", metavar="MODULE.FUNCTION", help="check that the handler exists, e.g. app.handler")
    c.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="text (default), json (schema: lambdapack/schemas/check.schema.json), sarif 2.1.0")

    sm = sub.add_parser(
        "smoke",
        help="import a built zip (and its layers) like Lambda would, with a matching local interpreter",
        description="Extracts into a read-only temporary tree laid out like /var/task and /opt, then imports "
        "the handler module (or every top-level module) in isolated processes (-I -S, only Lambda's paths).",
        epilog=exit_codes_help("smoke"),
        formatter_class=_ExitCodesFormatter,
    )
    sm.add_argument("zip", nargs="?", type=Path, metavar="ZIP", help="function zip")
    sm.add_argument("--layer", action="append", default=[], type=Path, metavar="ZIP", help="layer, in order")
    sm.add_argument("--runtime", metavar="NAME", help="default: inferred from the content")
    sm.add_argument("--arch", metavar="ARCH", help="default: inferred from the content")
    sm.add_argument("--handler", metavar="MODULE.FUNCTION", help="import only the handler's module and check the function")
    sm.add_argument("--with-runtime-boto3", action="store_true",
                    help="let boto3/botocore come from the local interpreter, as the runtime provides them")
    _add_format(sm)

    k = sub.add_parser(
        "cache", help="show, clean or prune the build cache",
        description="The cache holds resolutions, unpacked wheels, compressed zip members and finished zips. "
        "Location: --cache-dir, else $LAMBDAPACK_CACHE_DIR, else the platform's user cache directory.",
        epilog=exit_codes_help("cache"),
        formatter_class=_ExitCodesFormatter,
    )
    k.add_argument("action", choices=("info", "clean", "prune"))
    k.add_argument("--max-size", metavar="SIZE", default=None,
                   help="prune: shrink to at most SIZE (e.g. 500M, 2G; default $LAMBDAPACK_CACHE_MAX_SIZE, else 5G), "
                   "least recently used first")
    k.add_argument("--cache-dir", type=Path, metavar="DIR")
    _add_format(k)

    e = sub.add_parser(
        "explain", help="explain a Lambda error message (argument or stdin) and how to fix it",
        epilog=exit_codes_help("explain"),
        formatter_class=_ExitCodesFormatter,
    )
    e.add_argument("text", nargs="?", help="the error text; read from stdin when omitted (pipe CloudWatch logs)")
    e.add_argument("--max-bytes", metavar="SIZE", default=None,
                   help="read at most the last SIZE of the input (e.g. 512K, 16M; default 4M): the error "
                   "is usually at the end of a log")
    _add_format(e)
    return parser


def _mb(n: int) -> str:
    # Binary units throughout: Lambda's "250 MB" is 262,144,000 bytes = 250 MiB.
    from lambdapack.report.sizes import human

    return human(n)


def _print_build(result: BuildResult, stream: TextIO) -> None:
    st = _Style(stream)
    from lambdapack.facts import limits

    print(f"target: {result.target.describe()} via uv {result.target.uv_platform}", file=stream)
    print(f"dependencies: {result.inputs.describe()}", file=stream)
    if result.distributions:
        print(f"installed {len(result.distributions)} distributions:", file=stream)
        for d in result.distributions:
            print(f"  {d.display_name} {d.version}  [{'.'.join(d.tags)}]", file=stream)
    if result.held_back:
        print(st("held back (older than a laptop would get):", "33"), file=stream)
        for h in result.held_back:
            print(f"  {h.name}: {h.chosen} chosen, {h.newest} newest; {h.reason}", file=stream)
    for o in result.outputs:
        a = o.artifact
        print(st(f"wrote {o.kind} zip {a.path}", "32"), file=stream)
        print(f"  sha256 hex:    {a.sha256_hex}", file=stream)
        print(
            f"  sha256 base64: {a.sha256_base64}  (Lambda CodeSha256, Terraform source_code_hash)",
            file=stream,
        )
        print(
            f"  {a.files} files, zipped {_mb(a.zipped_bytes)} "
            f"({a.zipped_bytes / limits.ZIPPED_DIRECT_UPLOAD_BYTES:.0%} of the 50 MiB direct upload), "
            f"unzipped {_mb(a.unzipped_bytes)}",
            file=stream,
        )
    if result.cached:
        print("(no change since the last build: the zip came from the cache)", file=stream)
    from lambdapack.report.sizes import render_table

    for rep_ in result.size_reports:
        short = dataclasses.replace(rep_, largest=rep_.largest[:5])
        width = min(shutil.get_terminal_size().columns, 110)
        print("size report: " + render_table(short, width=width).rstrip(), file=stream)
    if result.outputs:
        print(
            f"unzipped total {_mb(result.unzipped_total)} of Lambda's 250 MiB "
            f"({result.unzipped_total / limits.UNZIPPED_BYTES:.0%}; function + layers)",
            file=stream,
        )
    for f in result.findings:
        color = "31" if f.severity == "error" else "33"
        where = f" {f.path}" if f.path else ""
        owner = f" ({f.distribution})" if f.distribution else ""
        print(st(f"{f.severity} {f.code}{where}{owner}: {f.message}", color), file=stream)
        print(f"    fix: {f.fix}", file=stream)
    if result.smoke is not None:
        from lambdapack.inspect.smoke import render_text as render_smoke

        print(render_smoke(result.smoke).rstrip(), file=stream)
    for note in result.slim_notes:
        print(f"note: {note}", file=stream)
    for w in result.warnings:
        print(st(f"warning: {w}", "33"), file=stream)


def _cmd_build(args: argparse.Namespace) -> int:
    if args.layer and args.src is not None and not any((args.requirements, args.pyproject, args.lock)):
        # `build SRC --layer`: take the dependency file from SRC, ship no code.
        pass
    kind = "layer" if args.layer else "split" if args.split else "function"
    opts = BuildOptions(
        runtime=args.runtime,
        arch=args.arch,
        src=args.src,
        kind=kind,
        requirements=args.requirements,
        pyproject=args.pyproject,
        lock=args.lock,
        extras=tuple(args.extra),
        output=args.output,
        layer_output=args.layer_output,
        exclude_tests=args.exclude_tests,
        excludes=tuple(args.exclude),
        install=InstallOptions(
            allow_sdist=args.allow_sdist,
            index_url=args.index_url,
            extra_index_urls=tuple(args.extra_index_url),
            find_links=tuple(args.find_links),
            network_timeout=args.network_timeout,
            deadline=args.deadline,
        ),
        attach_layers=tuple(args.with_layer),
        compresslevel=args.compression_level,
        held_back=not args.no_held_back,
        handler=args.handler,
        use_cache=not args.no_cache,
        cache_dir=args.cache_dir,
        refresh=args.refresh,
        smoke=args.smoke,
        slim=args.slim,
        dep_excludes=tuple(args.exclude),
        keeps=tuple(args.keep),
        exclude_runtime_provided=args.exclude_runtime_provided,
        compile=args.compile,
        pyc_mode=args.pyc_mode,
        follow_external_links=args.follow_external_links,
        allow_secrets=tuple(args.allow_secret),
    )
    say = _progress(args.quiet or args.format == "json")
    try:
        try:
            if args.report is not None:
                from lambdapack.pack.zipwriter import check_writable

                check_writable(args.report)  # before the install, like the zips' outputs
            result = build(opts, say)  # type: ignore[arg-type]
        except OSError as e:  # unmapped: still one JSON object under --format json
            raise from_os_error(e) from e
    except BuildFailed as e:
        if args.format == "json":
            data = e.result.as_dict()
            data["error"] = {"message": e.message, "hint": e.hint}
            print(json.dumps(data, indent=2))
        else:
            _print_build(e.result, sys.stdout)
            _err(e.message, e.hint)
        return e.exit_code
    except LambdapackError as e:
        if args.format == "json":
            # --format json promises one object on stdout, failures included.
            print(json.dumps({"version": 1, "ok": False, "error": {"message": e.message, "hint": e.hint,
                                                                   "exit_code": e.exit_code}}, indent=2))
        raise
    if args.report is not None and result.size_reports:
        from lambdapack.pack.zipwriter import atomic_output
        from lambdapack.report.sizes import render_html

        with atomic_output(args.report) as tmp:
            tmp.write_text(render_html(result.size_reports, f"lambdapack size report: {args.report.stem}"),
                           encoding="utf-8")
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
    else:
        _print_build(result, sys.stdout)
        if args.report is not None:
            print(f"size report written to {args.report}")
    return 0


def _cmd_tags(args: argparse.Namespace) -> int:
    target = _runtime_arch(args)
    tags = [str(t) for t in target.tags]
    if args.format == "json":
        print(
            json.dumps(
                {"version": 1, "runtime": target.runtime.name, "arch": target.arch.value, "tags": tags},
                indent=2,
            )
        )
    else:
        print("\n".join(tags))
    return 0


def _cmd_why(args: argparse.Namespace) -> int:
    target = _runtime_arch(args)
    try:
        verdict = why(args.wheel, target)
    except ValueError as e:
        raise UsageError(
            str(e), "pass a wheel file name like name-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
        ) from None
    if args.format == "json":
        print(json.dumps({"compatible": verdict.compatible, "reason": verdict.reason, "tag": verdict.tag}))
    else:
        st = _Style(sys.stdout)
        head = st("compatible", "32") if verdict.compatible else st("not compatible", "31")
        print(f"{head}: {verdict.reason.split(': ', 1)[1]}")
    return 0 if verdict.compatible else 1


def _print_check(result: CheckResult, stream: TextIO) -> None:
    st = _Style(stream)
    print(f"target: {result.target.describe()}", file=stream)
    for k, v in result.inferred.items():
        print(f"  inferred {k}: {v}", file=stream)
    for a in result.artifacts:
        z = f", zipped {_mb(int(str(a['zipped_bytes'])))}" if a["zipped_bytes"] is not None else ""
        print(f"{a['role']}: {a['path']} ({a['files']} files, unzipped {_mb(int(str(a['unzipped_bytes'])))}{z})",
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


def _cmd_check(args: argparse.Namespace) -> int:
    from lambdapack.inspect.check import check
    from lambdapack.report.sarif import to_sarif

    result = check(args.paths, args.layer, runtime=args.runtime, arch=args.arch, handler=args.handler)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
    elif args.format == "sarif":
        print(json.dumps(to_sarif(result), indent=2))
    else:
        _print_check(result, sys.stdout)
    return 1 if result.errors else 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from lambdapack.cache.total import parse_size
    from lambdapack.explain.causes import DEFAULT_MAX_BYTES, explain, keep_tail, render_text

    limit = DEFAULT_MAX_BYTES
    if args.max_bytes is not None:
        try:
            limit = parse_size(args.max_bytes)
        except ValueError:
            limit = 0
        if limit <= 0:
            raise UsageError(f"invalid size {args.max_bytes!r} for --max-bytes", "use e.g. 4M, 512K or 1000000")
    if args.text is not None:
        data, total = keep_tail([args.text.encode("utf-8", "surrogateescape")], limit)
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no error text given", "pass it as an argument, or pipe logs: ... | lambdapack explain")
        # In chunks, keeping only the tail: memory stays bounded whatever is piped in.
        data, total = keep_tail(iter(lambda: sys.stdin.buffer.read(1 << 16), b""), limit)
    if total > len(data):
        print(f"note: explaining the last {_mb(len(data))} of {_mb(total)} of input (--max-bytes {_mb(limit)})",
              file=sys.stderr)
    expls = explain(data.decode("utf-8", "replace"))
    if args.format == "json":
        print(json.dumps({"version": 1, "recognised": bool(expls), "explanations": [x.as_dict() for x in expls]},
                         indent=2))
    else:
        print(render_text(expls))
    return 0 if expls else 1


def _cmd_smoke(args: argparse.Namespace) -> int:
    from lambdapack.inspect.archive import open_artifact
    from lambdapack.inspect.check import infer_target
    from lambdapack.inspect.smoke import render_text, smoke

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
    target = Target(get_runtime(runtime), get_arch(arch))
    res = smoke(args.zip, args.layer, target, handler=args.handler, with_runtime_boto3=args.with_runtime_boto3)
    if args.format == "json":
        print(json.dumps(res.as_dict(), indent=2))
    else:
        print(render_text(res))
    return {"passed": 0, "failed": 1, "skipped": 3}[res.status]


def _cmd_cache(args: argparse.Namespace) -> int:
    from lambdapack.cache.local import Cache, default_cache_dir
    from lambdapack.cache.total import max_bytes_from, parse_size

    root = args.cache_dir or default_cache_dir(os.environ)
    try:
        cache = Cache(root)
        if args.action != "info":
            cache.check_writable()
    except OSError as e:
        raise from_os_error(e, CREATING_CACHE, root) from e
    if args.action == "info":
        info = cache.info()
        total = sum(v["bytes"] for v in info.values())
        if args.format == "json":
            print(json.dumps({"version": 1, "path": str(root), "total_bytes": total, "kinds": info}, indent=2))
        else:
            print(f"cache: {root}")
            for kind, v in info.items():
                print(f"  {kind:<12} {v['entries']:>7} entries {v['files']:>8} files {_mb(v['bytes']):>10}")
            print(f"  {'total':<12} {'':>31} {_mb(total):>10}")
        return 0
    if args.action == "clean":
        freed = cache.clean()
        result = {"version": 1, "path": str(root), "freed_bytes": freed}
    else:
        try:
            limit = parse_size(args.max_size) if args.max_size is not None else max_bytes_from(os.environ)
        except ValueError:
            raise UsageError(f"invalid size {args.max_size!r}", "use a number of bytes or e.g. 500M, 2G") from None
        freed = cache.prune(limit)
        result = {"version": 1, "path": str(root), "freed_bytes": freed, "max_bytes": limit}
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.action}: freed {_mb(freed)} in {root}")
    return 0


def _on_sigterm(_signum: int, _frame: object) -> NoReturn:
    # Turn SIGTERM into an exception so that temp files and staging dirs are removed.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:
        pass  # not the main thread (e.g. called from a test runner thread)
    handlers = {"build": _cmd_build, "tags": _cmd_tags, "why": _cmd_why, "check": _cmd_check,
                "explain": _cmd_explain, "cache": _cmd_cache,
                "smoke": _cmd_smoke}
    try:
        return handlers[args.command](args)
    except LambdapackError as e:
        if args.debug:
            traceback.print_exc()
        _err(e.message, e.hint)
        return e.exit_code
    except BrokenPipeError:
        # `lambdapack tags ... | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # The last resort: the places that know what they were doing map their own.
        if args.debug:
            traceback.print_exc()
        err = from_os_error(e)
        _err(err.message, err.hint)
        return err.exit_code
    except KeyboardInterrupt:
        live = sys.modules.get("lambdapack.host.processes")  # loaded only if a child was ever started
        if live is not None:
            live.stop_all()
        _err("interrupted; no output was written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
