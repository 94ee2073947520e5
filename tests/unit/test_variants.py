"""LP005 for multi-version wheels: an extension module for another Python beside the
variant the runtime loads is dead weight (a warning, left out by `--slim safe`), not an
error. Names are synthetic, contents are the real ELF fixtures; the claim that Python
loads the matching variant and never the others is checked with a real interpreter."""

from __future__ import annotations

import importlib.machinery
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from host_pythons import need_interpreter

from lambdapack.assemble.profiles import Profile
from lambdapack.assemble.slim import plan_slim
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.inspect.checks import Member, check_binaries, dead_variants, extension_suffixes
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

T312 = Target(get_runtime("python3.12"), Arch.X86_64)
T312_ARM = Target(get_runtime("python3.12"), Arch.ARM64)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "elf"
FOO = (FIXTURES / "foo.cpython-312-x86_64-linux-gnu.so").read_bytes()  # a real CPython 3.12 extension
PLAT = "x86_64-linux-gnu"

GLIDE = [  # what valkey-glide 2.6.0's cp312 wheel ships in glide_shared/
    *(f"glide_shared/_fast_response.cpython-3{m}-{PLAT}.so" for m in (9, 10, 11, 12, 13, 14)),
    f"glide_shared/_fast_response.pypy311-pp73-{PLAT}.so",
    "glide_shared/__init__.py",
]
LOADED = f"_fast_response.cpython-312-{PLAT}.so"


def test_suffixes_are_importlibs_for_this_interpreter() -> None:
    here = Target(get_runtime(f"python{sys.version_info[0]}.{sys.version_info[1]}"),
                  Arch.X86_64 if platform.machine() == "x86_64" else Arch.ARM64)
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("needs CPython on Linux x86_64/aarch64")
    assert list(extension_suffixes(here)) == importlib.machinery.EXTENSION_SUFFIXES


def test_every_other_python_is_dead_beside_the_runtimes_variant() -> None:
    dead = dead_variants(GLIDE, T312)
    assert set(dead) == {n for n in GLIDE if n.endswith(".so") and not n.endswith(LOADED)}
    assert set(dead.values()) == {LOADED}


def test_without_the_runtimes_variant_nothing_is_dead() -> None:
    assert dead_variants([n for n in GLIDE if not n.endswith(LOADED)], T312) == {}
    # the variant for the other machine does not count: arm64 loads aarch64 names only
    assert dead_variants(GLIDE, T312_ARM) == {}


@pytest.mark.parametrize("loaded", ["m.abi3.so", "m.so", f"m.cpython-312-{PLAT}.so"])
def test_abi3_and_plain_so_are_variants_the_runtime_loads(loaded: str) -> None:
    names = [f"pkg/{loaded}", f"pkg/m.cpython-311-{PLAT}.so", f"pkg/m.cpython-312t-{PLAT}.so"]
    assert dead_variants(names, T312) == {f"pkg/m.cpython-311-{PLAT}.so": loaded,
                                          f"pkg/m.cpython-312t-{PLAT}.so": loaded}


def test_the_best_suffix_is_named_as_the_one_loaded() -> None:
    names = ["p/m.so", "p/m.abi3.so", f"p/m.cpython-312-{PLAT}.so", f"p/m.cpython-310-{PLAT}.so"]
    assert dead_variants(names, T312) == {f"p/m.cpython-310-{PLAT}.so": f"m.cpython-312-{PLAT}.so"}


@pytest.mark.parametrize("names", [
    [f"a/m.cpython-312-{PLAT}.so", f"b/m.cpython-311-{PLAT}.so"],  # another folder: another module
    [f"a/n.cpython-312-{PLAT}.so", f"a/m.cpython-311-{PLAT}.so"],  # another name
    ["a/m.cpython-312-darwin.so", f"a/m.cpython-311-{PLAT}.so"],  # the sibling does not load either
    [f"a/m.cpython-312-{PLAT}.so", "a/m.cpython-312-darwin.so", "a/m.cp312-win_amd64.pyd",
     "a/m.cpython-312-x86_64-linux-musl.so", "a/m.cpython-312-aarch64-linux-gnu.so"],  # other platforms
])
def test_not_variants(names: list[str]) -> None:
    assert dead_variants(names, T312) == {}


def _members(names: list[str]) -> list[Member]:
    return [Member.from_bytes(n, FOO if n.endswith(".so") else b"", "valkey-glide 2.6.0") for n in names]


