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
running it. Nothing is pretended: without such an interpreter the result is
"skipped" with the reason.

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
the findings that explain it are attached (:func:`attach_findings`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lambdapack.errors import UsageError
from lambdapack.facts import sdk
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    VERSIONED_DIR_RE,
    is_module_file,
    module_name,
    parse_handler,
    split_shown,
    sys_path,
)
from lambdapack.host.children import map_with_children
from lambdapack.host.interpreters import Interpreter, find_interpreter
from lambdapack.host.processes import Group, Stopped, Timeout, script
from lambdapack.inspect.archive import Artifact, open_artifact
from lambdapack.inspect.check import check, distribution_owners
from lambdapack.inspect.entries import display_name
from lambdapack.inspect.findings import ERROR, INFO, Finding
from lambdapack.inspect.placement import escapes as _escapes
from lambdapack.inspect.rulebook import RULES, family
from lambdapack.target.tags import Target

__all__ = [
    "RUNTIME_SDK",
    "ModuleResult",
    "SmokeResult",
    "attach_findings",
    "render_text",
    "smoke",
    "top_level_modules",
]

# Top-level names the Lambda Python runtime provides in /var/runtime (boto3 and what
# it needs). Absent from smoke runs unless with_runtime_boto3.
RUNTIME_SDK: tuple[str, ...] = sdk.INCLUDED_MODULES

# Codes of findings about native code: a bad binary anywhere in a distribution can
# break the import of any of its modules (e.g. a library in `<dist>.libs/`).
_BINARY_CODES = frozenset(code for code in RULES if family(code) == "LP0")



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
    interpreter: str | None
    results: list[ModuleResult]
    wrote_files: bool  # True if anything appeared in the tree during imports (should never)

    def as_dict(self) -> dict[str, object]:
        return {
            "version": 1,
            "status": self.status,
            "reason": self.reason,
            "interpreter": self.interpreter,
            "wrote_files": self.wrote_files,
            "results": [r.as_dict() for r in self.results],
            "summary": {
                "modules": len(self.results),
                "ok": sum(1 for r in self.results if r.ok),
                "failed": sum(1 for r in self.results if not r.ok),
            },
        }


# -- module discovery (pure) ---------------------------------------------------------


def top_level_modules(names: Iterable[str]) -> list[str]:
    """Importable top-level names of one sys.path directory, from the file names in it.

    `names` are paths relative to that directory. Folders count when their name is an
    identifier and something below them is Python code (.py or an extension module);
    `*.dist-info`, `*.libs` and other dotted names, `__pycache__`, `bin` and dunder
    names are skipped. Sorted, without duplicates.
    """
    found: set[str] = set()
    for name in names:
        first, sep, rest = name.strip("/").partition("/")
        if sep:
            if (
                first.isidentifier()
                and first not in ("__pycache__", "bin")
                and not first.startswith("__")
                and "__pycache__/" not in rest
                and is_module_file(rest.rsplit("/", 1)[-1])
            ):
                found.add(first)
        else:
            mod = module_name(first)
            if mod is not None and not mod.startswith("__"):
                found.add(mod)
    return sorted(found)


def _layer_names_by_root(names: Iterable[str], version: str) -> dict[str, list[str]]:
    """A layer's names split by the sys.path entry they land in (relative to it)."""
    site = f"python/lib/python{version}/site-packages/"
    out: dict[str, list[str]] = {site: [], "python/": []}
    for n in names:
        if n.startswith(site):
            out[site].append(n[len(site):])
        elif n.startswith("python/") and not VERSIONED_DIR_RE.match(n):
            out["python/"].append(n[len("python/"):])
    return out


def _lambda_module(path: str, version: str) -> str | None:
    """The top-level module a Lambda path (/var/task/..., /opt/python/...) belongs to."""
    for root in sys_path(version):
        prefix = root + "/"
        if path.startswith(prefix):
            rest = path[len(prefix):]
            if root == f"{LAYER_ROOT}/python" and VERSIONED_DIR_RE.match(f"python/{rest}"):
                continue  # inside site-packages, handled by its own root
            first, sep, _ = rest.partition("/")
            if sep:
                return first
            return module_name(first) or first
    return None




def _finding_lambda_path(f: Finding) -> str | None:
    """A check finding's path as a Lambda path (None when it names no file)."""
    if not f.path:
        return None
    layer, rel = split_shown(f.path)
    return f"{LAYER_ROOT if layer is not None else FUNCTION_ROOT}/{rel}"


# -- finding attachment (pure) ----------------------------------------------------------


