"""The mutations of a deploy (publish_layer_version, update_function_code,
update_function_configuration) and the wait for Lambda to finish each function update."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdapack.deploy.plan import Artifact, wait_verdict
from lambdapack.deploy.state import aws_call, update_status
from lambdapack.deploy.upload import Uploaded
from lambdapack.errors import from_os_error

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["Waiting", "code_of", "publish_layer", "set_layers", "update_code", "wait_until_updated"]


@dataclass(frozen=True)
class Waiting:
    timeout: float
    interval: float = 1.0  # Lambda's updates take seconds; a faster poll only spends API calls
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def code_of(artifact: Artifact, s3: Uploaded | None) -> dict[str, Any]:
    """The zip itself, or where it lies in S3 (over the direct-upload limit)."""
    if s3 is not None:
        return {"S3Bucket": s3.bucket, "S3Key": s3.key}
    try:
        return {"ZipFile": Path(artifact.path).read_bytes()}
    except OSError as e:
        raise from_os_error(e, path=artifact.path) from e


def publish_layer(client: LambdaClient, artifact: Artifact, s3: Uploaded | None) -> str:
    """Publish one version, declared for the artifact's runtime and architecture; its ARN."""
    with aws_call(f"publishing layer {artifact.aws_name}"):
        declared: dict[str, Any] = {}
        if artifact.declared_runtimes:
            declared["CompatibleRuntimes"] = list(artifact.declared_runtimes)
        if artifact.declared_architectures:
            declared["CompatibleArchitectures"] = list(artifact.declared_architectures)
        out = client.publish_layer_version(
            LayerName=artifact.aws_name, Content=code_of(artifact, s3),  # type: ignore[arg-type]
            Description=f"lambdapack {artifact.name} sha256:{artifact.sha256_hex}", **declared)
    return out["LayerVersionArn"]


def update_code(client: LambdaClient, artifact: Artifact, s3: Uploaded | None) -> None:
    with aws_call(f"updating the code of function {artifact.aws_name}"):
        client.update_function_code(FunctionName=artifact.aws_name, **code_of(artifact, s3))


def set_layers(client: LambdaClient, function: str, arns: tuple[str, ...]) -> None:
    with aws_call(f"setting the layers of function {function}"):
        client.update_function_configuration(FunctionName=function, Layers=list(arns))


def wait_until_updated(client: LambdaClient, function: str, waiting: Waiting) -> None:
    """Poll get_function until LastUpdateStatus is Successful; Failed or the timeout raise."""
    start = waiting.clock()
    seen = []
    while True:
        seen.append(update_status(client, function))
        verdict = wait_verdict(function, seen, waiting.clock() - start, waiting.timeout)
        if verdict.error is not None:
            raise verdict.error
        if verdict.done:
            return
        waiting.sleep(waiting.interval)
