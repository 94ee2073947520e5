from __future__ import annotations

import math
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from lambdapack.errors import BuildError, InputError, UsageError
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.resolve.distributions import Distribution, missing_requirements, native_builds
from lambdapack.resolve.install import (
    InstallOptions,
    Limits,
    check_index_locations,
    deadline_error,
    install_argv,
    parse_compile_output,
    resolve_limits,
    uv_environment,
)
from lambdapack.resolve.uvfailure import classify_uv_failure
from lambdapack.target.tags import Target

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


def test_limits_flag_then_lambdapack_env_then_users_uv_setting_then_default() -> None:
    assert resolve_limits(InstallOptions(), {}) == Limits(15.0, 900.0)
    assert resolve_limits(InstallOptions(), {"UV_HTTP_TIMEOUT": "40"}) == Limits(40.0, 900.0)
    env = {"UV_HTTP_TIMEOUT": "40", "LAMBDAPACK_NETWORK_TIMEOUT": "7.5", "LAMBDAPACK_DEADLINE": "60"}
    assert resolve_limits(InstallOptions(), env) == Limits(7.5, 60.0)
    assert resolve_limits(InstallOptions(network_timeout=2, deadline=3), env) == Limits(2.0, 3.0)
    assert resolve_limits(InstallOptions(), {"LAMBDAPACK_DEADLINE": "  "}) == Limits(15.0, 900.0)


@pytest.mark.parametrize(
    ("opts", "env", "named"),
    [
        (InstallOptions(network_timeout=-1), {}, "--network-timeout -1"),
        (InstallOptions(deadline=0), {}, "--deadline 0"),
        (InstallOptions(deadline=math.nan), {}, "--deadline nan"),
        (InstallOptions(), {"LAMBDAPACK_NETWORK_TIMEOUT": "soon"}, "LAMBDAPACK_NETWORK_TIMEOUT='soon'"),
        (InstallOptions(), {"LAMBDAPACK_DEADLINE": "inf"}, "LAMBDAPACK_DEADLINE='inf'"),
        (InstallOptions(), {"UV_HTTP_TIMEOUT": "-5"}, "UV_HTTP_TIMEOUT='-5'"),
    ],
)
def test_invalid_limits_are_usage_errors(opts: InstallOptions, env: dict[str, str], named: str) -> None:
    with pytest.raises(UsageError) as e:
        resolve_limits(opts, env)
    assert e.value.exit_code == 2
    assert e.value.message == f"{named}: not a positive number of seconds"
    assert e.value.hint


def test_uv_environment_carries_the_limits() -> None:
    env = uv_environment({"PATH": "/bin"}, Limits(2.5, 10))
    assert env["UV_HTTP_TIMEOUT"] == "3"  # uv takes whole seconds: rounded up, never 0
    assert env["UV_HTTP_RETRIES"] == "1"
    assert uv_environment({"UV_HTTP_RETRIES": "4"}, Limits(0.2, 10))["UV_HTTP_RETRIES"] == "4"
    assert uv_environment({}, Limits(0.2, 10))["UV_HTTP_TIMEOUT"] == "1"
    assert "UV_HTTP_TIMEOUT" not in uv_environment({})
    assert Limits(0.2, 1).request_timeout == 1 and Limits(2.5, 1).request_timeout == 3


def test_index_locations_valid(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    page = tmp_path / "links.html"
    page.write_text("<a href='x.whl'>x</a>", encoding="utf-8")
    opts = InstallOptions(index_url="https://pypi.org/simple", extra_index_urls=("http://127.0.0.1:9/simple",
                          str(wheels), "file:///srv/index"), find_links=(str(wheels), str(page), "https://x/links"))
    check_index_locations(opts, {})
    check_index_locations(InstallOptions(), {"UV_INDEX_URL": "https://example.org/simple"})


@pytest.mark.parametrize("bad", ["not a url", "ftp://x", "htp:/pypi.org", "http:/pypi.org", "https://", "nodir"])
def test_index_locations_invalid(bad: str, tmp_path: Path) -> None:
    for opts, label in ((InstallOptions(index_url=bad), "--index-url"),
                        (InstallOptions(extra_index_urls=(bad,)), "--extra-index-url")):
        with pytest.raises(UsageError) as e:
            check_index_locations(opts, {})
        assert e.value.message == f"{label} {bad!r}: not an http(s) URL or a local path"
    with pytest.raises(UsageError, match="UV_INDEX_URL"):
        check_index_locations(InstallOptions(), {"UV_INDEX_URL": bad})
    with pytest.raises(UsageError, match="--find-links"):
        check_index_locations(InstallOptions(find_links=(str(tmp_path / bad),)), {})


def test_deadline_error_names_the_limit_the_index_and_the_flag() -> None:
    e = deadline_error("resolving and installing for python3.12 x86_64", Limits(15, 3),
                       "Using CPython 3.12\nResolved 1 package in 75ms\n", "http://127.0.0.1:1/simple")
    assert type(e) is BuildError
    assert e.message == ("resolving and installing for python3.12 x86_64 did not finish within 3 s "
                         "(the package index at http://127.0.0.1:1/simple may be stalled); uv was stopped")
    assert e.hint and "--deadline" in e.hint and "LAMBDAPACK_DEADLINE" in e.hint
    e = deadline_error("exporting uv.lock with uv", Limits(15, 2.5), "error: " + "x" * 100_000)
    assert "within 2.5 s; uv was stopped; uv had said: x" in e.message and len(e.message) < 2200
