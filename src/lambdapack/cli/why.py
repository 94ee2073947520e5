"""`lambdapack why`: whether a wheel fits a runtime, and why; or, for a requirement, which wheel
of it the runtime would get from the index and why not the newest (`resolve.candidates`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from lambdapack.cli.arguments import Once, add_format, add_target, epilog, target_of
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import error_object, print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.cli.style import Style
from lambdapack.errors import UsageError
from lambdapack.target.tags import Target, Verdict, explain_tag, why

if TYPE_CHECKING:  # the requirement form loads the index reader on use: a rebuild's start-up stays short
    from lambdapack.resolve.candidates import Candidate, Release, Selection


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser(
        "why",
        help="say whether a wheel fits a runtime, or which wheel of a requirement it gets, and why",
        description="Say whether a wheel, named by its file name, installs on a Lambda runtime and "
        "architecture: the accepted tag and its rank, or what does not fit (Python version, ABI, "
        "OS, CPU, glibc); nothing is downloaded. Given a requirement instead (numpy, numpy==2.0.2, "
        "'numpy>=1.26,<2'), read its files from the index (one page, as a build would: --index-url, "
        "--extra-index-url, --find-links) and list, for the pinned release or the newest few, each "
        "wheel's verdict, the one that would be installed, and the newest release that fits.",
        epilog=epilog("why", "lambdapack why numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.whl "
                      "--runtime python3.12 --arch arm64",
                      "lambdapack why numpy==2.0.2 --runtime python3.11 --arch arm64",
                      "lambdapack why numpy --runtime python3.9 --arch x86_64"),
        formatter_class=ExitCodesFormatter,
    )
    w.add_argument("wheel", metavar="WHEEL_FILENAME|REQUIREMENT",
                   help="a wheel's file name (or a path or URL ending in one), e.g. "
                   "orjson-3.10.7-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl; "
                   "or a requirement, e.g. numpy or numpy==2.0.2")
    add_target(w)
    add_locations(w)
    add_format(w, "why")


def add_locations(w: argparse.ArgumentParser) -> None:
    """Where a requirement's files are read from: the locations build takes, with its names."""
    g = w.add_argument_group("where a requirement's files come from (as build)")
    g.add_argument("--default-index", metavar="URL", action=Once,
                   help="the package index that replaces PyPI, as uv's --default-index")
    g.add_argument("--index", action="append", metavar="[NAME=]URL", default=[],
                   help="an extra package index, searched before the default one (repeatable)")
    g.add_argument("--index-url", metavar="URL", action=Once,
                   help="package index (default: uv's, normally PyPI); the older name of --default-index")
    g.add_argument("--extra-index-url", action="append", metavar="URL", default=[],
                   help="an extra package index (repeatable); the older name of --index")
    g.add_argument("--find-links", action="append", metavar="PATH_OR_URL", default=[],
                   help="a directory of wheels, or an HTML page of links to them, also searched (repeatable)")
    g.add_argument("--network-timeout", type=float, metavar="SECONDS", default=None, action=Once,
                   help="give up on an index request that stalls this long "
                   "(default $LAMBDAPACK_NETWORK_TIMEOUT, else 15)")


def _candidate_json(c: Candidate, of: int) -> dict[str, object]:
    return {"filename": c.filename, "wheel": c.wheel, "compatible": c.compatible, "yanked": c.yanked,
            "tag": c.tag, "rank": c.rank, "of": of, "problems": list(c.problems), "reason": c.reason}


def _release_json(r: Release, of: int) -> dict[str, object]:
    return {"version": r.version, "install": r.install.filename if r.install else None,
            "sdist_only": r.sdist_only, "why_not": r.why_not,
            "files": [_candidate_json(c, of) for c in r.files]}


def _summary(sel: Selection, target: Target) -> str:
    """One line: what the newest allowed release gives, and the newest that fits."""
    if not sel.releases or sel.newest is None:
        return f"no release of {sel.project} matches the requirement"
    newest = sel.releases[0]
    if newest.install is not None:
        return f"{sel.project} {newest.version} installs {newest.install.filename} on {target}"
    if sel.fits is None or sel.fits.install is None:
        return f"{newest.why_not}; no release allowed by the requirement fits {target}"
    return f"{newest.why_not}; the newest that fits is {sel.project} {sel.fits.version} ({sel.fits.install.filename})"


