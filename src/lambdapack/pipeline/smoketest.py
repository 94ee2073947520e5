"""build --smoke: import the package like Lambda would, before the zip is put in place."""

from __future__ import annotations

from pathlib import Path

from lambdapack.inspect.smoke import smoke
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.result import BuildFailed, BuildResult

__all__ = ["run_smoke"]


def run_smoke(ctx: BuildContext, result: BuildResult, fn: Path | None, layer: Path | None) -> None:
    """Import-test the function zip `fn` with its layers; a failure writes no zip."""
    ctx.say("smoke test: importing the package with a matching interpreter")
    layers = [*ctx.opts.attach_layers, *([layer] if layer is not None else [])]
    result.smoke = smoke(fn, layers, result.target, handler=ctx.opts.handler)
    if result.smoke.status == "failed":
        bad = [r.module for r in result.smoke.results if not r.ok]
        result.outputs.clear()
        raise BuildFailed(
            f"smoke test failed: {', '.join(bad) or 'the package'} did not import; no zip was written", result
        )
    if result.smoke.status == "skipped":
        result.warnings.append(f"smoke test skipped: {result.smoke.reason}")
