"""A project build as a list of jobs: which artifacts to build, for which targets, with which
options, and which layer zips each function uses (pure; docs/config.md, "Building a project").

One job per function and one per (layer, runtime, architecture): a layer is built once for each
target it lists and shared by every function of that target that names it. A function's job
attaches its layers' zips (`attach_layers`), so the single-build pipeline leaves out what they
provide, fails on a version conflict, and checks the function's 250 MB together with them.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.config.project import Function, Layer, Project
from lambdapack.config.settings import Layers as Cascade
from lambdapack.config.settings import build_options
from lambdapack.errors import UsageError
from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.pipeline.options import BuildOptions

__all__ = ["PROJECT_ONLY_FLAGS", "Job", "plan_project"]

# Flags that name one artifact's files or kind: a project build takes each from the config.
PROJECT_ONLY_FLAGS = {"output": "-o/--output", "layer_output": "--layer-output", "kind": "--layer/--split",
                      "handler": "--handler", "src": "SRC_DIR", "tree_dir": "--output-dir"}


@dataclass(frozen=True)
class Job:
    """One artifact to build. `key` is unique in the plan; `needs` are the keys of its layers' jobs."""

    key: str
    name: str
    kind: str  # "function" | "layer"
    options: BuildOptions
    needs: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()  # the project layers a function uses, by name

    @property
    def target(self) -> str:
        return f"{self.options.runtime} {self.options.arch}"


def plan_project(project: Project, flags: Mapping[str, object], environ: Mapping[str, str],
                 names: Sequence[str] = ()) -> list[Job]:
    """The jobs for `names` (all functions and layers when empty), layers first."""
    for setting, flag in PROJECT_ONLY_FLAGS.items():
        if setting in flags:
            raise UsageError(f"{flag} names a single artifact; a project build takes it from the config",
                             "set it in the function's or layer's table, or build one directory: lambdapack build DIR")
    if "tree_dir" in project.defaults:
        raise UsageError(f"{project.path}: tree_dir in the defaults would be every artifact's tree",
                         "set tree_dir in [tool.lambdapack.functions.NAME] (one directory per function)")
    functions, layers = _selected(project, names)
    fn_options = {f.name: _function_options(project, f, flags, environ) for f in functions}
    # A layer selected itself is built for all its targets; one pulled in by a selected
    # function only for that function's target.
    wanted: dict[str, set[tuple[str, str]]] = {layer.name: set(_layer_targets(layer, flags)) for layer in layers}
    for f in functions:
        for name in f.layers:
            wanted.setdefault(name, set()).add((fn_options[f.name].runtime, fn_options[f.name].arch))
    layer_jobs: dict[tuple[str, str, str], Job] = {}
    for name in sorted(wanted):
        layer = project.layers[name]
        targets = sorted(wanted[name])
        # The zip's name carries the target when the layer has more than one, built now or not.
        multi = len(set(_layer_targets(layer, flags)) | wanted[name]) > 1
        for runtime, arch in targets:
            opts = _layer_options(project, layer, flags, environ, (runtime, arch), multi=multi)
            layer_jobs[(name, runtime, arch)] = Job(f"layer {name} {runtime} {arch}", name, "layer", opts)
    jobs = list(layer_jobs.values())
    for f in functions:
        opts = fn_options[f.name]
        mine = [layer_jobs[(n, opts.runtime, opts.arch)] for n in f.layers]
        opts = dataclasses.replace(opts, attach_layers=(*opts.attach_layers, *(j.options.output for j in mine
                                                                                if j.options.output)))
        jobs.append(Job(f"function {f.name}", f.name, "function", opts, tuple(j.key for j in mine), f.layers))
    _check_outputs(jobs)
    return jobs


def _selected(project: Project, names: Sequence[str]) -> tuple[list[Function], list[Layer]]:
    if not names:
        return list(project.functions.values()), list(project.layers.values())
    known = [*project.functions, *project.layers]
    functions: list[Function] = []
    layers: list[Layer] = []
    for name in dict.fromkeys(names):
        if name in project.functions:
            functions.append(project.functions[name])
        elif name in project.layers:
            layers.append(project.layers[name])
        else:
            close = difflib.get_close_matches(name, known, n=1)
            raise UsageError(f"the project has no function or layer {name!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else ""),
                             f"defined: {', '.join(known)}" if known else "define them in the project config")
    return functions, layers


def _function_options(project: Project, f: Function, flags: Mapping[str, object],
                      environ: Mapping[str, str]) -> BuildOptions:
    try:
        opts = build_options(Cascade(flags=flags, environ=environ, file=project.defaults, function=f.own))
    except UsageError as e:
        raise UsageError(f"function {f.name!r}: {e.message}", e.hint) from None
    return dataclasses.replace(opts, kind="function", src=f.src, output=f.output,
                               runtime=get_runtime(opts.runtime).name, arch=get_arch(opts.arch).value)


def _layer_targets(layer: Layer, flags: Mapping[str, object]) -> list[tuple[str, str]]:
    """The layer's own targets; a --runtime or --arch flag replaces that half for every artifact."""
    runtimes = [get_runtime(str(flags["runtime"])).name] if "runtime" in flags else list(layer.runtimes)
    arches = [get_arch(str(flags["arch"])).value] if "arch" in flags else list(layer.architectures)
    return list(itertools.product(runtimes, arches))


def _layer_options(project: Project, layer: Layer, flags: Mapping[str, object], environ: Mapping[str, str],
                   target: tuple[str, str], multi: bool) -> BuildOptions:
    runtime, arch = target
    given = {**flags, "runtime": runtime, "arch": arch}  # parsed (and checked) like a flag
    try:
        opts = build_options(Cascade(flags=given, environ=environ, file=project.defaults, function=layer.own))
    except UsageError as e:
        raise UsageError(f"layer {layer.name!r}: {e.message}", e.hint) from None
    output = layer.output
    if multi:  # one zip per target: the target goes into the name
        output = output.with_name(f"{output.stem}-{opts.runtime}-{opts.arch}{output.suffix}")
        if opts.tree_dir is not None:
            raise UsageError(f"layer {layer.name!r} is built for several targets, and each would replace its "
                             f"tree_dir {opts.tree_dir}", "build its tree with a single-target layer, "
                             "or drop tree_dir and use the zips")
    return dataclasses.replace(opts, kind="layer", src=None, output=output, handler=None, attach_layers=(),
                               exclude_tests=False)


def _check_outputs(jobs: list[Job]) -> None:
    """No two artifacts write the same zip, or the same unpacked tree."""
    seen: dict[str, str] = {}
    for job in jobs:
        for out, key_name in ((job.options.output, "output"), (job.options.tree_dir, "tree_dir")):
            if out is None:
                continue
            key = os.path.normcase(os.path.normpath(Path(out).absolute()))
            if key in seen:
                raise UsageError(f"{job.key} and {seen[key]} would both write {out}",
                                 f"give one of them its own '{key_name}' in the project config")
            seen[key] = job.key
