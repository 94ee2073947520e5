"""One import process of a smoke test: start `scripts/smoke_child.py`, read what it reported.

The child runs in the smoke interpreter as ``python -I -S smoke_child.py CONFIG``
(argv[1] a JSON config); its result is one JSON line on its stdout. Whatever else it
prints, a crash, a signal or a timeout becomes an error text, with local paths shown
as the Lambda paths they stand for.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdapack.facts import sdk
from lambdapack.host.emulation import guest_command
from lambdapack.host.processes import Group, Stopped, Timeout, script
from lambdapack.inspect.smokeplan import lambda_module, to_lambda

__all__ = ["RUNTIME_SDK", "ChildReport", "ChildRun", "run_child"]

# Top-level names the Lambda Python runtime provides in /var/runtime (boto3 and what
# it needs). Absent from smoke runs unless with_runtime_boto3.
RUNTIME_SDK: tuple[str, ...] = sdk.INCLUDED_MODULES

_CHILD = "smoke_child.py"


@dataclass(frozen=True)
class ChildRun:
    """What every import process of one smoke test shares (all but the module)."""

    exe: str  # the smoke interpreter
    function: str | None  # the handler function to look up after the import, if any
    paths: list[str]  # Lambda's user sys.path, locally
    env: dict[str, str]
    cwd: str  # the local /var/task
    timeout: float  # seconds for one import process
    with_sdk: bool  # let the runtime's SDK names be found (with_runtime_boto3)
    roots: Mapping[str, str]  # local root -> Lambda path, for messages
    version: str  # "3.12"
    children: Group  # stops every child at once when the command ends
    launcher: tuple[str, ...] = ()  # runs `exe` here: () natively, else qemu's command prefix


@dataclass(frozen=True)
class ChildReport:
    """What one child reported."""

    module: str
    seconds: float | None
    error: str | None
    involved: frozenset[str]  # top-level modules whose files the error names


def run_child(run: ChildRun, module: str) -> ChildReport:
    """Import `module` in a fresh process of the smoke interpreter and report how it went."""
    cfg = {"module": module, "function": run.function, "path": run.paths,
           "sdk": list(RUNTIME_SDK) if run.with_sdk else []}
    prefix, env = guest_command(run.launcher, run.env)
    argv = [*prefix, run.exe, "-I", "-S", script(_CHILD), json.dumps(cfg)]
    # Its own process group: whatever the import starts in the background dies with it.
    proc = run.children.start(argv, own_group=True, cwd=run.cwd, env=env)
    try:
        out_b, err_b = proc.communicate(timeout=run.timeout)
    except Timeout:
        proc.kill()
        proc.communicate()
        return ChildReport(module, None, f"import did not finish within {run.timeout:g}s (killed)", frozenset())
    finally:
        proc.kill()
        run.children.forget(proc)
    if run.children.stopped:
        raise Stopped  # killed because the command is ending
    res = _result_line(out_b.decode("utf-8", "replace"), module)
    if res is None:
        stderr = to_lambda(err_b.decode("utf-8", "replace"), run.roots)
        rc = proc.returncode if proc.returncode is not None else -1
        return ChildReport(module, None, _no_report(rc, stderr), frozenset())
    return _read_result(run, module, res)


def _result_line(stdout: str, module: str) -> dict[str, Any] | None:
    """The child's JSON result: the last line of its stdout that is one, for `module`."""
    for line in reversed(stdout.splitlines()):
        try:
            cand = json.loads(line)
        except ValueError:
            continue
        if isinstance(cand, dict) and cand.get("module") == module:
            return cand
    return None


def _no_report(rc: int, stderr: str) -> str:
    """The error of a child that ended without reporting (crash, signal, exit)."""
    if rc < 0:
        try:
            how = f"crashed with {signal.Signals(-rc).name}"
        except ValueError:
            how = f"was killed by signal {-rc}"
    else:
        how = f"exited with code {rc}"
    tail = "\n".join(stderr.strip().splitlines()[-5:])[-1500:]
    return f"the import process {how} before reporting" + (f":\n{tail}" if tail else "")


def _read_result(run: ChildRun, module: str, res: dict[str, Any]) -> ChildReport:
    """A reported result as a `ChildReport`: the error text as on Lambda, with a hint for the SDK."""
    err = res.get("error")
    if not err:
        return ChildReport(module, float(res["seconds"]), None, frozenset())
    roots = run.roots
    text = f"{err['type']}: {to_lambda(str(err['message']), roots)}"
    frame = err.get("frame")
    if frame:
        text += f"\n  at {to_lambda(str(frame[0]), roots)}:{frame[1]} in {frame[2]}"
        if frame[3]:
            text += f"\n    {frame[3]}"
    name = err.get("name")
    top = name.split(".", 1)[0] if isinstance(name, str) else None
    if err["type"] == "ModuleNotFoundError" and top in RUNTIME_SDK and not run.with_sdk:
        text += (f"\n  ({top} is part of the Lambda runtime, which the smoke test leaves out unless "
                 "--with-runtime-boto3; AWS recommends shipping your own copy)")
    involved = {
        m for f in err.get("files", []) if (m := lambda_module(to_lambda(str(f), roots), run.version))
    }
    seconds = res.get("seconds")
    return ChildReport(module, float(seconds) if seconds is not None else None, text, frozenset(involved))
