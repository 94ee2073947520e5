"""lambdapack: correct, reproducible AWS Lambda zips for every Python runtime and architecture.

The public names below load on first use, so that importing one part of the package
(`lambdapack.facts.runtimes`, the CLI's no-change path) does not load the whole pipeline.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Not typing's: its import (with re and collections) would be a quarter of the no-change
# fast path (lambdapack.seal); type checkers take any TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdapack.errors import LambdapackError
    from lambdapack.pipeline.build import build
    from lambdapack.pipeline.options import BuildOptions
    from lambdapack.pipeline.result import BuildFailed, BuildResult
    from lambdapack.target.tags import Target, why

_PUBLIC = {
    "BuildFailed": "lambdapack.pipeline.result",
    "BuildOptions": "lambdapack.pipeline.options",
    "BuildResult": "lambdapack.pipeline.result",
    "build": "lambdapack.pipeline.build",
    "LambdapackError": "lambdapack.errors",
    "Target": "lambdapack.target.tags",
    "why": "lambdapack.target.tags",
}

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


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lambdapack' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
