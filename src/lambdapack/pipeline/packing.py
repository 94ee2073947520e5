"""Writing the zips: each to its temp file, the zipped-size limits checked, the smoke test
run and the artifact cached, and only then every zip moved into place together."""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from lambdapack.inspect import sizerules
from lambdapack.inspect.findings import has_errors
from lambdapack.pack.codec import CODEC
from lambdapack.pack.members import BlobStore
from lambdapack.pack.zipwriter import ZipSettings, atomic_output, write_zip_to
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import BuildKind
from lambdapack.pipeline.result import BuildFailed, BuildResult, Output
from lambdapack.pipeline.sizereports import measure, report_to_dict
from lambdapack.progress import BYTES
from lambdapack.staged import StagedFile
from lambdapack.units import count

__all__ = ["PackPlan", "pack_all"]


@dataclass(frozen=True)
class PackPlan:
    zips: list[tuple[str, Path, list[StagedFile]]]  # (zip kind, output path, files), in packing order
    store: BlobStore  # compressed members, shared across builds when there is a cache
    shas: dict[str, str]  # arcname -> content sha256, when known
    # Files hashed moments ago by this build: no second hash when compressed.
    fresh: frozenset[str]


def pack_all(ctx: BuildContext, plan: PackPlan, result: BuildResult, art_key: str | None) -> None:
    """Write every zip to its temp file, check the limits, then move all into place."""
    opts = ctx.opts
    # Savings belong to the zip that holds the dependencies (the layer of a split build).
    deps_zip = "function" if ctx.kind is BuildKind.FUNCTION else "layer"
    if CODEC.fallback is not None and CODEC.fallback not in result.warnings:
        result.warnings.append(CODEC.fallback)
    with ExitStack() as stack:
        staged: list[tuple[str, Path, Path]] = []
        for kind, out, entries in plan.zips:
            tmp = stack.enter_context(atomic_output(out))
            settings = ZipSettings(compresslevel=opts.compresslevel, shas=plan.shas, fresh=plan.fresh)
            size = sum(e.size for e in entries)
            with ctx.stage("packing", size, BYTES, f"of {count(len(entries), 'file')} into {out}") as stage:
                art = write_zip_to(entries, tmp, out, settings, store=plan.store, advance=stage.advance)
                result.outputs.append(Output(kind, art))
                staged.append((kind, out, tmp))
                saved = result.saved_by_dist if kind == deps_zip else {}
                result.size_reports.append(measure(kind, out, entries, saved, art.member_sizes))
        size_findings = sizerules.check_sizes(
            0, [(str(o.artifact.path), o.artifact.zipped_bytes) for o in result.outputs], 0
        )
        result.findings += size_findings
        if has_errors(size_findings):
            result.outputs.clear()
            raise BuildFailed("the package is over Lambda's limits; no zip was written", result)
        if opts.smoke:
            from lambdapack.pipeline.smoketest import run_smoke

            zips = {k: t for k, _o, t in staged}
            run_smoke(ctx, result, zips.get("function"), zips.get("layer"))
        if ctx.cache is not None and art_key is not None:
            # Saved before the outputs are renamed into place; the temp files are complete.
            from lambdapack.cache.records import ArtifactMeta

            meta = ArtifactMeta(result.as_dict(), [report_to_dict(r) for r in result.size_reports])
            with ctx.stage("saving the artifact in the cache"):
                ctx.cache.save_artifact(art_key, meta, [(k, t) for k, _o, t in staged])
        if opts.tree_dir is not None:
            _write_tree(ctx, stack, opts.tree_dir, plan.zips[0][2], result)


def _write_tree(ctx: BuildContext, stack: ExitStack, tree: Path, entries: list[StagedFile],
                result: BuildResult) -> None:
    """--output-dir: the one zip's members, from the staged files; swapped in with the zips."""
    from lambdapack.pack.tree import atomic_tree, tree_from_staged

    tmp = stack.enter_context(atomic_tree(tree))
    ctx.say(f"writing the unpacked tree {tree}")
    tree_from_staged(entries, tmp)
    result.outputs[0] = dataclasses.replace(result.outputs[0], tree=tree)
