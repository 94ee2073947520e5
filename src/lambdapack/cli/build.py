"""`lambdapack build`: a function zip, a layer zip, or both.

The flags that are build settings default to None here, so that the config seam
(config.settings) can tell a flag given from one left out; their defaults live there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdapack.cli.arguments import Once, add_format, add_target, epilog
from lambdapack.errors import UsageError, from_os_error

if TYPE_CHECKING:
    from lambdapack.config.project import Project
    from lambdapack.pipeline.result import BuildResult
    from lambdapack.progress import Progress


def output_path(value: str) -> Path:
    """-o's argparse type. The pipeline is imported when a build runs, not when the parser
    is made: every command builds the parser, and `check` has no use for ~100 ms of it."""
    from lambdapack.pipeline.preflight import output_path as parse

    return parse(value)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "build",
        help="build a function zip, a layer zip, or both",
        description="Install dependencies for the Lambda target with uv, add your code, verify every "
        "binary, and write a byte-reproducible zip.",
        epilog=epilog("build", "lambdapack build src --runtime python3.12 --arch arm64",
                      "lambdapack build --layer -r requirements.txt --runtime python3.13 --arch x86_64 -o dist/",
                      "lambdapack build api worker -q    # in a project (docs/config.md)")
        + "\n\ndefault outputs: dist/function-<runtime>-<arch>.zip and dist/layer-<runtime>-<arch>.zip "
        "(-o DIR/ writes that name into DIR)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("src", nargs="*", metavar="SRC_DIR | NAME",
                   help="your handler code; or, in a project (docs/config.md), the functions and layers to "
                   "build (default: all of them; a function's layers are built with it)")
    add_target(b, required=False)
    b.add_argument("--config", type=Path, metavar="FILE", action=Once,
                   help="the project config: a lambdapack.toml, or a pyproject.toml with [tool.lambdapack] "
                   "(default: the first found from the current directory upwards); see docs/config.md")
    kind = b.add_mutually_exclusive_group()
    kind.add_argument("--layer", action="store_true", help="build a layer zip (dependencies under python/)")
    kind.add_argument(
        "--split", action="store_true", help="dependencies into a layer zip, code into the function zip"
    )
    _add_dependencies(b)
    out = b.add_argument_group("output")
    _add_output_files(out)
    _add_output_checks(out)
    cache = b.add_argument_group("cache")
    cache.add_argument("--no-cache", action="store_true", default=None,
                       help="build everything from scratch; read and write no cache")
    cache.add_argument("--cache-dir", type=Path, metavar="DIR", action=Once,
                       help="cache location (default: $LAMBDAPACK_CACHE_DIR, else the user cache directory)")
    cache.add_argument("--remote-cache", metavar="s3://BUCKET/PREFIX", action=Once,
                       help="a shared cache in S3 behind the local one (default: $LAMBDAPACK_REMOTE_CACHE); "
                            "never required: a remote that fails is one warning (docs/remote-cache.md)")
    cache.add_argument("--remote-cache-read-only", action="store_true", default=None,
                       help="read the remote cache, never write it: for untrusted jobs such as pull requests "
                            "(default: $LAMBDAPACK_REMOTE_CACHE_READ_ONLY=1)")
    cache.add_argument("--refresh", action="store_true", default=None,
                       help="resolve again even if a cached resolution of the same inputs is fresh")
    out.add_argument("-q", "--quiet", action="count", default=0,
                     help="no progress; one line per zip on stdout (path, CodeSha256, size); -qq: nothing but errors")
    out.add_argument("--timings", action="store_true",
                     help="print on stderr, at the end, how long each stage of the build took (not for a "
                          "project's builds)")
    b.add_argument("-j", "--jobs", type=int, metavar="N", action=Once,
                   help="a project build's artifacts built at once (default: the number of CPUs)")
    add_format(b)


def _add_dependencies(b: argparse.ArgumentParser) -> None:
    deps = b.add_argument_group(
        "dependencies (default: uv.lock, pyproject.toml or requirements.txt in SRC_DIR)"
    )
    deps.add_argument(
        "-r", "--requirements", type=Path, metavar="FILE", action=Once, help="requirements.txt (hashes allowed)"
    )
    deps.add_argument("--pyproject", type=Path, metavar="FILE", action=Once, help="pyproject.toml [project].dependencies")
    deps.add_argument(
        "--lock", type=Path, metavar="FILE", action=Once,
        help="uv.lock (a packaged project installs itself), poetry.lock, Pipfile.lock or pylock.toml; "
        "uv.lock and poetry.lock need their pyproject.toml beside them"
    )
    deps.add_argument(
        "--extra",
        action="append",
        metavar="NAME",
        help="an optional-dependency extra ([project.optional-dependencies]) to include (repeatable)",
    )
    deps.add_argument("--all-extras", action="store_true", default=None,
                      help="include every extra the project defines (not with --extra)")
    deps.add_argument("--group", action="append", metavar="NAME",
                      help="a dependency group (PEP 735 [dependency-groups]) of the pyproject.toml, uv.lock "
                      "or pylock.toml to include (repeatable)")
    _add_lock_modes(deps)
    _add_indexes(deps)


def _add_lock_modes(deps: argparse._ArgumentGroup) -> None:
    lock = deps.add_mutually_exclusive_group()
    lock.add_argument("--locked", dest="lock_mode", action="store_const", const="locked", default=None,
                      help="a lock that no longer matches its project file is an error (the default)")
    lock.add_argument("--frozen", dest="lock_mode", action="store_const", const="frozen",
                      help="install the lock as it is, without checking it against its project file")
    lock.add_argument("--relock", dest="lock_mode", action="store_const", const="relock",
                      help="re-lock a stale uv.lock in a temporary copy and build from that (your uv.lock is "
                      "not written)")


def _add_indexes(deps: argparse._ArgumentGroup) -> None:
    """Where packages come from, and how long uv may take."""
    deps.add_argument(
        "--allow-sdist",
        action="store_true",
        default=None,
        help="allow packages without wheels when what they build is pure Python",
    )
    deps.add_argument(
        "--build-native",
        action="store_true",
        default=None,
        help="build packages that have no wheel for the target from their sdists, with zig for the target's "
        "machine and glibc (needs lambdapack[native] and a CPython of the runtime's version; C and C++ only)",
    )
    deps.add_argument("--default-index", metavar="URL", action=Once,
                      help="the package index that replaces PyPI, as uv's --default-index")
    deps.add_argument("--index", action="append", metavar="[NAME=]URL",
                      help="an extra package index, searched before the default one, as uv's --index (repeatable)")
    deps.add_argument("--index-url", metavar="URL", action=Once,
                      help="package index (default: uv's, normally PyPI); the older name of --default-index")
    deps.add_argument("--extra-index-url", action="append", metavar="URL",
                      help="an extra package index (repeatable); the older name of --index")
    deps.add_argument("--find-links", action="append", metavar="PATH_OR_URL",
                      help="a directory of wheels, or an HTML page of links to them, also searched "
                      "(as uv's --find-links; repeatable)")
    deps.add_argument("--network-timeout", type=float, metavar="SECONDS", default=None, action=Once,
                      help="give up on an index request that stalls this long "
                      "(default $LAMBDAPACK_NETWORK_TIMEOUT, else 15)")
    deps.add_argument("--deadline", type=float, metavar="SECONDS", default=None, action=Once,
                      help="give up when resolving and installing take longer "
                      "(default $LAMBDAPACK_DEADLINE, else 900)")


def _add_output_files(out: argparse._ArgumentGroup) -> None:
    """Where the zips go and what goes into them."""
    out.add_argument(
        "-o", "--output", type=output_path, metavar="ZIP", action=Once,
        help="function zip (or the layer zip with --layer); a directory, or a path ending in /, gets the default name"
    )
    out.add_argument("--layer-output", type=output_path, metavar="ZIP", action=Once,
                     help="layer zip of --split (a directory as for -o)")
    out.add_argument("--output-dir", dest="tree_dir", type=Path, metavar="DIR", action=Once,
                     help="also write the artifact unpacked into DIR (what SAM's makefile builds and CDK's local "
                     "bundling want): the zip's files, bytes and exec bits; DIR's old contents are replaced")
    out.add_argument("--exclude-tests", action="store_true", default=None,
                     help="leave tests/ and test/ of SRC_DIR out")
    out.add_argument("--follow-external-links", action="store_true", default=None,
                     help="pack the content of symlinks that point outside SRC_DIR (a warning per file) "
                     "instead of failing")
    out.add_argument("--allow-secret", action="append", metavar="PATTERN",
                     help="ship a file that looks like a secret anyway (fnmatch on the path in the zip; repeatable)")
    out.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="leave matching files out, your code's and the dependencies' (fnmatch on the path in the zip; repeatable)",
    )
    out.add_argument(
        "--slim",
        choices=("none", "safe", "aggressive"),
        action=Once,
        help="what to leave out of the dependencies (default safe); the exact lists are in the README",
    )
    out.add_argument("--keep", action="append", metavar="PATTERN",
                     help="never remove or strip matching dependency files (wins over --slim and --exclude), and "
                          "ship matching source files that .gitignore, .lambdapackignore or the packaging rules left out")
    out.add_argument("--exclude-runtime-provided", action="store_true", default=None,
                     help="drop boto3, botocore, s3transfer, jmespath (and what only they need): the runtime has them")
    comp = out.add_mutually_exclusive_group()
    comp.add_argument("--compile", dest="compile", action="store_const", const="on", default=None,
                      help="ship hash-based .pyc for everything, compiled by a local Python of the target's "
                      "version (default: when one is found; if bytecode alone takes the package over the "
                      "250 MB limit, the dependencies' test modules' and then the largest distributions' "
                      "bytecode is left out until it fits, said as LP104; --compile fails with LP101 instead)")
    comp.add_argument("--no-compile", dest="compile", action="store_const", const="off",
                      help="ship no bytecode")
    out.add_argument("--pyc-mode", choices=("unchecked-hash", "checked-hash"), action=Once,
                     help="unchecked-hash (default; /var/task is read-only, sources never change) or checked-hash")


def _add_output_checks(out: argparse._ArgumentGroup) -> None:
    """What is checked and reported about the zips."""
    out.add_argument(
        "--smoke",
        action="store_true",
        default=None,
        help="import-test the package with a matching local interpreter before writing it (see `smoke`)",
    )
    out.add_argument(
        "--report", type=Path, metavar="HTML", action=Once, help="also write a self-contained HTML size report with a treemap"
    )
    out.add_argument(
        "--with-layer",
        action="append",
        type=Path,
        metavar="ZIP_OR_DIR",
        help="an existing layer the function uses (zip or directory), counted in the 250 MB limit (repeatable)",
    )
    out.add_argument(
        "--compression-level",
        type=int,
        choices=range(0, 10),
        metavar="0-9",
        action=Once,
        help="deflate level (default 6)",
    )
    out.add_argument(
        "--no-held-back", action="store_true", default=None,
        help="skip comparing versions with what a laptop would get"
    )
    out.add_argument("--allow-blocked-runtime", action="store_true", default=None,
                     help="build for a runtime whose function updates AWS already blocks (a warning, not an error)")
    out.add_argument("--handler", metavar="MODULE.FUNCTION", action=Once,
                     help="check that the handler exists in the built function (e.g. lambda_function.lambda_handler)")


# Setting name (config.settings.SETTINGS) -> the argparse dest that gives it, where they differ.
_DESTS = {
    "extras": "extra", "groups": "group", "install.indexes": "index", "install.default_index": "default_index",
    "excludes": "exclude", "install.allow_sdist": "allow_sdist",
    "install.build_native": "build_native",
    "install.index_url": "index_url", "install.extra_index_urls": "extra_index_url",
    "install.find_links": "find_links", "install.network_timeout": "network_timeout",
    "install.deadline": "deadline", "attach_layers": "with_layer", "compresslevel": "compression_level",
    "keeps": "keep", "allow_secrets": "allow_secret",
}
_SAME = ("runtime", "arch", "requirements", "pyproject", "lock", "all_extras", "lock_mode", "output", "layer_output",
         "tree_dir",
         "exclude_tests", "handler", "cache_dir", "remote_cache", "remote_cache_read_only", "refresh", "smoke", "slim", "exclude_runtime_provided",
         "compile", "pyc_mode", "follow_external_links", "allow_blocked_runtime")


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The build settings the command line gave, by setting name (a flag left out is None)."""
    flags = {name: getattr(args, dest) for name, dest in (*_DESTS.items(), *((n, n) for n in _SAME))}
    flags["kind"] = "layer" if args.layer else "split" if args.split else None
    flags["src"] = Path(args.src[0]) if args.src else None
    flags["use_cache"] = False if args.no_cache else None
    flags["held_back"] = False if args.no_held_back else None
    return {name: value for name, value in flags.items() if value is not None}


