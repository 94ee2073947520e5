"""The build pipeline: resolve/install -> stage -> verify -> pack -> report.

Each stage passes typed values to the next; only this module sequences them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdapack import __version__
from lambdapack.assemble.stage import SourceOptions, dependency_entries, source_entries
from lambdapack.cache.keys import (
    ArtifactKeyInputs,
    InputFingerprint,
    InputsKeyInputs,
    ResolutionKeyInputs,
    artifact_key,
    digest,
    dist_key,
    files_key,
    index_environment,
    inputs_key,
    key_environment,
    pyc_key,
    resolution_key,
)
from lambdapack.cache.local import Cache, default_cache_dir
from lambdapack.cache.total import max_bytes_from
from lambdapack.errors import (
    CREATING_CACHE,
    READING_SOURCE,
    USING_CACHE,
    USING_TEMP,
    BuildError,
    InputError,
    LambdapackError,
    Operation,
    UsageError,
    from_os_error,
)
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    LambdaFile,
    LambdaView,
    lambda_path,
    split_shown,
)
from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.host import processes
from lambdapack.inspect import checks
from lambdapack.inspect.checks import Finding
from lambdapack.pack.members import BlobStore, SourceChanged, file_sha256
from lambdapack.pack.zipwriter import (
    WrittenZip,
    ZipSettings,
    atomic_output,
    check_writable,
    write_zip_to,
    zip_date_time,
)
from lambdapack.resolve.inputs import (
    Piped,
    Requirements,
    find_default_input,
    is_piped_path,
    piped_requirements,
    read_piped,
    read_pyproject,
    read_requirements_file,
)
from lambdapack.resolve.install import (
    Distribution,
    InstallOptions,
    check_index_locations,
    compile_argv,
    deadline_error,
    find_uv,
    install_argv,
    lock_export,
    missing_requirements,
    native_builds,
    parse_compile_output,
    read_distributions,
    resolve_limits,
    run_uv,
    start_uv,
    stop_uv,
    uv_environment,
)
from lambdapack.resolve.uvfailure import classify_uv_failure
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from lambdapack.cache.records import ArtifactMeta, DistRecord, ResolutionRecord
    from lambdapack.cache.store import CacheStore
    from lambdapack.host.interpreters import Interpreter
    from lambdapack.inspect.smoke import SmokeResult
    from lambdapack.report.sizes import SizeReport
    from lambdapack.resolve.heldback import HeldBack

# Stages that only some builds need (verification, bytecode, slimming, smoke tests, the
# held-back lookups) are imported where they are used: a no-change rebuild must start fast.

__all__ = ["BuildFailed", "BuildOptions", "BuildResult", "Output", "build", "default_output"]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    runtime: str
    arch: str
    src: Path | None = None
    kind: str = "function"  # "function" | "layer" | "split"
    requirements: Path | None = None
    pyproject: Path | None = None
    lock: Path | None = None
    extras: tuple[str, ...] = ()
    output: Path | None = None
    layer_output: Path | None = None
    exclude_tests: bool = False
    excludes: tuple[str, ...] = ()
    install: InstallOptions = field(default_factory=InstallOptions)
    attach_layers: tuple[Path, ...] = ()  # already-built layers, counted in the limits
    compresslevel: int = 6
    held_back: bool = True
    handler: str | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    refresh: bool = False  # resolve again even when a cached resolution is fresh
    smoke: bool = False  # import-test the package before writing it
    slim: str = "safe"  # none | safe | aggressive (slim.PROFILE_RULES)
    dep_excludes: tuple[str, ...] = ()  # --exclude patterns, applied to dependencies too
    keeps: tuple[str, ...] = ()  # --keep patterns: never removed or stripped
    exclude_runtime_provided: bool = False
    compile: str = "auto"  # auto (when an interpreter of the target's version exists) | on | off
    pyc_mode: str = "unchecked-hash"  # or checked-hash
    # Source-tree policy: a symlink leaving SRC_DIR is an error unless deliberately allowed.
    follow_external_links: bool = False
    # Files (fnmatch on the path in the zip) that may ship although they look like secrets.
    allow_secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    kind: str  # "function" | "layer"
    artifact: WrittenZip

    def as_dict(self) -> dict[str, object]:
        a = self.artifact
        return {
            "kind": self.kind,
            "path": str(a.path),
            "sha256": a.sha256_hex,
            "sha256_base64": a.sha256_base64,
            "zipped_bytes": a.zipped_bytes,
            "unzipped_bytes": a.unzipped_bytes,
            "files": a.files,
        }


@dataclass
class BuildResult:
    target: Target
    inputs: Requirements
    outputs: list[Output] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unzipped_total: int = 0
    cached: bool = False  # the zip(s) came whole from the artifact cache
    size_reports: list[SizeReport] = field(default_factory=list)
    smoke: SmokeResult | None = None
    saved_by_dist: dict[str, int] = field(default_factory=dict)  # bytes slimming removed
    slim_notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "version": 1,
            "ok": not checks.has_errors(self.findings),
            "target": {
                "runtime": self.target.runtime.name,
                "arch": self.target.arch.value,
                "os": self.target.runtime.os,
                "glibc": ".".join(map(str, self.target.runtime.glibc)),
                "uv_platform": self.target.uv_platform,
            },
            "inputs": {
                "kind": self.inputs.kind,
                "path": str(self.inputs.source) if self.inputs.source else None,
                "extras": list(self.inputs.extras),
            },
            "outputs": [o.as_dict() for o in self.outputs],
            "unzipped_total_bytes": self.unzipped_total,
            "distributions": [
                {"name": d.display_name, "version": d.version, "wheel_tag": ".".join(d.tags)}
                for d in self.distributions
            ],
            "held_back": [h.as_dict() for h in self.held_back],
            "findings": [f.as_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "cached": self.cached,
            "size_report": [_report_json(r) for r in self.size_reports],
            "smoke": self.smoke.as_dict() if self.smoke is not None else None,
            "slim": {"saved_bytes": sum(self.saved_by_dist.values()), "by_distribution": dict(self.saved_by_dist),
                     "notes": list(self.slim_notes)},
        }


class BuildFailed(LambdapackError):
    """Verification or a limit failed; carries the whole result for the report."""

    exit_code = 1

    def __init__(self, message: str, result: BuildResult, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.result = result


def default_output(kind: str, target: Target) -> Path:
    """dist/function-python3.12-arm64.zip and dist/layer-python3.12-arm64.zip."""
    return Path("dist") / f"{kind}-{target.runtime.name}-{target.arch.value}.zip"


def _target(opts: BuildOptions) -> Target:
    return Target(get_runtime(opts.runtime), get_arch(opts.arch))  # unknown names: UsageError


def _choose_inputs(opts: BuildOptions, progress: Progress) -> tuple[str, Path | Piped | None]:
    """The dependency input; a piped one (`-r -`, `-r <(...)`) is read here, exactly once."""
    given = [
        (k, p)
        for k, p in (("requirements", opts.requirements), ("pyproject", opts.pyproject), ("lock", opts.lock))
        if p is not None
    ]
    if len(given) > 1:
        raise UsageError("give only one of -r/--requirements, --pyproject, --lock")
    if given:
        kind, path = given[0]
        if is_piped_path(path):
            if kind != "requirements":
                raise UsageError(
                    f"--{kind} {path}: a {'pyproject.toml' if kind == 'pyproject' else 'uv.lock'} is read from "
                    "its project directory, which a pipe does not have",
                    "pass the file's path; or pipe a requirements export: "
                    "uv export --no-hashes | lambdapack build ... -r -",
                )
            if str(path) == "-" and sys.stdin is not None and sys.stdin.isatty():
                raise UsageError("-r - reads requirements from standard input, which is a terminal",
                                 "pipe them in: cat requirements.txt | lambdapack build ... -r -")
            return kind, read_piped(path, sys.stdin.buffer if sys.stdin is not None else None, Path.cwd())
        if not path.exists():
            raise InputError(f"{path} does not exist", "check the path given to -r / --pyproject / --lock")
        return kind, path
    if opts.src is not None:
        found = find_default_input(opts.src)
        if found is not None:
            kind = {"uv.lock": "lock", "pyproject.toml": "pyproject"}.get(found.name, "requirements")
            progress(f"dependencies: using {found} (found in the source directory)")
            return kind, found
    if opts.kind in ("layer", "split"):
        raise UsageError("a layer needs dependencies: pass -r requirements.txt, --pyproject or --lock")
    progress("dependencies: none (no -r/--pyproject/--lock, none found in the source directory)")
    return "none", None


def _check_outputs(opts: BuildOptions, target: Target) -> tuple[Path | None, Path | None]:
    """(function zip path, layer zip path), validated before any work starts."""
    fn = lay = None
    if opts.kind == "function":
        fn = opts.output or default_output("function", target)
    elif opts.kind == "layer":
        lay = opts.output or opts.layer_output or default_output("layer", target)
    else:
        fn = opts.output or default_output("function", target)
        lay = opts.layer_output or default_output("layer", target)
    for p in (fn, lay):
        if p is not None and p.is_dir():
            raise UsageError(f"output {p} is a directory", "give a file name ending in .zip with -o")
    if fn is not None and lay is not None and fn.resolve() == lay.resolve():
        raise UsageError(
            "the function and layer outputs are the same file", "pass different -o / --layer-output"
        )
    for p in (fn, lay):
        if p is not None:
            check_writable(p)  # a read-only or unwritable output fails now, not after the install
    return fn, lay


def _attached_layers_unzipped(paths: Sequence[Path]) -> int:
    """Unzipped bytes of the layers given with --with-layer, read by the same strict
    reader as `check` (so hostile or broken zips are one clear error, never a traceback)."""
    if not paths:
        return 0
    from lambdapack.inspect.archive import open_artifact

    total = 0
    for p in paths:
        with open_artifact(p) as art:
            total += sum(e.size for e in art.entries if not e.is_dir)
    return total


def build(opts: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Build the zip(s) described by `opts`. Raises LambdapackError subclasses."""
    say: Progress = progress or (lambda _m: None)
    target = _target(opts)
    today = dt.date.today()
    warnings: list[str] = []
    dep_msg = target.runtime.deprecation_message(today)
    if dep_msg:
        warnings.append(dep_msg)
    if opts.kind not in ("function", "layer", "split"):
        raise UsageError(f"unknown build kind {opts.kind!r}")
    if opts.kind in ("function", "split") and opts.src is None:
        raise UsageError("a function build needs SRC_DIR (or pass --layer for a dependency layer)")
    if opts.src is not None:
        try:
            src_ok = opts.src.is_dir()
        except OSError as e:  # a path longer than PATH_MAX, a component without permission
            raise from_os_error(e, READING_SOURCE, opts.src) from e
        if not src_ok:
            raise InputError(f"source directory {opts.src} does not exist or is not a directory")
    fn_out, layer_out = _check_outputs(opts, target)
    kind, dep_path = _choose_inputs(opts, say)
    attached_unzipped = _attached_layers_unzipped(opts.attach_layers)

    cap = max_bytes_from(os.environ) if opts.use_cache else 0  # a bad $LAMBDAPACK_CACHE_MAX_SIZE fails now
    cache = _open_cache(opts, warnings, say) if opts.use_cache else None
    try:
        with cache.using() if cache is not None else nullcontext():
            if cache is not None:
                cache.sweep()
            for attempt in (1, 2):
                # In the cache's tmp/ when there is a cache: a killed build's leftovers are swept.
                work = Path(tempfile.mkdtemp(prefix=".lambdapack-", dir=cache.tmp if cache is not None else None))
                try:
                    result = _build_in(opts, target, work, cache, kind, dep_path, fn_out, layer_out,
                                       attached_unzipped, list(warnings), say)
                    break
                except SourceChanged as e:
                    # A cached file was altered in place: drop its distribution and install it again.
                    if cache is None or attempt == 2:
                        raise BuildError(f"a file changed while it was being packed: {e}",
                                         "run the build again (with --no-cache if it persists)") from None
                    say(f"cache: {e.path} is damaged; reinstalling its distribution")
                    cache.discard_owner(e.path)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    except OSError as e:
        places = [(cache.root, USING_CACHE)] if cache is not None else [(Path(tempfile.gettempdir()), USING_TEMP)]
        if opts.src is not None:
            places.append((opts.src, READING_SOURCE))
        op = _operation_on(e, places)
        if op is None:
            raise  # the CLI names the path and the error, without an operation
        raise from_os_error(e, op) from e
    if cache is not None:
        # Outside the shared lock: pruning takes the exclusive one. The zips are in place
        # by now, so a failure here is a warning, not a failed build.
        try:
            if cache.auto_prune(cap):
                from lambdapack.report.sizes import human

                say(f"cache: over its {human(cap)} cap; pruned the least recently used entries")
        except (LambdapackError, OSError) as e:
            result.warnings.append(f"the cache could not be pruned: {getattr(e, 'message', e)}")
    return result


