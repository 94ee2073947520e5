"""The pure part of a smoke test: which modules to import, where Lambda's roots are
laid out locally, and which check findings explain a failed import.

Nothing here touches the file system or starts a process, so all of it is tested
without an interpreter of the target's version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    LAYER_ROOT,
    VERSIONED_DIR_RE,
    is_module_file,
    module_name,
    split_shown,
    sys_path,
)
from lambdapack.inspect.findings import ERROR, INFO, Finding
from lambdapack.inspect.rulebook import RULES, family
from lambdapack.target.tags import Target

__all__ = [
    "SmokeRoot",
    "attach_findings",
    "child_env",
    "lambda_module",
    "layer_names_by_root",
    "modules_to_import",
    "to_lambda",
    "top_level_modules",
]

# Codes of findings about native code: a bad binary anywhere in a distribution can
# break the import of any of its modules (e.g. a library in `<dist>.libs/`).
_BINARY_CODES = frozenset(code for code in RULES if family(code) == "LP0")


# -- module discovery ------------------------------------------------------------------


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


def layer_names_by_root(names: Iterable[str], version: str) -> dict[str, list[str]]:
    """A layer's names split by the sys.path entry they land in (relative to it)."""
    site = f"python/lib/python{version}/site-packages/"
    out: dict[str, list[str]] = {site: [], "python/": []}
    for n in names:
        if n.startswith(site):
            out[site].append(n[len(site):])
        elif n.startswith("python/") and not VERSIONED_DIR_RE.match(n):
            out["python/"].append(n[len("python/"):])
    return out


def modules_to_import(
    function_names: Sequence[str] | None, layers_names: Sequence[Sequence[str]], version: str
) -> list[str]:
    """Every top-level module of the function zip (its names, None without one) and of
    each layer's sys.path entries, once each, sorted."""
    seen: set[str] = set()
    modules: list[str] = []
    groups: list[list[str]] = []
    if function_names is not None:
        groups.append(list(function_names))
    for names in layers_names:
        groups += list(layer_names_by_root(names, version).values())
    for names in groups:
        for m in top_level_modules(names):
            if m not in seen:
                seen.add(m)
                modules.append(m)
    modules.sort()
    return modules


def lambda_module(path: str, version: str) -> str | None:
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


# -- the local copy of Lambda's roots -------------------------------------------------------


def to_lambda(text: str, roots: Mapping[str, str]) -> str:
    """`text` with each local root replaced by the Lambda path it stands for."""
    for local, remote in roots.items():
        text = text.replace(local, remote)
    return text


@dataclass(frozen=True)
class SmokeRoot:
    """One temporary directory that mirrors Lambda's file system (see `smoke`)."""

    root: Path

    @property
    def task(self) -> Path:  # /var/task: the function zip
        return self.root / "var" / "task"

    @property
    def opt(self) -> Path:  # /opt: the layers, in order
        return self.root / "opt"

    @property
    def tmp(self) -> Path:  # /tmp: writable scratch
        return self.root / "tmp"

    @property
    def roots(self) -> dict[str, str]:
        """Local directory -> the Lambda path it stands for (to show paths as on Lambda)."""
        return {str(self.task): FUNCTION_ROOT, str(self.opt): LAYER_ROOT, str(self.tmp): "/tmp"}

    def local_paths(self, version: str) -> list[str]:
        """Lambda's user part of sys.path, locally (the same order as `sys_path`)."""
        return [str(self.task), f"{self.opt}/python/lib/python{version}/site-packages", f"{self.opt}/python"]


def child_env(layout: SmokeRoot, target: Target) -> dict[str, str]:
    """The whole environment of an import process: Lambda's variables, built from nothing."""
    task, opt, tmp = layout.task, layout.opt, layout.tmp
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


# -- finding attachment ---------------------------------------------------------------------


def _finding_lambda_path(f: Finding) -> str | None:
    """A check finding's path as a Lambda path (None when it names no file)."""
    if not f.path:
        return None
    layer, rel = split_shown(f.path)
    return f"{LAYER_ROOT if layer is not None else FUNCTION_ROOT}/{rel}"


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
            lambda_module(lp, version) in mods
            or (len(base) > 3 and base in error)
            or (f.code in _BINARY_CODES and f.severity == ERROR and f.distribution in dists)
        ):
            out.append(f)
    return out
