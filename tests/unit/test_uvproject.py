"""uv projects, pure parts: uv's packaged-project rule, where the package's sources are, PEP 735
groups, uv export's argv per lock mode, --index/--default-index folded into uv's order, and the
settings reaching BuildOptions from flags, files and a project's function and layer sections."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from lambdapack.config.projectfile import load_project
from lambdapack.config.settings import Layers, build_options
from lambdapack.errors import InputError, UsageError
from lambdapack.pipeline.depinputs import load_inputs
from lambdapack.pipeline.options import BuildOptions
from lambdapack.project.plan import plan_project
from lambdapack.resolve.dependencygroups import group_lines
from lambdapack.resolve.install import (
    InstallOptions,
    closure_only,
    effective_locations,
    index_args,
    install_argv,
)
from lambdapack.resolve.uvlock import LockRequest, export_lock_argv, relock_argv
from lambdapack.resolve.uvproject import check_names, is_packaged, package_sources, uv_group_lines

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
T = {"runtime": "python3.12", "arch": "x86_64"}


@pytest.mark.parametrize(("table", "packaged"), [
    ({}, False),
    ({"build-system": {"requires": ["hatchling"]}}, True),
    ({"tool": {"uv": {"package": True}}}, True),
    ({"build-system": {"requires": ["hatchling"]}, "tool": {"uv": {"package": False}}}, False),
])
def test_uvs_packaged_rule(table: dict[str, object], packaged: bool) -> None:
    assert is_packaged(table) is packaged


def test_package_sources_src_layout_then_flat(tmp_path: Path) -> None:
    data = {"project": {"name": "My-App"}}
    (tmp_path / "my_app").mkdir()
    assert package_sources(tmp_path, data) == [tmp_path / "my_app"]
    (tmp_path / "src").mkdir()
    assert package_sources(tmp_path, data) == [tmp_path / "src"]


def test_groups_follow_includes_once_and_refuse_cycles() -> None:
    data = {"dependency-groups": {"aws": ["boto3"], "Tools": [{"include-group": "aws"}, "rich", "boto3"],
                                  "a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}}
    assert group_lines(data, ["tools"], "p") == ["boto3", "rich"]
    with pytest.raises(InputError, match="includes itself"):
        group_lines(data, ["a"], "p")


def test_uvs_legacy_dev_dependencies_are_the_dev_group() -> None:
    data = {"dependency-groups": {"aws": ["boto3"]}, "tool": {"uv": {"dev-dependencies": ["pytest"]}}}
    assert uv_group_lines(data, ["aws", "dev"], "p") == ["boto3", "pytest"]
    assert uv_group_lines(data, ["aws"], "p") == ["boto3"]


def test_unknown_names_say_which_exist() -> None:
    data = {"project": {"optional-dependencies": {"web": []}}, "dependency-groups": {"aws": []},
            "tool": {"uv": {"dev-dependencies": ["pytest"]}}}
    check_names(data, ["web"], ["aws", "dev"], "pyproject.toml")
    with pytest.raises(UsageError, match=r"no dependency group 'x' \(defined: aws, dev\)"):
        check_names(data, [], ["x"], "pyproject.toml")
    with pytest.raises(UsageError, match=r"--extra webb: .*\(defined: web\)"):
        check_names(data, ["webb"], [], "pyproject.toml")


def test_export_argv_per_mode_and_request(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    locked = export_lock_argv("uv", tmp_path, LockRequest(("web",)), out, packaged=False)
    assert "--locked" in locked and "--no-emit-project" in locked and "--no-dev" in locked
    assert locked[locked.index("--extra") + 1] == "web"
    frozen = export_lock_argv("uv", tmp_path, LockRequest(groups=("aws", "dev"), all_extras=True, mode="frozen"),
                              out, packaged=True)
    assert "--frozen" in frozen and "--locked" not in frozen and "--all-extras" in frozen
    assert "--no-emit-project" not in frozen  # a packaged project is exported with itself
    assert "--no-dev" not in frozen and frozen.count("--group") == 2  # dev only when asked for
    relock = export_lock_argv("uv", tmp_path, LockRequest(mode="relock"), out, packaged=False)
    assert "--frozen" in relock  # exported from the copy just re-locked
    opts = InstallOptions(indexes=("corp=https://corp/simple",))
    assert relock_argv("uv", tmp_path, opts)[-2:] == ["--extra-index-url", "https://corp/simple"]


def test_index_and_default_index_fold_into_uvs_order() -> None:
    opts = InstallOptions(extra_index_urls=("https://b/simple",), indexes=("a=https://a/simple",),
                          default_index="https://d/simple")
    assert opts.index_url == "https://d/simple"
    assert opts.extra_index_urls == ("https://a/simple", "https://b/simple")  # --index before --extra-index-url
    assert index_args(opts)[:2] == ["--index-url", "https://d/simple"]
    locs = effective_locations(opts, {"UV_DEFAULT_INDEX": "https://env/simple"})
    assert locs.index == "https://d/simple" and locs.extra == ("https://a/simple", "https://b/simple")
    with pytest.raises(UsageError, match="--index-url and --default-index"):
        InstallOptions(index_url="https://x/simple", default_index="https://d/simple")


def test_closure_only_adds_no_deps(tmp_path: Path) -> None:
    from lambdapack.facts.runtimes import get_arch, get_runtime
    from lambdapack.target.tags import Target

    argv = install_argv("uv", Target(get_runtime("python3.12"), get_arch("x86_64")), tmp_path / "r.txt",
                        tmp_path / "site", "python", InstallOptions())
    assert "--no-deps" not in argv and "--no-deps" in closure_only(argv)


def test_settings_from_flags_and_file() -> None:
    opts = build_options(Layers(flags={**T, "groups": ("aws",), "lock_mode": "frozen"},
                                file={"all_extras": True, "install.indexes": ("https://a/simple",)}))
    assert opts.groups == ("aws",) and opts.lock_mode == "frozen" and opts.all_extras
    assert opts.install.extra_index_urls == ("https://a/simple",)
    with pytest.raises(UsageError, match="expected one of locked, frozen, relock"):
        build_options(Layers(flags=T, file={"lock_mode": "thawed"}))
    with pytest.raises(UsageError, match="--all-extras and --extra"):
        build_options(Layers(flags={**T, "all_extras": True, "extras": ("web",)}))
    # Said on two levels, the higher one decides.
    over = build_options(Layers(flags={**T, "all_extras": True, "install.default_index": "https://d/simple"},
                                file={"extras": ("web",), "install.index_url": "https://f/simple"}))
    assert over.all_extras and over.extras == () and over.install.index_url == "https://d/simple"
    under = build_options(Layers(flags={**T, "extras": ("web",)}, file={"all_extras": True}))
    assert under.extras == ("web",) and not under.all_extras


def test_a_projects_groups_and_lock_mode_reach_each_job(tmp_path: Path) -> None:
    (tmp_path / "lambdapack.toml").write_text(textwrap.dedent("""\
        runtime = "python3.12"
        arch = "x86_64"
        lock = "uv.lock"
        lock_mode = "frozen"

        [functions.api]
        src = "api"
        groups = ["aws"]
        layers = ["common"]

        [layers.common]
        groups = ["shared"]
        install.default_index = "https://d/simple"
        """), encoding="utf-8")
    jobs = {j.key: j.options for j in plan_project(load_project(None, tmp_path), {}, {})}
    api, layer = jobs["function api"], jobs["layer common python3.12 x86_64"]
    assert api.groups == ("aws",) and layer.groups == ("shared",)
    assert api.lock_mode == layer.lock_mode == "frozen"
    assert layer.install.index_url == "https://d/simple" and api.install.index_url is None


def test_group_or_relock_for_what_cannot_take_them(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six\n", encoding="utf-8")
    grouped = BuildOptions(groups=("aws",), **T)
    with pytest.raises(UsageError, match="requirements file, which has no dependency groups"):
        load_inputs("requirements", tmp_path / "requirements.txt", grouped, "uv", tmp_path, {})
    d = Path(shutil.copytree(LOCKS / "poetry2", tmp_path / "poetry2"))
    with pytest.raises(UsageError, match="poetry lock"):
        load_inputs("lock", d / "poetry.lock", BuildOptions(lock_mode="relock", **T), "uv", tmp_path, {})
    with pytest.raises(UsageError, match="dependency groups are read from"):
        load_inputs("lock", d / "poetry.lock", grouped, "uv", tmp_path, {})


def test_pylock_groups_come_besides_the_default_ones(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(textwrap.dedent("""\
        lock-version = "1.0"
        created-by = "hand"
        default-groups = ["main"]
        dependency-groups = ["main", "dev"]

        [[packages]]
        name = "six"
        version = "1.17.0"
        marker = "'main' in dependency_groups"

        [[packages]]
        name = "pytest"
        version = "8.0.0"
        marker = "'dev' in dependency_groups"
        """), encoding="utf-8")
    lock = tmp_path / "pylock.toml"
    plain = load_inputs("lock", lock, BuildOptions(**T), "uv", tmp_path, {})
    dev = load_inputs("lock", lock, BuildOptions(groups=("dev",), **T), "uv", tmp_path, {})
    assert {r.name for r in plain.top_level} == {"six"} and {r.name for r in dev.top_level} == {"six", "pytest"}
    assert dev.groups == ("dev",)
    with pytest.raises(UsageError, match=r"no dependency group 'docs' \(defined: dev, main\)"):
        load_inputs("lock", lock, BuildOptions(groups=("docs",), **T), "uv", tmp_path, {})


def test_frozen_takes_a_stale_poetry_lock_as_it_is(tmp_path: Path) -> None:
    d = Path(shutil.copytree(LOCKS / "poetry2", tmp_path / "poetry2"))
    py = d / "pyproject.toml"
    py.write_text(py.read_text(encoding="utf-8").replace('"requests==2.32.3"', '"requests==2.32.3", "cryptography"'),
                  encoding="utf-8")
    with pytest.raises(InputError, match="out of date"):
        load_inputs("lock", d / "poetry.lock", BuildOptions(**T), "uv", tmp_path, {})
    reqs = load_inputs("lock", d / "poetry.lock", BuildOptions(lock_mode="frozen", **T), "uv", tmp_path, {})
    assert "cryptography" not in {r.name for r in reqs.top_level} and "requests" in {r.name for r in reqs.top_level}
