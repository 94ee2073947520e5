"""Verification of the staged files before anything is packed: the rule engine of
`lambdapack check`, run on the files in place, and the --allow-secret exceptions."""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from lambdapack import __version__
from lambdapack.cache.keys import facts_key
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    LambdaFile,
    LambdaView,
    lambda_path,
    split_shown,
)
from lambdapack.inspect import credentials
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.check import add_artifact, distribution_owners
from lambdapack.inspect.elf.layout import ELF_MAGIC
from lambdapack.inspect.filefacts import FORMAT, HEAD, FileFacts, decode, encode, head_length
from lambdapack.inspect.findings import Finding, Severity
from lambdapack.inspect.rules import run_view_rules
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import BuildKind
from lambdapack.progress import Stage
from lambdapack.staged import StagedFile

__all__ = ["EarlyFacts", "allow_secrets", "dependency_facts", "verify"]


def _disk_file(e: StagedFile, root: str, origin: str, seen: _Seen, known_head: bytes | None = None) -> LambdaFile:
    def head(n: int, p: Path = e.path) -> bytes:
        if known_head is not None and (n <= len(known_head) or len(known_head) == e.size):
            return known_head[:n]  # learnt with the file's facts (dependency_facts)
        seen.touch(e.arcname)
        with open(p, "rb") as f:
            return f.read(n)

    def read(p: Path = e.path) -> bytes:
        seen.touch(e.arcname)
        return p.read_bytes()

    return LambdaFile(
        path=lambda_path(root, e.arcname),
        rel=e.arcname,
        origin=origin,
        size=e.size,
        mode=None,  # the zip gets normalised modes, so the source's do not matter
        distribution=e.distribution,
        read=read,
        head=head,
    )


