"""The edge to AWS: boto3 clients configured as the AWS CLI configures them, and nothing else.

boto3 is optional (`pip install 'lambdapack[aws]'`) and imported only here, on first use: a
build that neither deploys nor uses a remote cache never pays for it. Region, profile,
credentials and endpoint come from the flags when given, else from boto3's own chain (the
standard AWS_* variables, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> included, then
~/.aws/config), exactly as the AWS CLI reads them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdapack.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

__all__ = ["AwsSettings", "Patience", "lambda_client", "s3_client"]


@dataclass(frozen=True)
class AwsSettings:
    """--region, --profile, --endpoint-url; None: boto3's chain decides (AWS_REGION, AWS_PROFILE, ...)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Patience:
    """How long one call may take and how often it is retried. Deploys wait for AWS (throttling
    is retried with backoff); a remote cache must give up fast, since the build goes on without it."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 8  # in all, the first included; retried: throttling and 5xx, with backoff


DEPLOY = Patience()
_lock = threading.Lock()  # boto3 sessions are not thread-safe; the clients they make are


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError("this command needs boto3, which is not installed",
                         "pip install 'lambdapack[aws]'") from None
    return boto3


def _client(service: str, settings: AwsSettings, patience: Patience) -> Any:
    boto3 = _boto3()
    from botocore.config import Config

    config = Config(connect_timeout=patience.connect_timeout, read_timeout=patience.read_timeout,
                    # botocore's "max_attempts" counts retries only (one more call in all): a remote
                    # with 2 attempts was asked 3 times, found by a silent server's connection count.
                    retries={"mode": "standard", "total_max_attempts": patience.max_attempts},
                    user_agent_extra="lambdapack")
    from lambdapack.aws.failures import aws_error

    try:
        with _lock:
            session = boto3.session.Session(profile_name=settings.profile, region_name=settings.region)
            return session.client(service, endpoint_url=settings.endpoint_url, config=config)
    except Exception as e:
        err = aws_error(e, f"connecting to AWS {service}")
        if err is None:
            raise
        raise err from None


def lambda_client(settings: AwsSettings, patience: Patience = DEPLOY) -> LambdaClient:
    client: LambdaClient = _client("lambda", settings, patience)
    return client


def s3_client(settings: AwsSettings, patience: Patience = DEPLOY) -> S3Client:
    client: S3Client = _client("s3", settings, patience)
    return client
