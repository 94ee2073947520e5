"""The pure model of ld.so's loads (lambdapack.inspect.loading) on small synthetic graphs.

Each case is a graph whose outcome on glibc's loader is known from ld.so(8) and
dl-load.c; tests/integration/test_loader_agrees.py compares the model with the real
loader on real wheels."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.facts.systemlibs import (
    LinkedFile,
    Unresolved,
    inherited_rpath,
    lambda_ld_library_path,
    search_path,
)
from lambdapack.inspect.elf.model import ELFInfo
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.inspect.loading import extension_roots, unresolved_needed

AL2 = "Amazon Linux 2"
AL2023 = "Amazon Linux 2023"
SITE = "/var/task"
EXT = f"{SITE}/pkg/_ext.cpython-311-x86_64-linux-gnu.so"
LIBS = f"{SITE}/pkg.libs"


def verdict(*objs: LinkedFile, extra: tuple[str, ...] = (), os_name: str = AL2) -> dict[str, list[str]]:
    objects = {o.path: o for o in objs}
    available = set(objects) | set(extra)
    roots = extension_roots(objects, [SITE, "/opt/python/lib/python3.11/site-packages", "/opt/python"])
    got = unresolved_needed(objects, roots, available, os_name)
    return {p: [u.library for u in us] for p, us in got.items()}


def grafted(name: str, *needed: str, **kw: object) -> LinkedFile:
    return LinkedFile(f"{LIBS}/{name}", needed, soname=name, **kw)  # type: ignore[arg-type]


# --- RPATH inheritance: older auditwheel's grafted libraries ------------------


def test_rpath_of_the_loading_extension_module_finds_a_grafted_librarys_sibling() -> None:
    ext = LinkedFile(EXT, ["libtiff-1.so.6", "libc.so.6"], rpath=["$ORIGIN/../pkg.libs"])
    tiff = grafted("libtiff-1.so.6", "libzstd-2.so.1")  # no RPATH of its own
    zstd = grafted("libzstd-2.so.1", "libc.so.6")
    assert verdict(ext, tiff, zstd) == {}


def test_rpath_is_inherited_through_several_levels() -> None:
    ext = LinkedFile(EXT, ["liba.so"], rpath=["${ORIGIN}/../pkg.libs"])
    assert verdict(ext, grafted("liba.so", "libb.so"), grafted("libb.so", "libc.so"), grafted("libc.so")) == {}


def test_a_grafted_library_nothing_loads_is_judged_as_loaded_directly() -> None:
    # Nothing loads libtiff here (no extension module needs it): dlopen("…/libtiff") alone fails.
    tiff = grafted("libtiff-1.so.6", "libzstd-2.so.1")
    zstd = grafted("libzstd-2.so.1")
    assert verdict(tiff, zstd) == {tiff.path: ["libzstd-2.so.1"]}


def test_a_library_deleted_from_libs_is_reported_on_the_object_that_needs_it_only() -> None:
    ext = LinkedFile(EXT, ["libtiff-1.so.6"], rpath=["$ORIGIN/../pkg.libs"])
    tiff = grafted("libtiff-1.so.6", "libzstd-2.so.1", "libjpeg-3.so.62")
    jpeg = grafted("libjpeg-3.so.62")
    got = unresolved_needed({o.path: o for o in (ext, tiff, jpeg)}, [EXT], {EXT, tiff.path, jpeg.path}, AL2)
    assert got == {tiff.path: [Unresolved("libzstd-2.so.1", (LIBS, *lambda_ld_library_path()))]}


# --- DT_RUNPATH: the object's own only, and it turns the RPATH chain off -------


def test_runpath_is_not_inherited_by_the_objects_it_loads() -> None:
    ext = LinkedFile(EXT, ["liba.so"], runpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libb.so")  # found only through ext's RUNPATH, which a does not inherit
    b = grafted("libb.so")
    assert verdict(ext, a, b) == {a.path: ["libb.so"]}


def test_an_object_with_runpath_does_not_search_the_rpath_chain() -> None:
    ext = LinkedFile(EXT, ["liba.so"], rpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libb.so", runpath=["$ORIGIN/sub"])
    assert verdict(ext, a, grafted("libb.so")) == {a.path: ["libb.so"]}
    assert verdict(ext, a, LinkedFile(f"{LIBS}/sub/libb.so", [])) == {}


def test_the_rpath_chain_passes_through_an_object_with_runpath() -> None:
    # glibc walks l_loader up from the requesting object; an object with DT_RUNPATH
    # contributes nothing (its DT_RPATH is ignored) but its own loaders still do.
    ext = LinkedFile(EXT, ["liba.so"], rpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libb.so", runpath=["$ORIGIN"], rpath=["/nowhere"])
    b = grafted("libb.so", "libc.so")  # no RUNPATH: ext's RPATH applies to its lookups
    assert verdict(ext, a, b, grafted("libc.so")) == {}


def test_an_objects_own_rpath_is_ignored_when_it_has_runpath() -> None:
    ext = LinkedFile(EXT, ["liba.so"], rpath=["$ORIGIN/other"], runpath=["/nowhere"])
    assert verdict(ext, LinkedFile(f"{SITE}/pkg/other/liba.so", [])) == {ext.path: ["liba.so"]}


def test_the_ignored_rpath_of_a_runpath_object_is_not_inherited_either() -> None:
    # ext's DT_RPATH is dropped because it has DT_RUNPATH: liba's lookups do not get it.
    ext = LinkedFile(EXT, ["liba.so"], rpath=["$ORIGIN/../other"], runpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libb.so")
    assert verdict(ext, a, LinkedFile(f"{SITE}/other/libb.so", [])) == {a.path: ["libb.so"]}


# --- objects already loaded -----------------------------------------------------


def test_a_library_already_loaded_is_found_by_its_soname() -> None:
    # a finds libzz under its file name through ext's RPATH; b asks for its SONAME,
    # which no directory holds under that name, and gets the loaded object.
    ext = LinkedFile(EXT, ["liba.so", "libb.so"], rpath=["$ORIGIN/../pkg.libs", "$ORIGIN/b"])
    a = grafted("liba.so", "libzz-hash.so.1.2")
    b = LinkedFile(f"{SITE}/pkg/b/libb.so", ["libzz.so.1"])
    zz = LinkedFile(f"{LIBS}/libzz-hash.so.1.2", [], soname="libzz.so.1")
    assert verdict(ext, a, b, zz) == {}
    # b loaded before libzz (it comes first in ext's DT_NEEDED) finds nothing by that name.
    b_no_root = LinkedFile(f"{SITE}/pkg/b-x/libb.so", ["libzz.so.1"])  # no package dir: not a root
    ext_b_first = LinkedFile(EXT, ["libb.so", "liba.so"], rpath=["$ORIGIN/../pkg.libs", "$ORIGIN/../pkg/b-x"])
    assert verdict(ext_b_first, a, b_no_root, zz) == {b_no_root.path: ["libzz.so.1"]}


def test_a_library_already_loaded_is_found_by_the_name_it_was_requested_by() -> None:
    ext = LinkedFile(EXT, ["liba.so", "libb.so"], rpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libshared.so")
    b = grafted("libb.so", "libshared.so", runpath=["/nowhere"])  # RUNPATH: no chain, would fail alone
    shared = LinkedFile(f"{LIBS}/libshared.so", [])  # no SONAME: matched by its requested name
    assert verdict(ext, a, b, shared) == {}


def test_loads_from_different_extension_modules_are_not_credited_to_each_other() -> None:
    # Import order is not known: a library found only after another module loaded it
    # is reported, since importing this module first fails.
    first = LinkedFile(f"{SITE}/pkg/_a.so", ["libz-hash.so"], rpath=["$ORIGIN/../pkg.libs"])
    second = LinkedFile(f"{SITE}/pkg/_b.so", ["libz-hash.so"])
    z = grafted("libz-hash.so")
    assert verdict(first, second, z) == {second.path: ["libz-hash.so"]}


# --- $ORIGIN, LD_LIBRARY_PATH, the system ------------------------------------


def test_origin_is_each_objects_own_directory() -> None:
    ext = LinkedFile(EXT, ["liba.so"], rpath=["$ORIGIN/../pkg.libs"])
    a = grafted("liba.so", "libb.so", runpath=["$ORIGIN/../deeper"])
    assert verdict(ext, a, LinkedFile(f"{SITE}/deeper/libb.so", [])) == {}
    assert verdict(ext, a, LinkedFile(f"{SITE}/pkg/deeper/libb.so", [])) == {a.path: ["libb.so"]}


def test_lambdas_ld_library_path_holds_var_task_lib_and_opt_lib() -> None:
    ext = LinkedFile(EXT, ["libfn.so.1", "liblayer.so.2"])
    fn = LinkedFile("/var/task/lib/libfn.so.1", [])
    layer = LinkedFile("/opt/lib/liblayer.so.2", ["libfn.so.1"])
    assert verdict(ext, fn, layer) == {}
    assert verdict(ext, fn) == {ext.path: ["liblayer.so.2"]}
    assert verdict(ext, layer) == {ext.path: ["libfn.so.1"], layer.path: ["libfn.so.1"]}


def test_system_libraries_are_those_of_the_runtimes_amazon_linux() -> None:
    ext = LinkedFile(EXT, ["libssl.so.10", "libm.so.6"])
    assert verdict(ext, os_name=AL2) == {}
    assert verdict(ext, os_name=AL2023) == {ext.path: ["libssl.so.10"]}


def test_a_needed_path_is_opened_not_searched() -> None:
    ext = LinkedFile(EXT, ["$ORIGIN/../pkg.libs/liba.so", "/lib64/libc.so.6", "/opt/nothing/libq.so"])
    a = grafted("liba.so", "libb.so")
    got = verdict(ext, a, grafted("libb.so"))
    assert got == {ext.path: ["/opt/nothing/libq.so"], a.path: ["libb.so"]}


def test_a_file_that_is_no_modelled_elf_still_counts_as_found() -> None:
    # e.g. a wrong-machine library: LP001 reports it, LP007 does not say it again.
    ext = LinkedFile(EXT, ["libodd.so"], rpath=["$ORIGIN"])
    assert verdict(ext, extra=(f"{SITE}/pkg/libodd.so",)) == {}


# --- roots ---------------------------------------------------------------------


def test_extension_roots_are_importable_extension_modules_only() -> None:
    paths = [
        "/var/task/pkg/_ext.cpython-311-x86_64-linux-gnu.so",
        "/var/task/pkg/sub/_x.abi3.so",
        "/var/task/top.so",
        "/var/task/pkg.libs/libfoo.so",  # pkg.libs is no package name
        "/var/task/pkg/libtiff-1a2b.so.6",  # not an extension file name
        "/opt/python/lib/python3.11/site-packages/a/_b.so",
        "/opt/lib/_c.so",  # /opt/lib is not on sys.path
    ]
    roots = extension_roots(paths, ["/var/task", "/opt/python/lib/python3.11/site-packages", "/opt/python"])
    assert roots == sorted([*paths[:3], paths[5]])


def test_many_extension_modules_sharing_a_closure_stay_fast() -> None:
    import time

    libs = [grafted(f"lib{i}.so", *(f"lib{j}.so" for j in range(i + 1, min(i + 6, 40)))) for i in range(40)]
    exts = [LinkedFile(f"{SITE}/pkg/_m{i}.so", ["lib0.so"], rpath=["$ORIGIN/../pkg.libs"]) for i in range(3000)]
    start = time.perf_counter()
    assert verdict(*exts, *libs) == {}
    assert time.perf_counter() - start < 5


# --- one object loaded directly, on real ELF files (tests/fixtures/needed) -----------
# The exact directories searched, in order, for a failed lookup (ld.so(8)).

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "needed"
EXT312 = "/var/task/foo/_ext.cpython-312-x86_64-linux-gnu.so"
LD_LIBRARY_PATH = (
    "/var/lang/lib", "/lib64", "/usr/lib64", "/var/runtime", "/var/runtime/lib", "/var/task", "/var/task/lib",
    "/opt/lib",
)


def directly(obj: LinkedFile, available: set[str], os_name: str = AL2023) -> list[Unresolved]:
    """What fails when ``obj`` is the only object, loaded as an extension module."""
    return unresolved_needed({obj.path: obj}, [obj.path], available | {obj.path}, os_name).get(obj.path, [])


def elf(name: str) -> ELFInfo:
    return read_elf_file(str(FIXTURES / name))


def resolve(info: ELFInfo, elf_path: str, available: set[str], os_name: str = AL2023) -> list[Unresolved]:
    return directly(LinkedFile(elf_path, info.needed, info.rpath, info.runpath), available, os_name)


def test_an_unknown_os_is_refused() -> None:
    with pytest.raises(ValueError, match="Amazon Linux 2023"):
        directly(LinkedFile(EXT312, ["libc.so.6"]), set(), "Debian 12")


# --- (a) a library Amazon Linux lacks, not bundled ---------------------------


@pytest.mark.parametrize("os_name", [AL2, AL2023])
def test_missing_library_is_reported(os_name: str) -> None:
    info = elf("ext_needs_foo.so")
    available = {EXT312, "/var/task/foo/__init__.py", "/var/task/foo/libfoo.so.1"}  # next to it is not searched
    assert resolve(info, EXT312, available, os_name) == [Unresolved("libfoo.so.1", LD_LIBRARY_PATH)]


# --- (b) auditwheel style: $ORIGIN/../foo.libs -------------------------------


def test_origin_runpath_resolves_when_bundled() -> None:
    info = elf("ext_runpath_origin.so")
    available = {EXT312, "/var/task/foo.libs/libfoo.so.1"}
    assert resolve(info, EXT312, available) == []


def test_origin_runpath_unresolved_when_missing() -> None:
    info = elf("ext_runpath_origin.so")
    available = {EXT312, "/var/task/foo.libs/libbar.so.1", "/var/task/foo/libfoo.so.1"}
    assert resolve(info, EXT312, available) == [
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
    assert resolve(info, EXT312, {"/var/task/foo.libs/libfoo.so.1"}) == []
    assert resolve(info, EXT312, set()) == [Unresolved("libfoo.so.1", ("/var/task/foo.libs", *LD_LIBRARY_PATH))]


# --- (c) only glibc ----------------------------------------------------------


@pytest.mark.parametrize("os_name", [AL2, AL2023])
def test_glibc_only_resolves_from_the_system(os_name: str) -> None:
    assert resolve(elf("ext_libc_only.so"), EXT312, set(), os_name) == []


# --- (d) DT_RPATH is ignored when DT_RUNPATH exists --------------------------


def test_rpath_ignored_when_runpath_present() -> None:
    info = elf("ext_rpath_and_runpath.so")
    only_rpath_dir = {"/var/task/foo/rpath_dir/libfoo.so.1"}
    assert resolve(info, EXT312, only_rpath_dir) == [
        Unresolved("libfoo.so.1", (*LD_LIBRARY_PATH, "/var/task/foo/runpath_dir"))
    ]
    assert resolve(info, EXT312, {"/var/task/foo/runpath_dir/libfoo.so.1"}) == []


def test_rpath_alone_is_used() -> None:
    # Same search list without the RUNPATH: RPATH goes first.
    info = elf("ext_rpath_and_runpath.so")
    got = directly(LinkedFile(EXT312, info.needed, info.rpath, ()), {"/var/task/foo/rpath_dir/libfoo.so.1"}, AL2023)
    assert got == []


# --- (e) LD_LIBRARY_PATH directories: layer lib/, function lib/ and root -----


@pytest.mark.parametrize(
    "where", ["/opt/lib/libfoo.so.1", "/var/task/lib/libfoo.so.1", "/var/task/libfoo.so.1"]
)
def test_found_via_ld_library_path(where: str) -> None:
    assert resolve(elf("ext_needs_foo.so"), EXT312, {EXT312, where}) == []


def test_layer_python_dir_is_not_a_library_dir() -> None:
    available = {"/opt/python/libfoo.so.1", "/opt/python/lib/libfoo.so.1", "/opt/libfoo.so.1"}
    assert resolve(elf("ext_needs_foo.so"), EXT312, available) == [Unresolved("libfoo.so.1", LD_LIBRARY_PATH)]


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
    got = directly(linked, available, AL2)
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
    got = directly(LinkedFile(EXT312, needed), available, AL2)
    assert got == [
        Unresolved("/var/task/libnope.so", ("/var/task",)),
        Unresolved("vendor/libw.so", ("/var/task/vendor",)),
        Unresolved("/usr/lib64/libzzz.so.9", ("/usr/lib64",)),
    ]


def test_duplicates_reported_once_and_order_kept() -> None:
    got = directly(LinkedFile(EXT312, ["libb.so.1", "libc.so.6", "liba.so.1", "libb.so.1"]), set(), AL2)
    assert [u.library for u in got] == ["libb.so.1", "liba.so.1"]


def test_version_specific_system_libraries() -> None:
    # An AL2-era wheel linking OpenSSL 1.0 breaks on python3.12 (AL2023), and vice versa.
    assert directly(LinkedFile(EXT312, ["libssl.so.10"]), set(), AL2) == []
    assert directly(LinkedFile(EXT312, ["libssl.so.10"]), set(), AL2023) == [
        Unresolved("libssl.so.10", LD_LIBRARY_PATH)
    ]
    assert directly(LinkedFile(EXT312, ["libssl.so.3"]), set(), AL2) == [
        Unresolved("libssl.so.3", LD_LIBRARY_PATH)
    ]


def test_the_search_puts_extra_dirs_after_runpath() -> None:
    obj = LinkedFile(EXT312, ["libk.so.1"], [], ["/var/task/r"])
    assert search_path(obj, inherited_rpath(obj), ("/var/task/x", "/opt/lib")) == (
        *LD_LIBRARY_PATH, "/var/task/r", "/var/task/x")
