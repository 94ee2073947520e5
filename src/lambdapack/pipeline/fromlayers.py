"""Leave out of a build what its --with-layer layers already provide (assemble/fromlayers.py
decides; this step reads the layers and filters the install)."""

from __future__ import annotations

import dataclasses

from lambdapack.assemble.fromlayers import LayerDist, match_layers
from lambdapack.inspect.archive import open_artifact
from lambdapack.inspect.check import layer_distributions
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.resolutions import Installed
from lambdapack.pipeline.result import BuildFailed, BuildResult
from lambdapack.units import count

__all__ = ["without_layer_dists"]


def without_layer_dists(ctx: BuildContext, inst: Installed, result: BuildResult) -> Installed:
    """`inst` without the distributions the attached layers ship at the same version (said in
    `result.from_layers`); a different version in a layer fails the build (exit 2)."""
    if not ctx.opts.attach_layers or not inst.dists:
        return inst
    py = "{}.{}".format(*ctx.target.runtime.python)
    provided: list[LayerDist] = []
    for path in ctx.opts.attach_layers:
        with open_artifact(path) as art:
            provided += [LayerDist(n, v, path.name) for n, v in layer_distributions(art, py)]
    taken, conflicts = match_layers([(d.display_name, d.version) for d in inst.dists], provided)
    if conflicts:
        result.warnings.extend(conflicts[1:])
        raise BuildFailed(conflicts[0], result, "pin the layer's version in the function's dependencies, or "
                          "drop the distribution from one of them; no zip was written", exit_code=2)
    if not taken:
        return inst
    result.from_layers = taken
    labels = {f"{t.name} {t.version}" for t in taken}
    dists = [d for d in inst.dists if f"{d.display_name} {d.version}" not in labels]
    result.distributions = dists
    files = [f for f in inst.files if f[3] not in labels]
    kept = {f[0] for f in files}
    ctx.say(f"left out {count(len(taken), 'distribution')} the layers provide: "
            + ", ".join(f"{t.name} {t.version}" for t in taken))
    return dataclasses.replace(inst, dists=dists, files=files,
                               shas={rel: sha for rel, sha in inst.shas.items() if rel in kept})
