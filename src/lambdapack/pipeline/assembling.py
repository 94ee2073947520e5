"""Turning the staged files into what ships: slimming (the profile, --exclude,
--exclude-runtime-provided, stripping) and hash-based bytecode, each step replacing
StagedFiles and recording what it saved or could not do on the result."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lambdapack.assemble.profiles import Profile
from lambdapack.assemble.slim import SlimRules, apply_slim, plan_slim
from lambdapack.cache.keys import pyc_key
from lambdapack.facts.layout import FUNCTION_ROOT, LAYER_ROOT, lambda_path
from lambdapack.inspect.sizerules import Contents
from lambdapack.pack.members import file_sha256
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import BuildKind, CompileMode
from lambdapack.pipeline.resolutions import Installed
from lambdapack.pipeline.result import BuildResult
from lambdapack.staged import StagedFile
from lambdapack.units import count, human

if TYPE_CHECKING:
    from lambdapack.assemble.bytecode import InvalidationMode
    from lambdapack.host.interpreters import Interpreter

__all__ = ["Assembly", "bytecode", "contents_of", "slim"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assembly:
    """One build's staging state the assembling steps share."""

    ctx: BuildContext
    result: BuildResult  # where warnings, savings and notes go
    shas: dict[str, str]  # arcname -> content sha256; updated as files are replaced
    unslimmed: list[StagedFile] = field(default_factory=list)  # the dependencies as installed, for LP101/LP104's hints


def contents_of(ctx: BuildContext, shipped: Iterable[StagedFile], unslimmed: list[StagedFile]) -> Contents:
    """What the package holds, for LP101's ways to make room: each distribution's shipped bytes,
    and what --slim aggressive would leave out beyond this build's profile, by its plan (names
    only, nothing read or stripped; the debug sections it would strip are not counted)."""
    dists: dict[str, int] = {}
    names: set[str] = set()
    for e in shipped:
        names.add(e.arcname)
        if e.distribution:  # "name version" (pipeline/resolutions.py)
            name = e.distribution.rsplit(" ", 1)[0]
            dists[name] = dists.get(name, 0) + e.size
    saves = 0
    if ctx.opts.slim != Profile.AGGRESSIVE.value:
        # What the aggressive plan removes that this build still ships is what it would save.
        rules = SlimRules(excludes=ctx.opts.dep_excludes, keeps=ctx.opts.keeps)
        plan = plan_slim(unslimmed, ctx.target, Profile.AGGRESSIVE, rules,
                         dist_prefix="python/" if ctx.kind.has_layer else "")
        saves = sum(r.size for r in plan.removals if r.arcname in names)
    function_deps = ctx.kind is BuildKind.FUNCTION and bool(dists)
    return Contents(tuple(sorted(dists.items())), ctx.opts.slim, saves, function_deps)


def slim(asm: Assembly, inst: Installed, deps: list[StagedFile], prefix: str) -> list[StagedFile]:
    """Leave out what the profile, --exclude and --exclude-runtime-provided say; strip copies."""
    ctx, opts, result = asm.ctx, asm.ctx.opts, asm.result
    profile = Profile(opts.slim)
    if profile is Profile.NONE and not (opts.dep_excludes or opts.exclude_runtime_provided):
        return deps
    drop: set[str] = set()
    if opts.exclude_runtime_provided:
        # Imported here: reading METADATA brings the email package (~10 ms) into every build.
        from lambdapack.assemble.runtime_provided import runtime_provided_closure

        meta_site = ctx.work / "metadata"
        for rel, path, _exe, _label in inst.files:
            if rel.endswith(".dist-info/METADATA"):
                (meta_site / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, meta_site / rel)
        drop, note = runtime_provided_closure(inst.dists, meta_site, ctx.target)
        result.slim_notes.append(note)
    rules = SlimRules(excludes=opts.dep_excludes, keeps=opts.keeps, drop_dists=drop)
    plan = plan_slim(deps, ctx.target, profile, rules, dist_prefix=prefix)
    if plan.strip:  # stripping is what takes time; leaving out files is a list operation
        with ctx.stage(f"slimming ({profile.value}): leaving out {count(len(plan.removals), 'file')}, "
                       f"stripping up to {count(len(plan.strip), 'shared object')}"):
            res = apply_slim(deps, plan, ctx.target, ctx.work)
    else:
        res = apply_slim(deps, plan, ctx.target, ctx.work)
    saved: dict[str, int] = {}
    for r in res.removals:
        saved[r.distribution or "(your code)"] = saved.get(r.distribution or "(your code)", 0) + r.size
    owners = {e.arcname: e.distribution for e in deps}
    for arcname, before, after in res.stripped:
        label = owners.get(arcname) or "(your code)"
        saved[label] = saved.get(label, 0) + before - after
        asm.shas.pop(arcname, None)  # new content: hashed afresh when packed
    for arcname, why in res.kept_unstripped:
        log.info("kept unstripped: %s (%s)", arcname, why)
    result.saved_by_dist = saved
    return res.entries


