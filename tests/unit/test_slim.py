"""Tests for lambdapack.assemble.slim on real files: plans from real trees, real strip programs,
a real gcc-built CPython extension imported by a real Python 3.12, real wheels (network)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import struct
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from host_pythons import pyenv_python

from lambdapack.assemble.profiles import PROFILE_RULES, Profile
from lambdapack.assemble.runtime_provided import runtime_provided_closure
from lambdapack.assemble.slim import SlimRules, apply_slim, plan_slim
from lambdapack.assemble.stage import dependency_entries
from lambdapack.assemble.strip import _verify_stripped, find_strip_tools
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.resolve.distributions import read_distributions
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

T312 = Target(get_runtime("python3.12"), Arch.X86_64)
T312_ARM = Target(get_runtime("python3.12"), Arch.ARM64)
DIST = "Pkg 1.0"


def make_entries(root: Path, files: Mapping[str, str | None], *, prefix: str = "") -> list[StagedFile]:
    """Real files under `root`; each maps arcname (without prefix) -> owning distribution."""
    out = []
    for rel, dist in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"content of {rel}\n".encode())
        out.append(StagedFile(prefix + rel, p, False, p.stat().st_size, dist))
    return out


def removed(
    entries: list[StagedFile], profile: Profile, rules: SlimRules | None = None, dist_prefix: str = ""
) -> dict[str, str]:
    plan = plan_slim(entries, T312, profile, rules or SlimRules(), dist_prefix=dist_prefix)
    return {r.arcname: r.reason for r in plan.removals}


TREE: dict[str, str | None] = {
    # bytecode
    "pkg/__init__.py": DIST,
    "pkg/__pycache__/__init__.cpython-312.pyc": DIST,
    "pkg/__pycache__/__init__.cpython-312.opt-1.pyc": DIST,
    "pkg/__pycache__/__init__.cpython-311.pyc": DIST,
    "pkg/__pycache__/__init__.cpython-313.opt-2.pyc": DIST,
    "pkg/__pycache__/__init__.pypy310.pyc": DIST,
    "pkg/__pycache__/__init__.pyc": DIST,
    "pkg/__pycache__/__init__.cpython-312.opt-1.pyo": DIST,
    "pkg/__pycache__/core.f-12.py312.nbi": DIST,  # numba's cache index: read at runtime
    "pkg/legacy.pyc": DIST,  # sourceless module
    # sources
    "pkg/src/a.c": DIST,
    "pkg/src/b.cc": DIST,
    "pkg/src/c.cpp": DIST,
    "pkg/src/d.cxx": DIST,
    "pkg/include/e.h": DIST,
    "pkg/include/f.hh": DIST,
    "pkg/include/g.hpp": DIST,
    "pkg/include/h.hxx": DIST,
    "pkg/_speedups.pyx": DIST,
    "pkg/_speedups.pxd": DIST,
    "pkg/_inc.pxi": DIST,
    "pkg/core.py": DIST,
    "pkg/core.pyi": DIST,
    "pkg/py.typed": DIST,
    "pkg/_ext.cpython-312-x86_64-linux-gnu.so": DIST,
    "pkg.libs/libfoo-1a2b3c.so.1.2": DIST,
    "pkg/data.txt": DIST,
    # folders
    "pkg/tests/__init__.py": DIST,
    "pkg/tests/test_core.py": DIST,
    "pkg/tests/_helper.cpython-312-x86_64-linux-gnu.so": DIST,
    "pkg/sub/test/data.json": DIST,
    "pkg/docs/index.rst": DIST,
    "pkg/doc/ufuncs.py": DIST,  # numpy/doc: loose .py, not a package
    "pkg/examples/demo.py": DIST,
    "pkg/example/sub/__init__.py": DIST,  # a package below: kept
    "sdk/__init__.py": "Sdk 2.0",
    "sdk/docs/__init__.py": "Sdk 2.0",  # like botocore.docs: imported at runtime
    "sdk/docs/docstring.py": "Sdk 2.0",
    "sdk/examples/s3.rst": "Sdk 2.0",
    "tests/__init__.py": "Sloppy 0.1",  # a top-level package named tests
    "test/x.py": "Sloppy 0.1",
    "six.py": "six 1.17.0",
    # metadata: never touched by a profile
    "pkg-1.0.dist-info/METADATA": DIST,
    "pkg-1.0.dist-info/RECORD": DIST,
    "pkg-1.0.dist-info/licenses/include/notice.h": DIST,
    "pkg-1.0.dist-info/licenses/docs/LICENSE": DIST,
    # the user's own code: never touched
    "app/handler.py": None,
    "app/native.c": None,
    "app/tests/test_handler.py": None,
    "app/docs/readme.md": None,
    "app/_fast.cpython-312-x86_64-linux-gnu.so": None,
}

SAFE_REMOVED = {
    "pkg/__pycache__/__init__.cpython-311.pyc",
    "pkg/__pycache__/__init__.cpython-313.opt-2.pyc",
    "pkg/__pycache__/__init__.pypy310.pyc",
    "pkg/__pycache__/__init__.pyc",
    "pkg/__pycache__/__init__.cpython-312.opt-1.pyo",
    "pkg/src/a.c",
    "pkg/src/b.cc",
    "pkg/src/c.cpp",
    "pkg/src/d.cxx",
    "pkg/include/e.h",
    "pkg/include/f.hh",
    "pkg/include/g.hpp",
    "pkg/include/h.hxx",
    "pkg/_speedups.pyx",
    "pkg/_speedups.pxd",
    "pkg/_inc.pxi",
}
AGGRESSIVE_ONLY = {
    "pkg/core.pyi",
    "pkg/tests/__init__.py",
    "pkg/tests/test_core.py",
    "pkg/tests/_helper.cpython-312-x86_64-linux-gnu.so",
    "pkg/sub/test/data.json",
    "pkg/docs/index.rst",
    "pkg/doc/ufuncs.py",
    "pkg/examples/demo.py",
    "sdk/examples/s3.rst",
}


def test_profile_none_removes_and_strips_nothing(tmp_path: Path) -> None:
    plan = plan_slim(make_entries(tmp_path, TREE), T312, Profile.NONE)
    assert plan.removals == () and plan.strip == ()
    assert PROFILE_RULES[Profile.NONE] == ()


def test_profile_safe_exact_removals(tmp_path: Path) -> None:
    entries = make_entries(tmp_path, TREE)
    plan = plan_slim(entries, T312, Profile.SAFE)
    got = {r.arcname: r for r in plan.removals}
    assert set(got) == SAFE_REMOVED
    assert plan.strip == ()
    for r in plan.removals:
        assert r.reason.startswith("safe: ")
        assert r.distribution == DIST
        assert r.size == (tmp_path / r.arcname).stat().st_size
    assert "cpython-312" in got["pkg/__pycache__/__init__.cpython-311.pyc"].reason
    assert plan.removed_bytes == sum(r.size for r in plan.removals)


def test_profile_safe_rules_for_another_python(tmp_path: Path) -> None:
    files = {
        "pkg/__pycache__/m.cpython-311.pyc": DIST,
        "pkg/__pycache__/m.cpython-312.pyc": DIST,
    }
    t311 = Target(get_runtime("python3.11"), Arch.X86_64)
    plan = plan_slim(make_entries(tmp_path, files), t311, Profile.SAFE)
    assert [r.arcname for r in plan.removals] == ["pkg/__pycache__/m.cpython-312.pyc"]


def test_profile_aggressive_exact_removals_and_strip_list(tmp_path: Path) -> None:
    entries = make_entries(tmp_path, TREE)
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE)
    got = {r.arcname: r.reason for r in plan.removals}
    assert set(got) == SAFE_REMOVED | AGGRESSIVE_ONLY
    assert all(reason.startswith("aggressive: ") for reason in got.values())
    assert got["pkg/tests/test_core.py"] == "aggressive: test folder pkg/tests/"
    assert got["pkg/core.pyi"] == "aggressive: type stub"
    assert got["pkg/docs/index.rst"] == "aggressive: docs folder pkg/docs/"
    # Shared objects of dependencies that are not removed, never the user's.
    assert set(plan.strip) == {"pkg/_ext.cpython-312-x86_64-linux-gnu.so", "pkg.libs/libfoo-1a2b3c.so.1.2"}
    kept = {e.arcname for e in entries} - set(got)
    for must_stay in (
        "sdk/docs/__init__.py",
        "sdk/docs/docstring.py",
        "pkg/example/sub/__init__.py",
        "tests/__init__.py",
        "test/x.py",
        "pkg/py.typed",
        "pkg/__pycache__/core.f-12.py312.nbi",
        "pkg/legacy.pyc",
        "pkg-1.0.dist-info/licenses/include/notice.h",
        "pkg-1.0.dist-info/licenses/docs/LICENSE",
        "app/native.c",
        "app/tests/test_handler.py",
        "app/docs/readme.md",
    ):
        assert must_stay in kept, must_stay


def test_profile_rules_are_listed_per_profile() -> None:
    safe, aggressive = PROFILE_RULES[Profile.SAFE], PROFILE_RULES[Profile.AGGRESSIVE]
    assert aggressive[: len(safe)] == safe and len(aggressive) > len(safe)
    text = " ".join(safe)
    for pattern in (
        "*.c",
        "*.cc",
        "*.cpp",
        "*.cxx",
        "*.h",
        "*.hh",
        "*.hpp",
        "*.hxx",
        "*.pyx",
        "*.pxd",
        "*.pxi",
    ):
        assert pattern in text
    assert "*.pyi" not in text
    assert "*.pyi" in " ".join(aggressive) and "--strip-debug" in " ".join(aggressive)


def test_layer_prefix(tmp_path: Path) -> None:
    files = {"pkg/tests/t.py": DIST, "tests/t.py": DIST, "pkg/a.c": DIST, "pkg/m.so": DIST}
    entries = make_entries(tmp_path, files, prefix="python/")
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE, dist_prefix="python/")
    assert {r.arcname for r in plan.removals} == {"python/pkg/tests/t.py", "python/pkg/a.c"}
    assert plan.strip == ("python/pkg/m.so",)
    # Entries outside the prefix are not dependencies.
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE, dist_prefix="other/")
    assert plan.removals == () and plan.strip == ()


def test_excludes_and_keeps(tmp_path: Path) -> None:
    entries = make_entries(tmp_path, TREE)
    got = removed(entries, Profile.NONE, SlimRules(excludes=["*.txt", "pkg/sub", "app/*", "handler.py"]))
    assert got == {"pkg/data.txt": "--exclude *.txt", "pkg/sub/test/data.json": "--exclude pkg/sub"}
    # --keep wins over the profile (a file, a folder, a component pattern) and over --exclude.
    got = removed(
        entries,
        Profile.AGGRESSIVE,
        SlimRules(
            excludes=["*.txt"],
            keeps=["pkg/tests/test_core.py", "pkg/docs", "*.pyi", "data.txt", "*.cpython-311.pyc"],
        ),
    )
    for k in (
        "pkg/tests/test_core.py",
        "pkg/docs/index.rst",
        "pkg/core.pyi",
        "pkg/data.txt",
        "pkg/__pycache__/__init__.cpython-311.pyc",
    ):
        assert k not in got
    assert "pkg/tests/__init__.py" in got
    # A kept shared object is left exactly as it is: not stripped either.
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE, SlimRules(keeps=["pkg/_ext.*"]))
    assert plan.strip == ("pkg.libs/libfoo-1a2b3c.so.1.2",)


def test_prefixed_patterns_match_with_or_without_prefix(tmp_path: Path) -> None:
    entries = make_entries(tmp_path, {"pkg/x.txt": DIST, "pkg/y.txt": DIST}, prefix="python/")
    got = removed(entries, Profile.NONE, SlimRules(excludes=["pkg/x.txt", "python/pkg/y.txt"]), dist_prefix="python/")
    assert set(got) == {"python/pkg/x.txt", "python/pkg/y.txt"}


def test_drop_dists_by_canonical_name_and_keep_wins(tmp_path: Path) -> None:
    files = {
        "dateutil/parser.py": "python-dateutil 2.9.0.post0",
        "python_dateutil-2.9.0.post0.dist-info/METADATA": "python-dateutil 2.9.0.post0",
        "six.py": "six 1.17.0",
        "requests/api.py": "requests 2.32.0",
        "app.py": None,
    }
    entries = make_entries(tmp_path, files)
    got = removed(entries, Profile.NONE, SlimRules(keeps=["six.py"], drop_dists={"Python_Dateutil", "six"}))
    assert set(got) == {"dateutil/parser.py", "python_dateutil-2.9.0.post0.dist-info/METADATA"}
    assert all("--exclude-runtime-provided" in r for r in got.values())


def test_apply_slim_removes_without_touching_files(tmp_path: Path) -> None:
    entries = make_entries(tmp_path / "site", TREE)
    plan = plan_slim(entries, T312, Profile.SAFE)
    res = apply_slim(entries, plan, T312, tmp_path / "work")
    assert [e.arcname for e in res.entries] == [e.arcname for e in entries if e.arcname not in SAFE_REMOVED]
    assert res.removals == list(plan.removals)
    assert res.stripped == [] and res.kept_unstripped == []
    assert all((tmp_path / "site" / a).exists() for a in SAFE_REMOVED)


# --- stripping ------------------------------------------------------------------------

EXT_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "the answer"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "x", NULL, -1, methods};
PyMODINIT_FUNC PyInit_x(void) { return PyModule_Create(&mod); }
"""


