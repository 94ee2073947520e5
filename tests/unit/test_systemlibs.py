"""Tests for lambdapack.facts.systemlibs: the Amazon Linux data, and the fixtures that
tests/unit/test_loading.py runs the loader's search on (tests/fixtures/needed/make_fixtures.py)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from lambdapack.facts.runtimes import RUNTIMES
from lambdapack.facts.systemlibs import (
    known_systems,
    lambda_ld_library_path,
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

def elf(name: str) -> ELFInfo:
    return read_elf_file(str(FIXTURES / name))


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
