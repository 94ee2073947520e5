"""The text summary of a build: target, dependencies, zips and their sizes, findings, notes."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from lambdapack.cli.style import Style, mb
from lambdapack.pipeline.result import BuildResult, Output

if TYPE_CHECKING:
    from lambdapack.report.sizes import SizeReport


def quiet_line(o: Output) -> str:
    """-q's line for a zip: what a script needs (path, Lambda's CodeSha256, the zip's size)."""
    return f"{o.artifact.path}  {o.artifact.sha256_base64}  {mb(o.artifact.zipped_bytes)}"


def print_quiet(outputs: Iterable[Output], stream: TextIO) -> None:
    for o in outputs:
        print(quiet_line(o), file=stream)


def print_failed_findings(result: BuildResult, stream: TextIO) -> None:
    """Under -q, what failed the build (its error findings), which the summary would have said."""
    st = Style(stream)
    for f in result.findings:
        if f.severity == "error":
            where = f" {f.path}" if f.path else ""
            print(st(f"error {f.code}{where}: {f.message}", "31"), file=stream)
            print(f"    fix: {f.fix}", file=stream)


def print_build(result: BuildResult, stream: TextIO) -> None:
    st = Style(stream)
    via = result.uv_platform or result.target.uv_platform
    if result.glibc_ceiling is not None:
        via += f", index pages cut to glibc {result.glibc_ceiling}"
    print(f"target: {result.target.describe()} via uv {via}", file=stream)
    print(f"dependencies: {result.inputs.describe()}", file=stream)
    if result.distributions:
        print(f"installed {len(result.distributions)} distributions:", file=stream)
        for d in result.distributions:
            print(f"  {d.display_name} {d.version}  [{'.'.join(d.tags)}]", file=stream)
    if result.held_back:
        print(st("held back (older than a laptop would get):", "33"), file=stream)
        for h in result.held_back:
            print(f"  {h.name}: {h.chosen} chosen, {h.newest} newest; {h.reason}", file=stream)
    _print_outputs(result, stream, st)
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
    if result.without_bytecode:
        left = ", ".join(f"{w.name}{' (tests)' if w.tests_only else ''} {mb(w.bytes)}" for w in result.without_bytecode)
        print(f"without bytecode (to fit the size limit): {left}", file=stream)
    for w in result.warnings:
        print(st(f"warning: {w}", "33"), file=stream)


def _print_outputs(result: BuildResult, stream: TextIO, st: Style) -> None:
    """The zips written, their hashes and sizes against Lambda's limits."""
    from lambdapack.facts import limits

    for o in result.outputs:
        a = o.artifact
        print(st(f"wrote {o.kind} zip {a.path}", "32"), file=stream)
        print(f"  sha256 hex:    {a.sha256_hex}", file=stream)
        print(
            f"  sha256 base64: {a.sha256_base64}  (Lambda CodeSha256, Terraform source_code_hash)",
            file=stream,
        )
        print(
            f"  {a.files} files, zipped {mb(a.zipped_bytes)} "
            f"({a.zipped_bytes / limits.ZIPPED_DIRECT_UPLOAD_BYTES:.0%} of the 50 MiB direct upload), "
            f"unzipped {mb(a.unzipped_bytes)}",
            file=stream,
        )
    if result.cached:
        print("(no change since the last build: the zip came from the cache)", file=stream)
    from lambdapack.report.table import render_table

    for rep_ in result.size_reports:
        short = dataclasses.replace(rep_, largest=rep_.largest[:5])
        width = min(shutil.get_terminal_size().columns, 110)
        print("size report: " + render_table(short, width=width).rstrip(), file=stream)
    if result.outputs:
        print(
            f"unzipped total {mb(result.unzipped_total)} of Lambda's 250 MiB "
            f"({result.unzipped_total / limits.UNZIPPED_BYTES:.0%}; function + layers)",
            file=stream,
        )


def write_report(path: Path, reports: Sequence[SizeReport], project: str | None = None) -> None:
    """The self-contained HTML size report of a build or a project build, written whole or not at all."""
    from lambdapack.pack.zipwriter import atomic_output
    from lambdapack.report.page import render_html

    with atomic_output(path) as tmp:
        tmp.write_text(render_html(reports, project=project), encoding="utf-8")
