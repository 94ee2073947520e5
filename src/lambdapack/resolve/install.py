"""The uv edge: install requirements for a Lambda target into a directory.

uv is the PyPI package, run as a subprocess. Everything that decides (argv, error
classification, what was installed) is a pure function; `run_uv` and `start_uv` are
the only places that start uv (through the subprocess edge, `processes`).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from lambdapack.errors import BuildError, UsageError
from lambdapack.host import processes
from lambdapack.resolve.localpaths import local_directories, with_built_wheels
from lambdapack.resolve.requirementsfile import parse_requirements_text, read_text_file
from lambdapack.resolve.uvfailure import hide_credentials, uv_cause
from lambdapack.target.tags import Target

__all__ = [
    "InstallOptions",
    "Limits",
    "build_local_wheels",
    "check_index_locations",
    "closure_only",
    "deadline_error",
    "effective_locations",
    "find_uv",
    "index_args",
    "index_location",
    "install_argv",
    "is_offline",
    "proxied_environment",
    "resolve_limits",
    "run_uv",
    "start_uv",
    "stop_uv",
    "with_platform",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallOptions:
    allow_sdist: bool = False
    # Packages with no wheel for the target are built from their sdists with zig (pipeline/nativebuilds).
    build_native: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    # Seconds one network request to the index may stall (None: the default, see `deadlines`).
    network_timeout: float | None = None
    # Seconds resolving and installing may take in all (None: the default).
    deadline: float | None = None
    # uv's newer spellings: --index (`[name=]url`, an extra index ranked before --extra-index-url)
    # and --default-index (replaces PyPI). Folded into the two fields above when made, so every
    # reader of the locations (argv, the glibc-ceiling proxy, the keys, the held-back listing)
    # sees one list in uv's order.
    indexes: tuple[str, ...] = ()
    default_index: str | None = None

    def __post_init__(self) -> None:
        if self.default_index is not None:
            if self.index_url is not None:
                raise UsageError("--index-url and --default-index both name the default index",
                                 "give one of them (--default-index is uv's newer name for --index-url)")
            object.__setattr__(self, "index_url", self.default_index)
            object.__setattr__(self, "default_index", None)
        if self.indexes:
            named = tuple(index_location(i) for i in self.indexes)
            object.__setattr__(self, "extra_index_urls", (*named, *self.extra_index_urls))
            object.__setattr__(self, "indexes", ())


def index_location(entry: str) -> str:
    """The URL of an `--index` / UV_INDEX entry, `[name=]url` (pure)."""
    return entry.split("=", 1)[1] if "=" in entry.split("://", 1)[0] else entry


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


def index_args(opts: InstallOptions) -> list[str]:
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
    # an sdist is then required to be pure Python (see `native_builds`). --build-native keeps
    # uv binary-only: lambdapack builds the sdists itself, for the target (pipeline/nativebuilds).
    return [] if opts.allow_sdist and not opts.build_native else ["--only-binary", ":all:"]


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
        *index_args(opts),
        "-r",
        str(requirements_file),
    ]


def build_wheel_argv(uv: str, source: Path, out_dir: Path, python: str, opts: InstallOptions) -> list[str]:
    """Build one local directory into a wheel (pure). `--no-build` holds its build requirements
    to wheels; the directory itself, the user's own code, is built."""
    return [uv, "build", "--wheel", "--no-build", "--out-dir", str(out_dir), "--python", python,
            "--no-progress", "--color", "never", *index_args(opts), str(source)]


def build_local_wheels(
    uv: str, req_file: Path, work: Path, python: str, opts: InstallOptions, env: Mapping[str, str]
) -> Path:
    """`req_file`, or when it names local directories (`./pkg`, `-e ./pkg`, `file:///abs/pkg`) a
    copy in `work` naming the wheels uv built from them, so the install stays binary-only without
    --allow-sdist; what they build to is held to the sdist policy (`native_builds`)."""
    text = read_text_file(req_file)
    cwd = Path.cwd()
    wheels: dict[Path, Path] = {}
    for i, source in enumerate(local_directories(text, cwd)):
        out_dir = work / "local-wheels" / str(i)
        limits = resolve_limits(opts, env)
        res = run_uv(build_wheel_argv(uv, source, out_dir, python, opts), uv_environment(env, limits),
                     limits.deadline)
        if res.timed_out:
            raise deadline_error(f"building the local package {source}", limits, res.stderr)
        built = sorted(out_dir.glob("*.whl")) if res.returncode == 0 else []
        if len(built) != 1:
            raise BuildError(f"building the local package {source} into a wheel failed: "
                             f"{uv_cause(res.stderr) or 'uv built no wheel'}",
                             "fix its pyproject.toml or build backend (`uv build --wheel` in it shows the same)")
        wheels[source] = built[0].resolve()
    if not wheels:
        return req_file
    out = work / "requirements-local.txt"
    out.write_text(with_built_wheels(text, cwd, req_file.parent, wheels), encoding="utf-8")
    return out


