"""How Lambda lays an artifact out, and where Python looks for modules.

The function zip is extracted to /var/task; layers are extracted, in the order the
function lists them, into /opt (a later layer overwrites the same path of an earlier
one). Python's path on Lambda is /var/task, then /opt/python/lib/pythonX.Y/site-packages,
then /opt/python, then the runtime's own libraries (which hold boto3).
Source: https://docs.aws.amazon.com/lambda/latest/dg/python-package.html
("Dependency search path and runtime-included libraries") and packaging-layers.html.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lambdapack.facts.runtimes import Runtime

__all__ = [
    "FUNCTION_ROOT",
    "LAYER_ROOT",
    "LAYER_SITE_ROOTS",
    "VERSIONED_DIR_RE",
    "Handler",
    "LambdaFile",
    "LambdaView",
    "is_module_file",
    "layer_origin",
    "module_name",
    "parse_handler",
    "pyc_source",
    "shown_in",
    "split_shown",
    "sys_path",
]

FUNCTION_ROOT = "/var/task"
LAYER_ROOT = "/opt"

# How findings name a layer's file: "layer 2 (deps.zip): python/x.py" (the function's
# files go by their bare name). Lazy up to the first "): ", as a zip name may hold ")".
_SHOWN_IN_LAYER = re.compile(r"layer \d+ \(.*?\): ")


def split_shown(shown: str) -> tuple[str | None, str]:
    """A finding's path as (layer origin or None for the function, path in its zip)."""
    m = _SHOWN_IN_LAYER.match(shown)
    if m is None:
        return None, shown
    return shown[: m.end() - 2], shown[m.end():]


def layer_origin(index: int, name: str) -> str:
    """How findings name the `index`th layer (from 1, in the function's order) of file `name`."""
    return f"layer {index} ({name})"


def shown_in(origin: str, path: str) -> str:
    """How a finding names `path` of artifact `origin` ("function" or "layer N (name)"),
    as `split_shown` reads it back; a finding on a whole layer (path "") names the layer."""
    if origin == "function":
        return path
    return f"{origin}: {path}" if path else origin

# Where a layer's packages go inside its zip: the versioned site-packages, else python/
# (a regex alternation, longest first, for the modules that match names against it).
LAYER_SITE_ROOTS = r"python/lib/python\d+\.\d+/site-packages/|python/"
# python/lib/pythonX.Y/ of any version (group 1: X.Y): only the runtime's own is on sys.path.
VERSIONED_DIR_RE = re.compile(r"^python/lib/python(\d+\.\d+)/")


@dataclass(frozen=True)
class Handler:
    """Lambda's handler setting, `module.function` (the module may be written `pkg/mod`)."""

    module: str  # as written
    function: str

    @property
    def dotted(self) -> str:
        """The module's import name: `pkg/mod` and `pkg.mod` both mean pkg.mod."""
        return self.module.replace("/", ".")

    @property
    def importable(self) -> bool:
        return all(p.isidentifier() for p in self.dotted.split("."))


def parse_handler(text: str) -> Handler | None:
    """`app.lambda_handler` -> Handler("app", "lambda_handler"); None when not module.function."""
    module, _, function = text.rpartition(".")
    if not module or not function:
        return None
    return Handler(module, function)


def sys_path(runtime: Runtime | str) -> list[str]:
    """The user-controlled part of sys.path on Lambda, in order (for a runtime or its "3.12")."""
    v = runtime if isinstance(runtime, str) else runtime.version
    return [FUNCTION_ROOT, f"{LAYER_ROOT}/python/lib/python{v}/site-packages", f"{LAYER_ROOT}/python"]


@dataclass(frozen=True)
class LambdaFile:
    """One file as Lambda will see it, and how to read it without extracting."""

    path: str  # absolute path on Lambda
    rel: str  # name inside its artifact
    origin: str  # "function" or "layer N (name)"
    size: int
    mode: int | None
    distribution: str | None
    read: Callable[[], bytes]
    head: Callable[[int], bytes]


@dataclass
class LambdaView:
    """The merged file system of a function and its layers."""

    runtime: Runtime
    files: dict[str, LambdaFile] = field(default_factory=dict)
    dirs: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # path -> (origin, mode)
    overwritten: list[tuple[LambdaFile, LambdaFile]] = field(default_factory=list)

    def add(self, f: LambdaFile) -> None:
        old = self.files.get(f.path)
        if old is not None and old.origin != f.origin:
            self.overwritten.append((old, f))
        self.files[f.path] = f

    def add_dir(self, path: str, origin: str, mode: int | None) -> None:
        self.dirs[path] = (origin, mode)

    @property
    def sys_path(self) -> list[str]:
        return sys_path(self.runtime)

    def top_level(self, directory: str) -> dict[str, list[LambdaFile]]:
        """Importable top-level names directly in `directory` -> their files."""
        prefix = directory.rstrip("/") + "/"
        out: dict[str, list[LambdaFile]] = {}
        for path, f in self.files.items():
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            first, _, tail = rest.partition("/")
            if tail:
                if first.isidentifier():
                    out.setdefault(first, []).append(f)
            else:
                name = module_name(first)
                if name is not None:
                    out.setdefault(name, []).append(f)
        return out

    def find_module(self, dotted: str) -> tuple[str, LambdaFile] | None:
        """(sys.path entry, source file) of a module, as Python would find it."""
        parts = dotted.split(".")
        for entry in self.sys_path:
            base = posixpath.join(entry, *parts)
            for cand in (base + ".py", posixpath.join(base, "__init__.py")):
                if cand in self.files:
                    return entry, self.files[cand]
            for path, f in self.files.items():
                d, fname = posixpath.split(path)
                if d == posixpath.dirname(base) and module_name(fname) == parts[-1] and not fname.endswith(".py"):
                    return entry, f  # an extension module
        return None


_PYC_SOURCE = re.compile(r"^(.*?)(?:^|/)__pycache__/([^/.]+)\.[^/]*\.pyc$")


def pyc_source(name: str) -> str | None:
    """`pkg/__pycache__/mod.cpython-312.pyc` -> `pkg/mod.py` (None for anything else).

    Bytecode compiled at build time is not listed in RECORD; it belongs to its source.
    """
    m = _PYC_SOURCE.match(name)
    if m is None:
        return None
    return f"{m.group(1)}/{m.group(2)}.py" if m.group(1) else f"{m.group(2)}.py"


# Extension module file names CPython on Linux imports (importlib.machinery.EXTENSION_SUFFIXES
# of any version): x.cpython-3XY-<platform>.so, x.abi3.so, x.so (and PyPy's, to name them).
_EXT_RE = re.compile(r"^([^.]+)(\.(cpython-\d+[^.]*|abi3|pypy[^.]*))?\.so$")


def is_module_file(filename: str) -> bool:
    return filename.endswith(".py") or _EXT_RE.match(filename) is not None


def module_name(filename: str) -> str | None:
    """`x.py` -> x; `x.cpython-312-x86_64-linux-gnu.so`, `x.abi3.so`, `x.so` -> x."""
    if filename.endswith(".py"):
        stem = filename[:-3]
    else:
        m = _EXT_RE.match(filename)
        if m is None:
            return None
        stem = m.group(1)
    return stem if stem.isidentifier() else None


def lambda_path(root: str, rel: str) -> str:
    return posixpath.normpath(posixpath.join(root, rel))