def _open_cache(opts: BuildOptions, warnings: list[str], say: Progress) -> Cache | None:
    """The build cache, checked writable before any work. A location the user chose
    (--cache-dir, $LAMBDAPACK_CACHE_DIR) that cannot be used is an error; the default
    one (under $XDG_CACHE_HOME or the platform's cache dir) degrades to building
    without a cache, with a warning: the user never asked for it, and the build can
    still succeed."""
    chosen = opts.cache_dir is not None or bool(os.environ.get("LAMBDAPACK_CACHE_DIR"))
    root = opts.cache_dir or default_cache_dir(os.environ)
    try:
        cache = Cache(root)
        cache.check_writable()
    except OSError as e:
        err = from_os_error(e, CREATING_CACHE, root)
        if chosen:
            raise err from e
        warnings.append(f"{err.message}; built without a cache "
                        "(pass --cache-dir DIR to use another location, or --no-cache to skip it)")
        say(f"cache: {root} cannot be used; building without a cache")
        return None
    return cache


def _operation_on(e: OSError, places: Sequence[tuple[Path, Operation]]) -> Operation | None:
    """What lambdapack was doing with the file an OSError names: the first place
    (cache, temp dir, source tree) that holds it, or None when it is elsewhere."""
    if e.filename is None:
        return None
    name = Path(os.fsdecode(e.filename)).absolute()
    for root, op in places:
        if name.is_relative_to(root.absolute()):
            return op
    return None


