from __future__ import annotations

import pytest
from packaging.tags import Tag

from lambdapack.facts.runtimes import RUNTIMES, Arch, get_runtime
from lambdapack.target.tags import Target, why


def target(rt: str, arch: Arch) -> Target:
    return Target(get_runtime(rt), arch)


def test_tags_start_with_the_runtimes_own_abi_and_newest_manylinux() -> None:
    t = target("python3.12", Arch.ARM64)
    assert str(t.tags[0]) == "cp312-cp312-manylinux_2_34_aarch64"
    assert str(t.tags[-1]) == "py30-none-any"
    names = [str(x) for x in t.tags]
    assert "cp312-cp312-manylinux2014_aarch64" in names
    assert "cp32-abi3-manylinux_2_17_aarch64" in names
    assert "py3-none-any" in names and "cp312-none-any" in names


@pytest.mark.parametrize("name", list(RUNTIMES))
@pytest.mark.parametrize("arch", list(Arch))
def test_tags_never_include_foreign_platforms(name: str, arch: Arch) -> None:
    t = target(name, arch)
    rt = t.runtime
    for tag in t.tags:
        p = tag.platform
        assert not p.startswith(("musllinux", "macosx", "win", "linux_")), tag
        assert not tag.abi.endswith("t"), tag  # free-threaded
        assert tag.interpreter.startswith(("cp", "py")), tag
        if p.startswith("manylinux_"):
            major, minor = (int(x) for x in p.split("_")[1:3])
            assert (major, minor) <= rt.glibc
            assert p.endswith(arch.machine)
    top = f"manylinux_2_{rt.glibc[1]}_{arch.machine}"
    assert any(tag.platform == top for tag in t.tags)
    assert not any(tag.platform == f"manylinux_2_{rt.glibc[1] + 1}_{arch.machine}" for tag in t.tags)


def test_legacy_aliases_per_architecture() -> None:
    x = {t.platform for t in target("python3.11", Arch.X86_64).tags}
    assert {"manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64", "manylinux_2_5_x86_64"} <= x
    a = {t.platform for t in target("python3.11", Arch.ARM64).tags}
    assert "manylinux2014_aarch64" in a
    assert "manylinux1_aarch64" not in a and "manylinux_2_16_aarch64" not in a


def test_abi3_goes_down_to_cp32_but_not_above_runtime() -> None:
    t = target("python3.11", Arch.X86_64)
    abi3 = {x.interpreter for x in t.tags if x.abi == "abi3"}
    assert "cp32" in abi3 and "cp311" in abi3 and "cp312" not in abi3


def test_uv_platform_is_derived_from_catalog() -> None:
    assert target("python3.11", Arch.X86_64).uv_platform == "x86_64-manylinux_2_17"
    assert target("python3.9", Arch.ARM64).uv_platform == "aarch64-manylinux_2_17"
    assert target("python3.12", Arch.ARM64).uv_platform == "aarch64-manylinux_2_34"
    assert target("python3.14", Arch.X86_64).uv_platform == "x86_64-manylinux_2_34"


def test_marker_environment_is_the_targets() -> None:
    env = target("python3.12", Arch.ARM64).marker_environment
    assert env["platform_machine"] == "aarch64"
    assert env["python_version"] == "3.12"
    assert env["sys_platform"] == "linux"


@pytest.mark.parametrize(
    ("filename", "rt", "arch", "ok", "needle"),
    [
        ("numpy-2.3.5-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "python3.11", Arch.X86_64, False, "needs glibc 2.27"),
        ("numpy-2.3.5-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "python3.12", Arch.X86_64, False, "CPython 3.11"),
        ("numpy-2.5.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "python3.12", Arch.X86_64, True, "manylinux_2_28"),
        ("pydantic_core-2.41.5-cp312-cp312-macosx_11_0_arm64.whl", "python3.12", Arch.ARM64, False, "macOS"),
        ("orjson-3.11.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "python3.11", Arch.X86_64, False, "built for aarch64"),
        ("x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl", "python3.13", Arch.X86_64, False, "free-threaded"),
        ("x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "python3.12", Arch.X86_64, False, "musl"),
        ("x-1.0-cp312-cp312-win_amd64.whl", "python3.12", Arch.X86_64, False, "Windows"),
        ("x-1.0-cp312-cp312-linux_x86_64.whl", "python3.12", Arch.X86_64, False, "local build"),
        ("x-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", "python3.10", Arch.X86_64, False, "PyPy"),
        ("x-1.0-cp313-abi3-manylinux_2_17_x86_64.whl", "python3.12", Arch.X86_64, False, "stable ABI from CPython 3.13"),
        ("cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl", "python3.14", Arch.X86_64, True, "abi3"),
        ("six-1.17.0-py2.py3-none-any.whl", "python3.9", Arch.ARM64, True, "py3-none-any"),
    ],
)
def test_why(filename: str, rt: str, arch: Arch, ok: bool, needle: str) -> None:
    v = why(filename, target(rt, arch))
    assert v.compatible is ok
    assert needle in v.reason
    assert "\n" not in v.reason


def test_why_prefers_the_closest_linux_tag_when_explaining() -> None:
    v = why("numpy-2.4.6-cp311-cp311-macosx_10_9_x86_64.manylinux_2_27_x86_64.whl", target("python3.11", Arch.X86_64))
    assert not v.compatible and "glibc 2.27" in v.reason


def test_why_rejects_non_wheel_names() -> None:
    with pytest.raises(ValueError, match="not a wheel"):
        why("requests-2.0.tar.gz", target("python3.12", Arch.X86_64))


def test_tag_rank_matches_order() -> None:
    t = target("python3.13", Arch.X86_64)
    assert t.tag_rank[Tag("cp313", "cp313", "manylinux_2_34_x86_64")] == 0
