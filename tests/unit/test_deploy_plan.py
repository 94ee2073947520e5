"""deploy.plan's decisions over typed remote state (pure): reuse or publish a layer, what to update
on a function, whether the function and a layer fit the artifact, and when a wait is over."""

from __future__ import annotations

import pytest

from lambdapack.deploy.plan import (
    Artifact,
    FunctionState,
    LayerVersion,
    check_function,
    check_layer_fits,
    function_step,
    layer_step,
    wait_verdict,
)
from lambdapack.errors import BuildError, InputError

LAYER = Artifact("layer", "deps", "deps", "python3.12", "arm64", "dist/layer-deps.zip", "ab" * 32, "SHA=", 10)
FN = Artifact("function", "api", "orders-api", "python3.12", "arm64", "dist/api.zip", "cd" * 32, "NEW=", 10,
              layers=("deps",), layer_arns=("arn:ext:1",))


def version(arn: str, sha: str, runtimes: tuple[str, ...] = ("python3.12",),
            arches: tuple[str, ...] = ("arm64",)) -> LayerVersion:
    return LayerVersion(arn, sha, runtimes, arches)


def state(**kw: object) -> FunctionState:
    base: dict[str, object] = {"name": "orders-api", "runtime": "python3.12", "architectures": ("arm64",),
                               "package_type": "Zip", "code_sha256": "OLD=", "layers": (),
                               "last_update_status": "Successful"}
    return FunctionState(**{**base, **kw})  # type: ignore[arg-type]


def test_a_layer_with_the_same_bytes_is_reused_newest_first() -> None:
    step = layer_step(LAYER, [version("v3", "OTHER="), version("v2", "SHA="), version("v1", "SHA=")])
    assert (step.action, step.arn) == ("reuse", "v2")


def test_a_layer_is_published_when_no_version_has_its_bytes_or_fits() -> None:
    assert layer_step(LAYER, []).action == "publish"
    assert layer_step(LAYER, [version("v1", "OTHER=")]).action == "publish"
    same_bytes_other_arch = layer_step(LAYER, [version("v1", "SHA=", arches=("x86_64",))])
    assert same_bytes_other_arch.action == "publish" and "not declared for" in same_bytes_other_arch.reason
    # A version that declares nothing is compatible with everything.
    assert layer_step(LAYER, [version("v1", "SHA=", (), ())]).action == "reuse"


def test_function_updates_only_what_differs() -> None:
    same = function_step(FN, state(code_sha256="NEW=", layers=("arn:deps:1", "arn:ext:1")), ["arn:deps:1", "arn:ext:1"])
    assert same.unchanged
    code = function_step(FN, state(layers=("arn:deps:1", "arn:ext:1")), ["arn:deps:1", "arn:ext:1"])
    assert code.update_code and not code.update_layers
    order = function_step(FN, state(code_sha256="NEW=", layers=("arn:ext:1", "arn:deps:1")), ["arn:deps:1", "arn:ext:1"])
    assert order.update_layers and not order.update_code  # the order is Lambda's merge order: it matters
    planned = function_step(FN, state(code_sha256="NEW="), [None, "arn:ext:1"])  # a dry run's new version
    assert planned.update_layers and planned.layers[0] == "(to be published)"


def test_function_must_match_the_artifact() -> None:
    assert check_function(FN, state()) is None
    err = check_function(FN, state(architectures=("x86_64",)))
    assert isinstance(err, InputError) and "python3.12 x86_64" in err.message and "python3.12 arm64" in err.message
    assert check_function(FN, state(runtime="python3.11")) is not None
    assert check_function(FN, state(package_type="Image")) is not None
    # No Architectures in the answer: Lambda's default, x86_64.
    assert check_function(FN, state(architectures=())) is not None


def test_a_layer_arn_must_declare_the_functions_architecture() -> None:
    err = check_layer_fits(version("arn:l:1", "X=", arches=("x86_64",)), "python3.12", "arm64", "api")
    assert err is not None and err.message.startswith("wrong architecture for the layer arn:l:1")
    assert check_layer_fits(version("arn:l:1", "X=", (), ()), "python3.12", "arm64", "api") is None
    assert check_layer_fits(version("arn:l:1", "X=", runtimes=("python3.9",)), "python3.12", "arm64", "api")


@pytest.mark.parametrize(("statuses", "elapsed", "done", "error"), [
    ([("Successful", None, None)], 0.0, True, None),
    ([(None, None, None)], 0.0, True, None),
    ([("InProgress", None, None)], 1.0, False, None),
    ([("InProgress", None, None), ("Successful", None, None)], 2.0, True, None),
    ([("InProgress", None, None), ("Failed", "The role is invalid", "InvalidRole")], 2.0, True, "InvalidRole"),
    ([("InProgress", None, None)], 300.0, True, "still InProgress after 300 s"),
])
def test_wait_verdict(statuses: list[tuple[str | None, str | None, str | None]], elapsed: float, done: bool,
                      error: str | None) -> None:
    verdict = wait_verdict("api", statuses, elapsed, 300)
    assert verdict.done is done
    if error is None:
        assert verdict.error is None
    else:
        assert isinstance(verdict.error, BuildError) and error in verdict.error.message
        assert "function api" in verdict.error.message


def test_a_failed_update_quotes_lambdas_reason() -> None:
    verdict = wait_verdict("api", [("Failed", "The role is invalid", "InvalidRole")], 1, 300)
    assert verdict.error is not None
    assert verdict.error.message == "function api: the update failed: InvalidRole: The role is invalid"