def _report_json(r: SizeReport) -> dict[str, object]:
    from lambdapack.report.sizes import to_json

    return to_json(r)


def _strip_tools(target: Target) -> list[str]:
    from lambdapack.assemble.strip import find_strip_tools

    return list(find_strip_tools(target.arch.machine))


def _size_report(kind: str, zip_path: Path, final: Path, entries: Sequence[StagedFile], saved: dict[str, int]) -> SizeReport:
    """Sizes per distribution: owners from the staged entries, sizes from the zip's directory."""
    from lambdapack.report.sizes import size_report
    owners: dict[str, str | None] = {e.arcname: e.distribution for e in entries}
    return dataclasses.replace(size_report(zip_path, kind, owners, saved), artifact=str(final))


def _report_to_dict(r: SizeReport) -> dict[str, Any]:
    """Compact and fast (dataclasses.asdict deep-copies 5,000 files): rows as lists."""
    return {"artifact": r.artifact, "kind": r.kind, "unzipped": r.unzipped, "zipped": r.zipped,
            "budget_share": r.budget_share, "saved": r.saved,
            "files": [[f.arcname, f.distribution, f.unzipped, f.zipped] for f in r.files],
            "dists": [[d.name, d.files, d.unzipped, d.zipped, d.saved] for d in r.dists],
            "largest": [[f.arcname, f.distribution, f.unzipped, f.zipped] for f in r.largest]}


def _row(cls: Any, row: Any) -> Any:
    """A stored report row: a list (current form) or a dict (older cache entries)."""
    return cls(**row) if isinstance(row, dict) else cls(*row)


def _report_from_dict(d: dict[str, Any]) -> SizeReport:
    from lambdapack.report.sizes import DistSize, FileSize, SizeReport
    return SizeReport(
        artifact=d["artifact"], kind=d["kind"], files=[_row(FileSize, f) for f in d["files"]],
        dists=[_row(DistSize, x) for x in d["dists"]], unzipped=d["unzipped"], zipped=d["zipped"],
        budget_share=d["budget_share"], saved=d["saved"], largest=[_row(FileSize, f) for f in d["largest"]],
    )


@dataclass
class _Installed:
    reqs: Requirements
    dists: list[Distribution]
    files: list[tuple[str, Path, bool, str | None]]  # (rel, path, executable, owner label)
    shas: dict[str, str]  # rel -> content sha256, when known
    held_back: list[HeldBack] | None  # None: not computed yet
    laptop: dict[str, str]
    source: str  # "cache" or "uv"
    # The cached resolution record, when there is one: its key and a digest of its
    # distributions (the no-change shortcut checks the record still says the same).
    resolution: tuple[str, str] | None = None


def _dist_key(d: Distribution, index: str | None) -> str:
    return dist_key(index, d.name, d.version, d.tags, d.dist_info)


def _input_fingerprint(reqs: Requirements, uv_file: Path | None) -> InputFingerprint:
    files: dict[str, str] = {}
    if uv_file is not None and uv_file.exists():
        files["uv-input"] = file_sha256(uv_file)
    for inc in reqs.included:
        files[str(inc)] = file_sha256(inc) if inc.exists() else "missing"
    return InputFingerprint(reqs.kind, tuple(str(r) for r in reqs.top_level), tuple(reqs.extras), files)


def _install(
    opts: BuildOptions, target: Target, reqs: Requirements, work: Path, cache: CacheStore | None,
    uv: str, env: dict[str, str], say: Progress,
) -> _Installed:
    """Resolve and install for the target: from the cache when nothing changed, else with uv."""
    from lambdapack.resolve.heldback import laptop_platform
    # Before anything runs: a bad index or limit is a usage error, not "package does not exist".
    check_index_locations(opts.install, env)
    limits = resolve_limits(opts.install, env)
    if reqs.source is None:
        return _Installed(reqs, [], [], {}, [], {}, "none")
    req_file = _uv_requirements_file(reqs, work)
    index = _index_url(opts)
    res_key = _resolution_key(opts, target, reqs, req_file, env)
    if cache is not None and not opts.refresh:
        hit = cache.load_resolution(res_key, _fully_pinned(reqs))
        if hit is not None:
            cached = _from_cache(cache, hit, reqs, target)
            if cached is not None:
                cached.resolution = (res_key, digest(hit.dists_json()))
                say(f"dependencies: {len(cached.dists)} distributions from the cache (no resolution needed)")
                return cached
    python = sys.executable
    site = work / "site"
    site.mkdir()
    say(f"resolving and installing for {target.describe()} with uv ({target.uv_platform})")
    uv_env = uv_environment(env, limits)
    ends = time.monotonic() + limits.deadline
    laptop_proc = None
    laptop: dict[str, str] = {}
    try:
        if opts.held_back:
            laptop_proc = start_uv(compile_argv(uv, target, req_file, python, opts.install,
                                                laptop_platform(target)), uv_env)
        res = run_uv(install_argv(uv, target, req_file, site, python, opts.install), uv_env, limits.deadline)
        if laptop_proc is not None and res.returncode == 0:
            # The side resolution only feeds the held-back report: past the deadline it is dropped.
            try:
                out, _err = laptop_proc.communicate(timeout=max(ends - time.monotonic(), 0.1))
                if laptop_proc.returncode == 0:
                    laptop = parse_compile_output(out)
            except processes.Timeout:
                log.info("the held-back resolution did not finish within the deadline; no held-back report")
    finally:
        # Never leave the side resolution running (failed install, Ctrl-C, SIGTERM).
        if laptop_proc is not None:
            stop_uv(laptop_proc)
    if res.timed_out:
        raise deadline_error(f"resolving and installing for {target}", limits, res.stderr,
                             index or "https://pypi.org/simple")
    if res.returncode != 0:
        log.debug("uv stderr:\n%s", res.stderr)
        err = classify_uv_failure(res.stderr, target, reqs.kind, sources=_requirement_sources(reqs, req_file),
                                  network_timeout=limits.request_timeout)
        if reqs.uv_file is not None:  # uv read a pipe's work copy: name what the user gave instead
            forms = {str(req_file)}
            with contextlib.suppress(ValueError):  # uv shows paths under its cwd relative to it
                forms.add(os.path.relpath(req_file))
            for form in sorted(forms, key=len, reverse=True):
                err.message = err.message.replace(form, reqs.display_name)
        raise err
    dists = read_distributions(site)
    built = native_builds(dists)
    if built:
        names = ", ".join(f"{d.display_name} {d.version}" for d in built)
        raise BuildError(
            f"{names}: only a source distribution with native code exists for {target}; "
            "building it here would compile it for this machine, not for Lambda",
            "pin a version that ships a manylinux wheel, or build that package on "
            f"{target.runtime.os} {target.arch.machine} and install the wheel with --find-links",
        )
    missing = missing_requirements(reqs.top_level, dists, target)
    if missing:
        raise BuildError(
            f"requested but not installed for {target}: {', '.join(str(r) for r in missing)}",
            "this is a bug in the resolver step; please report it with --debug output",
        )
    entries = dependency_entries(site, dists, work=work)
    files = [(e.arcname, e.path, e.executable, e.distribution) for e in entries]
    installed = _Installed(reqs, dists, files, {}, None, laptop, "uv")
    if cache is not None:
        installed = _store(cache, installed, index, res_key)
    return installed


