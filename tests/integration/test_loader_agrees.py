"""LP007 against the real loader, on real wheels for an Amazon Linux 2 and a 2023 target.

For each package and target: `lambdapack build --layer` (which verifies, LP007 included)
and `lambdapack check` on the extracted tree report no LP007; the matching local CPython
imports every extension module of the tree (`-I -S`, only the tree on sys.path) with
LD_DEBUG=libs, and every library the loader looked up that the tree bundles was found
inside the tree, every other one being an Amazon Linux library. Then one bundled library
is deleted: check reports exactly it, and the real import fails naming it.

Libraries are read with GNU readelf here, never with lambdapack's ELF reader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from host_pythons import need_interpreter
from lp_helpers import clean_env, run_lp

from lambdapack.facts.runtimes import get_runtime
from lambdapack.facts.systemlibs import system_sonames

pytestmark = [pytest.mark.network, pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")]

PACKAGES = ["pillow", "scipy", "scikit-learn", "shapely", "psycopg2-binary", "psycopg[binary]",
            "numpy", "pyarrow", "lxml", "cryptography", "grpcio"]
RUNTIMES = ["python3.11", "python3.12"]  # Amazon Linux 2, Amazon Linux 2023
# More of the false alarms on older Amazon Linux 2 runtimes.
MORE = [("pillow", "python3.9"), ("psycopg2-binary", "python3.9"), ("psycopg[binary]", "python3.9"),
        ("scipy", "python3.10")]

# The child: import each named module with only the tree on sys.path, say what failed.
_CHILD = """
import importlib, json, os, sys
root = sys.argv[1]
sys.path[:0] = [root]
def why(e):
    seen = []
    while e is not None and len(seen) < 5:
        seen.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    return " <- ".join(seen)
# The top-level packages first, as a program would (psycopg_binary wants psycopg first).
for top in sorted(os.listdir(root)):
    if os.path.isfile(os.path.join(root, top, "__init__.py")):
        try:
            importlib.import_module(top)
        except BaseException:
            pass
failed = {}
for name in sys.argv[2:]:
    try:  # the parent package whole first, as a program imports it (else circular imports)
        importlib.import_module(name.rpartition(".")[0] or name)
    except BaseException:
        pass
    try:
        importlib.import_module(name)
    except BaseException as e:
        failed[name] = why(e)
print(json.dumps(failed))
"""
_EXT = re.compile(r"\.(cpython-(?P<v>\d+)[^.]*|abi3)?\.so$")
_FIND = re.compile(r"^\s*\d+:\s+find library=(\S+) \[\d+\]; searching$")
_NEEDED_BY = re.compile(r"^\s*\d+:\s+file=(\S+) \[\d+\];\s+needed by (\S+) \[\d+\]$")
_TRYING = re.compile(r"^\s*\d+:\s+trying file=(\S+)$")


@dataclass(frozen=True)
class Tree:
    runtime: str
    root: Path  # the layer's python/, as /opt/python on Lambda


def _build(pkg: str, runtime: str, base: Path) -> Tree:
    work = base / re.sub(r"\W", "_", f"{pkg}-{runtime}")
    work.mkdir()
    (work / "requirements.txt").write_text(pkg + "\n", encoding="utf-8")
    out = work / "layer.zip"
    r = run_lp(["build", "--layer", "-r", str(work / "requirements.txt"), "--runtime", runtime,
                "--arch", "x86_64", "--no-compile", "-q", "-o", str(out)], timeout=900)
    assert r.returncode == 0, r.explain()  # a build fails on any LP007 error
    with zipfile.ZipFile(out) as zf:
        zf.extractall(work / "x")
    return Tree(runtime, work / "x" / "python")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Tree]:
    built: dict[tuple[str, str], Tree] = {}
    base = tmp_path_factory.mktemp("loader")

    def get(pkg: str, runtime: str) -> Tree:
        if (pkg, runtime) not in built:
            built[pkg, runtime] = _build(pkg, runtime, base)
        return built[pkg, runtime]

    return get


def _modules(root: Path, minor: int) -> list[str]:
    """The extension modules the target's CPython imports from the tree."""
    names = []
    for p in sorted(root.rglob("*.so")):
        m = _EXT.search(p.name)
        rel = p.relative_to(root).parts
        if m is None or (m.group("v") and m.group("v") != f"3{minor}"):
            continue
        dotted = [*rel[:-1], p.name[: m.start()]]
        if all(part.isidentifier() for part in dotted):
            names.append(".".join(dotted))
    return names