def closure_only(argv: Sequence[str]) -> list[str]:
    """`argv` installing exactly the file's lines, for a file that names the whole closure (a
    lock's export), as `uv sync` installs a lock (pure)."""
    out = list(argv)
    out.insert(out.index("--no-installer-metadata"), "--no-deps")
    return out


def with_platform(argv: Sequence[str], platform: str) -> list[str]:
    """`argv` with uv's --python-platform replaced (the glibc ceiling's uv target; pure)."""
    out = list(argv)
    out[out.index("--python-platform") + 1] = platform
    return out


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
        *index_args(opts),
    ]


# A stalled index fails within (1 + retries) * timeout plus uv's backoff: 2 * 15 s + ~2 s.
DEFAULT_NETWORK_TIMEOUT = 15.0
DEFAULT_DEADLINE = 900.0
DEFAULT_RETRIES = "1"


@dataclass(frozen=True)
class Limits:
    """How long uv may wait: per network request, and for a whole run."""

    network_timeout: float  # seconds
    deadline: float  # seconds

    @property
    def request_timeout(self) -> int:
        """The per-request timeout uv applies: it takes whole seconds (rounded up, at least 1)."""
        return max(1, math.ceil(self.network_timeout))


def _seconds(value: float | str, label: str, hint: str) -> float:
    try:
        n = float(value)
    except ValueError:
        n = math.nan
    if not math.isfinite(n) or n <= 0:
        raise UsageError(f"{label}: not a positive number of seconds", hint)
    return n


def resolve_limits(opts: InstallOptions, environ: Mapping[str, str]) -> Limits:
    """The timeouts in force (pure): the flag, else LAMBDAPACK_*, else the default.

    A UV_HTTP_TIMEOUT the user exported is their uv setting and stays when neither
    --network-timeout nor LAMBDAPACK_NETWORK_TIMEOUT is given.
    """
    def pick(flag: str, value: float | None, variables: tuple[str, ...], default: float) -> float:
        if value is not None:
            return _seconds(value, f"{flag} {value:g}", f"pass a positive number of seconds, e.g. {flag} 30")
        for name in variables:
            if environ.get(name, "").strip():
                return _seconds(environ[name].strip(), f"{name}={environ[name]!r}",
                                f"set {name} to a positive number of seconds (e.g. 30), or unset it")
        return default

    return Limits(
        network_timeout=pick("--network-timeout", opts.network_timeout,
                             ("LAMBDAPACK_NETWORK_TIMEOUT", "UV_HTTP_TIMEOUT"), DEFAULT_NETWORK_TIMEOUT),
        deadline=pick("--deadline", opts.deadline, ("LAMBDAPACK_DEADLINE",), DEFAULT_DEADLINE),
    )


def _is_url_or_dir(value: str, is_dir: Callable[[str], bool], *, files_too: bool = False) -> bool:
    if is_dir(value) or (files_too and Path(value).is_file()):
        return True
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        return bool(parts.hostname) and " " not in value
    return parts.scheme == "file" and bool(parts.path)


def check_index_locations(
    opts: InstallOptions, environ: Mapping[str, str], is_dir: Callable[[str], bool] = os.path.isdir
) -> None:
    """Refuse an index that is neither an http(s)/file URL nor a local directory, before uv runs.

    uv would take "not a url" for a relative path and then report every package as missing.
    """
    given = [("--index-url", opts.index_url)] if opts.index_url else []
    given += [("--extra-index-url", u) for u in opts.extra_index_urls]
    if not opts.index_url:
        given += [(var, environ[var]) for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if environ.get(var)]
    for label, value in given:
        if not _is_url_or_dir(value, is_dir):
            raise UsageError(
                f"{label} {hide_credentials(value)!r}: not an http(s) URL or a local path",
                "pass e.g. https://pypi.org/simple, file:///srv/index, or an existing directory",
            )
    for value in opts.find_links:
        if not _is_url_or_dir(value, is_dir, files_too=True):
            raise UsageError(
                f"--find-links {hide_credentials(value)!r}: not an http(s) URL or an existing local path",
                "pass a directory of wheels, an HTML page of links, or its http(s) URL",
            )


PYPI_SIMPLE = "https://pypi.org/simple"
# uv's variables naming where packages come from: folded into argv when the indexes are proxied.
_LOCATION_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS")