def _resolution_key(
    opts: BuildOptions, target: Target, reqs: Requirements, req_file: Path, env: dict[str, str]
) -> str:
    """Everything that decides what uv resolves: inputs, target, options, index settings."""
    return resolution_key(ResolutionKeyInputs(
        __version__, target.runtime.name, target.arch.value, target.uv_platform, _input_fingerprint(reqs, req_file),
        dataclasses.asdict(_keyed_install(opts.install)), _index_url(opts), index_environment(env)))


def _keyed_install(opts: InstallOptions) -> InstallOptions:
    """The install options that decide what gets installed: how long uv may wait does not."""
    return dataclasses.replace(opts, network_timeout=None, deadline=None)


def _fully_pinned(reqs: Requirements) -> bool:
    """Lock files and requirement sets where every line is an exact pin."""
    if reqs.kind == "lock":
        return True
    return bool(reqs.top_level) and all(
        any(s.operator in ("==", "===") and "*" not in s.version for s in r.specifier) for r in reqs.top_level
    )


def _store(cache: CacheStore, inst: _Installed, index: str | None, res_key: str) -> _Installed:
    """Put each distribution's files in the cache and remember the resolution."""
    from lambdapack.cache.records import DistRecord, ResolutionRecord

    by_label: dict[str | None, list[tuple[str, Path, bool]]] = {}
    for rel, path, exe, label in inst.files:
        by_label.setdefault(label, []).append((rel, path, exe))
    records: list[DistRecord] = []
    files: list[tuple[str, Path, bool, str | None]] = []
    shas: dict[str, str] = {}
    for d in inst.dists:
        label = f"{d.display_name} {d.version}"
        key = _dist_key(d, index)
        stored = cache.save_dist(key, by_label.pop(label, []))
        records.append(DistRecord(key, label, d.name, d.display_name, d.version, tuple(d.tags), d.dist_info))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, label))
            shas[f.rel] = f.sha256
    # Files no RECORD claims (rare: namespace __init__ files written by tools) go in
    # one extra entry keyed by their content, attributed to their top-level folder.
    leftovers = [item for group in by_label.values() for item in group]
    if leftovers:
        key = files_key([(rel, file_sha256(p), exe) for rel, p, exe in leftovers])
        stored = cache.save_dist(key, leftovers)
        records.append(DistRecord(key, None, "", "", "", (), ""))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, f.rel.split("/", 1)[0]))
            shas[f.rel] = f.sha256
    record = ResolutionRecord(tuple(records), dict(inst.laptop))
    cache.save_resolution(res_key, record)
    return _Installed(inst.reqs, inst.dists, files, shas, None, inst.laptop, "uv",
                      (res_key, digest(record.dists_json())))


def _from_cache(cache: CacheStore, hit: ResolutionRecord, reqs: Requirements, target: Target) -> _Installed | None:
    """The cached install, or None when any part is missing, damaged or inconsistent."""
    try:
        inst = _from_cache_unchecked(cache, hit, reqs)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None  # a damaged held-back entry is a miss, never a crash
    if inst is None or (reqs.top_level and not inst.dists):
        return None
    if missing_requirements(reqs.top_level, inst.dists, target):
        return None  # a requested package must never be dropped, cached or not
    return inst


def _from_cache_unchecked(cache: CacheStore, hit: ResolutionRecord, reqs: Requirements) -> _Installed | None:
    dists: list[Distribution] = []
    files: list[tuple[str, Path, bool, str | None]] = []
    shas: dict[str, str] = {}
    for rec in hit.dists:
        stored = cache.load_dist(rec.key)
        if stored is None:
            return None  # pruned or damaged: install again
        if rec.name:
            dists.append(Distribution(rec.name, rec.display_name, rec.version, rec.tags, rec.dist_info, ()))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, rec.label or f.rel.split("/", 1)[0]))
            shas[f.rel] = f.sha256
    from lambdapack.resolve.heldback import HeldBack
    held_back = [HeldBack(**h) for h in hit.held_back] if hit.held_back is not None else None
    return _Installed(reqs, dists, files, shas, held_back, dict(hit.laptop), "cache")


