"""What a deploy does, decided from what AWS holds (pure): which layer versions to publish or
reuse, which functions to update and how, whether a function fits its artifact, and when a
wait for Lambda's update is over. The reads are deploy.state's, the mutations deploy.actions'."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lambdapack.errors import BuildError, InputError, LambdapackError

__all__ = ["Artifact", "FunctionState", "FunctionStep", "LayerStep", "LayerVersion", "Wait",
           "check_function", "check_layer_fits", "fits", "function_step", "layer_step", "wait_verdict"]


@dataclass(frozen=True)
class Artifact:
    """One built zip to deploy: a function's code or a layer's content, for one target."""

    kind: str  # "function" | "layer"
    name: str  # the project's name (or the zip's, for --zip / publish-layer)
    aws_name: str  # the function's or layer's name in AWS
    runtime: str
    arch: str
    path: str
    sha256_hex: str
    sha256_base64: str  # Lambda's CodeSha256
    size: int
    layers: tuple[str, ...] = ()  # a function's project layers, by name, in order
    layer_arns: tuple[str, ...] = ()  # external layer ARNs after the project's own
    # A layer's declared compatibility (publish-layer's --runtime/--arch); default: its target.
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()

    @property
    def declared_runtimes(self) -> tuple[str, ...]:
        return self.runtimes or ((self.runtime,) if self.runtime else ())

    @property
    def declared_architectures(self) -> tuple[str, ...]:
        return self.architectures or ((self.arch,) if self.arch else ())

    @property
    def target(self) -> str:
        return " ".join(self.declared_runtimes + self.declared_architectures) or "any target"


@dataclass(frozen=True)
class LayerVersion:
    """One published version of a layer (get_layer_version / get_layer_version_by_arn)."""

    arn: str
    code_sha256: str
    runtimes: tuple[str, ...]
    architectures: tuple[str, ...]


@dataclass(frozen=True)
class FunctionState:
    """What get_function says of a function."""

    name: str
    runtime: str | None
    architectures: tuple[str, ...]
    package_type: str
    code_sha256: str
    layers: tuple[str, ...]
    last_update_status: str | None


@dataclass(frozen=True)
class LayerStep:
    artifact: Artifact
    action: str  # "publish" | "reuse"
    arn: str | None  # reuse: the existing version's; publish: set once published
    reason: str


@dataclass(frozen=True)
class FunctionStep:
    artifact: Artifact
    layers: tuple[str, ...]  # the layer ARNs the function ends with (None of them unknown after a dry run)
    update_code: bool
    update_layers: bool
    reasons: tuple[str, ...] = field(default=())

    @property
    def unchanged(self) -> bool:
        return not (self.update_code or self.update_layers)


def fits(version: LayerVersion, artifact: Artifact) -> bool:
    """The version declares every runtime and architecture the artifact is for (or declares none:
    no restriction)."""
    return ((not version.runtimes or set(artifact.declared_runtimes) <= set(version.runtimes))
            and (not version.architectures or set(artifact.declared_architectures) <= set(version.architectures)))


def layer_step(artifact: Artifact, versions: Sequence[LayerVersion]) -> LayerStep:
    """Reuse the newest existing version with the same bytes that fits the target, else publish."""
    for v in versions:
        if v.code_sha256 == artifact.sha256_base64 and fits(v, artifact):
            return LayerStep(artifact, "reuse", v.arn, "a version with the same CodeSha256 exists")
    same = [v for v in versions if v.code_sha256 == artifact.sha256_base64]
    if same:
        why = f"{same[0].arn} has the same bytes but is not declared for {artifact.target}"
    elif versions:
        why = f"no version of the {len(versions)} published has CodeSha256 {artifact.sha256_base64}"
    else:
        why = "the layer has no version yet"
    return LayerStep(artifact, "publish", None, why)


def check_function(artifact: Artifact, state: FunctionState) -> LambdapackError | None:
    """The function must be a zip function of the artifact's runtime and architecture."""
    where = f"function {state.name}"
    if state.package_type != "Zip":
        return InputError(f"{where} is a {state.package_type} function, not a zip one",
                          "deploy a zip to a function created with PackageType Zip")
    have_arch = state.architectures[0] if state.architectures else "x86_64"  # Lambda's default
    # An empty runtime/arch: a --zip whose content does not tell (pure Python): nothing to compare.
    if (artifact.runtime and state.runtime != artifact.runtime) or (artifact.arch and have_arch != artifact.arch):
        return InputError(f"{where} is {state.runtime} {have_arch}, but {artifact.path} is built for "
                          f"{artifact.runtime} {artifact.arch}",
                          "build for the function's runtime and architecture, or change the function's")
    return None


def check_layer_fits(version: LayerVersion, runtime: str, arch: str, function: str) -> LambdapackError | None:
    """A layer ARN given by the user must declare the function's runtime and architecture, when it declares any."""
    if version.architectures and arch not in version.architectures:
        return InputError(f"wrong architecture for the layer {version.arn}: it is for "
                          f"{', '.join(version.architectures)}, function {function} is {arch}",
                          f"use a version of the layer built for {arch}")
    if version.runtimes and runtime not in version.runtimes:
        return InputError(f"wrong runtime for the layer {version.arn}: it is for {', '.join(version.runtimes)}, "
                          f"function {function} is {runtime}", f"use a version of the layer built for {runtime}")
    return None


def function_step(artifact: Artifact, state: FunctionState, layers: Sequence[str | None]) -> FunctionStep:
    """Update the code only when the CodeSha256 differs, the layers only when the list differs.
    `layers`: the ARNs resolved; None for a version a dry run would publish (so it differs)."""
    reasons = []
    code = state.code_sha256 != artifact.sha256_base64
    if code:
        reasons.append(f"CodeSha256 {state.code_sha256 or '(none)'} -> {artifact.sha256_base64}")
    update_layers = any(a is None for a in layers) or tuple(layers) != state.layers
    if update_layers:
        reasons.append(f"layers {len(state.layers)} -> {len(layers)} (a new list)")
    shown = tuple(a if a is not None else "(to be published)" for a in layers)
    return FunctionStep(artifact, shown, code, update_layers, tuple(reasons) or ("same code and layers",))


@dataclass(frozen=True)
class Wait:
    """The verdict over the statuses polled so far: go on polling, done, or an error."""

    done: bool
    error: LambdapackError | None = None


def wait_verdict(function: str, statuses: Sequence[tuple[str | None, str | None, str | None]],
                 elapsed: float, timeout: float) -> Wait:
    """`statuses`: (LastUpdateStatus, LastUpdateStatusReason, LastUpdateStatusReasonCode) per poll.
    Successful (or no status: a function that never had an update) ends the wait; Failed is exit 1
    quoting Lambda's reason; past the timeout, exit 1 naming the last status seen."""
    if statuses:
        status, reason, code = statuses[-1]
        if status in (None, "Successful"):
            return Wait(True)
        if status == "Failed":
            return Wait(True, BuildError(f"function {function}: the update failed: {code or 'no code'}: "
                                         f"{reason or 'Lambda gave no reason'}",
                                         "fix what Lambda says, then deploy again"))
    if elapsed >= timeout:
        last = statuses[-1][0] if statuses else "no answer"
        return Wait(True, BuildError(f"function {function}: still {last} after {timeout:g} s of waiting "
                                     "for its update", "pass a longer --wait-timeout, or look at the function "
                                     "in the console"))
    return Wait(False)
