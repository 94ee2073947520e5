from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

from lambdapack.errors import BuildError, InputError
from lambdapack.install import (
    Distribution,
    InstallOptions,
    classify_uv_failure,
    install_argv,
    missing_requirements,
    native_builds,
    parse_compile_output,
    uv_environment,
)
from lambdapack.runtimes import Arch, get_runtime
from lambdapack.tags import Target

T311 = Target(get_runtime("python3.11"), Arch.X86_64)
T312A = Target(get_runtime("python3.12"), Arch.ARM64)


def test_install_argv_is_exact() -> None:
    argv = install_argv("uv", T312A, Path("r.txt"), Path("site"), "py", InstallOptions())
    assert argv == [
        "uv", "pip", "install", "--target", "site", "--python", "py",
        "--python-platform", "aarch64-manylinux_2_34", "--python-version", "3.12",
        "--only-binary", ":all:", "--no-installer-metadata", "--no-compile-bytecode",
        "--no-progress", "--color", "never", "-r", "r.txt",
    ]  # fmt: skip


def test_install_argv_options() -> None:
    opts = InstallOptions(allow_sdist=True, index_url="https://i", extra_index_urls=("https://e",), find_links=("w",))
    argv = install_argv("uv", T311, Path("r.txt"), Path("s"), "py", opts)
    assert "--only-binary" not in argv
    assert argv[argv.index("--index-url") + 1] == "https://i"
    assert argv[argv.index("--extra-index-url") + 1] == "https://e"
    assert argv[argv.index("--find-links") + 1] == "w"
    assert argv[argv.index("--python-platform") + 1] == "x86_64-manylinux_2_17"


def test_uv_environment_drops_this_machines_python() -> None:
    env = uv_environment({"PYTHONPATH": "x", "VIRTUAL_ENV": "v", "UV_INDEX_URL": "i", "PATH": "/bin"})
    assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env
    assert env["UV_INDEX_URL"] == "i" and env["PATH"] == "/bin"


def dist(name: str, tags: tuple[str, ...] = ("py3-none-any",)) -> Distribution:
    return Distribution(name, name, "1.0", tags, f"{name}-1.0.dist-info", ())


def test_missing_requirements_evaluates_markers_for_the_target() -> None:
    reqs = [Requirement('six; platform_machine == "aarch64"'), Requirement('typing-extensions; python_version < "3.12"')]
    # On the arm64 python3.12 target only six is wanted.
    assert [str(r.name) for r in missing_requirements(reqs, [], T312A)] == ["six"]
    assert missing_requirements(reqs, [dist("six")], T312A) == []
    # On python3.11 x86_64 only typing-extensions is wanted (names are normalised).
    assert [r.name for r in missing_requirements(reqs, [], T311)] == ["typing-extensions"]
    assert missing_requirements(reqs, [dist("typing-extensions")], T311) == []


def test_native_builds_are_detected_by_local_platform_tags() -> None:
    good = dist("numpy", ("cp312-cp312-manylinux_2_17_x86_64",))
    pure = dist("x")
    local = dist("y", ("cp312-cp312-linux_x86_64",))
    mac = dist("z", ("cp312-cp312-macosx_14_0_arm64",))
    assert native_builds([good, pure, local, mac]) == [local, mac]


def test_compile_output_parsing() -> None:
    out = "numpy==2.4.6\npandas==3.1.1\n    # via foo\nSix==1.17.0 ; python_version < '4'\n"
    assert parse_compile_output(out) == {"numpy": "2.4.6", "pandas": "3.1.1", "six": "1.17.0"}


# uv's messages as printed by uv 0.13 (captured from real runs, see tests/integration
# for the same failures produced by the real uv against PyPI).
NOT_FOUND = (
    "error: No solution found when resolving dependencies\n  cause: Because nonexistent-pkg-zzqq was not found "
    "in the package registry and you require nonexistent-pkg-zzqq, we can conclude that your requirements are unsatisfiable.\n"
)
CONFLICT = (
    "error: No solution found when resolving dependencies\n  cause: Because you require six==1.16 and six==1.17, "
    "we can conclude that your requirements are unsatisfiable.\n"
)
NO_WHEEL = (
    "error: No solution found when resolving dependencies\n  cause: Because pandas==3.1.1 has no usable wheels and you "
    "require pandas==3.1.1, we can conclude that your requirements are unsatisfiable.\n\nhint: Wheels are required for `pandas`\n"
)
OFFLINE = "error: Request failed after 3 retries\n  Caused by: Failed to fetch: `http://127.0.0.1:9/simple/six/`\n  tcp connect error\n"


def test_classify_uv_failures() -> None:
    e = classify_uv_failure(NOT_FOUND, T311)
    assert isinstance(e, InputError) and "nonexistent-pkg-zzqq does not exist" in e.message
    e = classify_uv_failure(CONFLICT, T311)
    assert isinstance(e, InputError) and "conflict" in e.message and "six==1.16" in e.message
    e = classify_uv_failure(NO_WHEEL, T311)
    assert isinstance(e, BuildError) and not isinstance(e, InputError)
    assert "no wheel of pandas fits python3.11 x86_64" in e.message
    e = classify_uv_failure(OFFLINE, T311)
    assert "could not be reached" in e.message
    for err in (classify_uv_failure(s, T311) for s in (NOT_FOUND, CONFLICT, NO_WHEEL, OFFLINE)):
        assert "\n" not in err.message and err.hint