def _build_in(
    opts: BuildOptions, target: Target, work: Path, cache: CacheStore | None, kind: str, dep_path: Path | Piped | None,
    fn_out: Path | None, layer_out: Path | None, attached_unzipped: int, warnings: list[str], say: Progress,
) -> BuildResult:
    code = _code_entries(opts, fn_out, layer_out, work, cache, warnings)
    n_base = len(warnings)  # the walk's notes are fresh on every build: never stored with a pointer
    code_shas = {e.arcname: file_sha256(e.path) for e in code}
    # Looked up once: the inputs key names it, and bytecode is compiled with it.
    interp = _find_interpreter_cached(target.runtime.python, cache) if opts.compile != "off" else None
    # --with-layer zips can be large: hashed once, for both cache keys (they opened fine above).
    layer_shas = [_layer_digest(p) for p in opts.attach_layers] if cache is not None else []
    inputs_key = (_inputs_key(opts, target, kind, dep_path, code, code_shas, interp, layer_shas)
                  if cache is not None else None)
    if cache is not None and inputs_key is not None and not opts.refresh:
        done = _from_inputs_pointer(opts, target, cache, inputs_key, fn_out, layer_out, warnings, say)
        if done is not None:
            return done
    from lambdapack.resolve.heldback import find_held_back
    uv = find_uv()
    env = uv_environment(os.environ)
    reqs = _load_inputs(kind, dep_path, opts, uv, work, env)
    inst = _install(opts, target, reqs, work, cache, uv, env, say)
    held_back_job: Future[list[HeldBack]] | None = None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        if opts.held_back and inst.held_back is None and inst.laptop:
            # The index lookups overlap with staging, verification and compression.
            held_back_job = pool.submit(find_held_back, inst.dists, inst.laptop, target, _index_url(opts))
        result, art_key = _stage_verify_pack(opts, target, work, cache, inst, code, code_shas, interp, layer_shas,
                                             fn_out, layer_out, attached_unzipped, warnings, say)
        if held_back_job is not None:
            result.held_back = held_back_job.result()
            if cache is not None and inst.source == "uv":
                _remember_held_back(cache, opts, target, reqs, work, env, result.held_back)
        elif opts.held_back and inst.held_back:
            result.held_back = inst.held_back
        if cache is not None and inputs_key is not None and art_key is not None:
            _save_inputs_pointer(cache, inputs_key, art_key, result, inst, result.warnings[n_base:])
        return result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _remember_held_back(cache: CacheStore, opts: BuildOptions, target: Target, reqs: Requirements, work: Path,
                        env: dict[str, str], held: list[HeldBack]) -> None:
    res_key = _resolution_key(opts, target, reqs, _uv_requirements_file(reqs, work), env)
    hit = cache.load_resolution(res_key, pinned=True)
    if hit is not None:
        cache.save_resolution(res_key, dataclasses.replace(hit, held_back=tuple(h.as_dict() for h in held)))


def _code_entries(
    opts: BuildOptions, fn_out: Path | None, layer_out: Path | None, work: Path, cache: CacheStore | None,
    warnings: list[str],
) -> list[StagedFile]:
    """The user's source files that go into the function zip (none for a layer); the
    walk's notes (skipped special files, files from outside SRC_DIR) go to `warnings`."""
    if opts.src is None or opts.kind not in ("function", "split"):
        return []
    skip = [p for p in (fn_out, layer_out) if p is not None] + [Path("dist"), work]
    if cache is not None:
        skip.append(cache.root)  # a cache inside the source tree must never be zipped
    options = SourceOptions(
        exclude_tests=opts.exclude_tests,
        extra_excludes=opts.excludes,
        skip_paths=[p for p in skip if p.exists()],
        follow_external_links=opts.follow_external_links,
    )
    return source_entries(opts.src, options, notes=warnings)


def _layer_digest(path: Path) -> str:
    """Content key of a --with-layer: the zip's bytes, or a directory's files (as `check`
    reads a layer given as a directory: names, contents, executable bits)."""
    if not path.is_dir():
        return file_sha256(path)
    return files_key([(f.relative_to(path).as_posix(), file_sha256(f), os.access(f, os.X_OK))
                          for f in path.rglob("*") if f.is_file()])


def _inputs_key(
    opts: BuildOptions, target: Target, kind: str, dep_path: Path | Piped | None, code: list[StagedFile],
    code_shas: dict[str, str], interp: Interpreter | None, layer_shas: list[str],
) -> str | None:
    """A key over everything a build reads before it resolves: options, the dependency
    input file, the source files, the environment, the interpreter for bytecode.

    Stricter than the artifact key (any byte of the inputs, their absolute paths): a miss
    only means the full path runs, which still finds the artifact when nothing that
    matters changed. Files a requirements file includes are checked through the pointer.
    Paths are made absolute, so the same project built from another working directory
    (a CI step, a fresh output folder) still hits.
    """
    if interp is None and opts.compile == "on":
        return None  # the full path explains the error
    files: dict[str, str] = {}
    if isinstance(dep_path, Piped):
        # Its content and the directory its relative paths mean; the name only as given
        # (resolved, /dev/fd/63 is /proc/PID/fd/pipe:[inode], new on every run).
        files["piped"] = dep_path.sha256
        files["piped-base"] = str(dep_path.base)
    elif dep_path is not None:
        sibling = dep_path.with_name("pyproject.toml")
        try:
            files[str(dep_path.resolve())] = file_sha256(dep_path)
            if kind == "lock" and sibling.is_file():  # uv export reads the project too
                files[str(sibling)] = file_sha256(sibling)
        except OSError:
            return None  # unreadable or not a file: the full path reports it clearly
    def absolute(p: Path | None) -> Path | None:
        return p.resolve() if p is not None else None

    plain = dataclasses.replace(
        opts, output=None, layer_output=None, refresh=False, cache_dir=None, src=absolute(opts.src),
        requirements=opts.requirements if isinstance(dep_path, Piped) else absolute(opts.requirements),
        pyproject=absolute(opts.pyproject), lock=absolute(opts.lock),
        attach_layers=tuple(p.resolve() for p in opts.attach_layers), install=_keyed_install(opts.install),
    )
    return inputs_key(InputsKeyInputs(
        __version__, repr(plain), kind, files, target.runtime.name, target.arch.value, key_environment(os.environ),
        zip_date_time(os.environ), (interp.path, interp.version) if interp is not None else None, layer_shas,
        _strip_tools(target) if opts.slim == "aggressive" else [],
        [(e.arcname, code_shas[e.arcname], e.executable) for e in code]))


