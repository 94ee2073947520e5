"""`lambdapack check`: run the rule engine on artifacts built by any tool.

Artifacts are never extracted: members are streamed from the zip and only the bytes
a rule needs are read (64-byte heads for every file, whole members only for ELF files,
handler sources and possible private keys).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    LAYER_SITE_ROOTS,
    LambdaFile,
    LambdaView,
    lambda_path,
    pyc_source,
)
from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.inspect import checks
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.findings import Finding, Severity
from lambdapack.inspect.rules import run_view_rules
from lambdapack.resolve.install import record_paths
from lambdapack.target.tags import Target

__all__ = ["CheckResult", "add_artifact", "check", "distribution_owners", "infer_target"]


@dataclass
class CheckResult:
    target: Target
    inferred: dict[str, str] = field(default_factory=dict)
    artifacts: list[dict[str, object]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    def as_dict(self) -> dict[str, object]:
        counts = Counter(f.severity for f in self.findings)
        return {
            "version": 1,
            "target": {
                "runtime": self.target.runtime.name,
                "arch": self.target.arch.value,
                "os": self.target.runtime.os,
                "glibc": ".".join(map(str, self.target.runtime.glibc)),
            },
            "inferred": dict(self.inferred),
            "artifacts": list(self.artifacts),
            "findings": [f.as_dict() for f in self.findings],
            "summary": {"errors": counts[Severity.ERROR], "warnings": counts[Severity.WARNING],
                        "info": counts[Severity.INFO]},
        }


_SITE_ROOTS_RE = re.compile(rf"^({LAYER_SITE_ROOTS}|)")
_RECORD_RE = re.compile(rf"^((?:{LAYER_SITE_ROOTS})?)([^/]+)-([^/-]+)\.dist-info/RECORD$")


def distribution_owners(art: Artifact) -> dict[str, str]:
    """name inside the artifact -> "dist version", from every *.dist-info/RECORD."""
    owners: dict[str, str] = {}
    for e in art.entries:
        m = _RECORD_RE.match(e.name)
        if not m or e.size > 50_000_000:
            continue
        base, name, version = m.group(1), m.group(2), m.group(3)
        label = f"{name} {version}"
        for path in record_paths(art.read(e.name).decode("utf-8", "replace")):
            owners[lambda_rel(base, path)] = label
        owners.setdefault(e.name.rsplit("/", 1)[0], label)
    return owners


def lambda_rel(base: str, path: str) -> str:
    import posixpath

    return posixpath.normpath(base + path)


def _owner(name: str, owners: dict[str, str]) -> str | None:
    if name in owners:
        return owners[name]
    source = pyc_source(name)
    if source is not None and source in owners:
        return owners[source]
    parts = name.split("/")
    m = _SITE_ROOTS_RE.match(name)
    skip = len(m.group(1).split("/")) - 1 if m and m.group(1) else 0
    if len(parts) > skip + 1:
        # No RECORD claims it: name the top-level folder, as a person would.
        return parts[skip]
    return None


def infer_target(arts: Sequence[Artifact]) -> tuple[str | None, str | None, dict[str, str]]:
    """Runtime and arch from wheel tags and extension-module names (None when unsure)."""
    pys: Counter[str] = Counter()
    arches: Counter[str] = Counter()
    for art in arts:
        for e in art.entries:
            base = e.name.rsplit("/", 1)[-1]
            m = re.search(r"\.cpython-3(\d+)-(x86_64|aarch64)-linux-gnu\.so$", base)
            if m:
                pys[f"python3.{m.group(1)}"] += 1
                arches[m.group(2)] += 1
            if e.name.endswith(".dist-info/WHEEL") and e.size < 10_000:
                for line in art.read(e.name).decode("utf-8", "replace").splitlines():
                    t = re.match(r"Tag:\s*cp3(\d+)-cp3\d+-\w*?(x86_64|aarch64)$", line.strip())
                    if t:
                        pys[f"python3.{t.group(1)}"] += 1
                        arches[t.group(2)] += 1
    notes: dict[str, str] = {}
    rt = arch = None
    if pys:
        name, n = pys.most_common(1)[0]
        if name in RUNTIMES:
            rt = name
            notes["runtime"] = f"{name} from {n} wheel tag(s) / extension module name(s)"
    if arches:
        a, n = arches.most_common(1)[0]
        arch = "arm64" if a == "aarch64" else "x86_64"
        notes["arch"] = f"{arch} from {n} wheel tag(s) / extension module name(s)"
    return rt, arch, notes


def add_artifact(view: LambdaView, art: Artifact, root: str, origin: str, owners: dict[str, str]) -> None:
    for e in art.entries:
        path = lambda_path(root, e.name)
        if e.is_dir:
            view.add_dir(path, origin, e.mode)
            continue
        if e.is_symlink:
            continue
        name = e.name
        view.add(LambdaFile(
            path=path,
            rel=name,
            origin=origin,
            size=e.size,
            mode=e.mode,
            distribution=_owner(name, owners),
            read=(lambda a=art, n=name: a.read(n)),  # type: ignore[misc]
            head=(lambda k, a=art, n=name: a.head(n, k)),  # type: ignore[misc]
        ))


def check(
    paths: Sequence[Path],
    layers: Sequence[Path] = (),
    *,
    runtime: str | None = None,
    arch: str | None = None,
    handler: str | None = None,
) -> CheckResult:
    if not paths and not layers:
        raise UsageError("nothing to check", "pass a function zip or directory, and/or --layer ZIP")
    if len(paths) > 1:
        raise UsageError("check one function at a time", "run lambdapack check once per function zip")
    if len(layers) > 1 and handler is None and not paths:
        pass
    with ExitStack() as stack:
        fn_art = stack.enter_context(open_artifact(paths[0])) if paths else None
        layer_arts = [stack.enter_context(open_artifact(p)) for p in layers]
        all_arts = ([fn_art] if fn_art else []) + layer_arts
        for art in all_arts:
            art.verify()  # every member's CRC-32 and headers, before any rule reads it
        inferred: dict[str, str] = {}
        if runtime is None or arch is None:
            rt_guess, arch_guess, notes = infer_target(all_arts)
            if runtime is None:
                if rt_guess is None:
                    raise UsageError("cannot infer the runtime from the content (no CPython extension or wheel tag)",
                                     "pass --runtime python3.X")
                runtime = rt_guess
                inferred["runtime"] = notes["runtime"]
            if arch is None:
                if arch_guess is None:
                    raise UsageError("cannot infer the architecture from the content (no native code found)",
                                     "pass --arch x86_64 or --arch arm64")
                arch = arch_guess
                inferred["arch"] = notes["arch"]
        target = Target(get_runtime(runtime), get_arch(arch))  # an unknown name is a UsageError
        result = CheckResult(target=target, inferred=inferred)
        view = LambdaView(target.runtime)
        layer_names: list[tuple[str, list[str]]] = []
        unzipped = 0
        zipped: list[tuple[str, int]] = []
        if fn_art is not None:
            add_artifact(view, fn_art, FUNCTION_ROOT, "function", distribution_owners(fn_art))
        for i, (p, art) in enumerate(zip(layers, layer_arts, strict=True), start=1):
            origin = f"layer {i} ({p.name})"
            add_artifact(view, art, LAYER_ROOT, origin, distribution_owners(art))
            layer_names.append((origin, [e.name for e in art.entries if not e.is_dir]))
        for role, art in ([("function", fn_art)] if fn_art else []) + [
            (f"layer {i}", a) for i, a in enumerate(layer_arts, start=1)
        ]:
            assert art is not None
            size = sum(e.size for e in art.entries if not e.is_dir)
            unzipped += size
            z = art.path.stat().st_size if art.kind == "zip" else None
            if (z is not None and role == "function") or z is not None:
                zipped.append((str(art.path), z))
            result.artifacts.append({"role": role, "path": str(art.path), "kind": art.kind,
                                     "files": sum(1 for e in art.entries if not e.is_dir),
                                     "unzipped_bytes": size, "zipped_bytes": z})
        result.findings += run_view_rules(view, target, layers=layer_names, handler=handler)
        # Archive problems last: reading members for the rules can find more (CRC, bombs).
        for art in all_arts:
            result.findings += art.problems
        result.findings += checks.check_sizes(unzipped, zipped, len(layers))
        return result
