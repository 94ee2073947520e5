"""The uv edge: install requirements for a Lambda target into a directory.

uv is the PyPI package, run as a subprocess. Everything that decides (argv, error
classification, what was installed) is a pure function; `run_uv` is the only place
that starts a process.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from .errors import BuildError, InputError
from .inputs import Requirements, parse_requirements_text
from .tags import Target

if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.requirements import Requirement

__all__ = [
    "Distribution",
    "InstallOptions",
    "classify_uv_failure",
    "find_uv",
    "install_argv",
    "missing_requirements",
    "read_distributions",
    "record_paths",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallOptions:
    allow_sdist: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    # Seconds one network request to the index may stall (None: the default, see `deadlines`).
    network_timeout: float | None = None
    # Seconds resolving and installing may take in all (None: the default).
    deadline: float | None = None


@dataclass(frozen=True)
class Distribution:
    name: str  # canonical name
    display_name: str
    version: str
    tags: tuple[str, ...]  # from WHEEL
    dist_info: str  # relative path of the .dist-info directory
    files: tuple[str, ...]  # relative paths from RECORD (as installed)

    @property
    def is_pure(self) -> bool:
        return all(t.endswith("-any") for t in self.tags)


def find_uv() -> str:
    """uv from the installed `uv` package first, then $UV, then PATH."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which(os.environ.get("UV") or "uv")
    if found is None:
        raise BuildError(
            "uv was not found", "install lambdapack with its dependencies (pip install lambdapack)"
        )
    log.info("using external uv at %s", found)
    return found


def _index_args(opts: InstallOptions) -> list[str]:
    args: list[str] = []
    if opts.index_url:
        args += ["--index-url", opts.index_url]
    for url in opts.extra_index_urls:
        args += ["--extra-index-url", url]
    for fl in opts.find_links:
        args += ["--find-links", fl]
    return args


def _binary_args(opts: InstallOptions) -> list[str]:
    # Binary wheels only unless the user allowed sdists; whatever gets built from
    # an sdist is then required to be pure Python (see `native_builds`).
    return [] if opts.allow_sdist else ["--only-binary", ":all:"]


def install_argv(
    uv: str,
    target: Target,
    requirements_file: Path,
    dest: Path,
    python: str,
    opts: InstallOptions,
) -> list[str]:
    """The exact uv command that installs for the Lambda target (pure)."""
    return [
        uv,
        "pip",
        "install",
        "--target",
        str(dest),
        "--python",
        python,
        "--python-platform",
        target.uv_platform,
        "--python-version",
        target.runtime.version,
        *_binary_args(opts),
        "--no-installer-metadata",
        "--no-compile-bytecode",
        "--no-progress",
        "--color",
        "never",
        *_index_args(opts),
        "-r",
        str(requirements_file),
    ]


def compile_argv(
    uv: str, target: Target, requirements_file: Path, python: str, opts: InstallOptions, platform: str
) -> list[str]:
    """Resolve only (no install) for another platform: used for the held-back report."""
    return [
        uv,
        "pip",
        "compile",
        str(requirements_file),
        "--python",
        python,
        "--python-platform",
        platform,
        "--python-version",
        target.runtime.version,
        "--only-binary",
        ":all:",
        "--no-header",
        "--no-annotate",
        "--quiet",
        "--color",
        "never",
        *_index_args(opts),
    ]


def export_lock_argv(uv: str, project_dir: Path, extras: Sequence[str], out: Path) -> list[str]:
    """uv.lock -> pinned requirements (no dev groups, no editable project itself)."""
    argv = [
        uv,
        "export",
        "--project",
        str(project_dir),
        "--frozen",
        "--no-dev",
        "--no-editable",
        "--no-emit-project",
        "--no-header",
        "--no-annotate",
        "--format",
        "requirements-txt",
        "--color",
        "never",
        "-o",
        str(out),
    ]
    for e in extras:
        argv += ["--extra", e]
    return argv


def uv_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment uv runs in: the user's uv settings stay, Python's own go.

    PYTHONPATH and VIRTUAL_ENV describe this machine's Python, not Lambda's, and pip's
    configuration (PIP_*) is not read by uv at all, so builds do not depend on it.
    """
    env = {k: v for k, v in environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "UV_PYTHON")}
    env["UV_NO_PROGRESS"] = "1"
    return env


@dataclass(frozen=True)
class UvResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_uv(argv: Sequence[str], env: Mapping[str, str]) -> UvResult:
    """The only place that starts uv. Output is captured and kept for errors."""
    log.debug("running %s", subprocess.list2cmdline(list(argv)))
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=dict(env), check=False)
    return UvResult(list(argv), proc.returncode, proc.stdout, proc.stderr)


def start_uv(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start uv without waiting (the held-back resolution runs beside the install)."""
    log.debug("starting %s", subprocess.list2cmdline(list(argv)))
    return subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env)
    )


