"""`lambdapack check`: run the rule engine on artifacts built by any tool.

Artifacts are never extracted: members are streamed from the zip and only the bytes
a rule needs are read (64-byte heads for every file, whole members only for ELF files,
handler sources and possible private keys).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.facts import limits
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    LAYER_SITE_ROOTS,
    LambdaFile,
    LambdaView,
    lambda_path,
    layer_origin,
    module_name,
    parse_handler,
    pyc_source,
    shown_in,
)
from lambdapack.facts.runtimes import RUNTIMES, get_arch, get_runtime
from lambdapack.inspect import sizerules
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.entries import ArtifactError
from lambdapack.inspect.filefacts import FileFacts
from lambdapack.inspect.findings import WARNING, Finding, Severity
from lambdapack.inspect.rules import run_view_rules
from lambdapack.inspect.smokeplan import modules_to_import, top_level_modules
from lambdapack.resolve.distributions import record_paths
from lambdapack.target.tags import Target
from lambdapack.units import count

__all__ = ["CheckResult", "add_artifact", "check", "distribution_owners", "function_as_layer", "infer_target",
           "layer_distributions"]


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
            # Absolute here, as given in the text and SARIF (whose URIs are relative to the checkout).
            "artifacts": [{**a, "path": str(Path(str(a["path"])).absolute())} for a in self.artifacts],
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


def layer_distributions(art: Artifact, python: str) -> list[tuple[str, str]]:
    """(name, version) of every distribution in a layer where Python `python` ("3.12") finds it:
    python/ and python/lib/pythonX.Y/site-packages/ of that version only."""
    roots = ("python/", f"python/lib/python{python}/site-packages/")
    found = []
    for e in art.entries:
        m = _RECORD_RE.match(e.name)
        if m and m.group(1) in roots:
            found.append((m.group(2), m.group(3)))
    return found


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
            notes["runtime"] = f"{name} from {count(n, 'wheel tag or extension module name', 'wheel tags and extension module names')}"
    if arches:
        a, n = arches.most_common(1)[0]
        arch = get_arch(a).value  # the machine spelling (aarch64) read as its Lambda name
        notes["arch"] = f"{arch} from {count(n, 'wheel tag or extension module name', 'wheel tags and extension module names')}"
    return rt, arch, notes


def add_artifact(
    view: LambdaView, art: Artifact, root: str, origin: str, owners: dict[str, str],
    known: FileFacts | None = None,
) -> None:
    """Add the artifact's files to the view; what `verify` learnt of their content goes to
    `known` by Lambda path (a later artifact's file at the same path replaces it)."""
    kept = art.facts
    for e in art.entries:
        path = lambda_path(root, e.name)
        if e.is_dir:
            view.add_dir(path, origin, e.mode)
            continue
        if e.is_symlink:
            continue
        name = e.name
        if known is not None:
            known.take(kept, name, path)
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


@dataclass(frozen=True)
class _Opened:
    """The artifacts of one check, opened: the function's (if any) and each layer's, by origin."""

    function: Artifact | None
    layers: list[tuple[str, Artifact]]  # ("layer N (name)", artifact), in the function's order

    @property
    def all(self) -> list[Artifact]:
        return ([self.function] if self.function else []) + [art for _, art in self.layers]


def check(
    paths: Sequence[Path],
    layers: Sequence[Path] = (),
    *,
    runtime: str | None = None,
    arch: str | None = None,
    handler: str | None = None,
) -> CheckResult:
    if not paths and not layers:
        raise UsageError("nothing to check", "pass a function zip or directory, and/or --with-layer ZIP")
    if len(paths) > 1:
        raise UsageError("check one function at a time", "run lambdapack check once per function zip")
    with ExitStack() as stack:
        opened = _open(stack, paths, layers)
        for art in opened.all:
            art.verify()  # every member's CRC-32 and headers, before any rule reads it
        target, inferred = _target(opened.all, runtime, arch)
        result = CheckResult(target=target, inferred=inferred)
        view, layer_names, known = _view(opened, target)
        result.artifacts += [_describe(role, art) for role, art in _roles(opened)]
        result.findings += run_view_rules(view, target, layers=layer_names, handler=handler, known=known)
        if opened.function is not None:
            names = [e.name for e in opened.function.entries if not e.is_dir]
            result.findings += function_as_layer(names, target.runtime.version, handler)
        # Archive problems last: reading members for the rules can find more (CRC, bombs).
        result.findings += _archive_problems(opened)
        unzipped = sum(e.size for art in opened.all for e in art.entries if not e.is_dir)  # function + layers
        zipped = [(str(art.path), art.path.stat().st_size) for art in opened.all if art.kind == "zip"]
        # The size hints name what this package holds (distributions read from their RECORDs),
        # worth reading only when it is over.
        contents = _contents(opened.all) if unzipped >= limits.UNZIPPED_BYTES else None
        result.findings += sizerules.check_sizes(unzipped, zipped, len(layers), contents=contents)
        return result


def _contents(arts: Sequence[Artifact]) -> sizerules.Contents:
    sizes: dict[str, int] = {}
    for art in arts:
        owners = distribution_owners(art)
        for e in art.entries:
            if not e.is_dir and e.name in owners:
                name = owners[e.name].rsplit(" ", 1)[0]
                sizes[name] = sizes.get(name, 0) + e.size
    return sizerules.Contents(tuple(sorted(sizes.items())))


def function_as_layer(names: Sequence[str], version: str, handler: str | None = None) -> list[Finding]:
    """LP208 when a function artifact (its file `names`) is laid out as a layer: every
    module is under python/, which is not a package, so nothing imports from /var/task.

    A function with a python/ package of its own (python/__init__.py), any other module
    at its root, or a handler inside python/ is not flagged: those import.
    """
    parsed = parse_handler(handler) if handler else None
    if parsed is not None and parsed.dotted.split(".", 1)[0] == "python":
        return []
    if any(_makes_python_a_package(n) for n in names):
        return []
    if [m for m in top_level_modules(names) if m != "python"]:
        return []
    layer_modules = modules_to_import(None, [names], version)
    if not layer_modules:
        return []
    shown = ", ".join(layer_modules[:5]) + (", …" if len(layer_modules) > 5 else "")
    return [Finding("LP208", WARNING, "python/", None,
                    f"looks like a layer: its {count(len(layer_modules), 'module')} ({shown}) are under python/, which "
                    "Lambda puts on sys.path only for a layer (/opt/python); from /var/task nothing is importable",
                    "pass it as a layer (--with-layer ZIP) or build it as one (lambdapack build --layer); a function's "
                    "modules go at the zip root")]


def _makes_python_a_package(name: str) -> bool:
    """python/__init__ as source, extension module or sourceless bytecode."""
    folder, _, base = name.rpartition("/")
    return folder == "python" and (module_name(base) == "__init__" or base == "__init__.pyc")


def _open(stack: ExitStack, paths: Sequence[Path], layers: Sequence[Path]) -> _Opened:
    fn_art = stack.enter_context(open_artifact(paths[0])) if paths else None
    opened: list[tuple[str, Artifact]] = []
    for i, p in enumerate(layers, start=1):
        origin = layer_origin(i, p.name)
        try:
            art = open_artifact(p)
        except ArtifactError as e:
            # Named like the layer's findings: which --layer it is matters more than its path.
            raise ArtifactError(shown_in(origin, e.message), hint=e.hint) from e
        opened.append((origin, stack.enter_context(art)))
    return _Opened(fn_art, opened)


def _target(arts: Sequence[Artifact], runtime: str | None, arch: str | None) -> tuple[Target, dict[str, str]]:
    """The target given, with what is not given inferred from the content (and how)."""
    inferred: dict[str, str] = {}
    if runtime is None or arch is None:
        rt_guess, arch_guess, notes = infer_target(arts)
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
    return Target(get_runtime(runtime), get_arch(arch)), inferred  # an unknown name is a UsageError


def _view(opened: _Opened, target: Target) -> tuple[LambdaView, list[tuple[str, list[str]]], FileFacts]:
    """The merged view Lambda would see, each layer's file names for the layout rules,
    and what verifying learnt of the files (by Lambda path)."""
    view = LambdaView(target.runtime)
    layer_names: list[tuple[str, list[str]]] = []
    known = FileFacts()
    if opened.function is not None:
        add_artifact(view, opened.function, FUNCTION_ROOT, "function", distribution_owners(opened.function), known)
    for origin, art in opened.layers:
        add_artifact(view, art, LAYER_ROOT, origin, distribution_owners(art), known)
        layer_names.append((origin, [e.name for e in art.entries if not e.is_dir]))
    return view, layer_names, known


def _roles(opened: _Opened) -> list[tuple[str, Artifact]]:
    roles = [("function", opened.function)] if opened.function else []
    return roles + [(f"layer {i}", art) for i, (_, art) in enumerate(opened.layers, start=1)]


def _describe(role: str, art: Artifact) -> dict[str, object]:
    """The artifact as the JSON report lists it."""
    return {"role": role, "path": str(art.path), "kind": art.kind,
            "files": sum(1 for e in art.entries if not e.is_dir),
            "unzipped_bytes": sum(e.size for e in art.entries if not e.is_dir),
            "zipped_bytes": art.path.stat().st_size if art.kind == "zip" else None}


def _archive_problems(opened: _Opened) -> list[Finding]:
    """Each artifact's own problems; a layer's named with the layer, as its files are."""
    out = list(opened.function.problems) if opened.function else []
    for origin, art in opened.layers:
        out += [dataclasses.replace(f, path=shown_in(origin, f.path)) for f in art.problems]
    return out
