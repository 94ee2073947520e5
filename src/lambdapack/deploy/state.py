"""The reads a deploy makes (get_function, list_layer_versions, get_layer_version), as deploy.plan's
typed state; each AWS failure becomes one error through aws.failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lambdapack.aws.failures import aws_error, error_code
from lambdapack.deploy.plan import Artifact, FunctionState, LayerVersion, fits
from lambdapack.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["aws_call", "function_state", "layer_version", "matching_layer_versions", "update_status"]



@contextmanager
def aws_call(doing: str) -> Iterator[None]:
    """Turn a botocore failure met while `doing` into our error (one error/hint pair)."""
    try:
        yield
    except Exception as e:
        err = aws_error(e, doing)
        if err is None:
            raise
        raise err from None


def function_state(client: LambdaClient, name: str) -> FunctionState:
    try:
        config: Any = client.get_function(FunctionName=name)["Configuration"]
    except Exception as e:
        if error_code(e) == "ResourceNotFoundException":
            raise InputError(f"function {name} does not exist (in this account and region)",
                             "deploy updates existing functions: create it with SAM, CDK, Terraform or the "
                             "console, or set function_name / --function-name to its name") from None
        raise _mapped(e, f"reading function {name}") from None
    return FunctionState(
        name=name, runtime=config.get("Runtime"), architectures=tuple(config.get("Architectures") or ()),
        package_type=config.get("PackageType") or "Zip", code_sha256=config.get("CodeSha256") or "",
        layers=tuple(layer["Arn"] for layer in config.get("Layers") or ()),
        last_update_status=config.get("LastUpdateStatus"))


def update_status(client: LambdaClient, name: str) -> tuple[str | None, str | None, str | None]:
    with aws_call(f"waiting for function {name}"):
        config: Any = client.get_function(FunctionName=name)["Configuration"]
    return config.get("LastUpdateStatus"), config.get("LastUpdateStatusReason"), \
        config.get("LastUpdateStatusReasonCode")


def _version(data: Any) -> LayerVersion:
    return LayerVersion(arn=data["LayerVersionArn"], code_sha256=(data.get("Content") or {}).get("CodeSha256", ""),
                        runtimes=tuple(data.get("CompatibleRuntimes") or ()),
                        architectures=tuple(data.get("CompatibleArchitectures") or ()))


def layer_version(client: LambdaClient, arn: str) -> LayerVersion:
    """A layer version by its ARN (a --layer-arn / layer_arns entry)."""
    layer, _, number = arn.rpartition(":")
    if not arn.startswith("arn:") or ":layer:" not in layer or not number.isdigit():
        raise InputError(f"{arn!r} is not a layer version ARN",
                         "give arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION")
    try:
        # By layer ARN and number (what get_layer_version_by_arn does; one permission, GetLayerVersion).
        return _version(client.get_layer_version(LayerName=layer, VersionNumber=int(number)))
    except Exception as e:
        if error_code(e) in ("ResourceNotFoundException", "404"):
            raise InputError(f"layer version {arn} does not exist, or this account may not use it",
                             "check the ARN, its region and its version number") from None
        raise _mapped(e, f"reading layer {arn}") from None


def matching_layer_versions(client: LambdaClient, artifact: Artifact) -> list[LayerVersion]:
    """The versions of the artifact's layer, newest first, read until one has its CodeSha256 and fits
    its target (list_layer_versions does not carry the hash: get_layer_version per version)."""
    layer = artifact.aws_name
    seen: list[LayerVersion] = []
    with aws_call(f"listing the versions of layer {layer}"):
        for page in client.get_paginator("list_layer_versions").paginate(LayerName=layer):
            for item in page.get("LayerVersions", []):
                with aws_call(f"reading layer {item['LayerVersionArn']}"):
                    number = int(item["Version"])
                    data = client.get_layer_version(LayerName=layer, VersionNumber=number)
                seen.append(_version(data))
                if seen[-1].code_sha256 == artifact.sha256_base64 and fits(seen[-1], artifact):
                    return seen
    return seen


def _mapped(e: Exception, doing: str) -> Exception:
    err = aws_error(e, doing)
    return err if err is not None else e


