"""`s3://bucket/prefix` as a bucket and a key prefix (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambdapack.errors import UsageError

__all__ = ["S3Location", "parse_s3_url"]

# S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_s3_url(text: str, what: str = "the S3 location") -> S3Location:
    """"s3://bucket/some/prefix" -> S3Location("bucket", "some/prefix/"); a bare bucket name too."""
    rest = text[len("s3://"):] if text.startswith("s3://") else text
    if "://" in rest:
        raise UsageError(f"{what} {text!r} is not an s3:// URL", "write it as s3://BUCKET/PREFIX")
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise UsageError(f"{what} {text!r} names no valid S3 bucket ({bucket!r})",
                         "bucket names are 3-63 lower-case letters, digits, dots and hyphens")
    prefix = prefix.strip("/")
    return S3Location(bucket, f"{prefix}/" if prefix else "")
