"""`lambdapack smoke`: import the package for real, laid out like Lambda, on this machine.

`check` reads an artifact without running it; `smoke` runs it. The function zip and
its layers are extracted (through :func:`open_artifact`, only the entries it accepted)
into one temporary root that mirrors Lambda's file system::

    <root>/var/task            the function zip           (/var/task)
    <root>/opt                 the layers, in order        (/opt; a later layer overwrites)
    <root>/tmp                 writable scratch            (/tmp, TMPDIR)

The package tree is then made read-only (0o555 directories, 0o444 files, 0o555 for
files that were executable) and each module is imported by an interpreter of the
target's minor version *and* architecture, found on this machine and verified by
running it; for another machine's zip (arm64 on x86_64), one run under qemu user-mode
emulation when qemu and such an interpreter are here (`smokeinterp`; each import then has
`EMULATED_SLOWDOWN` times the time). Nothing is pretended: without such an interpreter the
result is "skipped" with the reason, which says what is missing.

Isolation of each import process:

* ``python -I -S``: no PYTHON* variables, no user site, no current directory, and no
  ``site`` at all, so neither this machine's site-packages nor its ``.pth`` hooks
  (editable installs' finders, ``distutils-precedence.pth``) are active. ``sys.path``
  is exactly Lambda's user part (``/var/task``, ``/opt/python/lib/pythonX.Y/site-packages``,
  ``/opt/python``) followed by the interpreter's standard library. A dependency that
  is missing from the zip therefore fails here as it would on Lambda, even when this
  machine has it installed.
* ``sys.dont_write_bytecode`` is set before anything is imported (``-I`` ignores
  PYTHONDONTWRITEBYTECODE, which is set anyway): shipped ``.pyc`` files are read,
  none are written. Because the process may run as root, for whom 0o444 means
  nothing, the tree is also compared before and after; anything written makes the
  result "failed" (``wrote_files``), since /var/task and /opt are read-only on Lambda.
* The environment is built from nothing (no credentials, no proxies): Lambda's
  ``LAMBDA_TASK_ROOT``, ``LD_LIBRARY_PATH`` (task, task/lib, opt/lib: where Lambda's
  loader finds shared libraries), ``AWS_REGION``, ``TZ``, ``LANG``, ``TMPDIR``; the
  working directory is the task root, as on Lambda. Imports are not cut off from
  the network.
* The runtime's SDK (boto3, botocore and the libraries Lambda ships with them) is
  absent by default, so a function that relies on it fails with a hint saying so.
  ``with_runtime_boto3=True`` (CLI: ``--with-runtime-boto3``) lets exactly those
  top-level names be found, after everything else, in the smoke interpreter's own
  site-packages: the way Lambda puts /var/runtime after the user's paths. The versions
  are then this machine's, not Lambda's.

One process per module, several at a time. A fresh process gives each module its
own cold-start import time (shared dependencies included, which is what that import
costs Lambda) and confines a crash (segfault, ``os._exit``, a hang until the timeout)
or an import side effect (monkey-patching) to the module that caused it. Interpreter
start-up (~20 ms) is paid per module and is not part of the reported time, which is
measured in the child with ``time.perf_counter`` around ``importlib.import_module``.
Running imports in parallel makes the times indicative, not benchmarks.

When an import fails, :func:`lambdapack.inspect.check.check` runs on the same artifacts and
the findings that explain it are attached (:func:`smokeplan.attach_findings`).

The parts: `smokeplan` (pure: which modules, the root layout, which findings explain
a failure), `smokeinterp` (which interpreter, native or under qemu, and why there is none),
`smoketree` (the extracted, read-only tree), `smokechild` (one import process and its
report); this module runs them and renders the result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lambdapack.errors import UsageError
from lambdapack.facts.layout import FUNCTION_ROOT, LAYER_ROOT, parse_handler, sys_path
from lambdapack.host.children import map_with_children
from lambdapack.host.emulation import EMULATED_SLOWDOWN
from lambdapack.host.interpreters import Interpreter
from lambdapack.host.processes import Group
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.check import check, distribution_owners, function_as_layer
from lambdapack.inspect.entries import display_name
from lambdapack.inspect.findings import Finding
from lambdapack.inspect.smokechild import ChildReport, ChildRun, run_child
from lambdapack.inspect.smokeinterp import describe_interpreter, emulator_json, find_smoke_interpreter
from lambdapack.inspect.smokeplan import (
    SmokeRoot,
    attach_findings,
    child_env,
    lambda_module,
    modules_to_import,
    to_lambda,
)
from lambdapack.inspect.smoketree import lay_out, remove_tree, snapshot
from lambdapack.target.tags import Target
from lambdapack.units import count

__all__ = ["ModuleResult", "SmokeResult", "render_text", "smoke"]


@dataclass(frozen=True)
class ModuleResult:
    module: str
    ok: bool
    seconds: float | None
    error: str | None
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "module": self.module,
            "ok": self.ok,
            "seconds": self.seconds,
            "error": self.error,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class SmokeResult:
    status: Literal["passed", "failed", "skipped"]
    reason: str | None
    interpreter: Interpreter | None  # the one that imported (None: skipped before finding one)
    results: list[ModuleResult]
    wrote_files: bool  # True if anything appeared in the tree during imports (should never)
    findings: list[Finding] = field(default_factory=list)  # about the whole test (LP208: a layer as the function)

    def as_dict(self) -> dict[str, object]:
        return {
            "version": 1,
            "status": self.status,
            "reason": self.reason,
            "interpreter": _interpreter_json(self.interpreter) if self.interpreter else None,
            "wrote_files": self.wrote_files,
            "results": [r.as_dict() for r in self.results],
            "findings": [f.as_dict() for f in self.findings],
            "summary": {
                "modules": len(self.results),
                "ok": sum(1 for r in self.results if r.ok),
                "failed": sum(1 for r in self.results if not r.ok),
            },
        }


def _interpreter_json(i: Interpreter) -> dict[str, object]:
    # Only CPython is ever used (host.interpreters.probe refuses the others).
    return {"path": str(Path(i.path).absolute()), "version": ".".join(map(str, i.version)),
            "implementation": "cpython", "machine": i.machine, "emulation": emulator_json(i)}


def _module_dists(arts: Sequence[tuple[Artifact, str]], version: str) -> dict[str, set[str]]:
    """top-level module -> distributions owning files in it, from dist-info RECORDs."""
    out: dict[str, set[str]] = {}
    for art, root in arts:
        for name, dist in distribution_owners(art).items():
            mod = lambda_module(f"{root}/{name}", version)
            if mod is not None:
                out.setdefault(mod, set()).add(dist)
    return out


@dataclass(frozen=True)
class _Inputs:
    """The artifacts under test: as given (for `check`) and as opened."""

    function_zip: Path | None
    layers: Sequence[Path]
    function: Artifact | None
    layer_arts: list[Artifact]


def smoke(
    function_zip: Path | None,
    layers: Sequence[Path],
    target: Target,
    *,
    handler: str | None = None,
    timeout: float = 120.0,
    with_runtime_boto3: bool = False,
) -> SmokeResult:
    """Import the function (its handler module, or every top-level module of the zip and
    layers) the way Lambda would, and report each import.

    `timeout` bounds each import process (times EMULATED_SLOWDOWN under emulation). Raises
    UsageError for nothing to test or a malformed handler, ArtifactError for an artifact that
    cannot be opened.
    """
    if function_zip is None and not layers:
        raise UsageError("nothing to smoke-test", "pass a function zip and/or --with-layer ZIP")
    module, function = _handler_module(handler)
    version = target.runtime.version
    interp, why_not = find_smoke_interpreter(target)
    if interp is None:
        return SmokeResult("skipped", why_not, None, [], False)
    if interp.launcher:
        timeout *= EMULATED_SLOWDOWN

    with ExitStack() as stack:
        fn_art = stack.enter_context(open_artifact(function_zip)) if function_zip is not None else None
        inputs = _Inputs(function_zip, layers, fn_art, [stack.enter_context(open_artifact(p)) for p in layers])
        layout = SmokeRoot(Path(os.path.realpath(tempfile.mkdtemp(prefix="lambdapack-smoke-"))))
        stack.callback(remove_tree, layout.root)
        lay_out(layout, inputs.function, inputs.layer_arts)
        local_paths = layout.local_paths(version)
        assert [to_lambda(p, layout.roots) for p in local_paths] == sys_path(target.runtime)

        as_layer = _function_as_layer(fn_art, version, handler)
        if module is not None:
            modules = [module]
        else:
            function_names = [e.name for e in fn_art.entries] if fn_art is not None else None
            if as_layer:
                function_names = []  # a layer given as the function: its python/ folder proves nothing
            layer_names = [[e.name for e in art.entries] for art in inputs.layer_arts]
            modules = modules_to_import(function_names, layer_names, version)
        if not modules:
            if as_layer:
                return _verdict([], [], interp, as_layer)
            return SmokeResult("skipped", "no importable top-level module in the function or its layers "
                               "(pass --handler to name one)", interp, [], False)

        run = ChildRun(interp.path, function, local_paths, child_env(layout, target), str(layout.task), timeout,
                       with_runtime_boto3, layout.roots, version, Group(), interp.launcher)
        raws, changed = _import_all(run, modules, layout)
        results = _results(raws, inputs, target, handler)
    return _verdict(results, changed, interp, as_layer)


def _function_as_layer(fn_art: Artifact | None, version: str, handler: str | None) -> list[Finding]:
    """LP208 when the function zip is laid out as a layer (nothing of it imports from /var/task)."""
    if fn_art is None:
        return []
    return function_as_layer([e.name for e in fn_art.entries if not e.is_dir], version, handler)


def _handler_module(handler: str | None) -> tuple[str | None, str | None]:
    """(module, function) named by `--handler`, or (None, None) without one."""
    if handler is None:
        return None, None
    parsed = parse_handler(handler)
    if parsed is None or not parsed.importable:
        raise UsageError(f"handler {handler!r} is not of the form module.function",
                         "e.g. --handler lambda_function.lambda_handler")
    return parsed.dotted, parsed.function


def _import_all(run: ChildRun, modules: list[str], layout: SmokeRoot) -> tuple[list[ChildReport], list[str]]:
    """Every module imported in its own process, and the Lambda paths that changed meanwhile."""
    before = snapshot([layout.task, layout.opt])
    workers = max(1, min(len(modules), os.cpu_count() or 2))
    # The main thread waits interruptibly: SIGTERM or Ctrl-C kills the imports at once.
    raws = map_with_children(lambda m: run_child(run, m), modules, workers, run.children)
    after = snapshot([layout.task, layout.opt])
    changed = sorted(to_lambda(p, run.roots) for p in set(before) | set(after) if before.get(p) != after.get(p))
    return raws, changed


def _results(raws: list[ChildReport], inputs: _Inputs, target: Target, handler: str | None) -> list[ModuleResult]:
    """One result per import; a failed one carries the check findings that explain it."""
    findings: list[Finding] = []
    dists: dict[str, set[str]] = {}
    version = target.runtime.version
    if any(r.error for r in raws):
        findings = check(
            [inputs.function_zip] if inputs.function_zip is not None else [], inputs.layers,
            runtime=target.runtime.name, arch=target.arch.value, handler=handler,
        ).findings
        fn_art = inputs.function
        dists = _module_dists(
            ([(fn_art, FUNCTION_ROOT)] if fn_art is not None else []) + [(a, LAYER_ROOT) for a in inputs.layer_arts],
            version,
        )
    return [
        ModuleResult(
            r.module, r.error is None, r.seconds, r.error,
            attach_findings(r.module, r.involved, r.error, findings, version, dists) if r.error else [],
        )
        for r in raws
    ]


def _verdict(
    results: list[ModuleResult], changed: list[str], interp: Interpreter, findings: list[Finding]
) -> SmokeResult:
    """Passed, or failed with why: a layer given as the function, failed imports, or writes
    into the read-only tree."""
    failed = [r.module for r in results if not r.ok]
    reasons = [f"the function zip {f.message}; {f.fix}" for f in findings]
    if failed:
        reasons.append(f"{len(failed)} of {count(len(results), 'import')} failed: {', '.join(failed)}")
    if changed:
        shown = ", ".join(display_name(p) for p in changed[:5]) + (" …" if len(changed) > 5 else "")
        reasons.append(f"imports wrote into the package tree ({shown}); /var/task and /opt are read-only on "
                       "Lambda, so these writes fail there")
    status: Literal["passed", "failed"] = "failed" if reasons else "passed"
    return SmokeResult(status, "; ".join(reasons) or None, interp, results, bool(changed), findings)


def render_text(r: SmokeResult) -> str:
    lines = [f"smoke test {r.status.upper()}" + (f": {r.reason}" if r.reason else "")]
    if r.interpreter:
        lines.append(f"interpreter: {describe_interpreter(r.interpreter)} (isolated: Lambda's paths and the standard library only)")
        if r.interpreter.launcher:
            lines.append("  (emulated: import times are the emulator's, several times Lambda's)")
    width = max((len(m.module) for m in r.results), default=0)
    for m in r.results:
        if m.ok:
            t = f"{m.seconds * 1000:8.1f} ms" if m.seconds is not None else ""
            lines.append(f"  ok    {m.module:<{width}}  {t}")
            continue
        err = (m.error or "failed").splitlines()
        lines.append(f"  FAIL  {m.module:<{width}}  {err[0]}")
        lines += [f"        {' ' * width}  {e}" for e in err[1:]]
        for f in m.findings:
            dist = f" [{f.distribution}]" if f.distribution else ""
            lines.append(f"        {' ' * width}  {f.code} {f.severity}: {display_name(f.path)}{dist}: {f.message}")
            lines.append(f"        {' ' * width}    fix: {f.fix}")
    if r.results:
        ok = sum(1 for m in r.results if m.ok)
        total = sum(m.seconds or 0.0 for m in r.results if m.ok)
        lines.append(f"{ok} of {count(len(r.results), 'module')} imported; {total * 1000:.0f} ms of imports "
                     "(each in a fresh process)")
    return "\n".join(lines) + "\n"
