"""Lambda deployment limits, in bytes, with their source.

https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
(the 250 MB limit is 262,144,000 bytes: Lambda's own error text quotes that number).
"""

from __future__ import annotations

__all__ = [
    "CONTAINER_IMAGE_BYTES",
    "MAX_LAYERS",
    "UNZIPPED_BYTES",
    "ZIPPED_DIRECT_UPLOAD_BYTES",
]

ZIPPED_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024
UNZIPPED_BYTES = 262_144_000
MAX_LAYERS = 5
CONTAINER_IMAGE_BYTES = 10 * 1024**3