def _py312_query(py: str, expr: str) -> str:
    return subprocess.run(
        [py, "-I", "-c", f"import sysconfig; print({expr})"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def gcc_extension(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A CPython 3.12 extension built with gcc -g (debug info), and the 3.12 that imports it."""
    if platform.machine() != "x86_64":
        pytest.skip("builds and imports an x86_64 extension")
    gcc = shutil.which("gcc")
    py = pyenv_python(12)
    if gcc is None or py is None:
        pytest.skip("needs gcc and a pyenv Python 3.12")
    include = _py312_query(py, "sysconfig.get_paths()['include']")
    suffix = _py312_query(py, "sysconfig.get_config_var('EXT_SUFFIX')")
    d = tmp_path_factory.mktemp("ext")
    (d / "x.c").write_text(EXT_SOURCE, encoding="utf-8")
    so = d / f"x{suffix}"
    subprocess.run(
        [gcc, "-g", "-O0", "-shared", "-fPIC", f"-I{include}", str(d / "x.c"), "-o", str(so)], check=True
    )
    info = read_elf_file(so)
    assert info.has_debug_info and "PyInit_x" in info.exported_symbols
    return so, py


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _import_answer(py: str, so: Path, tmp_path: Path) -> str:
    d = tmp_path / "imp"
    d.mkdir(exist_ok=True)
    shutil.copyfile(so, d / so.name)
    proc = subprocess.run(
        [
            py,
            "-I",
            "-B",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import x; print(x.answer())",
            str(d),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_strip_real_extension(gcc_extension: tuple[Path, str], tmp_path: Path) -> None:
    so, py = gcc_extension
    tools = find_strip_tools("x86_64")
    if not tools:
        pytest.skip("no strip program for x86_64 on this machine")
    # The installed file is a hard link (as uv's cache makes them): it must stay untouched.
    site = tmp_path / "site"
    site.mkdir()
    installed = site / so.name
    os.link(so, installed)
    digest, size = _sha(so), so.stat().st_size
    entries = [StagedFile(f"pkg/{so.name}", installed, True, size, DIST)]
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE)
    assert plan.strip == (f"pkg/{so.name}",)
    res = apply_slim(entries, plan, T312, tmp_path / "work", jobs=2)
    assert res.kept_unstripped == []
    assert res.strip_tools == tools
    [(arcname, before, after)] = res.stripped
    assert arcname == f"pkg/{so.name}" and before == size and after < before
    [new] = res.entries
    assert new.path != installed and new.path.is_relative_to(tmp_path / "work")
    assert new.size == after == new.path.stat().st_size
    assert new.executable and new.distribution == DIST
    assert _sha(so) == digest and installed.stat().st_nlink == 2  # original untouched
    info = read_elf_file(new.path)
    assert "PyInit_x" in info.exported_symbols and info.machine_name == "x86_64"
    if shutil.which("readelf"):
        sections = subprocess.run(["readelf", "-SW", str(new.path)], capture_output=True, text=True).stdout
        assert ".debug_info" not in sections and ".dynsym" in sections
    assert _import_answer(py, new.path, tmp_path) == "42"
    assert _import_answer(py, so, tmp_path) == "42"


def test_every_strip_tool_gives_a_verified_copy(gcc_extension: tuple[Path, str], tmp_path: Path) -> None:
    """Each available program on its own: stripped, verified, still imports."""
    so, py = gcc_extension
    tools = find_strip_tools("x86_64")
    if not tools:
        pytest.skip("no strip program for x86_64 on this machine")
    for i, tool in enumerate(tools):
        copy = tmp_path / f"t{i}" / so.name
        copy.parent.mkdir()
        shutil.copyfile(so, copy)
        subprocess.run([tool, "--strip-debug", str(copy)], check=True)
        assert _verify_stripped(read_elf_file(so), so, copy) is None, tool
        assert copy.stat().st_size < so.stat().st_size
        assert _import_answer(py, copy, tmp_path) == "42"


def test_verification_refuses_changed_load_image(gcc_extension: tuple[Path, str], tmp_path: Path) -> None:
    so, _py = gcc_extension
    info = read_elf_file(so)
    data = bytearray(so.read_bytes())
    is64 = data[4] == 2
    assert is64 and data[5] == 1
    phoff, phnum = struct.unpack_from("<Q", data, 0x20)[0], struct.unpack_from("<H", data, 0x38)[0]
    loads = []
    for i in range(phnum):
        p_type, _fl, p_offset, _va, _pa, p_filesz, _mem, _al = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * 56
        )
        if p_type == 1:
            loads.append((phoff + i * 56, p_offset, p_filesz))
    # One byte of code changed (in the executable PT_LOAD, past the headers).
    _hdr, off, filesz = loads[1]
    flipped = bytearray(data)
    flipped[off + filesz // 2] ^= 0xFF
    bad = tmp_path / "flipped.so"
    bad.write_bytes(flipped)
    assert (_verify_stripped(info, so, bad) or "").startswith("the contents of a PT_LOAD segment changed")
    # A segment's file offset no longer congruent to its address (what the loader rejects
    # with "ELF load command address/offset not properly aligned").
    misaligned = bytearray(data)
    hdr, off, _ = loads[-1]
    struct.pack_into("<Q", misaligned, hdr + 8, off + 8)
    bad2 = tmp_path / "misaligned.so"
    bad2.write_bytes(misaligned)
    assert "no longer aligned" in (_verify_stripped(info, so, bad2) or "")
    # The identical file passes.
    same = tmp_path / "same.so"
    shutil.copyfile(so, same)
    assert _verify_stripped(info, so, same) is None


def test_non_elf_and_corrupt_files_are_kept_with_a_reason(
    gcc_extension: tuple[Path, str], tmp_path: Path
) -> None:
    so, _py = gcc_extension
    text = tmp_path / "fake.so"
    text.write_text("INPUT(-lfoo)\n", encoding="utf-8")  # a linker script named .so
    truncated = tmp_path / "trunc.so"
    truncated.write_bytes(so.read_bytes()[:300])
    entries = [
        StagedFile("pkg/fake.so", text, False, text.stat().st_size, DIST),
        StagedFile("pkg/trunc.so", truncated, False, 300, DIST),
    ]
    plan = plan_slim(entries, T312, Profile.AGGRESSIVE)
    assert plan.strip == ("pkg/fake.so", "pkg/trunc.so")
    res = apply_slim(entries, plan, T312, tmp_path / "work")
    assert res.entries == entries and res.stripped == []
    reasons = dict(res.kept_unstripped)
    assert set(reasons) == {"pkg/fake.so", "pkg/trunc.so"}
    assert all("not a readable ELF file" in r for r in reasons.values())
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").rglob("*.so"))


def test_foreign_architecture_file_is_not_stripped(gcc_extension: tuple[Path, str], tmp_path: Path) -> None:
    so, _py = gcc_extension
    entries = [StagedFile("pkg/x.so", so, True, so.stat().st_size, DIST)]
    res = apply_slim(entries, plan_slim(entries, T312_ARM, Profile.AGGRESSIVE), T312_ARM, tmp_path / "w")
    assert res.entries == entries
    [(_a, why)] = res.kept_unstripped
    assert "built for x86_64, the target is aarch64" in why


def test_strip_tool_choice_follows_the_target() -> None:
    host = platform.machine()
    for machine in ("x86_64", "aarch64"):
        tools = find_strip_tools(machine)
        names = [Path(t).name for t in tools]
        if machine != host or not sys.platform.startswith("linux"):
            assert "strip" not in names
        for t, n in zip(tools, names, strict=True):
            assert os.access(t, os.X_OK)
            assert n in (f"{machine}-linux-gnu-strip", "strip", "llvm-strip") or n.startswith("llvm-strip-")
        assert len({os.path.realpath(t) for t in tools}) == len(tools)


# --- real wheels (network) ------------------------------------------------------------


def _uv_install(target: Target, dest: Path, *reqs: str) -> None:
    argv = [
        sys.executable, "-m", "uv", "pip", "install", "--target", str(dest),
        "--python-platform", target.uv_platform, "--python-version", target.runtime.version,
        "--only-binary", ":all:", "--no-compile-bytecode", "--no-installer-metadata", *reqs,
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"uv failed:\n{proc.stderr}")


@pytest.mark.network
def test_aarch64_wheel_stripped_only_with_an_arch_capable_tool(tmp_path: Path) -> None:
    site = tmp_path / "site"
    # markupsafe's aarch64 extension carries .debug_* sections; orjson's has none.
    _uv_install(T312_ARM, site, "markupsafe", "orjson")
    dists = read_distributions(site)
    entries = dependency_entries(site, dists, work=tmp_path / "rec")
    speedups = next(
        e for e in entries if e.arcname.startswith("markupsafe/_speedups") and e.arcname.endswith(".so")
    )
    orjson_so = next(
        e for e in entries if e.arcname.startswith("orjson/orjson") and e.arcname.endswith(".so")
    )
    before = read_elf_file(speedups.path)
    assert before.machine_name == "aarch64" and before.has_debug_info
    assert not read_elf_file(orjson_so.path).has_debug_info
    plan = plan_slim(entries, T312_ARM, Profile.AGGRESSIVE)
    assert speedups.arcname in plan.strip and orjson_so.arcname in plan.strip
    digest = _sha(speedups.path)
    res = apply_slim(entries, plan, T312_ARM, tmp_path / "work")
    tools = find_strip_tools("aarch64")
    assert res.strip_tools == tools
    by_name = {e.arcname: e for e in res.entries}
    assert by_name[orjson_so.arcname] == orjson_so  # nothing to strip: shipped as is, silently
    assert orjson_so.arcname not in dict(res.kept_unstripped)
    if tools:
        [(arcname, b, a)] = res.stripped
        assert arcname == speedups.arcname and a < b == speedups.size
        after = read_elf_file(by_name[arcname].path)
        assert after.machine_name == "aarch64"
        assert [s for s in after.exported_symbols if s.startswith("PyInit_")] == ["PyInit__speedups"]
        assert after.needed == before.needed
    else:
        assert res.stripped == []
        assert "no strip program for aarch64" in dict(res.kept_unstripped)[speedups.arcname]
        assert by_name[speedups.arcname] == speedups
    assert _sha(speedups.path) == digest


@pytest.fixture(scope="module")
def sdk_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("sdk") / "site"
    _uv_install(T312, site, "boto3[crt]", "requests")
    return site


@pytest.mark.network
def test_runtime_provided_closure_with_requests(sdk_site: Path, tmp_path: Path) -> None:
    dists = read_distributions(sdk_site)
    names = {d.name for d in dists}
    assert {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3", "requests",
            "awscrt"} <= names  # fmt: skip
    drop, note = runtime_provided_closure(dists, sdk_site, T312)
    assert drop == {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six"}
    assert "urllib3" in note and "requests" in note  # kept: requests needs it
    assert "awscrt" in note  # only boto3[crt] needs it, but the runtime does not ship it
    assert "AWS recommends bundling your own copy" in note
    # The plan leaves out every file of those distributions, metadata included.
    entries = dependency_entries(sdk_site, dists, work=tmp_path / "rec")
    plan = plan_slim(entries, T312, Profile.NONE, SlimRules(drop_dists=drop))
    gone = {r.arcname for r in plan.removals}
    assert "six.py" in gone and any(a.startswith("botocore/") for a in gone)
    assert any(a.startswith("boto3-") and a.endswith(".dist-info/METADATA") for a in gone)
    assert any(a.startswith("dateutil/") for a in gone)
    left = {e.top_level for e in entries if e.arcname not in gone}
    assert {"requests", "urllib3", "certifi", "idna", "awscrt"} <= left
    assert not {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py"} & left


@pytest.mark.network
def test_runtime_provided_closure_without_requests(sdk_site: Path) -> None:
    dists = [
        d for d in read_distributions(sdk_site) if d.name not in ("requests", "charset-normalizer", "idna")
    ]
    drop, _note = runtime_provided_closure(dists, sdk_site, T312)
    assert drop == {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
    only_requests = [d for d in read_distributions(sdk_site) if d.name in ("requests", "urllib3", "certifi")]
    drop, note = runtime_provided_closure(only_requests, sdk_site, T312)
    assert drop == set() and "nothing to leave out" in note


def _misaligned_loads(path: Path) -> list[tuple[int, int, int]]:
    """PT_LOAD (offset, vaddr, align) whose offset is not congruent to the address: what
    the loader rejects with "ELF load command address/offset not properly aligned"."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    phoff, phentsize, phnum = struct.unpack_from("<Q", data, 0x20)[0], *struct.unpack_from("<HH", data, 0x36)
    bad = []
    for i in range(phnum):
        p_type, _fl, off, vaddr, _pa, _fs, _ms, align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1 and align > 1 and off % align != vaddr % align:
            bad.append((off, vaddr, align))
    return bad


@pytest.mark.network
def test_patchelf_rewritten_aarch64_libraries_never_ship_misaligned(tmp_path: Path) -> None:
    """numpy's aarch64 wheel holds files auditwheel rewrote with patchelf; some strip
    programs (llvm-strip 14 here) turn them into binaries the loader refuses. Whatever
    the tools do, only copies with aligned segments ship."""
    site = tmp_path / "site"
    _uv_install(T312_ARM, site, "numpy")
    entries = dependency_entries(site, read_distributions(site), work=tmp_path / "rec")
    plan = plan_slim(entries, T312_ARM, Profile.AGGRESSIVE)
    res = apply_slim(entries, plan, T312_ARM, tmp_path / "work")
    tools = find_strip_tools("aarch64")
    if not tools:
        assert res.stripped == []
        return
    by_name = {e.arcname: e for e in res.entries}
    for arcname, before, after in res.stripped:
        assert after < before
        assert _misaligned_loads(by_name[arcname].path) == [], arcname
    kept = dict(res.kept_unstripped)
    # Run each tool by hand on each candidate: a misaligned result must never be the one shipped.
    for arcname in plan.strip:
        e = next(x for x in entries if x.arcname == arcname)
        if not read_elf_file(e.path).has_debug_info:
            continue
        outcomes = []
        for i, tool in enumerate(tools):
            copy = tmp_path / "by-hand" / str(i) / Path(arcname).name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(e.path, copy)
            ok = (
                subprocess.run(
                    [tool, "--strip-debug", str(copy)], capture_output=True, check=False
                ).returncode
                == 0
            )
            outcomes.append(ok and not _misaligned_loads(copy))
        if not any(outcomes):
            assert arcname in kept, arcname
            assert by_name[arcname].path == e.path
            assert "no longer aligned" in kept[arcname] or "failed" in kept[arcname]
