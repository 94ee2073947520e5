"""Reusing a finished build: the inputs pointer (the no-change shortcut, checked before any
resolving) and putting a cached artifact at the output paths."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.assemble.fromlayers import FromLayer
from lambdapack.cache.keys import digest
from lambdapack.cache.local import UNPINNED_TTL_SECONDS
from lambdapack.inspect.findings import Finding
from lambdapack.pack.members import file_sha256
from lambdapack.pack.zipwriter import WrittenZip, atomic_output
from lambdapack.pipeline.cachekeys import uv_target
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.result import BuildResult, Output, WithoutBytecode
from lambdapack.pipeline.sizereports import report_from_dict
from lambdapack.resolve.install import find_uv
from lambdapack.sealwatch import note_reuse

if TYPE_CHECKING:
    from lambdapack.cache.records import ArtifactMeta
    from lambdapack.cache.store import CacheStore
    from lambdapack.pipeline.resolutions import Installed
    from lambdapack.resolve.heldback import HeldBack

__all__ = ["from_inputs_pointer", "reuse", "save_inputs_pointer"]


def save_inputs_pointer(
    cache: CacheStore, key: str, art_key: str, result: BuildResult, inst: Installed, warnings: list[str]
) -> None:
    from lambdapack.cache.records import InputsPointer
    from lambdapack.pipeline.resolutions import fully_pinned

    cache.save_inputs_pointer(key, InputsPointer(
        # The resolution record decides freshness (unpinned inputs expire), as in the full path.
        artifact=art_key, pinned=fully_pinned(inst.reqs),
        resolution=inst.resolution[0] if inst.resolution else None,
        dists_digest=inst.resolution[1] if inst.resolution else None,
        included={str(p): file_sha256(p) if p.exists() else "missing" for p in inst.reqs.included},
        inputs_kind=inst.reqs.kind, inputs_source=str(inst.reqs.source) if inst.reqs.source else None,
        extras=tuple(inst.reqs.extras),
        distributions=tuple((d.name, d.display_name, d.version, tuple(d.tags), d.dist_info)
                            for d in result.distributions),
        held_back=tuple(h.as_dict() for h in result.held_back),
        warnings=tuple(warnings),
    ))


def from_inputs_pointer(ctx: BuildContext, cache: CacheStore, key: str) -> BuildResult | None:
    """The no-change shortcut: the same inputs built before; reuse the finished zip."""
    from lambdapack.resolve.distributions import Distribution
    from lambdapack.resolve.inputs import Requirements

    rec = cache.load_inputs_pointer(key)  # None when missing or damaged
    if rec is None:
        return None
    until = math.inf
    if rec.resolution is not None:
        res = cache.load_resolution(rec.resolution, rec.pinned)
        if res is None or digest(res.dists_json()) != rec.dists_digest:
            return None  # stale, gone or damaged: the full path resolves or repairs it
        if not rec.pinned:
            until = res.created + UNPINNED_TTL_SECONDS
    for path, sha in rec.included.items():
        p = Path(path)
        if (file_sha256(p) if p.exists() else "missing") != sha:
            return None
    hit = cache.load_artifact(rec.artifact)
    if hit is None:
        return None
    reqs = Requirements(rec.inputs_kind, Path(rec.inputs_source) if rec.inputs_source else None, (), rec.extras)
    dists = [Distribution(n, dn, v, t, di, ()) for n, dn, v, t, di in rec.distributions]
    stored_warnings = list(rec.warnings)
    held: list[HeldBack] = []
    if ctx.opts.held_back and rec.held_back:
        from lambdapack.resolve.heldback import HeldBack
        try:
            held = [HeldBack(**h) for h in rec.held_back]
        except TypeError:
            return None  # a damaged pointer is a miss
    result = BuildResult(target=ctx.target, inputs=reqs, distributions=dists, held_back=held,
                         warnings=[*ctx.warnings, *stored_warnings], **uv_target(ctx))
    done = reuse(ctx, hit, result)
    if not ctx.opts.smoke and ctx.opts.tree_dir is None:  # those do work on every run
        # uv is not run on the shortcut, but a new uv must not be answered by an old record.
        note_reuse(str(cache.root), until, [find_uv(), os.path.realpath(sys.executable)])
    return done


def reuse(ctx: BuildContext, hit: tuple[ArtifactMeta, list[Path]], result: BuildResult) -> BuildResult:
    """Put a finished artifact from the cache at the output paths (smoke-tested first if asked)."""
    ctx.say("no change: the finished zip comes from the cache")
    kinds = list(ctx.kind.zips)
    zips = dict(zip(kinds, hit[1], strict=True))
    if ctx.opts.smoke:
        from lambdapack.pipeline.smoketest import run_smoke

        run_smoke(ctx, result, zips.get("function"), zips.get("layer"))
    outs = [(k, o) for k, o in ((k, ctx.output_of(k)) for k in kinds) if o is not None]
    tree = ctx.opts.tree_dir
    if tree is None:
        return _restore(hit, outs, result)
    from lambdapack.pack.tree import atomic_tree, tree_from_zip, tree_matches_zip

    if tree_matches_zip(hit[1][0], tree):
        ctx.say(f"the unpacked tree {tree} is up to date")
        result = _restore(hit, outs, result)
    else:
        # Only the zip is cached: the tree is extracted from it, and swapped in after the zip.
        with atomic_tree(tree) as tmp:
            ctx.say(f"writing the unpacked tree {tree}")
            tree_from_zip(hit[1][0], tmp)
            result = _restore(hit, outs, result)
    result.outputs[0] = dataclasses.replace(result.outputs[0], tree=tree)
    return result


def _restore(hit: tuple[ArtifactMeta, list[Path]], outs: list[tuple[str, Path]],
             result: BuildResult) -> BuildResult:
    meta, zips = hit
    data = meta.result
    result.saved_by_dist = dict(data.get("slim", {}).get("by_distribution", {}))
    result.slim_notes = list(data.get("slim", {}).get("notes", []))
    # Artifacts stored before the field existed left no bytecode out.
    result.without_bytecode = [WithoutBytecode(**w) for w in data.get("without_bytecode", [])]
    result.from_layers = [FromLayer(**x) for x in data.get("from_layers", [])]
    for (kind, out), z, o in zip(outs, zips, meta.outputs, strict=True):
        with atomic_output(out) as tmp:
            # A hard link costs nothing; cached zips are never written in place (only
            # replaced), and one altered through the output path fails its hash next time.
            try:
                tmp.unlink()
                os.link(z, tmp)
            except OSError:
                shutil.copyfile(z, tmp)
        result.outputs.append(Output(kind, WrittenZip(out, o.sha256, o.sha256_base64, o.zipped_bytes,
                                                    o.unzipped_bytes, o.files)))
    result.unzipped_total = data["unzipped_total_bytes"]
    # Findings about a zip name the zip (LP102); the stored ones name the first build's output.
    renamed = {o.path: str(out) for o, (_k, out) in zip(meta.outputs, outs, strict=False)}
    result.findings += [Finding(**{**f, "path": renamed.get(f["path"], f["path"])}) for f in data["findings"]]
    try:
        result.size_reports = [dataclasses.replace(report_from_dict(r), artifact=str(out))
                               for r, (_k, out) in zip(meta.size_reports, outs, strict=False)]
    except (KeyError, TypeError, ValueError):
        result.size_reports = []  # an unreadable stored report: measure the zips again below
    if len(result.size_reports) != len(outs):
        from lambdapack.report.sizes import size_report

        result.size_reports = [size_report(out, kind, {}, None) for kind, out in outs]
    result.cached = True
    return result