def attach_findings(
    module: str,
    involved: Iterable[str],
    error: str,
    findings: Sequence[Finding],
    version: str,
    module_dists: Mapping[str, Iterable[str]] | None = None,
) -> list[Finding]:
    """The check findings that explain why `module` failed to import.

    A finding is attached when (info-level findings never are):
    - its file is inside the failing module or one of the `involved` modules (those
      whose files appear in the traceback or as the ImportError's path);
    - its file's name appears in the error text (e.g. "libfoo.so.1: cannot open...");
    - it is a binary error (LP001-LP007) of a distribution that owns files of the
      failing or involved modules (`module_dists`: module -> "dist version"), which
      covers libraries vendored in `<dist>.libs/`;
    - it is an error about the artifact as a whole (no path).
    """
    mods = {module, *involved}
    dists: set[str] = set()
    for m in mods:
        dists.update((module_dists or {}).get(m, ()))
    out: list[Finding] = []
    for f in findings:
        if f.severity == INFO:
            continue
        lp = _finding_lambda_path(f)
        if lp is None:
            if f.severity == ERROR:
                out.append(f)
            continue
        base = lp.rsplit("/", 1)[-1]
        if (
            _lambda_module(lp, version) in mods
            or (len(base) > 3 and base in error)
            or (f.code in _BINARY_CODES and f.severity == ERROR and f.distribution in dists)
        ):
            out.append(f)
    return out


# -- interpreters ---------------------------------------------------------------------


def _describe(i: Interpreter) -> str:
    return f"{i.path} (Python {'.'.join(map(str, i.version))}, {i.machine})"


