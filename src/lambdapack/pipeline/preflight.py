"""Everything checked before any work starts: the target, the kind, the source tree, the
output paths, the dependency input and the attached layers. A mistake in any of them fails
here, in seconds, not after an install."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.errors import READING_SOURCE, WRITING_OUTPUT, InputError, UsageError, from_os_error
from lambdapack.facts.runtimes import Runtime, get_arch, get_runtime, lifecycle, newest_supported
from lambdapack.pack.zipwriter import check_writable
from lambdapack.pipeline.options import BuildKind, BuildOptions, CompileMode
from lambdapack.progress import Progress
from lambdapack.resolve.detect import choose_default_input, lock_format, refuse_lock_as_requirements
from lambdapack.resolve.inputs import Piped
from lambdapack.resolve.requirementsfile import is_piped_path, read_piped
from lambdapack.target.tags import Target

__all__ = ["Preflight", "default_output", "into_directory", "preflight"]

# The file name of an output given as a directory (`-o dist/`): replaced by the default
# name here, once the target is known. Never a file's real name ("<" is not even valid on Windows).
_INTO = "<default name>"


@dataclass(frozen=True)
class Preflight:
    """The checked facts of a build, the same for every attempt."""

    target: Target
    kind: BuildKind
    compile: CompileMode
    fn_out: Path | None
    layer_out: Path | None
    dep_kind: str  # "requirements" | "pyproject" | "lock" | "none"
    dep_path: Path | Piped | None
    attached_unzipped: int  # unzipped bytes of the --with-layer zips
    warnings: tuple[str, ...]  # said before any work (a deprecated runtime)


def default_output(kind: str, target: Target) -> Path:
    """dist/function-python3.12-arm64.zip and dist/layer-python3.12-arm64.zip."""
    return Path("dist") / f"{kind}-{target.runtime.name}-{target.arch.value}.zip"


def into_directory(directory: Path) -> Path:
    """The output for `-o DIR/`: the default file name inside DIR (see _output)."""
    return directory / _INTO


def output_path(text: str) -> Path:
    """An output as the user wrote it (-o, or `output` in a config): one ending in a separator
    is a folder to write the default name into (into_directory), which Path alone would forget."""
    into = text.endswith(("/", os.sep)) or (os.altsep is not None and text.endswith(os.altsep))
    return into_directory(Path(text)) if into else Path(text)


def is_into_directory(path: Path) -> bool:
    """Whether `path` is an into_directory output (the file name not chosen yet)."""
    return path.name == _INTO


def _output(given: Path | None, kind: str, target: Target) -> Path | None:
    """-o as given, or the default name inside it when it names a directory (into_directory, or one that exists)."""
    if given is None:
        return None
    if given.name == _INTO:
        return given.parent / default_output(kind, target).name
    try:
        is_dir = given.is_dir()
    except OSError as e:  # a path longer than PATH_MAX: check_writable says so
        raise from_os_error(e, WRITING_OUTPUT, given) from e
    return given / default_output(kind, target).name if is_dir else given


def preflight(opts: BuildOptions, say: Progress) -> Preflight:
    """Check the options against the machine, in the order the errors are reported."""
    target = Target(get_runtime(opts.runtime), get_arch(opts.arch))  # unknown names: UsageError
    dep_msg = runtime_warning(target.runtime, opts.today or dt.date.today(), opts.allow_blocked_runtime)
    kind = BuildKind.parse(opts.kind)
    if kind.has_code and opts.src is None:
        raise UsageError("a function build needs SRC_DIR (or pass --layer for a dependency layer)")
    if opts.src is not None:
        try:
            src_ok = opts.src.is_dir()
        except OSError as e:  # a path longer than PATH_MAX, a component without permission
            raise from_os_error(e, READING_SOURCE, opts.src) from e
        if not src_ok:
            raise InputError(f"source directory {opts.src} does not exist or is not a directory")
    fn_out, layer_out = _check_outputs(opts, kind, target)
    dep_kind, dep_path = _choose_inputs(opts, kind, say)
    return Preflight(target, kind, CompileMode.parse(opts.compile), fn_out, layer_out, dep_kind, dep_path,
                     _attached_layers_unzipped(opts.attach_layers), (dep_msg,) if dep_msg else ())


def runtime_warning(runtime: Runtime, today: dt.date, allow_blocked: bool) -> str | None:
    """The warning a build for `runtime` gives on `today`; a UsageError once AWS rejects
    updates of functions on it (the zip could not be deployed), unless `allow_blocked`."""
    life = lifecycle(runtime, today)
    if life.blocked_since is None:
        return life.warning
    if not allow_blocked:
        dep = runtime.deprecation
        created = f" (creating them since {dep.block_create.isoformat()})" if dep and dep.block_create else ""
        raise UsageError(
            f"{runtime.name}: AWS blocks updating functions on this runtime since "
            f"{life.blocked_since.isoformat()}{created}, so Lambda would reject this zip",
            f"move to {newest_supported().name} (or another supported runtime), or pass "
            "--allow-blocked-runtime to build it anyway",
        )
    return f"{life.warning} Built anyway (--allow-blocked-runtime): Lambda rejects this zip for a function."


def _choose_inputs(opts: BuildOptions, kind: BuildKind, progress: Progress) -> tuple[str, Path | Piped | None]:
    """The dependency input; a piped one (`-r -`, `-r <(...)`) is read here, exactly once."""
    given = [
        (k, p)
        for k, p in (("requirements", opts.requirements), ("pyproject", opts.pyproject), ("lock", opts.lock))
        if p is not None
    ]
    if len(given) > 1:
        raise UsageError("give only one of -r/--requirements, --pyproject, --lock")
    if given:
        return _given_input(*given[0])
    if opts.src is not None:
        found = choose_default_input(opts.src)  # an unreadable Pipfile or Poetry project: InputError
        if found is not None:
            progress(f"dependencies: using {found.path} ({found.note})")
            return found.kind, found.path
    if kind.has_layer:
        raise UsageError("a layer needs dependencies: pass -r requirements.txt, --pyproject or --lock")
    progress("dependencies: none (no -r/--pyproject/--lock, none found in the source directory)")
    return "none", None


def _given_input(dep_kind: str, path: Path) -> tuple[str, Path | Piped]:
    """-r/--pyproject/--lock as given: a pipe is read now, a file must exist."""
    if is_piped_path(path):
        if dep_kind != "requirements":
            raise UsageError(
                f"--{dep_kind} {path}: a {'pyproject.toml' if dep_kind == 'pyproject' else 'uv.lock'} is read from "
                "its project directory, which a pipe does not have",
                "pass the file's path; or pipe a requirements export: "
                "uv export --no-hashes | lambdapack build ... -r -",
            )
        if str(path) == "-" and sys.stdin is not None and sys.stdin.isatty():
            raise UsageError("-r - reads requirements from standard input, which is a terminal",
                             "pipe them in: cat requirements.txt | lambdapack build ... -r -")
        return dep_kind, read_piped(path, sys.stdin.buffer if sys.stdin is not None else None, Path.cwd())
    if not path.exists():
        raise InputError(f"{path} does not exist", "check the path given to -r / --pyproject / --lock")
    if dep_kind == "requirements":
        refuse_lock_as_requirements(path)
    elif dep_kind == "lock":
        lock_format(path)  # a name we cannot tell the format of: UsageError now, not after the work
    return dep_kind, path


def _check_outputs(opts: BuildOptions, kind: BuildKind, target: Target) -> tuple[Path | None, Path | None]:
    """(function zip path, layer zip path), validated before any work starts."""
    fn = lay = None
    if kind is BuildKind.FUNCTION:
        fn = _output(opts.output, "function", target) or default_output("function", target)
    elif kind is BuildKind.LAYER:
        lay = _output(opts.output or opts.layer_output, "layer", target) or default_output("layer", target)
    else:
        fn = _output(opts.output, "function", target) or default_output("function", target)
        lay = _output(opts.layer_output, "layer", target) or default_output("layer", target)
    for p in (fn, lay):
        if p is not None and p.is_dir():
            raise UsageError(f"output {p} is a directory",
                             "use --output-dir DIR for an unpacked tree, or -o DIR/name.zip")
    if fn is not None and lay is not None and fn.resolve() == lay.resolve():
        raise UsageError(
            "the function and layer outputs are the same file", "pass different -o / --layer-output"
        )
    for p in (fn, lay):
        if p is not None:
            check_writable(p)  # a read-only or unwritable output fails now, not after the install
    if opts.tree_dir is not None:
        _check_tree(opts, opts.tree_dir, kind, [p for p in (fn, lay) if p is not None])
    return fn, lay


def _check_tree(opts: BuildOptions, tree: Path, kind: BuildKind, zips: list[Path]) -> None:
    """--output-dir: one artifact, and a directory whose replacement removes nothing of the user's."""
    from lambdapack.pack.tree import check_tree_writable, tree_conflict

    if kind is BuildKind.SPLIT:
        raise UsageError("--output-dir writes one artifact as a tree; a --split build makes two",
                         "build the function and the layer apart, each with its own --output-dir")
    protected = [("the zip output", z) for z in zips] + [("the current directory", Path.cwd())]
    protected += [("the --with-layer layer", p) for p in opts.attach_layers]
    home = Path("~").expanduser()
    if home.is_absolute():
        protected.append(("the home directory", home))
    why = tree_conflict(tree, opts.src, protected)
    if why is not None:
        raise UsageError(why, "give --output-dir a directory of its own, outside SRC_DIR (its old contents "
                         "are replaced), and -o a zip path outside it")
    check_tree_writable(tree)


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