def _save_inputs_pointer(
    cache: CacheStore, key: str, art_key: str, result: BuildResult, inst: _Installed, warnings: list[str]
) -> None:
    from lambdapack.cache.records import InputsPointer

    cache.save_inputs_pointer(key, InputsPointer(
        # The resolution record decides freshness (unpinned inputs expire), as in the full path.
        artifact=art_key, pinned=_fully_pinned(inst.reqs),
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


def _from_inputs_pointer(
    opts: BuildOptions, target: Target, cache: CacheStore, key: str, fn_out: Path | None, layer_out: Path | None,
    warnings: list[str], say: Progress,
) -> BuildResult | None:
    """The no-change shortcut: the same inputs built before; reuse the finished zip."""
    from lambdapack.resolve.inputs import Requirements
    from lambdapack.resolve.install import Distribution

    rec = cache.load_inputs_pointer(key)  # None when missing or damaged
    if rec is None:
        return None
    if rec.resolution is not None:
        res = cache.load_resolution(rec.resolution, rec.pinned)
        if res is None or digest(res.dists_json()) != rec.dists_digest:
            return None  # stale, gone or damaged: the full path resolves or repairs it
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
    if opts.held_back and rec.held_back:
        from lambdapack.resolve.heldback import HeldBack
        try:
            held = [HeldBack(**h) for h in rec.held_back]
        except TypeError:
            return None  # a damaged pointer is a miss
    result = BuildResult(target=target, inputs=reqs, distributions=dists, held_back=held,
                         warnings=[*warnings, *stored_warnings])
    return _reuse(hit, opts, result, fn_out, layer_out, say)


def _reuse(
    hit: tuple[ArtifactMeta, list[Path]], opts: BuildOptions, result: BuildResult, fn_out: Path | None,
    layer_out: Path | None, say: Progress,
) -> BuildResult:
    """Put a finished artifact from the cache at the output paths (smoke-tested first if asked)."""
    say("no change: the finished zip comes from the cache")
    kinds = ["function"] if opts.kind == "function" else ["layer"] if opts.kind == "layer" else ["function", "layer"]
    zips = dict(zip(kinds, hit[1], strict=True))
    if opts.smoke:
        _run_smoke(opts, result, zips.get("function"), zips.get("layer"), say)
    outs = [(k, fn_out if k == "function" else layer_out) for k in kinds]
    return _restore(hit, [(k, o) for k, o in outs if o is not None], result)


def _stage_verify_pack(
    opts: BuildOptions, target: Target, work: Path, cache: CacheStore | None, inst: _Installed,
    code: list[StagedFile], code_shas: dict[str, str], found: Interpreter | None, layer_shas: list[str],
    fn_out: Path | None, layer_out: Path | None, attached_unzipped: int, warnings: list[str], say: Progress,
) -> tuple[BuildResult, str | None]:
    """Stage, verify and pack; also returns the artifact key (None without a cache)."""
    result = BuildResult(target=target, inputs=inst.reqs, distributions=inst.dists, warnings=warnings)
    say("staging")
    dep_prefix = "python/" if opts.kind in ("layer", "split") else ""
    deps = [StagedFile(dep_prefix + rel, path, exe, path.stat().st_size, label) for rel, path, exe, label in inst.files]
    shas = {dep_prefix + rel: sha for rel, sha in inst.shas.items()}
    if code:
        dep_names = {e.arcname for e in deps}
        clash = sorted({e.top_level for e in code if e.arcname in dep_names})
        if clash and opts.kind == "function":
            warnings.append(
                f"your source tree and the dependencies both provide {', '.join(clash)}; your files are used"
            )
            deps = [e for e in deps if e.arcname not in {c.arcname for c in code}]
        shas.update(code_shas)

    interp = _compile_interpreter(opts, target, found, result)
    art_key = None
    if cache is not None:
        art_key = artifact_key(ArtifactKeyInputs(
            version=__version__, runtime=target.runtime.name, arch=target.arch.value, kind=opts.kind,
            level=opts.compresslevel, date=zip_date_time(os.environ), handler=opts.handler, smoke=opts.smoke,
            pyc=(opts.pyc_mode, interp.version) if interp is not None else None,
            slim=opts.slim, dep_excludes=opts.dep_excludes, keeps=opts.keeps,
            exclude_runtime_provided=opts.exclude_runtime_provided,
            strip=_strip_tools(target) if opts.slim == "aggressive" else [], layers=layer_shas,
            allow_secrets=opts.allow_secrets,
            deps=[(e.arcname, shas.get(e.arcname, ""), e.executable) for e in deps],
            code=[(e.arcname, shas.get(e.arcname, ""), e.executable) for e in code]))
        hit = cache.load_artifact(art_key)
        if hit is not None:
            return _reuse(hit, opts, result, fn_out, layer_out, say), art_key

    deps = _slim(opts, target, inst, deps, dep_prefix, work, result, shas, say)
    if interp is not None:
        deps, code = _bytecode(opts, interp, deps, code, work, cache, result, shas, say)

    plan: list[tuple[str, Path, list[StagedFile]]] = []
    if opts.kind == "function":
        assert fn_out is not None
        plan.append(("function", fn_out, deps + code))
    elif opts.kind == "layer":
        assert layer_out is not None
        plan.append(("layer", layer_out, deps))
    else:
        assert fn_out is not None and layer_out is not None
        plan.append(("function", fn_out, code))
        plan.append(("layer", layer_out, deps))

    say(f"verifying {len(deps) + len(code)} files for {target}")
    result.findings += _allow_secrets(opts, _verify(opts, target, deps, code))
    # Limits known before packing are reported with everything else, in one go.
    result.unzipped_total = attached_unzipped + sum(e.size for _k, _p, es in plan for e in es)
    layer_count = len(opts.attach_layers) + (1 if opts.kind == "split" else 0)
    result.findings += checks.check_sizes(result.unzipped_total, [], layer_count)
    if checks.has_errors(result.findings):
        n = sum(1 for f in result.findings if f.severity == checks.ERROR)
        raise BuildFailed(f"verification failed: {n} problem(s) found; no zip was written", result)
    store = cache.blobs if cache is not None else BlobStore(work / "blobs")
    # Files hashed moments ago by this build need no second hash when compressed;
    # files that came from the cache do (they may have been altered in place).
    fresh = frozenset(e.arcname for e in code) | (
        frozenset(e.arcname for e in deps) if inst.source == "uv" else frozenset())
    _pack_all(plan, opts, result, layer_count, say, store, shas, cache, art_key, fresh)
    return result, art_key


def _compile_interpreter(
    opts: BuildOptions, target: Target, interp: Interpreter | None, result: BuildResult
) -> Interpreter | None:
    """The interpreter of the target's minor version that was found (any machine: bytecode
    is portable), or None, said as a warning or, with --compile, as an error."""
    if opts.compile == "off":
        return None
    if interp is None:
        msg = (f"no Python {target.runtime.version} found on this machine (PATH, pyenv, uv-managed), so the "
               f"zip has no bytecode and Python will compile on every cold start; install one (e.g. "
               f"`uv python install {target.runtime.version}`) or pass --no-compile to silence this")
        if opts.compile == "on":
            raise UsageError(msg.split(", so")[0] + "; --compile needs one",
                             f"install Python {target.runtime.version} (e.g. `uv python install "
                             f"{target.runtime.version}`), or drop --compile")
        result.warnings.append(msg)
    return interp


def _find_interpreter_cached(minor: tuple[int, int], cache: CacheStore | None) -> Interpreter | None:
    """find_interpreter, remembered across runs while the interpreter file is unchanged.

    Probing candidates starts processes (~0.1 s each); a no-change rebuild must not pay that.
    """
    from lambdapack.host.interpreters import Interpreter, find_interpreter
    key = f"{minor[0]}.{minor[1]}"
    known = cache.load_interpreter(key) if cache is not None else None
    if known is not None:
        return Interpreter(known.path, known.version, known.machine)
    interp = find_interpreter(minor)
    if interp is not None and cache is not None:
        from lambdapack.cache.records import InterpreterRecord

        st = Path(interp.path).stat()
        major, minor_, micro = interp.version
        cache.save_interpreter(key, InterpreterRecord(interp.path, (major, minor_, micro), interp.machine,
                                                      (st.st_mtime_ns, st.st_size)))
    return interp


def _bytecode(
    opts: BuildOptions, interp: Interpreter, deps: list[StagedFile], code: list[StagedFile], work: Path,
    cache: CacheStore | None, result: BuildResult, shas: dict[str, str], say: Progress,
) -> tuple[list[StagedFile], list[StagedFile]]:
    """Hash-based .pyc for every .py, compiled once per (content, Python, mode, Lambda path)."""
    from lambdapack.assemble.bytecode import InvalidationMode, compile_entries, pyc_arcname
    mode = InvalidationMode(opts.pyc_mode)
    dep_root = FUNCTION_ROOT if opts.kind == "function" else LAYER_ROOT
    groups = [(deps, dep_root), (code, FUNCTION_ROOT)]
    out: list[list[StagedFile]] = []
    compiled = hits = 0
    for entries, root in groups:
        sources = [e for e in entries if e.arcname.endswith(".py")]
        keys = {e.arcname: pyc_key(interp.version, mode.value, lambda_path(root, e.arcname),
                                   shas.get(e.arcname) or file_sha256(e.path)) for e in sources}
        pyc: list[StagedFile] = []
        missing: list[StagedFile] = []
        for e in sources:
            cached = cache.load_pyc(keys[e.arcname]) if cache is not None else None
            if cached is not None:
                arc = pyc_arcname(e.arcname, interp.cache_tag)
                pyc.append(StagedFile(arc, cached[0], False, cached[0].stat().st_size, e.distribution))
                shas[arc] = cached[1]
                hits += 1
            else:
                missing.append(e)
        if missing:
            say(f"compiling {len(missing)} modules to {mode.value} bytecode with Python "
                f"{'.'.join(map(str, interp.version))}")
            res = compile_entries(missing, interp, work / "pyc" / root.strip("/").replace("/", "_"),
                                  lambda_root=lambda a, r=root: lambda_path(r, a), mode=mode)  # type: ignore[misc]
            compiled += len(res.entries)
            by_arc = {pyc_arcname(e.arcname, interp.cache_tag): e for e in missing}
            for p in res.entries:
                if cache is not None:
                    path, sha = cache.save_pyc(keys[by_arc[p.arcname].arcname], p.path)
                    p = StagedFile(p.arcname, path, p.executable, p.size, p.distribution)
                    shas[p.arcname] = sha
                pyc.append(p)
            for arcname, why in res.failed:
                result.warnings.append(f"{arcname} does not compile for Python {interp.minor[0]}.{interp.minor[1]}: {why}")
        out.append(entries + pyc)
    log.info("bytecode: %d compiled, %d from the cache", compiled, hits)
    return out[0], out[1]


def _slim(
    opts: BuildOptions, target: Target, inst: _Installed, deps: list[StagedFile], prefix: str, work: Path,
    result: BuildResult, shas: dict[str, str], say: Progress,
) -> list[StagedFile]:
    """Leave out what the profile, --exclude and --exclude-runtime-provided say; strip copies."""
    from lambdapack.assemble.profiles import Profile
    from lambdapack.assemble.runtime_provided import runtime_provided_closure
    from lambdapack.assemble.slim import SlimRules, apply_slim, plan_slim
    profile = Profile(opts.slim)
    if profile is Profile.NONE and not (opts.dep_excludes or opts.exclude_runtime_provided):
        return deps
    drop: set[str] = set()
    if opts.exclude_runtime_provided:
        meta_site = work / "metadata"
        for rel, path, _exe, _label in inst.files:
            if rel.endswith(".dist-info/METADATA"):
                (meta_site / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, meta_site / rel)
        drop, note = runtime_provided_closure(inst.dists, meta_site, target)
        result.slim_notes.append(note)
    rules = SlimRules(excludes=opts.dep_excludes, keeps=opts.keeps, drop_dists=drop)
    plan = plan_slim(deps, target, profile, rules, dist_prefix=prefix)
    if plan.strip:
        say(f"slimming ({profile.value}): leaving out {len(plan.removals)} files, stripping up to "
            f"{len(plan.strip)} shared objects")
    res = apply_slim(deps, plan, target, work)
    saved: dict[str, int] = {}
    for r in res.removals:
        saved[r.distribution or "(your code)"] = saved.get(r.distribution or "(your code)", 0) + r.size
    owners = {e.arcname: e.distribution for e in deps}
    for arcname, before, after in res.stripped:
        label = owners.get(arcname) or "(your code)"
        saved[label] = saved.get(label, 0) + before - after
        shas.pop(arcname, None)  # new content: hashed afresh when packed
    for arcname, why in res.kept_unstripped:
        log.info("kept unstripped: %s (%s)", arcname, why)
    result.saved_by_dist = saved
    return res.entries


def _restore(hit: tuple[ArtifactMeta, list[Path]], outs: list[tuple[str, Path]],
             result: BuildResult) -> BuildResult:
    meta, zips = hit
    data = meta.result
    result.saved_by_dist = dict(data.get("slim", {}).get("by_distribution", {}))
    result.slim_notes = list(data.get("slim", {}).get("notes", []))
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
        result.size_reports = [dataclasses.replace(_report_from_dict(r), artifact=str(out))
                               for r, (_k, out) in zip(meta.size_reports, outs, strict=False)]
    except (KeyError, TypeError, ValueError):
        result.size_reports = []  # an unreadable stored report: measure the zips again below
    if len(result.size_reports) != len(outs):
        from lambdapack.report.sizes import size_report

        result.size_reports = [size_report(out, kind, {}, None) for kind, out in outs]
    result.cached = True
    return result


def _disk_file(e: StagedFile, root: str, origin: str) -> LambdaFile:
    def head(n: int, p: Path = e.path) -> bytes:
        with open(p, "rb") as f:
            return f.read(n)

    return LambdaFile(
        path=lambda_path(root, e.arcname),
        rel=e.arcname,
        origin=origin,
        size=e.size,
        mode=None,  # the zip gets normalised modes, so the source's do not matter
        distribution=e.distribution,
        read=e.path.read_bytes,
        head=head,
    )


def _verify(opts: BuildOptions, target: Target, deps: list[StagedFile], code: list[StagedFile]) -> list[Finding]:
    """The same rule engine as `lambdapack check`, on the staged files (read in place).

    Layers given with --with-layer get exactly what `check --layer` gives them: the
    archive rules (LP3xx, every member's CRC-32), the layout rules and the view rules;
    their archive findings are named with the layer they come from.
    """
    from lambdapack.inspect.archive import Artifact as LayerArtifact
    from lambdapack.inspect.archive import open_artifact
    from lambdapack.inspect.check import add_artifact, distribution_owners
    from lambdapack.inspect.rules import run_view_rules
    view = LambdaView(target.runtime)
    layers: list[tuple[str, list[str]]] = []
    attached: list[tuple[str, LayerArtifact]] = []
    with ExitStack() as stack:
        for i, p in enumerate(opts.attach_layers, start=1):
            art = stack.enter_context(open_artifact(p))
            art.verify()
            origin = f"layer {i} ({p.name})"
            add_artifact(view, art, LAYER_ROOT, origin, distribution_owners(art))
            layers.append((origin, [e.name for e in art.entries if not e.is_dir]))
            attached.append((origin, art))
        built_layer = f"layer {len(opts.attach_layers) + 1} (built)"
        if opts.kind == "function":
            for e in deps + code:
                view.add(_disk_file(e, FUNCTION_ROOT, "function"))
        else:
            for e in code:
                view.add(_disk_file(e, FUNCTION_ROOT, "function"))
            for e in deps:
                view.add(_disk_file(e, LAYER_ROOT, built_layer))
            layers.append((built_layer, [e.arcname for e in deps]))
        handler = opts.handler if opts.kind != "layer" else None
        findings = run_view_rules(view, target, layers=layers, handler=handler)
        # Archive problems last, as `check` does: reading members for the rules can find more.
        for origin, art in attached:
            findings += [dataclasses.replace(f, path=f"{origin}: {f.path}" if f.path else origin)
                         for f in art.problems]
        return findings


def _allow_secrets(opts: BuildOptions, findings: list[Finding]) -> list[Finding]:
    """LP402 errors on files matching --allow-secret become warnings that say so.

    Patterns match the path in the zip (fnmatch, case-sensitive like zip names); a finding
    on a built layer's file is named "layer N (built): python/...", so the prefix is dropped.
    """
    if not opts.allow_secrets:
        return findings
    import fnmatch

    out: list[Finding] = []
    for f in findings:
        in_zip = split_shown(f.path)[1]
        pat = next((p for p in opts.allow_secrets if fnmatch.fnmatchcase(in_zip, p)), None)
        if f.code == "LP402" and f.severity == checks.ERROR and pat is not None:
            f = dataclasses.replace(f, severity=checks.WARNING,
                                    message=f"{f.message} (packed anyway: --allow-secret {pat!r})",
                                    fix="make sure this file is meant to ship; anyone who can read the function can read it")
        out.append(f)
    return out


def _pack_all(
    plan: list[tuple[str, Path, list[StagedFile]]],
    opts: BuildOptions,
    result: BuildResult,
    layer_count: int,
    say: Progress,
    store: BlobStore,
    shas: dict[str, str],
    cache: CacheStore | None,
    art_key: str | None,
    fresh: frozenset[str] = frozenset(),
) -> None:
    """Write every zip to its temp file, check the limits, then move all into place."""
    with ExitStack() as stack:
        staged: list[tuple[str, Path, Path]] = []
        for kind, out, entries in plan:
            tmp = stack.enter_context(atomic_output(out))
            say(f"packing {len(entries)} files into {out}")
            settings = ZipSettings(compresslevel=opts.compresslevel, shas=shas, fresh=fresh)
            art = write_zip_to(entries, tmp, out, settings, store=store)
            result.outputs.append(Output(kind, art))
            staged.append((kind, out, tmp))
            # Savings belong to the zip that holds the dependencies (the layer of a split build).
            saved = result.saved_by_dist if kind == ("function" if opts.kind == "function" else "layer") else {}
            result.size_reports.append(_size_report(kind, tmp, out, entries, saved))
        size_findings = checks.check_sizes(
            0, [(str(o.artifact.path), o.artifact.zipped_bytes) for o in result.outputs], 0
        )
        result.findings += size_findings
        if checks.has_errors(size_findings):
            result.outputs.clear()
            raise BuildFailed("the package is over Lambda's limits; no zip was written", result)
        if opts.smoke:
            zips = {k: t for k, _o, t in staged}
            _run_smoke(opts, result, zips.get("function"), zips.get("layer"), say)
        if cache is not None and art_key is not None:
            # Saved before the outputs are renamed into place; the temp files are complete.
            from lambdapack.cache.records import ArtifactMeta

            meta = ArtifactMeta(result.as_dict(), [_report_to_dict(r) for r in result.size_reports])
            cache.save_artifact(art_key, meta, [(k, t) for k, _o, t in staged])


def _run_smoke(
    opts: BuildOptions, result: BuildResult, fn: Path | None, layer: Path | None, say: Progress
) -> None:
    """Import the package like Lambda would before the zip is put in place (build --smoke)."""
    from lambdapack.inspect.smoke import smoke

    say("smoke test: importing the package with a matching interpreter")
    layers = [*opts.attach_layers, *([layer] if layer is not None else [])]
    result.smoke = smoke(fn, layers, result.target, handler=opts.handler)
    if result.smoke.status == "failed":
        bad = [r.module for r in result.smoke.results if not r.ok]
        result.outputs.clear()
        raise BuildFailed(
            f"smoke test failed: {', '.join(bad) or 'the package'} did not import; no zip was written", result
        )
    if result.smoke.status == "skipped":
        result.warnings.append(f"smoke test skipped: {result.smoke.reason}")


def _index_url(opts: BuildOptions) -> str | None:
    return (
        opts.install.index_url or os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or None
    )


def _requirement_sources(reqs: Requirements, req_file: Path) -> dict[str, bytes]:
    """The requirement files uv read, for naming a bad line (read only after a failure)."""
    out: dict[str, bytes] = {}
    for path in (req_file, *reqs.included):
        try:
            if path.is_file():  # never a pipe (`-r <(...)`): it was read once already
                out[str(path)] = path.read_bytes()
        except OSError:
            continue
    return out


def _load_inputs(
    kind: str, path: Path | Piped | None, opts: BuildOptions, uv: str, work: Path, env: dict[str, str]
) -> Requirements:
    if path is None:
        return Requirements("none", None, ())
    if isinstance(path, Piped):
        # Written once per work directory from the content read at the start: uv reads
        # this file and the resolution key hashes it.
        return piped_requirements(path, work / "piped-requirements.txt")
    if kind == "requirements":
        return read_requirements_file(path)
    if kind == "pyproject":
        return read_pyproject(path, opts.extras)
    if kind == "lock":
        return lock_export(uv, path, opts.extras, work / "lock-requirements.txt", env, opts.install)
    raise UsageError(f"unknown dependency input kind {kind!r}")


def _uv_requirements_file(reqs: Requirements, work: Path) -> Path:
    if reqs.kind == "requirements":
        assert reqs.source is not None
        return reqs.uv_file or reqs.source
    if reqs.kind == "lock":
        return work / "lock-requirements.txt"
    out = work / "pyproject-requirements.txt"
    out.write_text("".join(f"{r}\n" for r in reqs.top_level), encoding="utf-8")
    return out
