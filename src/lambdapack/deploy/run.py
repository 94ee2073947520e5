"""A deploy in order: every read and check first (nothing is changed when one fails), then the
layers published, then each function updated and waited for. A dry run stops after the reads."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.aws.s3location import S3Location
from lambdapack.aws.session import AwsSettings, lambda_client, s3_client
from lambdapack.deploy.actions import Waiting, publish_layer, set_layers, update_code, wait_until_updated
from lambdapack.deploy.plan import (
    Artifact,
    FunctionState,
    FunctionStep,
    LayerStep,
    check_function,
    check_layer_fits,
    function_step,
    layer_step,
)
from lambdapack.deploy.state import function_state, layer_version, matching_layer_versions
from lambdapack.deploy.upload import Uploaded, upload
from lambdapack.errors import InputError
from lambdapack.facts.limits import MAX_LAYERS, ZIPPED_DIRECT_UPLOAD_BYTES

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["Deployed", "Request", "deploy"]


@dataclass(frozen=True)
class Request:
    artifacts: Sequence[Artifact]  # layers and functions
    aws: AwsSettings
    bucket: S3Location | None
    waiting: Waiting
    dry_run: bool = False


@dataclass
class Deployed:
    """The plan, and once run what it did (`layers[i].arn` set for a published version)."""

    dry_run: bool
    layers: list[LayerStep] = field(default_factory=list)
    functions: list[FunctionStep] = field(default_factory=list)
    uploads: dict[str, Uploaded] = field(default_factory=dict)  # by the zip's sha256 hex
    seconds: float = 0.0


def _layer_key(name: str, runtime: str, arch: str) -> tuple[str, str, str]:
    return (name, runtime, arch)


def _needs_s3(artifact: Artifact) -> bool:
    return artifact.size > ZIPPED_DIRECT_UPLOAD_BYTES


def _check_bucket(artifact: Artifact, bucket: S3Location | None) -> None:
    if _needs_s3(artifact) and bucket is None:
        raise InputError(f"{artifact.path} is {artifact.size / 2**20:.1f} MiB, over Lambda's "
                         f"{ZIPPED_DIRECT_UPLOAD_BYTES // 2**20} MiB direct-upload limit, and no S3 bucket is set",
                         "pass --s3-bucket s3://BUCKET/PREFIX (or set deploy_bucket, or LAMBDAPACK_DEPLOY_BUCKET)")


def _read(client: LambdaClient, request: Request) -> tuple[list[LayerStep], dict[str, FunctionState]]:
    """Every read and check, before any mutation."""
    layers, states = [], {}
    for a in request.artifacts:
        if a.kind == "layer":
            step = layer_step(a, matching_layer_versions(client, a))
            if step.action == "publish":
                _check_bucket(a, request.bucket)
            layers.append(step)
            continue
        state = function_state(client, a.aws_name)
        problem = check_function(a, state)
        if problem is not None:
            raise problem
        for arn in a.layer_arns:
            problem = check_layer_fits(layer_version(client, arn), a.runtime, a.arch, a.aws_name)
            if problem is not None:
                raise problem
        if len(a.layers) + len(a.layer_arns) > MAX_LAYERS:
            raise InputError(f"function {a.aws_name} would have {len(a.layers) + len(a.layer_arns)} layers; "
                             f"Lambda allows {MAX_LAYERS}", "merge layers, or drop some of layer_arns")
        if state.code_sha256 != a.sha256_base64:
            _check_bucket(a, request.bucket)
        states[a.aws_name] = state
    return layers, states


def _arns(a: Artifact, resolved: dict[tuple[str, str, str], str | None]) -> list[str | None]:
    return [*(resolved.get(_layer_key(n, a.runtime, a.arch)) for n in a.layers), *a.layer_arns]


def _s3(request: Request, a: Artifact, done: Deployed) -> Uploaded | None:
    if not _needs_s3(a):
        return None
    assert request.bucket is not None  # checked by _read
    if a.sha256_hex not in done.uploads:
        done.uploads[a.sha256_hex] = upload(s3_client(request.aws), request.bucket, Path(a.path), a.sha256_hex, a.size)
    return done.uploads[a.sha256_hex]


def _update(client: LambdaClient, request: Request, step: FunctionStep, done: Deployed) -> None:
    """Layers first, then code: new code that needs a new layer version (a dependency added to
    a shared layer) must never run against the old layers, while the old code nearly always
    runs with newer libraries for the seconds between the two updates."""
    a = step.artifact
    if not (step.update_code or step.update_layers):
        return
    wait_until_updated(client, a.aws_name, request.waiting)  # Lambda refuses an update during another
    if step.update_layers:
        set_layers(client, a.aws_name, step.layers)
        wait_until_updated(client, a.aws_name, request.waiting)
    if step.update_code:
        update_code(client, a, _s3(request, a, done))
        wait_until_updated(client, a.aws_name, request.waiting)


def deploy(request: Request) -> Deployed:
    start = time.monotonic()
    client = lambda_client(request.aws)
    done = Deployed(request.dry_run)
    layers, states = _read(client, request)
    if not request.dry_run:
        layers = [replace(s, action="published", arn=publish_layer(client, s.artifact, _s3(request, s.artifact, done)))
                  if s.action == "publish" else s for s in layers]
    done.layers = layers
    resolved = {_layer_key(s.artifact.name, s.artifact.runtime, s.artifact.arch): s.arn for s in layers}
    for a in request.artifacts:
        if a.kind == "function":
            step = function_step(a, states[a.aws_name], _arns(a, resolved))
            if not request.dry_run:
                _update(client, request, step, done)
            done.functions.append(step)
    done.seconds = time.monotonic() - start
    return done
