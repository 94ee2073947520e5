"""Zips over Lambda's direct-upload limit go through S3, under a content-addressed key
(`PREFIX<sha256hex>.zip`): an unchanged zip is never uploaded twice, and two deploys racing to
upload the same zip both succeed (a conditional put: the second finds it there)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.aws.failures import NOT_FOUND, aws_error, error_code
from lambdapack.aws.s3location import S3Location
from lambdapack.errors import from_os_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["Uploaded", "object_key", "upload"]


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    key: str
    uploaded: bool  # False: it was there already


def object_key(location: S3Location, sha256_hex: str) -> str:
    return location.key(f"{sha256_hex}.zip")


def _present(client: S3Client, bucket: str, key: str, size: int) -> bool:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except Exception as e:
        if error_code(e) in NOT_FOUND:
            return False
        raise _mapped(e, f"reading s3://{bucket}/{key}") from None
    return int(head.get("ContentLength", -1)) == size


def upload(client: S3Client, location: S3Location, path: Path, sha256_hex: str, size: int) -> Uploaded:
    """Put the zip at its key unless an object of the same size is there already."""
    key = object_key(location, sha256_hex)
    if _present(client, location.bucket, key, size):
        return Uploaded(location.bucket, key, False)
    checksum = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
    try:
        with open(path, "rb") as f:
            client.put_object(Bucket=location.bucket, Key=key, Body=f, ChecksumSHA256=checksum, IfNoneMatch="*")
    except OSError as e:
        raise from_os_error(e, path=path) from e
    except Exception as e:
        if error_code(e) in ("PreconditionFailed", "412"):  # someone uploaded the same bytes meanwhile
            return Uploaded(location.bucket, key, False)
        raise _mapped(e, f"uploading {path} to s3://{location.bucket}/{key}") from None
    return Uploaded(location.bucket, key, True)


def _mapped(e: Exception, doing: str) -> Exception:
    err = aws_error(e, doing)
    return err if err is not None else e