def _uv_cause(stderr: str) -> str:
    """uv's own explanation, condensed to one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("Using CPython", "Using Python", "warning:"))]
    causes = [re.sub(r"^(cause:|╰─▶|×|error:)\s*", "", ln) for ln in lines]
    text = " ".join(c for c in causes if c and not c.startswith("hint:"))
    text = text.replace("No solution found when resolving dependencies:", "").strip()
    text = text.replace("No solution found when resolving dependencies", "").strip()
    return re.sub(r"\s+", " ", text)


def classify_uv_failure(stderr: str, target: Target) -> BuildError | InputError:
    """Turn uv's failure text into one of our errors, with what to do (pure)."""
    cause = _uv_cause(stderr)
    low = stderr.lower()
    if "was not found in the package registry" in low or "not found in the provided package locations" in low:
        m = re.search(r"Because (\S+) was not found", stderr)
        name = m.group(1) if m else "a requested package"
        return InputError(
            f"package {name} does not exist on the package index",
            "check the spelling in your requirements (or pass --index-url for a private index)",
        )
    if "has no usable wheels" in low or "no matching distribution" in low or "only has source" in low:
        m = re.search(r"Because (?:only )?(\S+?)(?:==|<|>|\s)", cause)
        name = m.group(1) if m else "a requested package"
        return BuildError(
            f"no wheel of {name} fits {target.describe()}: {cause}",
            f"pin a version that ships manylinux wheels for {target.arch.machine} "
            f"(`lambdapack why WHEEL --runtime {target.runtime.name} --arch {target.arch.value}` "
            "explains a wheel), or pass --allow-sdist if it is pure Python",
        )
    if "unsatisfiable" in low or "no solution found" in low:
        return InputError(
            f"the requirements conflict for {target}: {cause}",
            "relax or align the pins named above",
        )
    network = (
        "failed to fetch",
        "error sending request",
        "dns error",
        "connection refused",
        "could not connect",
        "tcp connect error",
        "network",
        "timed out",
    )
    if any(n in low for n in network):
        return BuildError(
            f"the package index could not be reached: {cause}",
            "check the network or --index-url; nothing was written",
        )
    if "hash mismatch" in low or ("hash" in low and "require" in low):
        return InputError(f"hash-checking failed: {cause}", "update the --hash values in your requirements")
    if "failed to build" in low or "build backend" in low or "does not match the target platform" in low:
        return BuildError(
            f"building a package from source failed: {cause}",
            "use a version with a wheel for the target; only pure-Python sdists can be built",
        )
    return BuildError(f"uv failed: {cause or stderr.strip()[-500:]}", "run with --debug for uv's full output")


def read_distributions(site: Path) -> list[Distribution]:
    """Every *.dist-info directly under `site`: name, version, wheel tags, files."""
    dists = []
    for info in sorted(site.glob("*.dist-info")):
        meta_path = info / "METADATA"
        if not meta_path.is_file():
            continue
        from email.parser import HeaderParser  # only when there is metadata: fast no-change builds

        meta = HeaderParser().parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        wheel = info / "WHEEL"
        tags: list[str] = []
        if wheel.is_file():
            wmeta = HeaderParser().parsestr(wheel.read_text(encoding="utf-8", errors="replace"))
            tags = wmeta.get_all("Tag") or []
        files: list[str] = []
        record = info / "RECORD"
        if record.is_file():
            files = record_paths(record.read_text(encoding="utf-8", errors="replace"))
        name = meta.get("Name", info.name.split("-")[0])
        dists.append(
            Distribution(
                name=canonicalize_name(name),
                display_name=name,
                version=meta.get("Version", "?"),
                tags=tuple(tags),
                dist_info=info.name,
                files=tuple(files),
            )
        )
    return dists


def record_paths(text: str) -> list[str]:
    """The paths a RECORD lists. RECORD is CSV: a path holding a comma is quoted."""
    import csv
    import io

    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]


def missing_requirements(
    requested: Sequence[Requirement], installed: Sequence[Distribution], target: Target
) -> list[Requirement]:
    """Requested for the target (marker true there) but not installed: never silent."""
    names = {d.name for d in installed}
    env = target.marker_environment
    missing = []
    for req in requested:
        if req.marker is not None and not _marker_true(req.marker, env):
            continue
        if canonicalize_name(req.name) not in names:
            missing.append(req)
    return missing


def _marker_true(marker: Marker, env: dict[str, str]) -> bool:
    return marker.evaluate({**env, "extra": ""})


def native_builds(installed: Sequence[Distribution]) -> list[Distribution]:
    """Distributions whose wheel was built here from an sdist for a real platform.

    PyPI refuses `linux_*` wheels, so such a tag means a local build of native code,
    compiled for this machine, not for Lambda.
    """
    return [
        d
        for d in installed
        if any(re.search(r"-(linux|macosx|win)[_\w]*$", t) and "manylinux" not in t for t in d.tags)
    ]


def parse_compile_output(text: str) -> dict[str, str]:
    """`uv pip compile` output -> {canonical name: version}."""
    out: dict[str, str] = {}
    for req in parse_requirements_text(text, Path()):
        spec = next(iter(req.specifier), None)
        if spec is not None and spec.operator == "==":
            out[canonicalize_name(req.name)] = spec.version
    return out


def lock_export(
    uv: str, lock: Path, extras: Sequence[str], out: Path, env: Mapping[str, str]
) -> Requirements:
    project = lock.parent
    if not (project / "pyproject.toml").is_file():
        raise InputError(
            f"{lock} has no pyproject.toml beside it; uv needs both to export the lock",
            "pass the project's uv.lock, or export it with `uv export` and use -r",
        )
    res = run_uv(export_lock_argv(uv, project, extras, out), env)
    if res.returncode != 0:
        raise InputError(
            f"cannot read {lock}: {_uv_cause(res.stderr)}", "run `uv lock` to refresh the lock file"
        )
    reqs = parse_requirements_text(out.read_text(encoding="utf-8"), out.parent)
    return Requirements("lock", lock, tuple(reqs), tuple(extras))
