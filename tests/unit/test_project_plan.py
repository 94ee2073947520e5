"""A project build's plan (project/plan.py) from real config files, and what a function takes
from its layers (assemble/fromlayers.py): pure, no network."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lambdapack.assemble.fromlayers import LayerDist, match_layers
from lambdapack.config.projectfile import load_project
from lambdapack.errors import UsageError
from lambdapack.project.plan import plan_project

CONFIG = """\
runtime = "python3.12"
arch = "x86_64"
slim = "aggressive"

[functions.api]
src = "api"
handler = "app.handler"
requirements = "api/requirements.txt"
layers = ["common"]

[functions.edge]
src = "edge"
arch = "arm64"
requirements = "edge/requirements.txt"
layers = ["common"]
slim = "none"

[functions.solo]
src = "solo"

[layers.common]
requirements = "layers/common.txt"
architectures = ["x86_64", "arm64"]

[layers.unused]
requirements = "layers/unused.txt"
"""


def project(tmp_path: Path, text: str = CONFIG):  # type: ignore[no-untyped-def]
    (tmp_path / "lambdapack.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_project(None, tmp_path)


def test_every_artifact_once_layers_per_target_and_attached(tmp_path: Path) -> None:
    jobs = plan_project(project(tmp_path), {}, {})
    keys = [j.key for j in jobs]
    assert keys == ["layer common python3.12 arm64", "layer common python3.12 x86_64",
                    "layer unused python3.12 x86_64", "function api", "function edge", "function solo"]
    by = {j.key: j for j in jobs}
    # A layer with two targets gets the target in each zip's name; one with one target keeps its name.
    assert by["layer common python3.12 arm64"].options.output == tmp_path / "dist/layer-common-python3.12-arm64.zip"
    assert by["layer unused python3.12 x86_64"].options.output == tmp_path / "dist/layer-unused.zip"
    api, edge = by["function api"], by["function edge"]
    assert api.needs == ("layer common python3.12 x86_64",)
    assert api.options.attach_layers == (tmp_path / "dist/layer-common-python3.12-x86_64.zip",)
    assert edge.options.arch == "arm64" and edge.needs == ("layer common python3.12 arm64",)
    assert (api.options.slim, edge.options.slim) == ("aggressive", "none")  # the cascade per function
    assert api.options.src == tmp_path / "api" and api.options.output == tmp_path / "dist/api.zip"
    assert by["layer common python3.12 x86_64"].options.kind == "layer"
    assert by["layer common python3.12 x86_64"].options.src is None


def test_names_select_and_pull_their_layers(tmp_path: Path) -> None:
    jobs = plan_project(project(tmp_path), {}, {}, ["edge"])
    assert [j.key for j in jobs] == ["layer common python3.12 arm64", "function edge"]
    assert [j.key for j in plan_project(project(tmp_path), {}, {}, ["unused"])] == ["layer unused python3.12 x86_64"]


def test_flags_override_every_target(tmp_path: Path) -> None:
    jobs = plan_project(project(tmp_path), {"runtime": "3.13", "arch": "aarch64"}, {}, ["api", "edge"])
    assert {j.target for j in jobs} == {"python3.13 arm64"}
    assert [j.key for j in jobs] == ["layer common python3.13 arm64", "function api", "function edge"]


def test_unknown_name_and_single_artifact_flags_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no function or layer 'apj' \(did you mean 'api'"):
        plan_project(project(tmp_path), {}, {}, ["apj"])
    with pytest.raises(UsageError, match="-o/--output names a single artifact"):
        plan_project(project(tmp_path), {"output": Path("x.zip")}, {})


def test_a_function_without_a_runtime_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="function 'a': no runtime given"):
        plan_project(project(tmp_path, '[functions.a]\nsrc = "a"\narch = "x86_64"\n'), {}, {})


def test_same_version_is_taken_from_the_layer_and_a_different_one_conflicts() -> None:
    provided = [LayerDist("numpy", "2.1.0", "common"), LayerDist("six", "1.16.0", "common")]
    taken, conflicts = match_layers([("NumPy", "2.1"), ("requests", "2.32.3")], provided)
    assert [(t.name, t.version, t.layer) for t in taken] == [("NumPy", "2.1", "common")]
    assert conflicts == []
    taken, conflicts = match_layers([("six", "1.17.0")], provided)
    assert taken == [] and len(conflicts) == 1 and "six 1.17.0" in conflicts[0] and "1.16.0" in conflicts[0]


def test_two_layers_with_different_versions_conflict() -> None:
    _taken, conflicts = match_layers([], [LayerDist("six", "1.16.0", "a"), LayerDist("six", "1.17.0", "b")])
    assert len(conflicts) == 1 and "layers a and b" in conflicts[0]
    _taken, conflicts = match_layers([], [LayerDist("six", "1.16.0", "a"), LayerDist("Six", "1.16.0", "b")])
    assert conflicts == []


def test_trees_are_per_artifact(tmp_path: Path) -> None:
    jobs = plan_project(project(tmp_path, CONFIG.replace('[functions.solo]\nsrc = "solo"\n',
                                                         '[functions.solo]\nsrc = "solo"\ntree_dir = "build/solo"\n')),
                        {}, {}, ["solo"])
    assert jobs[0].options.tree_dir == tmp_path / "build/solo"
    # A layer with two targets would replace one tree with the other.
    two_targets = CONFIG.replace('architectures = ["x86_64", "arm64"]\n',
                                 'architectures = ["x86_64", "arm64"]\ntree_dir = "build/common"\n')
    with pytest.raises(UsageError, match="layer 'common' is built for several targets"):
        plan_project(project(tmp_path, two_targets), {}, {})
    with pytest.raises(UsageError, match="tree_dir in the defaults"):
        plan_project(project(tmp_path, 'tree_dir = "t"\n' + CONFIG), {}, {})
    with pytest.raises(UsageError, match="--output-dir names a single artifact"):
        plan_project(project(tmp_path), {"tree_dir": Path("t")}, {})
