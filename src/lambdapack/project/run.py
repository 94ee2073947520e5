"""Running a project's jobs: independent artifacts in parallel (threads: the heavy work is in uv,
the compile workers and zlib, which leave the GIL), each function once its layers are built.

A failed job does not stop the others; the functions that use a failed layer are skipped with
that reason. Each job is one ordinary single build (pipeline.build), with its own cache handle,
so the cache's locks work between the threads as between processes.
"""

from __future__ import annotations

import sysconfig
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from lambdapack.errors import WRITING_OUTPUT, LambdapackError, from_os_error
from lambdapack.host.processes import stop_all
from lambdapack.pipeline.build import build
from lambdapack.pipeline.options import BuildOptions
from lambdapack.pipeline.result import BuildFailed, BuildResult
from lambdapack.progress import Progress
from lambdapack.project.plan import Job

__all__ = ["Interrupted", "Outcome", "run_jobs"]

_POLL_SECONDS = 0.1
Builder = Callable[[BuildOptions, Progress], BuildResult]


@dataclass
class Outcome:
    """What became of one job: a result, an error (with the result when the build got that far), or skipped."""

    job: Job
    result: BuildResult | None = None
    error: LambdapackError | None = None
    skipped: str | None = None  # why it was not built
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None and self.error is None and self.skipped is None


def run_jobs(jobs: list[Job], progress_for: Callable[[Job], Progress], workers: int,
             builder: Builder = build) -> list[Outcome]:
    """Build every job; the outcomes come back in the plan's order."""
    # sysconfig before Python 3.12 publishes its dict before filling it: a first call in two
    # threads at once returns None for EXE (uv.find_uv_bin crashed). Fill it before the threads.
    sysconfig.get_config_vars()
    outcomes = _output_folders(jobs)
    pending = [j for j in jobs if j.key not in outcomes]
    stopping = threading.Event()

    def progress(job: Job) -> Progress:
        say = progress_for(job)

        def checked(msg: str) -> None:
            # After Ctrl-C a build ends at its next step, instead of packing a zip nobody waits for.
            if stopping.is_set():
                raise _Stopped
            say(msg)

        return checked

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lambdapack-build")
    try:
        running: dict[Future[Outcome], Job] = {}
        while pending or running:
            for job in [j for j in pending if all(k in outcomes for k in j.needs)]:
                pending.remove(job)
                failed = [k for k in job.needs if not outcomes[k].ok]
                if failed:
                    outcomes[job.key] = Outcome(job, skipped=f"not built: {', '.join(failed)} failed")
                    continue
                running[pool.submit(_run_one, job, progress(job), builder)] = job
            if not running:
                continue
            # In short slices: a wait without a timeout is not interrupted by Ctrl-C on Windows.
            finished, _ = wait(running, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                outcomes[job.key] = fut.result()
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: kill every child now and let each thread end at its next step,
        # then say which zips were finished before the stop (each is renamed into place whole).
        stopping.set()
        stop_all(refuse_new=True)
        pool.shutdown(wait=True, cancel_futures=True)
        done = [*outcomes.values(), *(f.result() for f in running if f.done() and not f.cancelled()
                                      and f.exception() is None)]
        raise Interrupted([o.job.options.output for o in done if o.ok and o.job.options.output]) from None
    except BaseException:
        stopping.set()
        stop_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [outcomes[j.key] for j in jobs]


class Interrupted(KeyboardInterrupt):
    """A project build stopped by Ctrl-C or SIGTERM; `message` names the zips finished before it."""

    def __init__(self, written: list[Path]) -> None:
        super().__init__()
        self.message = ("interrupted; finished before the stop: " + ", ".join(str(p) for p in written)
                        + "; nothing else was written") if written else "interrupted; no output was written"


class _Stopped(Exception):
    """Raised in a build thread when the project build was interrupted."""


def _output_folders(jobs: list[Job]) -> dict[str, Outcome]:
    """Create every output's folder before the threads start: each build's early check that its
    output is writable creates a missing folder and removes it again, which two threads racing
    on one dist/ turned into "it exists and is not a directory". The jobs that cannot have one."""
    failed: dict[str, Outcome] = {}
    for job in jobs:
        if job.options.output is None:
            continue
        out = Path(job.options.output)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            failed[job.key] = Outcome(job, error=from_os_error(e, WRITING_OUTPUT, out))
    return failed


def _run_one(job: Job, say: Progress, builder: Builder) -> Outcome:
    started = time.perf_counter()
    out = Outcome(job)
    try:
        try:
            out.result = builder(job.options, say)
        except OSError as e:
            raise from_os_error(e) from e
    except BuildFailed as e:
        out.result, out.error = e.result, e
    except LambdapackError as e:
        out.error = e
    out.seconds = time.perf_counter() - started
    return out
