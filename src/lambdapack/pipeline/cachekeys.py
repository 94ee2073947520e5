"""What each cache key of a build is computed over: the resolution (what uv resolves), the
inputs (everything read before resolving: the no-change shortcut) and the artifact (the
staged files and every option that changes the zip bytes). The key formats live in
cache.keys; this module only gathers their inputs."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from lambdapack import __version__
from lambdapack.cache.keys import (
    ArtifactKeyInputs,
    InputFingerprint,
    InputsKeyInputs,
    ResolutionKeyInputs,
    artifact_key,
    index_environment,
    inputs_key,
    key_environment,
    resolution_key,
)
from lambdapack.pack.codec import CODEC
from lambdapack.pack.members import file_sha256
from lambdapack.pack.zipwriter import zip_date_time
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.depinputs import index_url
from lambdapack.pipeline.options import CompileMode
from lambdapack.resolve.ceiling import Ceiling, plan_ceiling
from lambdapack.resolve.inputs import Piped, Requirements
from lambdapack.resolve.install import InstallOptions, is_offline
from lambdapack.resolve.localpaths import local_tree_stamps
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from lambdapack.host.interpreters import Interpreter
    from lambdapack.pipeline.sources import Sources

__all__ = ["artifact_key_of", "inputs_key_of", "keyed_install", "resolution_key_of", "strip_tools"]


def strip_tools(target: Target) -> list[str]:
    from lambdapack.assemble.strip import find_strip_tools

    return list(find_strip_tools(target.arch.machine))


def keyed_install(opts: InstallOptions) -> InstallOptions:
    """The install options that decide what gets installed: how long uv may wait does not."""
    return dataclasses.replace(opts, network_timeout=None, deadline=None)


def _input_fingerprint(reqs: Requirements, uv_file: Path | None) -> InputFingerprint:
    files: dict[str, str] = {}
    if uv_file is not None and uv_file.exists():
        files["uv-input"] = file_sha256(uv_file)
    for inc in reqs.included:
        files[str(inc)] = file_sha256(inc) if inc.exists() else "missing"
    return InputFingerprint(reqs.kind, tuple(str(r) for r in reqs.top_level), tuple(reqs.extras), files)


def ceiling_of(ctx: BuildContext, env: Mapping[str, str]) -> Ceiling | None:
    """The glibc ceiling to cut index pages to; None when uv targets the runtime's glibc exactly,
    or uv is offline (its cache knows no loopback page: it keeps uv's safe, older target)."""
    if is_offline(env):
        return None
    return plan_ceiling(ctx.target.runtime.glibc, ctx.target.arch.machine)


def resolved_platform(ctx: BuildContext, env: Mapping[str, str]) -> str:
    """The platform uv resolves for, as the keys must see it: a resolution (or an artifact)
    made for uv's older manylinux_2_17 target must not stand in for one cut to the exact ceiling."""
    ceiling = ceiling_of(ctx, env)
    if ceiling is None:
        return ctx.target.uv_platform
    return f"{ceiling.uv_platform}, pages cut to glibc {ceiling.glibc[0]}.{ceiling.glibc[1]}"


class UvTarget(TypedDict):
    uv_platform: str
    glibc_ceiling: str | None


def uv_target(ctx: BuildContext) -> UvTarget:
    """What a result says uv resolved for: its --python-platform and, when the index pages were
    cut to the runtime's glibc (the loopback index), that glibc."""
    ceiling = ceiling_of(ctx, os.environ)
    if ceiling is None:
        return {"uv_platform": ctx.target.uv_platform, "glibc_ceiling": None}
    return {"uv_platform": ceiling.uv_platform, "glibc_ceiling": f"{ceiling.glibc[0]}.{ceiling.glibc[1]}"}


def resolution_key_of(ctx: BuildContext, reqs: Requirements, req_file: Path, env: dict[str, str]) -> str:
    """Everything that decides what uv resolves: inputs, target, options, index settings."""
    opts, target = ctx.opts, ctx.target
    return resolution_key(ResolutionKeyInputs(
        __version__, target.runtime.name, target.arch.value, resolved_platform(ctx, env),
        _input_fingerprint(reqs, req_file),
        dataclasses.asdict(keyed_install(opts.install)), index_url(opts), index_environment(env)))


def _dependency_input_files(ctx: BuildContext) -> dict[str, str] | None:
    """Content hashes of the dependency input; None when it cannot be read (the full
    path reports that clearly)."""
    files: dict[str, str] = {}
    dep_path = ctx.dep_path
    if isinstance(dep_path, Piped):
        # Its content and the directory its relative paths mean; the name only as given
        # (resolved, /dev/fd/63 is /proc/PID/fd/pipe:[inode], new on every run).
        files["piped"] = dep_path.sha256
        files["piped-base"] = str(dep_path.base)
        files |= local_tree_stamps("requirements", None, dep_path.text)
    elif dep_path is not None:
        # A lock is read with its project file (uv export, the stale-lock checks): both key the build.
        siblings = [dep_path.with_name(n) for n in ("pyproject.toml", "Pipfile")] if ctx.dep_kind == "lock" else []
        try:
            files[str(dep_path.resolve())] = file_sha256(dep_path)
            for sibling in siblings:
                if sibling.is_file():
                    files[str(sibling)] = file_sha256(sibling)
        except OSError:
            return None
        files |= local_tree_stamps(ctx.dep_kind, dep_path)  # local packages are sources too
    return files


def inputs_key_of(ctx: BuildContext, src: Sources) -> str | None:
    """A key over everything a build reads before it resolves: options, the dependency
    input file, the source files, the environment, the interpreter for bytecode.

    Stricter than the artifact key (any byte of the inputs, their absolute paths): a miss
    only means the full path runs, which still finds the artifact when nothing that
    matters changed. Files a requirements file includes are checked through the pointer.
    Paths are made absolute, so the same project built from another working directory
    (a CI step, a fresh output folder) still hits.
    """
    opts, target, interp = ctx.opts, ctx.target, src.interp
    if interp is None and ctx.compile is CompileMode.ON:
        return None  # the full path explains the error
    files = _dependency_input_files(ctx)
    if files is None:
        return None
    files["resolved-platform"] = resolved_platform(ctx, os.environ)

    def absolute(p: Path | None) -> Path | None:
        return p.resolve() if p is not None else None

    # kind and compile as their plain words: the repr is the same whether a caller
    # passed "layer" or BuildKind.LAYER.
    plain = dataclasses.replace(
        opts, output=None, layer_output=None, tree_dir=None, refresh=False, cache_dir=None, remote_cache=None,
        remote_cache_read_only=False, src=absolute(opts.src),
        requirements=opts.requirements if isinstance(ctx.dep_path, Piped) else absolute(opts.requirements),
        pyproject=absolute(opts.pyproject), lock=absolute(opts.lock),
        attach_layers=tuple(p.resolve() for p in opts.attach_layers), install=keyed_install(opts.install),
        kind=_word(opts.kind), compile=_word(opts.compile),
    )
    return inputs_key(InputsKeyInputs(
        __version__, repr(plain), ctx.dep_kind, files, target.runtime.name, target.arch.value,
        key_environment(os.environ), zip_date_time(os.environ), CODEC.name,
        (interp.path, interp.version) if interp is not None else None, src.layer_shas,
        strip_tools(target) if opts.slim == "aggressive" else [],
        [(e.arcname, src.code_shas[e.arcname], e.executable) for e in src.code]))


def _word(value: str) -> str:
    """A str-valued enum member as the plain str its word is (the repr of a plain str)."""
    return str.__str__(value)


def artifact_key_of(ctx: BuildContext, interp: Interpreter | None, layer_shas: list[str],
                    deps: Sequence[StagedFile], code: Sequence[StagedFile], shas: dict[str, str]) -> str:
    """Everything that decides the zip bytes and the stored result: the staged files by content,
    and the options that change what is made of them."""
    opts, target = ctx.opts, ctx.target
    return artifact_key(ArtifactKeyInputs(
        version=__version__, runtime=target.runtime.name, arch=target.arch.value, kind=ctx.kind.value,
        level=opts.compresslevel, codec=CODEC.name, date=zip_date_time(os.environ), handler=opts.handler, smoke=opts.smoke,
        pyc=(opts.pyc_mode, interp.version) if interp is not None else None,
        slim=opts.slim, dep_excludes=opts.dep_excludes, keeps=opts.keeps,
        exclude_runtime_provided=opts.exclude_runtime_provided,
        strip=strip_tools(target) if opts.slim == "aggressive" else [], layers=layer_shas,
        allow_secrets=opts.allow_secrets,
        deps=[(e.arcname, shas.get(e.arcname, ""), e.executable) for e in deps],
        code=[(e.arcname, shas.get(e.arcname, ""), e.executable) for e in code],
        all_pyc=interp is not None and ctx.compile is CompileMode.ON))