# -- extraction -------------------------------------------------------------------------

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _safe_dir(base: Path, parts: Sequence[str]) -> Path | None:
    """base/parts..., creating real directories; None when a component is a link or a file."""
    here = base
    for part in parts:
        here = here / part
        try:
            st = here.lstat()
        except FileNotFoundError:
            here.mkdir(mode=0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            return None  # never write through a symlink or into a file
    return here


def _extract(art: Artifact, dest: Path) -> None:
    """Write the entries `art` accepted under dest; nothing else, nowhere else."""
    links: dict[str, str] = {}
    for e in art.entries:
        if e.is_symlink:
            links[e.name] = art.read(e.name, 4096).decode("utf-8", "surrogateescape")
    for e in art.entries:
        parts = e.name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            continue  # open_artifact normalises names; refuse anything else anyway
        if e.is_dir:
            _safe_dir(dest, parts)
            continue
        parent = _safe_dir(dest, parts[:-1])
        if parent is None:
            continue
        target = parent / parts[-1]
        try:
            st: os.stat_result | None = target.lstat()
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                continue  # a file over a directory: unzip refuses too
            target.unlink()  # a later layer overwrites an earlier one's file or link
        if e.is_symlink:
            # Only links that stay inside this artifact's root (open_artifact already
            # reported the others as LP303 errors).
            if not _escapes(e.name, links[e.name], links):
                target.symlink_to(links[e.name])
            continue
        data = art.read(e.name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if e.mode is not None and e.mode & 0o111:
            os.chmod(target, 0o755)


def _real_dirs(root: Path) -> list[str]:
    return [dp for dp, _, _ in os.walk(root, followlinks=False)]


def _set_modes(root: Path, *, writable: bool) -> None:
    """0o555/0o444 (0o555 for executables) on every real file and directory, or back to
    owner-writable; symlinks are never followed."""
    dirs = _real_dirs(root)
    if writable:
        for d in dirs:  # top-down, so every directory is writable before its children
            os.chmod(d, 0o755)
        return
    for d in dirs:
        for p in Path(d).iterdir():
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                os.chmod(p, 0o555 if st.st_mode & 0o111 else 0o444)
    for d in reversed(dirs):
        os.chmod(d, 0o555)


def _snapshot(roots: Iterable[Path]) -> dict[str, tuple[int, int, int]]:
    snap: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dp, dns, fns in os.walk(root, followlinks=False):
            for n in dns + fns:
                p = f"{dp}/{n}"
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return snap


def _remove_tree(root: Path) -> None:
    """chmod back, then delete (twice: an import may have left read-only directories)."""
    for _ in range(2):
        try:
            _set_modes(root, writable=True)
            shutil.rmtree(root)
            return
        except FileNotFoundError:
            return
        except OSError:
            continue
    shutil.rmtree(root, ignore_errors=True)


# -- the child process -------------------------------------------------------------------

# The child: scripts/smoke_child.py, run in the smoke interpreter. argv[1] is a JSON
# config; the result is one JSON line on its stdout.
_CHILD = "smoke_child.py"


@dataclass(frozen=True)
class _Raw:
    """What one child reported."""

    module: str
    seconds: float | None
    error: str | None
    involved: frozenset[str]


def _to_lambda(text: str, roots: Mapping[str, str]) -> str:
    for local, remote in roots.items():
        text = text.replace(local, remote)
    return text


def _run_child(
    exe: str, module: str, function: str | None, paths: list[str], env: dict[str, str], cwd: str,
    timeout: float, sdk: bool, roots: Mapping[str, str], version: str, children: Group,
) -> _Raw:
    cfg = {"module": module, "function": function, "path": paths, "sdk": list(RUNTIME_SDK) if sdk else []}
    argv = [exe, "-I", "-S", script(_CHILD), json.dumps(cfg)]
    # Its own process group: whatever the import starts in the background dies with it.
    proc = children.start(argv, own_group=True, cwd=cwd, env=env)
    try:
        out_b, err_b = proc.communicate(timeout=timeout)
    except Timeout:
        proc.kill()
        proc.communicate()
        return _Raw(module, None, f"import did not finish within {timeout:g}s (killed)", frozenset())
    finally:
        proc.kill()
        children.forget(proc)
    if children.stopped:
        raise Stopped  # killed because the command is ending
    stderr = _to_lambda(err_b.decode("utf-8", "replace"), roots)
    res: dict[str, Any] | None = None
    for line in reversed(out_b.decode("utf-8", "replace").splitlines()):
        try:
            cand = json.loads(line)
        except ValueError:
            continue
        if isinstance(cand, dict) and cand.get("module") == module:
            res = cand
            break
    if res is None:
        rc = proc.returncode if proc.returncode is not None else -1
        if rc < 0:
            try:
                how = f"crashed with {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        else:
            how = f"exited with code {rc}"
        tail = "\n".join(stderr.strip().splitlines()[-5:])[-1500:]
        return _Raw(module, None, f"the import process {how} before reporting" + (f":\n{tail}" if tail else ""),
                    frozenset())
    err = res.get("error")
    if not err:
        return _Raw(module, float(res["seconds"]), None, frozenset())
    text = f"{err['type']}: {_to_lambda(str(err['message']), roots)}"
    frame = err.get("frame")
    if frame:
        text += f"\n  at {_to_lambda(str(frame[0]), roots)}:{frame[1]} in {frame[2]}"
        if frame[3]:
            text += f"\n    {frame[3]}"
    name = err.get("name")
    top = name.split(".", 1)[0] if isinstance(name, str) else None
    if err["type"] == "ModuleNotFoundError" and top in RUNTIME_SDK and not sdk:
        text += (f"\n  ({top} is part of the Lambda runtime, which the smoke test leaves out unless "
                 "--with-runtime-boto3; AWS recommends shipping your own copy)")
    involved = {m for f in err.get("files", []) if (m := _lambda_module(_to_lambda(str(f), roots), version))}
    seconds = res.get("seconds")
    return _Raw(module, float(seconds) if seconds is not None else None, text, frozenset(involved))


# -- the command ----------------------------------------------------------------------------


def _child_env(task: Path, opt: Path, tmp: Path, target: Target) -> dict[str, str]:
    return {
        "PATH": f"{opt}/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LD_LIBRARY_PATH": f"{task}:{task}/lib:{opt}/lib",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{target.runtime.name}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "lambdapack-smoke",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "TMPDIR": str(tmp),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _module_dists(arts: Sequence[tuple[Artifact, str]], version: str) -> dict[str, set[str]]:
    """top-level module -> distributions owning files in it, from dist-info RECORDs."""
    out: dict[str, set[str]] = {}
    for art, root in arts:
        for name, dist in distribution_owners(art).items():
            mod = _lambda_module(f"{root}/{name}", version)
            if mod is not None:
                out.setdefault(mod, set()).add(dist)
    return out


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

    `timeout` bounds each import process. Raises UsageError for nothing to test or a
    malformed handler, ArtifactError for an artifact that cannot be opened.
    """
    if function_zip is None and not layers:
        raise UsageError("nothing to smoke-test", "pass a function zip and/or --layer ZIP")
    function: str | None = None
    module: str | None = None
    if handler is not None:
        parsed = parse_handler(handler)
        if parsed is None or not parsed.importable:
            raise UsageError(f"handler {handler!r} is not of the form module.function",
                             "e.g. --handler lambda_function.lambda_handler")
        module, function = parsed.dotted, parsed.function
    version = target.runtime.version
    machine = target.arch.machine
    interp = find_interpreter(target.runtime.python, machine)
    if interp is None:
        other = find_interpreter(target.runtime.python)
        if other is not None:
            reason = (f"no Python {version} interpreter for {machine} ({target.arch.value}) on this machine "
                      f"(found Python {version} for {other.machine} only); {target.arch.value} code cannot "
                      "be imported here, so nothing was tested")
        else:
            reason = (f"no Python {version} interpreter on this machine (looked on PATH, in pyenv and in "
                      f"uv's managed Pythons); install it (e.g. `uv python install {version}`) to smoke-test "
                      f"{target.runtime.name}")
        return SmokeResult("skipped", reason, None, [], False)

    with ExitStack() as stack:
        fn_art = stack.enter_context(open_artifact(function_zip)) if function_zip is not None else None
        layer_arts = [stack.enter_context(open_artifact(p)) for p in layers]
        root = Path(os.path.realpath(tempfile.mkdtemp(prefix="lambdapack-smoke-")))
        stack.callback(_remove_tree, root)
        task, opt, tmp = root / "var" / "task", root / "opt", root / "tmp"
        for d in (task, opt, tmp):
            d.mkdir(parents=True)
        if fn_art is not None:
            _extract(fn_art, task)
        for art in layer_arts:
            _extract(art, opt)
        _set_modes(task, writable=False)
        _set_modes(opt, writable=False)
        roots = {str(task): FUNCTION_ROOT, str(opt): LAYER_ROOT, str(tmp): "/tmp"}
        local_paths = [str(task), f"{opt}/python/lib/python{version}/site-packages", f"{opt}/python"]
        assert [_to_lambda(p, roots) for p in local_paths] == sys_path(target.runtime)

        if module is not None:
            modules = [module]
        else:
            seen: set[str] = set()
            modules = []
            groups: list[list[str]] = []
            if fn_art is not None:
                groups.append([e.name for e in fn_art.entries])
            for art in layer_arts:
                by_root = _layer_names_by_root([e.name for e in art.entries], version)
                groups += list(by_root.values())
            for names in groups:
                for m in top_level_modules(names):
                    if m not in seen:
                        seen.add(m)
                        modules.append(m)
            modules.sort()
        if not modules:
            return SmokeResult("skipped", "no importable top-level module in the function or its layers "
                               "(pass --handler to name one)", _describe(interp), [], False)

        env = _child_env(task, opt, tmp, target)
        before = _snapshot([task, opt])
        workers = max(1, min(len(modules), os.cpu_count() or 2))
        # The main thread waits interruptibly: SIGTERM or Ctrl-C kills the imports at once.
        children = Group()
        raws = map_with_children(
            lambda m: _run_child(interp.path, m, function, local_paths, env, str(task), timeout,
                                 with_runtime_boto3, roots, version, children),
            modules, workers, children,
        )
        after = _snapshot([task, opt])
        changed = sorted(_to_lambda(p, roots) for p in set(before) | set(after) if before.get(p) != after.get(p))

        findings: list[Finding] = []
        dists: dict[str, set[str]] = {}
        if any(r.error for r in raws):
            findings = check(
                [function_zip] if function_zip is not None else [], layers,
                runtime=target.runtime.name, arch=target.arch.value, handler=handler,
            ).findings
            dists = _module_dists(
                ([(fn_art, FUNCTION_ROOT)] if fn_art is not None else []) + [(a, LAYER_ROOT) for a in layer_arts],
                version,
            )
        results = [
            ModuleResult(
                r.module, r.error is None, r.seconds, r.error,
                attach_findings(r.module, r.involved, r.error, findings, version, dists) if r.error else [],
            )
            for r in raws
        ]
    failed = [r.module for r in results if not r.ok]
    reasons = []
    if failed:
        reasons.append(f"{len(failed)} of {len(results)} import(s) failed: {', '.join(failed)}")
    if changed:
        shown = ", ".join(display_name(p) for p in changed[:5]) + (" …" if len(changed) > 5 else "")
        reasons.append(f"imports wrote into the package tree ({shown}); /var/task and /opt are read-only on "
                       "Lambda, so these writes fail there")
    status: Literal["passed", "failed"] = "failed" if reasons else "passed"
    return SmokeResult(status, "; ".join(reasons) or None, _describe(interp), results, bool(changed))


def render_text(r: SmokeResult) -> str:
    lines = [f"smoke test {r.status.upper()}" + (f": {r.reason}" if r.reason else "")]
    if r.interpreter:
        lines.append(f"interpreter: {r.interpreter} (isolated: Lambda's paths and the standard library only)")
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
        lines.append(f"{ok} of {len(r.results)} module(s) imported; {total * 1000:.0f} ms of imports "
                     "(each in a fresh process)")
    return "\n".join(lines) + "\n"