class _Seen:
    """The progress counter of verification: a file counts once the rules first read it (the
    rules that look at names only read none, so the count ends below the total when few are read)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self._seen: set[str] = set()

    def touch(self, arcname: str) -> None:
        if arcname not in self._seen:  # set.add is atomic enough: at worst one file counted twice
            self._seen.add(arcname)
            self.stage.advance()


def verify(ctx: BuildContext, zips: list[tuple[str, list[StagedFile]]],
           shas: Mapping[str, str] | None = None, early: EarlyFacts | None = None) -> list[Finding]:
    """The same rule engine as `lambdapack check`, on the staged files (read in place);
    `zips`: ("function" or "layer", its files), as they will be packed; `shas`: the files'
    content hashes, by which the dependencies' facts are kept (`dependency_facts`).

    Layers given with --with-layer get exactly what `check --layer` gives them: the
    archive rules (LP3xx, every member's CRC-32), the layout rules and the view rules;
    their archive findings are named with the layer they come from.
    """
    opts = ctx.opts
    view = LambdaView(ctx.target.runtime)
    layers: list[tuple[str, list[str]]] = []
    attached: list[tuple[str, Artifact]] = []
    known = FileFacts()  # of the attached layers' members, learnt by their verify
    n = sum(len(es) for _k, es in zips)
    with ExitStack() as stack:
        stage = stack.enter_context(ctx.stage("verifying", n, "file", f"for {ctx.target}"))
        for i, p in enumerate(opts.attach_layers, start=1):
            art = stack.enter_context(open_artifact(p))
            art.verify()
            origin = f"layer {i} ({p.name})"
            add_artifact(view, art, LAYER_ROOT, origin, distribution_owners(art), known)
            layers.append((origin, [e.name for e in art.entries if not e.is_dir]))
            attached.append((origin, art))
        built_layer = f"layer {len(opts.attach_layers) + 1} (built)"
        seen = _Seen(stage)
        deps = dependency_facts(ctx, [e for _k, es in zips for e in es], shas or {}, early)
        for kind, entries in zips:
            root, origin = (FUNCTION_ROOT, "function") if kind == "function" else (LAYER_ROOT, built_layer)
            for e in entries:
                f = _disk_file(e, root, origin, seen, deps.heads.get(e.arcname))
                known.take(deps, e.arcname, f.path)  # and a staged file replaces an attached layer's
                view.add(f)
            if kind == "layer":
                layers.append((built_layer, [e.arcname for e in entries]))
        handler = opts.handler if ctx.kind is not BuildKind.LAYER else None
        findings = run_view_rules(view, ctx.target, layers=layers, handler=handler, known=known)
        # Archive problems last, as `check` does: reading members for the rules can find more.
        for origin, art in attached:
            findings += [dataclasses.replace(f, path=f"{origin}: {f.path}" if f.path else origin)
                         for f in art.problems]
        stage.advance(n)  # done: every file is verified, read or not
        return findings


def dependency_facts(ctx: BuildContext, files: list[StagedFile], shas: Mapping[str, str],
                     early: EarlyFacts | None = None) -> FileFacts:
    """The facts (and heads) of the dependencies' files, by name in the zip: from the cache
    when this set of contents was verified before, else learnt now (each file read once,
    as the rules would have) and stored. The user's own files are always read by the rules.
    `early`: what was learnt of the staged dependencies while bytecode compiled; only the
    files it does not know (the .pyc) are then looked up or learnt here, as a set of their own."""
    deps = _dependencies(files, shas)
    if early is None:
        return _facts_of(ctx, deps, shas)
    before = early.get()
    out = _facts_of(ctx, [e for e in deps if e.arcname not in before.heads], shas)
    for e in deps:
        if e.arcname in before.heads:
            out.take(before, e.arcname, e.arcname)
    return out


class EarlyFacts:
    """`dependency_facts` of the staged dependencies, started in a thread before bytecode is
    compiled: the compilers are child processes and leave part of a core idle (measured: ~1.5
    of 2 cores busy), so the secrets scan and ELF parse of a cold build run in that time
    instead of after it. `get` waits for it and raises what it raised."""

    def __init__(self, ctx: BuildContext, files: list[StagedFile], shas: Mapping[str, str]) -> None:
        self._result: FileFacts | None = None
        self._error: BaseException | None = None
        deps = _dependencies(files, shas)
        # A copy: the bytecode stage adds the .pyc's hashes to `shas` meanwhile.
        known = {e.arcname: shas[e.arcname] for e in deps}
        self._thread = threading.Thread(target=self._run, args=(ctx, deps, known), name="lambdapack-facts",
                                        daemon=True)  # a build that fails meanwhile does not wait for it
        self._thread.start()

    def _run(self, ctx: BuildContext, deps: list[StagedFile], shas: Mapping[str, str]) -> None:
        try:
            self._result = _facts_of(ctx, deps, shas)
        except BaseException as e:  # handed to the build's thread by get()
            self._error = e

    def get(self) -> FileFacts:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def _dependencies(files: list[StagedFile], shas: Mapping[str, str]) -> list[StagedFile]:
    """The files whose facts are kept: a dependency's, with a known content hash."""
    return [e for e in files if e.distribution is not None and e.arcname in shas]


def _facts_of(ctx: BuildContext, deps: list[StagedFile], shas: Mapping[str, str]) -> FileFacts:
    """The facts of exactly `deps`: the cache's record of this set of contents, or learnt and stored."""
    if not deps:
        return FileFacts()
    key = facts_key(__version__, FORMAT.decode(), [(e.arcname, shas[e.arcname]) for e in deps])
    raw = ctx.cache.load_facts(key) if ctx.cache is not None else None
    known = decode(raw) if raw is not None else None
    if known is not None and all(e.arcname in known.heads for e in deps):
        return known
    learnt = FileFacts()
    for e in deps:
        _learn(learnt, e)
    if ctx.cache is not None:
        ctx.cache.save_facts(key, encode(learnt))
    return learnt


def _learn(facts: FileFacts, e: StagedFile) -> None:
    """What the rules would read of one file; an unreadable one is left to them (they report it)."""
    want = credentials.SCAN_BYTES if credentials.worth_scanning(e.arcname, e.size) else HEAD
    try:
        with open(e.path, "rb") as f:
            data = f.read(want)
            if data[:4] == ELF_MAGIC:
                data += f.read()
    except OSError:
        return
    facts.learn(e.arcname, data, len(data) if data[:4] == ELF_MAGIC else e.size)
    facts.heads[e.arcname] = data[: head_length(data)]


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