def requirement_json(text: str, sel: Selection, target: Target) -> dict[str, object]:
    return {"kind": "requirement", "requirement": text, "project": sel.project,
            "target": {"runtime": target.runtime.name, "arch": target.arch.value},
            "newest": sel.newest, "fits": sel.fits.version if sel.fits else None,
            "install": sel.fits.install.filename if sel.fits and sel.fits.install else None,
            "releases": [_release_json(r, len(target.tags)) for r in sel.releases],
            "reason": _summary(sel, target)}


def _near(c: Candidate, target: Target) -> bool:
    """Worth a row in the text table: it fits, or it is a Linux wheel for the target's CPU."""
    return c.compatible or not c.wheel or (target.arch.machine in c.filename and "manylinux" in c.filename)


def print_release(r: Release, project: str, target: Target, every: bool, table: bool) -> None:
    """The release's line, then (`table`) its wheels for the target's system, every file with `every`."""
    st = Style(sys.stdout)
    head = (f"installs {r.install.filename}" if r.install else (r.why_not or "")).removeprefix(f"{project} {r.version} ")
    print(f"{project} {r.version}: {head}")
    if not (table or every):
        return
    shown = [c for c in r.files if every or _near(c, target)]
    for c in shown:
        mark = st("fits", "32") if c.compatible else st("no  ", "31")
        yanked = " (yanked)" if c.yanked else ""
        print(f"  {mark}  {c.filename}{yanked}: {c.reason}")
    if len(shown) < len(r.files):
        print(f"  ...   {len(r.files) - len(shown)} more files for other systems or CPUs (-v lists them)")


def run_requirement(args: argparse.Namespace, target: Target, environ: dict[str, str] | os._Environ[str]) -> int:
    """`why REQUIREMENT`: read the project's files, judge the releases, print them."""
    from lambdapack.resolve.candidates import parse_requirement, read_files, select
    from lambdapack.resolve.install import InstallOptions, check_index_locations, resolve_limits

    req = parse_requirement(args.wheel)
    opts = InstallOptions(index_url=args.index_url, extra_index_urls=tuple(args.extra_index_url),
                          find_links=tuple(args.find_links), network_timeout=args.network_timeout,
                          indexes=tuple(args.index), default_index=args.default_index)
    check_index_locations(opts, environ)
    files = read_files(req.name, opts, environ, resolve_limits(opts, environ).network_timeout)
    sel = select(req.name, files, req.specifier, target)
    ok = sel.fits is not None
    if args.format == "json":
        hint = "pin a release that fits, or `lambdapack why WHEEL_FILENAME` explains one wheel"
        print_json(json_result(requirement_json(args.wheel, sel, target),
                               None if ok else error_object(_summary(sel, target), hint, 1)))
        return 0 if ok else 1
    print(f"{args.wheel} for {target.describe()}")
    for i, r in enumerate(sel.releases):
        # A table for the newest and for the one that fits; the releases between get their line.
        print_release(r, sel.project, target, args.verbose > 0, i == 0 or r is sel.fits)
    st = Style(sys.stdout)
    print(f"{st('compatible', '32') if ok else st('not compatible', '31')}: {_summary(sel, target)}")
    return 0 if ok else 1


def verdict_json(wheel: str, target: Target, verdict: Verdict) -> dict[str, object]:
    """The verdict with its parts as fields: the rank of the accepted tag, or the problems of the closest."""
    from packaging.tags import parse_tag

    tag = next(iter(parse_tag(verdict.tag))) if verdict.tag else None
    rank = target.tag_rank[tag] + 1 if verdict.compatible and tag is not None else None
    problems = explain_tag(tag, target) if not verdict.compatible and tag is not None else []
    return {"wheel": wheel, "target": {"runtime": target.runtime.name, "arch": target.arch.value},
            "compatible": verdict.compatible, "tag": verdict.tag, "rank": rank, "of": len(target.tags),
            "problems": problems, "reason": verdict.reason}


_FILE_ENDINGS = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg")


def _is_file_name(arg: str) -> bool:
    """A file name or path (judged by `tags.why`, which refuses what is not a wheel), not a
    requirement: `orjson.tar.gz` would parse as a project name, but nobody means that."""
    if " @ " in arg or "@" in arg.split("/", 1)[0]:
        return False  # `name @ url`: a requirement, refused by parse_requirement
    return arg.lower().endswith(_FILE_ENDINGS) or "/" in arg or "\\" in arg


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    if not _is_file_name(args.wheel):
        return run_requirement(args, target, os.environ)
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
