"""lambdapack: correct, reproducible AWS Lambda zips for every Python runtime and architecture."""

from __future__ import annotations

__version__ = "0.1.0"

from .build import BuildFailed, BuildOptions, BuildResult, build
from .errors import LambdapackError
from .tags import Target, why

__all__ = [
    "BuildFailed",
    "BuildOptions",
    "BuildResult",
    "LambdapackError",
    "Target",
    "__version__",
    "build",
    "why",
]
