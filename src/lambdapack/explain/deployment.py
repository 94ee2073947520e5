"""Rules for deployments Lambda refuses or cannot read: size limits and file permissions."""

from __future__ import annotations

import re

from lambdapack import units
from lambdapack.explain.commands import build_command, check_command
from lambdapack.explain.hits import Advice, Hit, hit
from lambdapack.explain.target import InferredTarget
from lambdapack.facts.layout import FUNCTION_ROOT
from lambdapack.facts.limits import CONTAINER_IMAGE_BYTES, UNZIPPED_BYTES, ZIPPED_DIRECT_UPLOAD_BYTES

__all__ = ["permission_denied", "size_limit"]

_UNZIPPED = re.compile(
    r"Unzipped size must be smaller than (\d+) bytes|"
    r"Layers consume more than the available size of (\d+) bytes|"
    r"Function code combined with layers exceeds the maximum allowed size(?: of (\d+) bytes)?"
)
_REQUEST_TOO_LARGE = re.compile(
    r"RequestEntityTooLargeException|Request must be smaller than (\d+) bytes for the (\w+) operation"
)
_PERMISSION = re.compile(
    r"PermissionError: \[Errno 13\] Permission denied:?\s*(\S*)|"
    r"Layer conversion failed: Some files do not have read permissions|"
    r"\bEACCES\b|\[Errno 13\] Permission denied:?\s*(\S*)"
)
# Lambda's limits in binary units, as everywhere (units.py: its "250 MB" is 250 MiB).
_UNZIPPED_MB = units.limit(UNZIPPED_BYTES)
_DIRECT_UPLOAD_MB = units.limit(ZIPPED_DIRECT_UPLOAD_BYTES)
_CONTAINER_IMAGE_GB = units.limit(CONTAINER_IMAGE_BYTES)


def size_limit(line: str, t: InferredTarget) -> list[Hit]:
    """EX013, EX014: over the unzipped limit, or too large for a direct upload."""
    m = _UNZIPPED.search(line)
    if m is not None:
        return [
            hit(
                ("unzipped",),
                "EX013",
                line,
                Advice(
                    title=f"deployment over the {_UNZIPPED_MB} unzipped limit",
                    cause=f"The function code plus all its layers unzip to more than {UNZIPPED_BYTES} bytes ({_UNZIPPED_MB}), "
                    "Lambda's hard limit for zip deployments. Common culprits: boto3/botocore (already in the "
                    "runtime), tests, caches, and large libraries such as pandas + numpy + scipy together.",
                    confirm=f"{check_command(t, layer=True)}  (look for LP101: it totals function and layers)",
                    fix=f"{build_command(t)} --with-layer layer.zip --exclude-tests  (drop what the runtime already "
                    f"provides and unneeded extras); if still too large, use a container image ({_CONTAINER_IMAGE_GB}).",
                ),
            )
        ]
    m = _REQUEST_TOO_LARGE.search(line)
    if m is not None:
        return [
            hit(
                ("request",),
                "EX014",
                line,
                Advice(
                    title="zip too large for a direct upload",
                    cause="The zip was sent inline in the API request (e.g. --zip-file fileb://...), which Lambda "
                    f"accepts only up to {_DIRECT_UPLOAD_MB} zipped; the request body (base64) was "
                    + (f"over {m.group(1)} bytes." if m.group(1) else "over the limit."),
                    confirm=f"{check_command(t)}  (look for LP102)",
                    fix="upload the zip to S3 and deploy from there (aws lambda update-function-code "
                    "--s3-bucket B --s3-key K), or move dependencies to a layer: "
                    f"{build_command(t)} --split",
                ),
            )
        ]
    return []


def permission_denied(line: str, t: InferredTarget) -> list[Hit]:
    """EX015: files the Lambda user cannot read."""
    m = _PERMISSION.search(line)
    if m is None:
        return []
    path = m.group(1) or m.group(2) or ""
    path = path.strip("'\"")
    return [
        hit(
            ("perm",),
            "EX015",
            line,
            Advice(
                title=f"permission denied{(' on ' + path) if path else ''}",
                cause="Lambda runs your code as a non-owner user, so every file must be world-readable (o+r) and "
                "every directory world-executable (o+x). The zip was made on Windows or from files with "
                "restrictive modes (e.g. 0600 from a umask or a secrets tool)"
                + (
                    f". Writing under {FUNCTION_ROOT} at run time is also refused: only /tmp is writable."
                    if path.startswith(FUNCTION_ROOT)
                    else "."
                ),
                confirm="zipinfo function.zip | grep -v '^-rw-r--r--\\|^drwxr-xr-x'  (lists members without 0644/0755)",
                fix=f"{build_command(t)}  (writes every file as 0644, 0755 if executable, and directories 0755); or "
                "chmod -R o+rX before zipping.",
            ),
        )
    ]