def _import(t: Tree, modules: list[str]) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Import the modules in one process: (failures, library name -> (the object of the tree
    that asked for it, the file the loader used)) for the lookups made for the tree's objects."""
    minor = int(t.runtime.removeprefix("python3."))
    exe = need_interpreter((3, minor)).path
    proc = subprocess.run([exe, "-I", "-S", "-c", _CHILD, str(t.root), *modules],
                          env=clean_env({"LD_DEBUG": "libs,files"}), capture_output=True, text=True,
                          timeout=600, check=False, cwd=t.root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    root = str(t.root.resolve())
    used: dict[str, tuple[str, str]] = {}
    by: dict[str, str] = {}  # library name -> who needed it (the "files" lines come first)
    looking: str | None = None
    tried: list[str] = []
    for line in [*proc.stderr.splitlines(), "0: find library=<end> [0]; searching"]:
        if (m := _NEEDED_BY.match(line)) is not None:
            by.setdefault(m.group(1), m.group(2))
        elif (m := _FIND.match(line)) is not None:
            if looking is not None and os.path.realpath(by.get(looking, "/")).startswith(root + "/"):
                hits = [p for p in tried if Path(p).exists()]  # the file used: the last one tried that exists
                used.setdefault(looking, (by[looking], hits[-1] if hits else "<not found>"))
            looking, tried = m.group(1), []
        elif (m := _TRYING.match(line)) is not None:
            tried.append(m.group(1))
    return json.loads(proc.stdout), used


# What dlopen's errors say (dlerror), as opposed to a module's own import-time errors
# (PIL._imagingtk wants tkinter; scipy's Pythran _matfuncs_sqrtm_triu is circular alone).
_DLERROR = re.compile(r"cannot open shared object file|undefined symbol|wrong ELF class|version `[^']+' not found"
                      r"|invalid ELF header|file too short|cannot (?:map|allocate|enable|apply)")


def _loader_failures(failed: dict[str, str]) -> dict[str, str]:
    """The imports that failed in the loader."""
    return {name: msg for name, msg in failed.items() if _DLERROR.search(msg)}


def _lp007(path: Path, runtime: str) -> list[dict[str, str]]:
    r = run_lp(["check", str(path), "--runtime", runtime, "--arch", "x86_64", "--format", "json"], timeout=600)
    assert r.returncode in (0, 1), r.explain()
    return [f for f in r.json["findings"] if f["code"] == "LP007"]


def _needed(lib: Path) -> list[str]:
    out = subprocess.run(["readelf", "-dW", str(lib)], capture_output=True, text=True, check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _bundled(root: Path) -> list[Path]:
    """Shared libraries the tree bundles that some ELF of the tree names in DT_NEEDED,
    grafted `*.libs/` ones first (the ones found through an RPATH chain)."""
    elfs = [p for p in root.rglob("*.so*") if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]
    needed = {n for p in elfs for n in _needed(p)}
    libs = [p for p in elfs if p.name in needed]
    return sorted(libs, key=lambda p: (not p.parent.name.endswith(".libs"), str(p)))


def _params() -> list[object]:
    pairs = [*((pkg, rt) for rt in RUNTIMES for pkg in PACKAGES), *MORE]
    return [pytest.param(pkg, rt, id=f"{pkg}-{rt}") for pkg, rt in pairs]


@pytest.mark.parametrize(("pkg", "runtime"), _params())
def test_no_lp007_and_the_real_loader_agrees(pkg: str, runtime: str, tree: Callable[[str, str], Tree]) -> None:
    t = tree(pkg, runtime)
    assert _lp007(t.root, runtime) == []
    modules = _modules(t.root, int(runtime.removeprefix("python3.")))
    assert modules, f"{pkg}: no extension modules in the tree"
    failed, used = _import(t, modules)
    assert _loader_failures(failed) == {}
    inside = {p.name for p in t.root.rglob("*") if p.is_file()}
    system = system_sonames(get_runtime(runtime).os)
    assert used, "LD_DEBUG shows no lookup for the tree's objects"
    for name, (who, path) in used.items():
        if name in inside:
            assert Path(path).resolve().is_relative_to(t.root.resolve()), f"{who}: {name} loaded from {path}"
        else:
            assert name in system, f"{who}: {name} loaded from {path}, which Amazon Linux does not have"


@pytest.mark.parametrize(("pkg", "runtime"), _params())
def test_a_deleted_bundled_library_is_exactly_what_lp007_and_the_loader_name(
    pkg: str, runtime: str, tree: Callable[[str, str], Tree], tmp_path: Path
) -> None:
    t = tree(pkg, runtime)
    libs = _bundled(t.root)
    if not libs:
        pytest.skip(f"{pkg} for {runtime} bundles no shared library")
    victim = libs[0]
    copy = tmp_path / "python"
    shutil.copytree(t.root, copy, copy_function=os.link)  # hard links: cheap, and the build's tree stays whole
    (copy / victim.relative_to(t.root)).unlink()
    found = _lp007(copy, runtime)
    assert found, f"deleting {victim.name} gives no LP007"
    assert {f["message"].split(",")[0] for f in found} == {f"needs {victim.name}"}, found
    failed, _ = _import(Tree(runtime, copy), _modules(copy, int(runtime.removeprefix("python3."))))
    failed = _loader_failures(failed)
    assert failed and all(victim.name in msg for msg in failed.values()), failed
