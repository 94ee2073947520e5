"""The dependency input as uv reads it: requirements loaded from the chosen file, the file
handed to uv, the index it resolves against, and the files to quote when uv rejects a line."""

from __future__ import annotations

import os
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.pipeline.options import BuildOptions
from lambdapack.resolve.detect import lock_format
from lambdapack.resolve.inputs import Piped, Requirements
from lambdapack.resolve.pyprojectfile import read_toml
from lambdapack.resolve.requirementsfile import piped_requirements, read_requirements_file
from lambdapack.resolve.uvlock import LockRequest, lock_export

# The tool that re-locks each lock format, for --relock on one that only uv.lock supports.
_RELOCKED_BY = {"poetry": "`poetry lock`", "pipenv": "`pipenv lock`", "pylock": "the tool that wrote it"}

__all__ = ["index_url", "load_inputs", "requirement_sources", "uv_requirements_file"]


def index_url(opts: BuildOptions) -> str | None:
    return (
        opts.install.index_url or os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or None
    )


def requirement_sources(reqs: Requirements, req_file: Path) -> dict[str, bytes]:
    """The requirement files uv read, for naming a bad line (read only after a failure)."""
    out: dict[str, bytes] = {}
    for path in (req_file, *reqs.included):
        try:
            if path.is_file():  # never a pipe (`-r <(...)`): it was read once already
                out[str(path)] = path.read_bytes()
        except OSError:
            continue
    return out


def load_inputs(
    kind: str, path: Path | Piped | None, opts: BuildOptions, uv: str, work: Path, env: dict[str, str]
) -> Requirements:
    if path is None:
        return Requirements("none", None, ())
    if opts.groups and (kind == "requirements" or isinstance(path, Piped)):
        name = path.name if isinstance(path, Piped) else str(path)
        raise UsageError(f"--group {opts.groups[0]}: {name} is a requirements file, which has no dependency groups",
                         "pass --pyproject or --lock (uv.lock) to take a group, or leave --group out")
    if isinstance(path, Piped):
        # Written once per work directory from the content read at the start: uv reads
        # this file and the resolution key hashes it.
        return piped_requirements(path, work / "piped-requirements.txt")
    if kind == "requirements":
        return read_requirements_file(path, work)
    if kind == "pyproject":
        return _read_pyproject(path, opts)
    if kind == "lock":
        return _read_lock(path, opts, uv, work / "lock-requirements.txt", env)
    raise UsageError(f"unknown dependency input kind {kind!r}")


def _read_lock(path: Path, opts: BuildOptions, uv: str, out: Path, env: dict[str, str]) -> Requirements:
    """A lock of any format as pinned requirements in `out` (uv.lock through `uv export`, the rest read here)."""
    fmt = lock_format(path)
    if fmt == "uv":
        req = LockRequest(opts.extras, opts.groups, opts.all_extras, opts.lock_mode)
        return lock_export(uv, path, req, out, env, opts.install)
    if opts.lock_mode == "relock":
        raise UsageError(f"--relock: lambdapack re-locks only uv.lock; {path.name} is re-locked by {_RELOCKED_BY[fmt]}",
                         f"run {_RELOCKED_BY[fmt]} and rebuild, or pass --frozen to build {path.name} as it is")
    if opts.groups and fmt != "pylock":
        raise UsageError(f"--group {opts.groups[0]}: dependency groups are read from pyproject.toml "
                         f"[dependency-groups], uv.lock or pylock.toml, not from {path.name}",
                         "leave --group out, or build from the project's pyproject.toml or uv.lock")
    frozen = opts.lock_mode == "frozen"
    if fmt == "poetry":
        from lambdapack.resolve.poetrylock import poetry_extra_names, read_poetry_lock

        extras = poetry_extra_names(path) if opts.all_extras else opts.extras
        return read_poetry_lock(path, extras, out, frozen=frozen)
    if fmt == "pipenv":
        from lambdapack.resolve.pipfilelock import read_pipfile_lock

        return read_pipfile_lock(path, opts.extras, out, frozen=frozen)  # Pipfile has no extras
    from lambdapack.resolve.pylock import pylock_extra_names, read_pylock

    return read_pylock(path, pylock_extra_names(path) if opts.all_extras else opts.extras, out, opts.groups)


def _read_pyproject(path: Path, opts: BuildOptions) -> Requirements:
    """[project].dependencies with the extras and the PEP 735 groups asked for."""
    from packaging.requirements import InvalidRequirement, Requirement

    from lambdapack.resolve.pyprojectfile import pyproject_requirements
    from lambdapack.resolve.uvproject import check_names, extra_names, uv_group_lines

    data = read_toml(path)
    extras = tuple(extra_names(data)) if opts.all_extras else opts.extras
    check_names(data, extras, opts.groups, str(path))
    reqs = pyproject_requirements(data, extras, str(path))
    for line in uv_group_lines(data, opts.groups, str(path)):
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement as e:
            raise UsageError(f"{path}: invalid requirement {line!r} in [dependency-groups]: {e}") from None
    return Requirements("pyproject", path, tuple(reqs), extras, groups=opts.groups)


def uv_requirements_file(reqs: Requirements, work: Path) -> Path:
    if reqs.kind == "requirements":
        assert reqs.source is not None
        return reqs.uv_file or reqs.source
    if reqs.kind == "lock":
        return work / "lock-requirements.txt"
    out = work / "pyproject-requirements.txt"
    out.write_text("".join(f"{r}\n" for r in reqs.top_level), encoding="utf-8")
    return out
