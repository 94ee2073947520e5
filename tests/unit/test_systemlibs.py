"""Tests for lambdapack.facts.systemlibs on real ELF files (tests/fixtures/needed/make_fixtures.py)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from lambdapack.facts.runtimes import RUNTIMES
from lambdapack.facts.systemlibs import (
    LinkedFile,
    Unresolved,
    known_systems,
    lambda_ld_library_path,
    resolve_needed,
    system_sonames,
)
from lambdapack.inspect.elf.model import ELFInfo
from lambdapack.inspect.elf.reader import read_elf_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "needed"

AL2 = "Amazon Linux 2"
AL2023 = "Amazon Linux 2023"

LD_LIBRARY_PATH = (
    "/var/lang/lib",
    "/lib64",
    "/usr/lib64",
    "/var/runtime",
    "/var/runtime/lib",
    "/var/task",
    "/var/task/lib",
    "/opt/lib",
)

EXT = "/var/task/foo/_ext.cpython-312-x86_64-linux-gnu.so"


def elf(name: str) -> ELFInfo:
    return read_elf_file(str(FIXTURES / name))


def resolve(info: ELFInfo, elf_path: str, available: set[str], os_name: str = AL2023) -> list[Unresolved]:
    return resolve_needed(LinkedFile(elf_path, info.needed, info.rpath, info.runpath), available, os_name)


# --- the fixtures are what the tests assume ----------------------------------


def test_fixture_dynamic_sections() -> None:
    assert elf("libfoo.so.1").soname == "libfoo.so.1"
    plain = elf("ext_needs_foo.so")
    assert (plain.needed, plain.rpath, plain.runpath) == (("libfoo.so.1",), (), ())
    runpath = elf("ext_runpath_origin.so")
    assert (runpath.needed, runpath.rpath, runpath.runpath) == (
        ("libfoo.so.1",),
        (),
        ("$ORIGIN/../foo.libs",),
    )
    rpath = elf("ext_rpath_origin.so")
    assert (rpath.needed, rpath.rpath, rpath.runpath) == (("libfoo.so.1",), ("$ORIGIN/../foo.libs",), ())
    both = elf("ext_rpath_and_runpath.so")
    assert (both.needed, both.rpath, both.runpath, both.soname) == (
        ("libfoo.so.1",),
        ("$ORIGIN/rpath_dir",),
        ("$ORIGIN/runpath_dir",),
        None,
    )
    assert elf("ext_libc_only.so").needed == ("libm.so.6", "libpthread.so.0", "libc.so.6")


# --- data --------------------------------------------------------------------


def test_data_loads_for_every_runtime_os() -> None:
    assert known_systems() == (AL2, AL2023)
    for runtime in RUNTIMES.values():
        names = system_sonames(runtime.os)
        assert f"libpython{runtime.version}.so.1.0" in names, runtime.name


@pytest.mark.parametrize("os_name", [AL2, AL2023])
def test_core_libraries_everywhere(os_name: str) -> None:
    names = system_sonames(os_name)
    for soname in (
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "libz.so.1",
        "libffi.so.6",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libpython3.so",
    ):
        assert soname in names, (os_name, soname)


def test_openssl_and_friends_differ_between_versions() -> None:
    al2, al2023 = system_sonames(AL2), system_sonames(AL2023)
    assert {"libssl.so.10", "libcrypto.so.10"} <= al2
    assert not {"libssl.so.3", "libcrypto.so.3"} & al2
    assert {"libssl.so.3", "libcrypto.so.3"} <= al2023
    assert not {"libssl.so.10", "libcrypto.so.10", "libssl.so.1.1"} & al2023
    # AL2023 keeps libffi 3.1 (libffi.so.6); 3.4's libffi.so.8 is on neither.
    assert "libffi.so.8" not in al2 | al2023
    # Absent from the real provided.al2 (lambci diff.txt), present in the python:3.12 image.
    for soname in ("libbz2.so.1", "liblzma.so.5", "libsqlite3.so.0", "libuuid.so.1"):
        assert soname not in al2 and soname in al2023, soname
    # Deliberately left out of both (unconfirmed): X11/GL and libcrypt.
    for soname in ("libX11.so.6", "libGL.so.1", "libcrypt.so.1", "libcrypt.so.2", "libexpat.so.1"):
        assert soname not in al2 | al2023, soname
    assert "libpython3.12.so.1.0" in al2023 and "libpython3.12.so.1.0" not in al2
    assert "libpython3.11.so.1.0" in al2 and "libpython3.11.so.1.0" not in al2023


def test_data_file_shape() -> None:
    text = (resources.files("lambdapack") / "data" / "amazonlinux.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["version"] == 1
    assert data["sources"] and data["generated"] and data["notes"]
    assert "collect_al_libs.sh" in data["generated"]
    assert "configuration-envvars.html" in json.dumps(data["sources"])
    for system in data["systems"].values():
        assert system["sonames"] == sorted(set(system["sonames"]))
        assert system["confidence"] and system["excluded"]


def test_ld_library_path_from_data() -> None:
    assert lambda_ld_library_path() == LD_LIBRARY_PATH


def test_unknown_os() -> None:
    with pytest.raises(ValueError, match="Amazon Linux 2023"):
        system_sonames("Amazon Linux 1")
    with pytest.raises(ValueError):
        resolve_needed(LinkedFile(EXT, ["libc.so.6"]), set(), "Debian 12")


# --- (a) a library Amazon Linux lacks, not bundled ---------------------------


@pytest.mark.parametrize("os_name", [AL2, AL2023])
def test_missing_library_is_reported(os_name: str) -> None:
    info = elf("ext_needs_foo.so")
    available = {EXT, "/var/task/foo/__init__.py", "/var/task/foo/libfoo.so.1"}  # next to it is not searched
    assert resolve(info, EXT, available, os_name) == [Unresolved("libfoo.so.1", LD_LIBRARY_PATH)]


# --- (b) auditwheel style: $ORIGIN/../foo.libs -------------------------------


def test_origin_runpath_resolves_when_bundled() -> None:
    info = elf("ext_runpath_origin.so")
    available = {EXT, "/var/task/foo.libs/libfoo.so.1"}
    assert resolve(info, EXT, available) == []


def test_origin_runpath_unresolved_when_missing() -> None:
    info = elf("ext_runpath_origin.so")
    available = {EXT, "/var/task/foo.libs/libbar.so.1", "/var/task/foo/libfoo.so.1"}
    assert resolve(info, EXT, available) == [
        Unresolved("libfoo.so.1", (*LD_LIBRARY_PATH, "/var/task/foo.libs"))
    ]


def test_origin_runpath_in_a_layer() -> None:
    info = elf("ext_runpath_origin.so")
    ext = "/opt/python/lib/python3.12/site-packages/foo/_ext.cpython-312-x86_64-linux-gnu.so"
    ok = {ext, "/opt/python/lib/python3.12/site-packages/foo.libs/libfoo.so.1"}
    assert resolve(info, ext, ok) == []
    # The same library under the function's /var/task does not help the layer's ELF.
    bad = {ext, "/var/task/foo.libs/libfoo.so.1"}
    assert resolve(info, ext, bad) == [
        Unresolved("libfoo.so.1", (*LD_LIBRARY_PATH, "/opt/python/lib/python3.12/site-packages/foo.libs"))
    ]


def test_origin_rpath_searched_first() -> None:
    info = elf("ext_rpath_origin.so")
    assert resolve(info, EXT, {"/var/task/foo.libs/libfoo.so.1"}) == []
    assert resolve(info, EXT, set()) == [Unresolved("libfoo.so.1", ("/var/task/foo.libs", *LD_LIBRARY_PATH))]


# --- (c) only glibc ----------------------------------------------------------


@pytest.mark.parametrize("os_name", [AL2, AL2023])
def test_glibc_only_resolves_from_the_system(os_name: str) -> None:
    assert resolve(elf("ext_libc_only.so"), EXT, set(), os_name) == []


# --- (d) DT_RPATH is ignored when DT_RUNPATH exists --------------------------


def test_rpath_ignored_when_runpath_present() -> None:
    info = elf("ext_rpath_and_runpath.so")
    only_rpath_dir = {"/var/task/foo/rpath_dir/libfoo.so.1"}
    assert resolve(info, EXT, only_rpath_dir) == [
        Unresolved("libfoo.so.1", (*LD_LIBRARY_PATH, "/var/task/foo/runpath_dir"))
    ]
    assert resolve(info, EXT, {"/var/task/foo/runpath_dir/libfoo.so.1"}) == []


def test_rpath_alone_is_used() -> None:
    # Same search list without the RUNPATH: RPATH goes first.
    info = elf("ext_rpath_and_runpath.so")
    got = resolve_needed(LinkedFile(EXT, info.needed, info.rpath, ()), {"/var/task/foo/rpath_dir/libfoo.so.1"}, AL2023)
    assert got == []


# --- (e) LD_LIBRARY_PATH directories: layer lib/, function lib/ and root -----


@pytest.mark.parametrize(
    "where", ["/opt/lib/libfoo.so.1", "/var/task/lib/libfoo.so.1", "/var/task/libfoo.so.1"]
)
def test_found_via_ld_library_path(where: str) -> None:
    assert resolve(elf("ext_needs_foo.so"), EXT, {EXT, where}) == []


def test_layer_python_dir_is_not_a_library_dir() -> None:
    available = {"/opt/python/libfoo.so.1", "/opt/python/lib/libfoo.so.1", "/opt/libfoo.so.1"}
    assert resolve(elf("ext_needs_foo.so"), EXT, available) == [Unresolved("libfoo.so.1", LD_LIBRARY_PATH)]


# --- details -----------------------------------------------------------------


def test_origin_forms_and_normalisation() -> None:
    elf_path = "/var/task/a/b/_x.so"
    available = {"/var/task/a/libs/libq.so.2", "/var/task/a/b/sub/libr.so.3", "/var/task/rel/libs.so.4"}
    linked = LinkedFile(
        elf_path,
        ["libq.so.2", "libr.so.3", "libs.so.4"],
        [],
        ["${ORIGIN}/../libs/", "$ORIGIN/./sub", "rel"],  # relative: from Lambda's cwd /var/task
    )
    got = resolve_needed(linked, available, AL2)
    assert got == []


def test_needed_paths() -> None:
    available = {"/var/task/foo/vendor/libv.so"}
    needed = [
        "$ORIGIN/vendor/libv.so",
        "/lib64/libc.so.6",
        "/var/task/libnope.so",
        "vendor/libw.so",
        "/usr/lib64/libzzz.so.9",
    ]
    got = resolve_needed(LinkedFile(EXT, needed), available, AL2)
    assert got == [
        Unresolved("/var/task/libnope.so", ("/var/task",)),
        Unresolved("vendor/libw.so", ("/var/task/vendor",)),
        Unresolved("/usr/lib64/libzzz.so.9", ("/usr/lib64",)),
    ]


def test_duplicates_reported_once_and_order_kept() -> None:
    got = resolve_needed(LinkedFile(EXT, ["libb.so.1", "libc.so.6", "liba.so.1", "libb.so.1"]), set(), AL2)
    assert [u.library for u in got] == ["libb.so.1", "liba.so.1"]


def test_extra_dirs_are_searched_after_runpath() -> None:
    got = resolve_needed(
        LinkedFile(EXT, ["libk.so.1"], [], ["/var/task/r"]), set(), AL2023, extra_dirs=("/var/task/x", "/opt/lib")
    )
    assert got == [Unresolved("libk.so.1", (*LD_LIBRARY_PATH, "/var/task/r", "/var/task/x"))]
    assert (
        resolve_needed(LinkedFile(EXT, ["libk.so.1"]), {"/var/task/x/libk.so.1"}, AL2023, ("/var/task/x",)) == []
    )


def test_version_specific_system_libraries() -> None:
    # An AL2-era wheel linking OpenSSL 1.0 breaks on python3.12 (AL2023), and vice versa.
    assert resolve_needed(LinkedFile(EXT, ["libssl.so.10"]), set(), AL2) == []
    assert resolve_needed(LinkedFile(EXT, ["libssl.so.10"]), set(), AL2023) == [
        Unresolved("libssl.so.10", LD_LIBRARY_PATH)
    ]
    assert resolve_needed(LinkedFile(EXT, ["libssl.so.3"]), set(), AL2) == [
        Unresolved("libssl.so.3", LD_LIBRARY_PATH)
    ]
