"""`lambdapack build` for a project: every function and layer of the config (or the named ones),
one progress line per artifact and step, one summary table, and the manifest (docs/config.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from lambdapack.cli.buildsummary import print_quiet, write_report
from lambdapack.cli.jsonout import error_object, result
from lambdapack.cli.progress import Console
from lambdapack.cli.style import Style, mb, print_error
from lambdapack.config.project import Project
from lambdapack.progress import Progress
from lambdapack.project.manifest import MANIFEST_NAME, manifest_of, write_manifest
from lambdapack.project.plan import Job, plan_project
from lambdapack.project.run import Outcome, run_jobs

__all__ = ["build_project"]


def build_project(project: Project, names: Sequence[str], flags: Mapping[str, object],
                  args: argparse.Namespace) -> int:
    """Plan, build in parallel, write the manifest, print the table (or the manifest as JSON).
    `args`: the command line's --format, --quiet, --jobs and --report."""
    fmt, quiet, workers, report = args.format, args.quiet, args.jobs, args.report
    jobs = plan_project(project, flags, os.environ, names)
    # One console for every artifact: on a terminal, a live line per running artifact.
    console = Console(sys.stderr, quiet=quiet or fmt == "json")

    def progress_for(job: Job) -> Progress:
        return console.reporter(f"{job.name} ({job.target})" if job.kind == "function"
                                else f"layer {job.name} ({job.target})")

    n = workers if workers is not None else min(os.cpu_count() or 1, len(jobs))
    outcomes = run_jobs(jobs, progress_for, n)
    manifest = project.output_dir / MANIFEST_NAME
    defined = frozenset([*project.functions, *project.layers])
    data = write_manifest(manifest, lambda previous: manifest_of(outcomes, manifest, project.path, previous, defined))
    if report is not None:
        write_report(report, [r for o in outcomes if o.result is not None for r in o.result.size_reports],
                     project.path.resolve().parent.name if project.path else None)
    failed = [o for o in outcomes if not o.ok]
    # The first failure with an error says why (and its exit code); else a skipped one, exit 1.
    culprit = next((o for o in failed if o.error is not None), failed[0] if failed else None)
    code = 0 if culprit is None else culprit.error.exit_code if culprit.error else 1
    if fmt == "json":
        # The manifest in the envelope every command shares: a failure also says why, in one object.
        error = None
        if culprit is not None:
            why = culprit.error.message if culprit.error else culprit.skipped
            error = error_object(f"{_label(culprit.job)}: {why}", culprit.error.hint if culprit.error else None, code)
        print(json.dumps(result(data, error), indent=2))
    else:
        if quiet == 1:  # -q: one line per zip built; -qq: nothing but the errors
            print_quiet((out for o in outcomes if o.error is None and o.result for out in o.result.outputs),
                        sys.stdout)
        elif not quiet:
            print_table(outcomes, sys.stdout)
            print(f"manifest: {manifest}")
            if report is not None:
                print(f"size report written to {report}")
        for o in outcomes:
            if o.error is not None:
                print_error(f"{_label(o.job)}: {o.error.message}", o.error.hint)
    return code


def _label(job: Job) -> str:
    return f"{job.kind} {job.name} ({job.target})"


def _row(o: Outcome) -> list[str]:
    from lambdapack.facts import limits

    job = o.job
    if o.result is None or not o.result.outputs:
        status = "skipped" if o.skipped else "failed"
        return [job.name, job.kind, job.target, "", "", "", "", "", status]
    r = o.result
    a = r.outputs[0].artifact
    budget = r.unzipped_total if job.kind == "function" else a.unzipped_bytes
    status = "failed" if o.error is not None else "cached" if r.cached else f"rebuilt {o.seconds:.1f}s"
    return [job.name, job.kind, job.target, str(a.files), mb(a.zipped_bytes), mb(a.unzipped_bytes),
            f"{budget / limits.UNZIPPED_BYTES:.0%}", a.sha256_base64, status]


_HEAD = ["name", "kind", "target", "files", "zipped", "unzipped", "of 250 MiB", "CodeSha256", ""]


def print_table(outcomes: list[Outcome], stream: TextIO) -> None:
    """One row per artifact; then each artifact's findings, warnings and notes, named."""
    rows = [_HEAD, *(_row(o) for o in outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    right = {3, 4, 5, 6}
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("  ".join(cells).rstrip(), file=stream)
    st = Style(stream)
    for o in outcomes:
        _print_notes(o, stream, st)


def _print_notes(o: Outcome, stream: TextIO, st: Style) -> None:
    r, name = o.result, _label(o.job)
    if o.skipped:
        print(f"{name}: {o.skipped}", file=stream)
    if r is None:
        return
    if r.from_layers:
        print(f"{name}: from its layers: " + ", ".join(f"{x.name} {x.version}" for x in r.from_layers), file=stream)
    for h in r.held_back:
        print(st(f"{name}: held back: {h.name} {h.chosen} ({h.newest} newest); {h.reason}", "33"), file=stream)
    for f in r.findings:
        color = "31" if f.severity == "error" else "33"
        where = f" {f.path}" if f.path else ""
        print(st(f"{name}: {f.severity} {f.code}{where}: {f.message}", color), file=stream)
    for w in r.warnings:
        print(st(f"{name}: warning: {w}", "33"), file=stream)