def _project_names(args: argparse.Namespace, project: Project) -> list[str] | None:
    """The artifacts to build when this is a project build (empty: all), else None (one SRC_DIR).
    A name the project defines wins over a directory of that name."""
    names: list[str] = args.src
    if (project.functions or project.layers) and not (args.layer or args.split):
        if (all(n in project.functions or n in project.layers for n in names) or len(names) > 1
                or not Path(names[0]).is_dir()):  # a typo of a name, not a SRC_DIR
            return names  # none: all of them; the plan names any unknown one
    elif len(names) > 1:
        raise UsageError(f"one SRC_DIR, got {len(names)}: {' '.join(names)}",
                         "build one directory at a time, or describe the functions in a project config "
                         "(docs/config.md)")
    return None


def run(args: argparse.Namespace) -> int:
    from lambdapack.cli.progress import progress

    say = progress(args.quiet or args.format == "json")
    if not args.timings:
        return _run(args, say)
    from lambdapack.cli.timings import Timings

    say = timed = Timings(say)
    try:
        return _run(args, say)
    finally:
        sys.stdout.flush()  # the result first, then the table
        timed.print(sys.stderr)


def _run(args: argparse.Namespace, say: Progress) -> int:
    from lambdapack.cli.buildsummary import print_build, print_failed_findings
    from lambdapack.cli.jsonout import error_of, print_json
    from lambdapack.cli.jsonout import result as result_json
    from lambdapack.cli.style import print_error
    from lambdapack.config.projectfile import load_project
    from lambdapack.config.settings import Layers, build_options
    from lambdapack.pipeline.build import build
    from lambdapack.pipeline.result import BuildFailed

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more")
    try:
        try:
            project = load_project(args.config, Path.cwd())
            names = _project_names(args, project)
            if names is not None:
                from lambdapack.cli.projectbuild import build_project

                flags = given_flags(args)
                flags.pop("src", None)
                return build_project(project, names, flags, args)
            opts = build_options(Layers(flags=given_flags(args), environ=os.environ, file=project.defaults))
            if args.report is not None:
                from lambdapack.pack.zipwriter import check_writable

                check_writable(args.report)  # before the install, like the zips' outputs
            result = build(opts, say)
        except OSError as e:  # unmapped: still one JSON object under --format json
            raise from_os_error(e) from e
    except BuildFailed as e:
        # A failed build's size breakdown is what says what to drop: the report is written too.
        wrote = _write_report(args, e.result)
        if args.format == "json":
            # ok false also when the failure was not a finding (an error after the install)
            print_json(result_json(e.result.as_dict(), error_of(e)))
        else:
            if args.quiet:
                print_failed_findings(e.result, sys.stderr)
            else:
                print_build(e.result, sys.stdout)
            if wrote and not args.quiet:
                print(f"size report written to {args.report}")
            print_error(e.message, e.hint)
        return e.exit_code
    _finish(args, result)
    return 0


def _finish(args: argparse.Namespace, result: BuildResult) -> None:
    """Write the HTML report, if asked for, then the result."""
    from lambdapack.cli.buildsummary import print_build, print_quiet

    _write_report(args, result)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
    elif args.quiet:
        print_quiet(result.outputs if args.quiet == 1 else (), sys.stdout)
    else:
        print_build(result, sys.stdout)
        for o in result.outputs:
            if o.tree is not None:
                print(f"unpacked tree written to {o.tree}")
        if args.report is not None:
            print(f"size report written to {args.report}")


def _write_report(args: argparse.Namespace, result: BuildResult) -> bool:
    """The HTML size report, if asked for and the build got as far as sizing its zips."""
    if args.report is None or not result.size_reports:
        return False
    from lambdapack.cli.buildsummary import write_report

    write_report(args.report, result.size_reports)
    return True