def test_check_warns_with_the_wasted_bytes_and_errs_without_a_variant() -> None:
    found = check_binaries(_members(GLIDE), T312)
    assert {(f.code, str(f.severity)) for f in found} == {("LP005", "warning")}
    assert len(found) == 6
    f = next(f for f in found if "cpython-310" in f.path)
    assert LOADED in f.message and f"{len(FOO):,} bytes" in f.message and "3.10" in f.message
    assert "--slim safe" in f.fix
    alone = check_binaries(_members([n for n in GLIDE if not n.endswith(LOADED)]), T312)
    assert len(alone) == 6 and {(f.code, str(f.severity)) for f in alone} == {("LP005", "error")}


def test_a_merged_view_keeps_artifacts_apart() -> None:
    # A layer's copy does not make the function's foreign module load (another directory on Lambda).
    names = [f"glide_shared/_fast_response.cpython-311-{PLAT}.so",
             f"layer 1 (deps.zip): python/glide_shared/{LOADED}"]
    errors = [f for f in check_binaries(_members(names), T312) if f.code == "LP005"]
    assert [(f.path, str(f.severity)) for f in errors] == [(names[0], "error")]


def _staged(tmp: Path, names: list[str], dist: str | None = "valkey-glide 2.6.0") -> list[StagedFile]:
    out = []
    for n in names:
        p = tmp / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(FOO)
        out.append(StagedFile(n, p, False, len(FOO), dist))
    return out


@pytest.mark.parametrize("profile", [Profile.SAFE, Profile.AGGRESSIVE])
def test_slim_leaves_dead_variants_out(tmp_path: Path, profile: Profile) -> None:
    entries = _staged(tmp_path, [f"python/{n}" for n in GLIDE])
    plan = plan_slim(entries, T312, profile, dist_prefix="python/")
    gone = {r.arcname: r.reason for r in plan.removals}
    assert set(gone) == {f"python/{n}" for n in GLIDE if n.endswith(".so") and not n.endswith(LOADED)}
    assert all(r.startswith(f"{profile.value}: ") and LOADED in r for r in gone.values())
    assert plan.removed_bytes == 6 * len(FOO)


def test_slim_keeps_variants_with_none_without_a_match_and_of_the_users_code(tmp_path: Path) -> None:
    entries = _staged(tmp_path, GLIDE)
    assert plan_slim(entries, T312, Profile.NONE).removals == ()
    no_match = [e for e in entries if not e.arcname.endswith(LOADED)]
    assert plan_slim(no_match, T312, Profile.SAFE).removals == ()  # no cp312: keep all
    mine = _staged(tmp_path / "mine", GLIDE, dist=None)
    assert plan_slim(mine, T312, Profile.SAFE).removals == ()


EXT_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "m", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_m(void) { return PyModule_Create(&mod); }
"""


def test_python_loads_the_matching_variant_never_the_others(tmp_path: Path) -> None:
    """The fact behind the rule, on a real CPython 3.12 with a gcc-built module: with the
    other variants present (unloadable bytes: loading one would fail), `import m` loads
    the cpython-312 file; without it, the import fails."""
    gcc = shutil.which("gcc")
    if sys.platform != "linux" or platform.machine() != "x86_64" or gcc is None:
        pytest.skip("builds an x86_64 Linux extension with gcc")
    py = str(need_interpreter((3, 12)).path)
    include = subprocess.run([py, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "m.c").write_text(EXT_SOURCE, encoding="utf-8")
    subprocess.run([gcc, "-shared", "-fPIC", f"-I{include}", str(tmp_path / "m.c"), "-o",
                    str(site / f"m.cpython-312-{PLAT}.so")], check=True, timeout=120)
    names = [f"m.cpython-312-{PLAT}.so"]
    for other in (f"m.cpython-311-{PLAT}.so", f"m.cpython-313-{PLAT}.so", f"m.pypy311-pp73-{PLAT}.so"):
        (site / other).write_bytes(b"not an ELF file: loading this fails")
        names.append(other)

    def imported() -> subprocess.CompletedProcess[str]:
        code = f"import sys; sys.path[:0] = [{str(site)!r}]; import m, os; print(os.path.basename(m.__file__))"
        return subprocess.run([py, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60, check=False)

    got = imported()
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == names[0]
    assert set(dead_variants(names, T312)) == set(names[1:])
    (site / names[0]).unlink()
    assert imported().returncode != 0  # the others are not loadable: the error LP005 keeps for them
    assert dead_variants(names[1:], T312) == {}
