"""The dependency input as uv reads it: requirements loaded from the chosen file, the file
handed to uv, the index it resolves against, and the files to quote when uv rejects a line."""

from __future__ import annotations

import os
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.pipeline.options import BuildOptions
from lambdapack.resolve.detect import lock_format
from lambdapack.resolve.inputs import Piped, Requirements
from lambdapack.resolve.install import lock_export
from lambdapack.resolve.pyprojectfile import read_pyproject
from lambdapack.resolve.requirementsfile import piped_requirements, read_requirements_file

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
    if isinstance(path, Piped):
        # Written once per work directory from the content read at the start: uv reads
        # this file and the resolution key hashes it.
        return piped_requirements(path, work / "piped-requirements.txt")
    if kind == "requirements":
        return read_requirements_file(path, work)
    if kind == "pyproject":
        return read_pyproject(path, opts.extras)
    if kind == "lock":
        return _read_lock(path, opts, uv, work / "lock-requirements.txt", env)
    raise UsageError(f"unknown dependency input kind {kind!r}")


def _read_lock(path: Path, opts: BuildOptions, uv: str, out: Path, env: dict[str, str]) -> Requirements:
    """A lock of any format as pinned requirements in `out` (uv.lock through `uv export`, the rest read here)."""
    fmt = lock_format(path)
    if fmt == "poetry":
        from lambdapack.resolve.poetrylock import read_poetry_lock

        return read_poetry_lock(path, opts.extras, out)
    if fmt == "pipenv":
        from lambdapack.resolve.pipfilelock import read_pipfile_lock

        return read_pipfile_lock(path, opts.extras, out)
    if fmt == "pylock":
        from lambdapack.resolve.pylock import read_pylock

        return read_pylock(path, opts.extras, out)
    return lock_export(uv, path, opts.extras, out, env, opts.install)


def uv_requirements_file(reqs: Requirements, work: Path) -> Path:
    if reqs.kind == "requirements":
        assert reqs.source is not None
        return reqs.uv_file or reqs.source
    if reqs.kind == "lock":
        return work / "lock-requirements.txt"
    out = work / "pyproject-requirements.txt"
    out.write_text("".join(f"{r}\n" for r in reqs.top_level), encoding="utf-8")
    return out