def bytecode(
    asm: Assembly, interp: Interpreter, deps: list[StagedFile], code: list[StagedFile],
    compiling_deps: Callable[[], None] | None = None,
) -> tuple[list[StagedFile], list[StagedFile], list[StagedFile]]:
    """Hash-based .pyc for every .py, compiled once per (content, Python, mode, Lambda path).
    Returns the deps and code with their .pyc added, and those .pyc. `compiling_deps` is
    called just before any dependency's module is compiled (none are when all are cached)."""
    # Imported here, as before the split: a build without an interpreter never loads the compiler.
    from lambdapack.assemble.bytecode import InvalidationMode

    mode = InvalidationMode(asm.ctx.opts.pyc_mode)
    dep_root = FUNCTION_ROOT if asm.ctx.kind is BuildKind.FUNCTION else LAYER_ROOT
    counts = [0, 0]  # compiled, from the cache
    pyc = [_pyc_for(asm, interp, mode, entries, root, counts, before)
           for entries, root, before in ((deps, dep_root, compiling_deps), (code, FUNCTION_ROOT, None))]
    log.info("bytecode: %d compiled, %d from the cache", counts[0], counts[1])
    return deps + pyc[0], code + pyc[1], pyc[0] + pyc[1]


def fit_bytecode(asm: Assembly, deps: list[StagedFile], code: list[StagedFile],
                 pyc: list[StagedFile]) -> tuple[list[StagedFile], list[StagedFile], list[tuple[str, int, bool]]]:
    """When the compiled .pyc are what takes the package over the unzipped limit, leave out
    what `plan_fit` says (default compile mode: LP104 and `result.without_bytecode` say so).
    Under --compile nothing is left out; the plan is returned for LP101 to quote instead."""
    from lambdapack.assemble.bytecodefit import FitEntry, plan_fit
    from lambdapack.facts.limits import UNZIPPED_BYTES
    from lambdapack.inspect.sizerules import bytecode_left_out_finding
    from lambdapack.pipeline.result import WithoutBytecode

    ctx, result = asm.ctx, asm.result
    shipped = deps if ctx.kind is BuildKind.LAYER else deps + code  # as staging's zip plan packs them
    compiled = {e.arcname for e in pyc}
    plan = plan_fit([FitEntry(e.arcname, e.distribution, e.arcname in compiled, e.size) for e in shipped],
                    ctx.attached_unzipped + sum(e.size for e in shipped), UNZIPPED_BYTES)
    if plan is None or not plan.drop:
        return deps, code, []
    # A distribution's label is "name version" (pipeline/resolutions.py).
    named = [(x.distribution.rsplit(" ", 1), x) for x in plan.left_out]
    said = [(nv[0], x.bytes, x.tests_only) for nv, x in named]
    if ctx.compile is CompileMode.ON:
        return deps, code, said
    result.without_bytecode = [WithoutBytecode(nv[0], nv[-1] if len(nv) > 1 else "", x.bytes, x.tests_only)
                               for nv, x in named]
    result.findings.append(bytecode_left_out_finding(said, UNZIPPED_BYTES, contents_of(ctx, shipped, asm.unslimmed)))
    ctx.say(f"leaving out {human(plan.saved)} of bytecode to fit Lambda's unzipped limit")
    return ([e for e in deps if e.arcname not in plan.drop], [e for e in code if e.arcname not in plan.drop], [])


def _pyc_for(asm: Assembly, interp: Interpreter, mode: InvalidationMode, entries: list[StagedFile], root: str,
             counts: list[int], before: Callable[[], None] | None) -> list[StagedFile]:
    """The .pyc of the .py files in `entries` (under the Lambda path `root`): cached or compiled now."""
    from lambdapack.assemble.bytecode import Compiler, compile_with, pyc_arcname
    from lambdapack.assemble.bytecodefit import in_test_suite

    cache, shas = asm.ctx.cache, asm.shas
    # Your own code is compiled whole; a dependency's test suite is not (in_test_suite says why).
    every = [e for e in entries if e.arcname.endswith(".py")]
    sources = [e for e in every if not (e.distribution is not None and in_test_suite(e.arcname))]
    keys = {e.arcname: pyc_key(interp.version, mode.value, lambda_path(root, e.arcname),
                               shas.get(e.arcname) or file_sha256(e.path)) for e in sources}
    pyc: list[StagedFile] = []
    missing: list[StagedFile] = []
    for e in sources:
        cached = cache.load_pyc(keys[e.arcname]) if cache is not None else None
        if cached is not None:
            arc = pyc_arcname(e.arcname, interp.cache_tag)
            pyc.append(StagedFile(arc, cached[0], False, cached[2], e.distribution))
            shas[arc] = cached[1]
            counts[1] += 1
        else:
            missing.append(e)
    if not missing:
        return pyc
    if before is not None:
        before()
    suite = f" ({count(len(every) - len(sources), 'test-suite module')} left as source)" if len(every) > len(sources) else ""
    with asm.ctx.stage("compiling", len(missing), "module",
                       f"to {mode.value} bytecode with Python {'.'.join(map(str, interp.version))}{suite}") as stage:
        compiler = Compiler(interp, lambda a, r=root: lambda_path(r, a), mode)  # type: ignore[misc]
        res = compile_with(compiler, missing, asm.ctx.work / "pyc" / root.strip("/").replace("/", "_"),
                           stage.advance)
        counts[0] += len(res.entries)
        by_arc = {pyc_arcname(e.arcname, interp.cache_tag): e for e in missing}
        for p in res.entries:  # in the stage: storing 2,000 .pyc in the cache takes a second
            if cache is not None:
                path, sha = cache.save_pyc(keys[by_arc[p.arcname].arcname], p.path, move=True)
                p = StagedFile(p.arcname, path, p.executable, p.size, p.distribution)
                shas[p.arcname] = sha
            pyc.append(p)
    for arcname, why in res.failed:
        asm.result.warnings.append(
            f"{arcname} does not compile for Python {interp.minor[0]}.{interp.minor[1]}: {why}")
    return pyc
