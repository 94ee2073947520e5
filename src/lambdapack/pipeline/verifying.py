"""Verification of the staged files before anything is packed: the rule engine of
`lambdapack check`, run on the files in place, and the --allow-secret exceptions."""

from __future__ import annotations

import dataclasses
import fnmatch
from contextlib import ExitStack
from pathlib import Path

from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    LambdaFile,
    LambdaView,
    lambda_path,
    split_shown,
)
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.check import add_artifact, distribution_owners
from lambdapack.inspect.findings import Finding, Severity
from lambdapack.inspect.rules import run_view_rules
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import BuildKind
from lambdapack.staged import StagedFile

__all__ = ["allow_secrets", "verify"]


def _disk_file(e: StagedFile, root: str, origin: str) -> LambdaFile:
    def head(n: int, p: Path = e.path) -> bytes:
        with open(p, "rb") as f:
            return f.read(n)

    return LambdaFile(
        path=lambda_path(root, e.arcname),
        rel=e.arcname,
        origin=origin,
        size=e.size,
        mode=None,  # the zip gets normalised modes, so the source's do not matter
        distribution=e.distribution,
        read=e.path.read_bytes,
        head=head,
    )


def verify(ctx: BuildContext, deps: list[StagedFile], code: list[StagedFile]) -> list[Finding]:
    """The same rule engine as `lambdapack check`, on the staged files (read in place).

    Layers given with --with-layer get exactly what `check --layer` gives them: the
    archive rules (LP3xx, every member's CRC-32), the layout rules and the view rules;
    their archive findings are named with the layer they come from.
    """
    opts = ctx.opts
    view = LambdaView(ctx.target.runtime)
    layers: list[tuple[str, list[str]]] = []
    attached: list[tuple[str, Artifact]] = []
    with ExitStack() as stack:
        for i, p in enumerate(opts.attach_layers, start=1):
            art = stack.enter_context(open_artifact(p))
            art.verify()
            origin = f"layer {i} ({p.name})"
            add_artifact(view, art, LAYER_ROOT, origin, distribution_owners(art))
            layers.append((origin, [e.name for e in art.entries if not e.is_dir]))
            attached.append((origin, art))
        built_layer = f"layer {len(opts.attach_layers) + 1} (built)"
        if ctx.kind is BuildKind.FUNCTION:
            for e in deps + code:
                view.add(_disk_file(e, FUNCTION_ROOT, "function"))
        else:
            for e in code:
                view.add(_disk_file(e, FUNCTION_ROOT, "function"))
            for e in deps:
                view.add(_disk_file(e, LAYER_ROOT, built_layer))
            layers.append((built_layer, [e.arcname for e in deps]))
        handler = opts.handler if ctx.kind is not BuildKind.LAYER else None
        findings = run_view_rules(view, ctx.target, layers=layers, handler=handler)
        # Archive problems last, as `check` does: reading members for the rules can find more.
        for origin, art in attached:
            findings += [dataclasses.replace(f, path=f"{origin}: {f.path}" if f.path else origin)
                         for f in art.problems]
        return findings


def allow_secrets(patterns: tuple[str, ...], findings: list[Finding]) -> list[Finding]:
    """LP402 errors on files matching --allow-secret become warnings that say so.

    Patterns match the path in the zip (fnmatch, case-sensitive like zip names); a finding
    on a built layer's file is named "layer N (built): python/...", so the prefix is dropped.
    """
    if not patterns:
        return findings
    out: list[Finding] = []
    for f in findings:
        in_zip = split_shown(f.path)[1]
        pat = next((p for p in patterns if fnmatch.fnmatchcase(in_zip, p)), None)
        if f.code == "LP402" and f.severity is Severity.ERROR and pat is not None:
            f = dataclasses.replace(f, severity=Severity.WARNING,
                                    message=f"{f.message} (packed anyway: --allow-secret {pat!r})",
                                    fix="make sure this file is meant to ship; anyone who can read the function can read it")
        out.append(f)
    return out
