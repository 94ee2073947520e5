"""uv.lock read through uv: `uv export` as pinned requirements, for the lock as it is
(`--frozen`), checked against its pyproject.toml (`--locked`, the default) or re-locked first
in a temporary copy (`--relock`, the user's uv.lock is never written). A packaged project is
exported with itself, so the build installs it as a wheel; a virtual one is not."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.install import (
    InstallOptions,
    deadline_error,
    index_args,
    resolve_limits,
    run_uv,
    uv_environment,
)
from lambdapack.resolve.localpaths import absolute_local_paths
from lambdapack.resolve.pyprojectfile import read_toml
from lambdapack.resolve.requirementsfile import parse_requirements_text
from lambdapack.resolve.uvfailure import uv_cause
from lambdapack.resolve.uvproject import check_names, extra_names, is_packaged

__all__ = ["LockRequest", "export_lock_argv", "lock_export", "relock_argv"]

# Files beside pyproject.toml that change what `uv lock` resolves: copied with it for --relock.
_LOCK_SETTINGS = (".python-version", "uv.toml")


@dataclass(frozen=True)
class LockRequest:
    """What to take from a uv.lock."""

    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    all_extras: bool = False
    mode: str = "locked"  # "locked" | "frozen" | "relock" (BuildOptions.lock_mode)


def export_lock_argv(uv: str, project_dir: Path, req: LockRequest, out: Path, *, packaged: bool) -> list[str]:
    """uv.lock -> pinned requirements (pure): no dev group unless asked for, nothing editable, the
    project itself only when it is a package. `--locked` is uv's own check that the lock still
    matches pyproject.toml; a stale lock is an error, never a build of what the project no longer
    asks for. `--frozen` takes the lock as it is (also after our re-lock of a copy)."""
    dev = "dev" in req.groups
    argv = [uv, "export", "--project", str(project_dir), "--frozen" if req.mode != "locked" else "--locked",
            *([] if dev else ["--no-dev"]), "--no-editable", *([] if packaged else ["--no-emit-project"]),
            "--no-header", "--no-annotate", "--format", "requirements-txt", "--color", "never", "-o", str(out)]
    argv += ["--all-extras"] if req.all_extras else [a for e in req.extras for a in ("--extra", e)]
    for g in req.groups:
        argv += ["--group", g]
    return argv


def relock_argv(uv: str, project_dir: Path, opts: InstallOptions) -> list[str]:
    """Re-lock the copy in `project_dir` against the build's indexes (pure)."""
    return [uv, "lock", "--project", str(project_dir), "--no-progress", "--color", "never", *index_args(opts)]


def _refuse_relock(pyproject: Mapping[str, Any], where: Path) -> None:
    """Path sources and workspace members are relative to the project: a copy elsewhere cannot lock them."""
    uv = pyproject.get("tool", {}).get("uv", {})
    sources = uv.get("sources", {}) if isinstance(uv, dict) else {}
    entries = [x for v in (sources.values() if isinstance(sources, dict) else ())
               for x in (v if isinstance(v, list) else [v])]
    local = any(isinstance(x, dict) and ("path" in x or "workspace" in x) for x in entries)
    if local or (isinstance(uv, dict) and "workspace" in uv):
        raise InputError(f"--relock: {where} has path sources or workspace members, which a temporary copy "
                         "cannot re-lock", f"run `uv lock` in {where.parent}, then rebuild")


def _relocked_copy(uv: str, lock: Path, work: Path, env: Mapping[str, str], opts: InstallOptions,
                   pyproject: Mapping[str, Any]) -> tuple[Path, str | None]:
    """A copy of the project's lock inputs in `work`, re-locked; and the note to show if it changed."""
    project = lock.parent
    _refuse_relock(pyproject, project / "pyproject.toml")
    copy = work / "relock"
    copy.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock", *_LOCK_SETTINGS):
        if (project / name).is_file():
            shutil.copyfile(project / name, copy / name)
    limits = resolve_limits(opts, env)
    res = run_uv(relock_argv(uv, copy, opts), uv_environment(env, limits), limits.deadline)
    if res.timed_out:
        raise deadline_error(f"re-locking {lock} with uv", limits, res.stderr)
    if res.returncode != 0:
        raise InputError(f"--relock: re-locking a copy of {lock} failed: {uv_cause(res.stderr)}",
                         f"run `uv lock` in {project} to see why, then rebuild")
    if (copy / "uv.lock").read_bytes() == lock.read_bytes():
        return copy, None
    return copy, (f"{lock} is out of date with its pyproject.toml: built from a re-lock in a temporary copy "
                  "(--relock); your uv.lock is unchanged, run `uv lock` to update it")


def lock_export(uv: str, lock: Path, req: LockRequest, out: Path, env: Mapping[str, str],
                opts: InstallOptions | None = None) -> Requirements:
    project = lock.parent
    if not (project / "pyproject.toml").is_file():
        raise InputError(
            f"{lock} has no pyproject.toml beside it; uv needs both to export the lock",
            "pass the project's uv.lock, or export it with `uv export` and use -r",
        )
    opts = opts or InstallOptions()
    pyproject: dict[str, Any] = read_toml(project / "pyproject.toml")
    check_names(pyproject, req.extras, req.groups, str(project / "pyproject.toml"))
    exported_from = project
    notes: tuple[str, ...] = ()
    if req.mode == "relock":
        exported_from, note = _relocked_copy(uv, lock, out.parent, env, opts, pyproject)
        notes = (note,) if note else ()
    limits = resolve_limits(opts, env)
    argv = export_lock_argv(uv, exported_from, req, out, packaged=is_packaged(pyproject))
    res = run_uv(argv, uv_environment(env, limits), limits.deadline)
    if res.timed_out:
        raise deadline_error(f"exporting {lock} with uv", limits, res.stderr)
    if res.returncode != 0:
        if "needs to be updated" in res.stderr:  # uv's words for a lock that --locked refuses
            raise InputError(f"{lock} is out of date with {project / 'pyproject.toml'}",
                             "run `uv lock` to update it, then rebuild (or --frozen to build the lock as it is, "
                             "--relock to re-lock a temporary copy)")
        raise InputError(
            f"cannot read {lock}: {uv_cause(res.stderr)}", "run `uv lock` to refresh the lock file"
        )
    # uv writes workspace and path members (and a packaged project itself, `.`) relative to the
    # project; uv pip install reads them relative to its own directory, so they are made absolute
    # here, against the user's project also when the export ran on a re-locked copy.
    text = absolute_local_paths(out.read_text(encoding="utf-8"), project)
    out.write_text(text, encoding="utf-8")
    reqs = parse_requirements_text(text, out.parent)
    extras = tuple(extra_names(pyproject)) if req.all_extras else req.extras
    return Requirements("lock", lock, tuple(reqs), extras, groups=req.groups, notes=notes,
                        closed=True)
