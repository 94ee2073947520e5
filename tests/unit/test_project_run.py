"""Running a project's jobs (project/run.py) with a real thread pool and a stand-in builder: the
order of layers and functions, skips after a failed layer, and state shared between threads."""

from __future__ import annotations

import sysconfig
import threading
from pathlib import Path

import pytest

from lambdapack.errors import UsageError
from lambdapack.pipeline.options import BuildOptions
from lambdapack.pipeline.result import BuildResult
from lambdapack.progress import Progress
from lambdapack.project.plan import Job
from lambdapack.project.run import run_jobs


def _job(key: str, needs: tuple[str, ...] = ()) -> Job:
    opts = BuildOptions(runtime="python3.12", arch="x86_64", output=Path(f"{key}.zip"))
    return Job(key, key, "layer" if key.startswith("layer") else "function", opts, needs)


def _quiet(_job: Job) -> Progress:
    return lambda _msg: None


def test_sysconfig_is_filled_before_any_build_thread_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.10/3.11 set sysconfig._CONFIG_VARS to {} and fill it afterwards; two threads
    # asking first saw EXE as None (uv.find_uv_bin: "can only concatenate str (not NoneType)").
    monkeypatch.setattr(sysconfig, "_CONFIG_VARS", None)
    seen: list[object] = []

    def builder(opts: BuildOptions, say: Progress) -> BuildResult:
        seen.append(dict(getattr(sysconfig, "_CONFIG_VARS", None) or {}).get("EXE"))
        raise UsageError("stop here")

    outcomes = run_jobs([_job("a"), _job("b")], _quiet, 2, builder)
    assert [o.error is not None for o in outcomes] == [True, True]
    assert seen and all(isinstance(exe, str) for exe in seen), seen


def test_a_failed_layer_skips_its_functions_and_not_the_others() -> None:
    started: list[str] = []
    lock = threading.Lock()

    def builder(opts: BuildOptions, say: Progress) -> BuildResult:
        with lock:
            started.append(str(opts.output))
        raise UsageError(f"{opts.output} failed")

    jobs = [_job("layer x"), _job("fn", ("layer x",)), _job("free")]
    by = {o.job.key: o for o in run_jobs(jobs, _quiet, 2, builder)}
    assert by["fn"].skipped == "not built: layer x failed" and by["fn"].error is None
    assert by["free"].error is not None and not by["free"].ok
    assert sorted(started) == ["free.zip", "layer x.zip"]


def test_every_output_folder_exists_before_the_builds_start(tmp_path: Path) -> None:
    # Each build's early writable check creates a missing folder and removes it again: in two
    # threads on one new dist/ that raced ("it exists and is not a directory").
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    jobs = [_job("layer a"), _job("fn", ("layer a",)), _job("odd")]
    outs = {"layer a": tmp_path / "dist" / "sub" / "a.zip", "fn": tmp_path / "dist" / "fn.zip",
            "odd": blocker / "odd.zip"}
    jobs = [Job(j.key, j.name, j.kind, BuildOptions(runtime="python3.12", arch="x86_64", output=outs[j.key]),
                j.needs) for j in jobs]
    seen: list[bool] = []

    def builder(opts: BuildOptions, say: Progress) -> BuildResult:
        seen.append((tmp_path / "dist" / "sub").is_dir() and (tmp_path / "dist").is_dir())
        raise UsageError("stop here")

    by = {o.job.key: o for o in run_jobs(jobs, _quiet, 2, builder)}
    assert seen == [True]  # only the layer ran: fn waits for it, odd never got a folder
    err = by["odd"].error
    assert err is not None and err.exit_code == 2 and "writing the output" in err.message, err
    assert by["fn"].skipped == "not built: layer a failed"
