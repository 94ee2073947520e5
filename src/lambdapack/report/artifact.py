"""What a size report says about its artifact beyond sizes: the target it was built for,
its hashes, the unzipped bytes Lambda counts with it, and the build's findings about it.

Attached to a `SizeReport` by the pipeline once the build knows all of it
(`pipeline.sizereports.describe_artifacts`), so every caller of the HTML page gets it
from the reports alone. Pure data: the page decides how it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdapack.inspect.findings import Finding

__all__ = ["ArtifactFacts", "TargetFacts"]


@dataclass(frozen=True)
class TargetFacts:
    runtime: str  # "python3.12"
    arch: str  # "x86_64" | "arm64"
    os: str  # "Amazon Linux 2023"
    glibc: str  # "2.34"
    preview: bool = False


@dataclass(frozen=True)
class ArtifactFacts:
    target: TargetFacts
    sha256_hex: str | None  # None: the build failed and wrote no zip
    sha256_base64: str | None  # Lambda's CodeSha256
    zip_bytes: int | None  # the zip file's size, what the 50 MiB direct-upload limit counts
    counted_unzipped: int  # what Lambda's 250 MiB limit counts: the function and all its layers, unzipped
    findings: tuple[Finding, ...] = ()