@dataclass(frozen=True)
class Locations:
    """Where uv would look, flags and uv's variables combined the way uv combines them."""

    index: str
    extra: tuple[str, ...]
    find_links: tuple[str, ...]


def effective_locations(opts: InstallOptions, environ: Mapping[str, str]) -> Locations:
    """The indexes and find-links of one uv run (pure): a flag replaces its variable."""
    index = opts.index_url or environ.get("UV_DEFAULT_INDEX") or environ.get("UV_INDEX_URL") or PYPI_SIMPLE
    extra = list(opts.extra_index_urls)
    if not extra:
        # UV_INDEX entries are `[name=]url`, space-separated, and rank before the extra indexes.
        named = [index_location(e) for e in environ.get("UV_INDEX", "").split()]
        extra = named + environ.get("UV_EXTRA_INDEX_URL", "").split()
    links = opts.find_links or tuple(x for x in environ.get("UV_FIND_LINKS", "").split(",") if x.strip())
    return Locations(index, tuple(extra), tuple(x.strip() for x in links))


def proxied_environment(env: Mapping[str, str]) -> dict[str, str]:
    """uv's environment when argv names every location (the proxied ones): no variable adds another."""
    return {k: v for k, v in env.items() if k not in _LOCATION_VARIABLES}


def is_offline(env: Mapping[str, str]) -> bool:
    """UV_OFFLINE set: uv reads only its cache, which knows no page of a loopback index."""
    return env.get("UV_OFFLINE", "").strip().lower() not in ("", "0", "false", "no", "off")


def uv_environment(environ: Mapping[str, str], limits: Limits | None = None) -> dict[str, str]:
    """The environment uv runs in: the user's uv settings stay, Python's own go.

    PYTHONPATH and VIRTUAL_ENV describe this machine's Python, not Lambda's, and pip's
    configuration (PIP_*) is not read by uv at all, so builds do not depend on it.
    With `limits`, uv's request timeout is ours (uv takes whole seconds) and it retries
    once unless the user set UV_HTTP_RETRIES: uv's defaults hold a stalled index ~130 s.
    """
    env = {k: v for k, v in environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "UV_PYTHON")}
    env["UV_NO_PROGRESS"] = "1"
    if limits is not None:
        env["UV_HTTP_TIMEOUT"] = str(limits.request_timeout)
        env.setdefault("UV_HTTP_RETRIES", DEFAULT_RETRIES)
    return env


@dataclass(frozen=True)
class UvResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def stop_uv(proc: processes.Process[str], grace: float = 1.0) -> None:
    """Kill uv and everything it started, then wait for it briefly."""
    proc.stop(grace)


def run_uv(argv: Sequence[str], env: Mapping[str, str], timeout: float | None = None) -> UvResult:
    """The only place that waits for uv. Output is captured and kept for errors.

    After `timeout` seconds uv is killed and the result says so; on Ctrl-C or SIGTERM
    (a KeyboardInterrupt here) uv is killed before the interrupt goes on. uv runs in
    its own process group, so that it and its children (git, build backends,
    interpreter probes) are stopped together.
    """
    try:
        res = processes.run_text(argv, env=env, timeout=timeout)
    except processes.Timeout as e:
        return UvResult(list(argv), e.returncode, e.stdout_text, e.stderr_text, True)
    return UvResult(res.argv, res.returncode, res.stdout, res.stderr)


def start_uv(argv: Sequence[str], env: Mapping[str, str]) -> processes.Process[str]:
    """Start uv without waiting (the held-back resolution runs beside the install); stop it with `stop_uv`."""
    return processes.start_text(argv, env=env)


def deadline_error(what: str, limits: Limits, stderr: str, index: str | None = None) -> BuildError:
    """uv was stopped at the overall deadline (pure); the index is named without its credentials."""
    seen = uv_cause(stderr)
    stalled = f" (the package index at {hide_credentials(index)} may be stalled)" if index else ""
    tail = f"; uv had said: {seen}" if seen else ""
    return BuildError(
        f"{what} did not finish within {limits.deadline:g} s{stalled}; uv was stopped{tail}",
        "raise --deadline (or LAMBDAPACK_DEADLINE) if the index is only slow; nothing was written",
    )


def parse_compile_output(text: str) -> dict[str, str]:
    """`uv pip compile` output -> {canonical name: version}."""
    out: dict[str, str] = {}
    for req in parse_requirements_text(text, Path()):
        spec = next(iter(req.specifier), None)
        if spec is not None and spec.operator == "==":
            out[canonicalize_name(req.name)] = spec.version
    return out
