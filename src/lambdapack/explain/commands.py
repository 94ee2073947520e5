"""The `lambdapack check` / `lambdapack build` commands that explanations suggest."""

from __future__ import annotations

from lambdapack.explain.target import InferredTarget
from lambdapack.facts.layout import LAYER_ROOT

__all__ = ["build_command", "check_command", "in_layer"]


def check_command(t: InferredTarget, layer: bool = False) -> str:
    """The check that confirms a problem; `layer` when the file in question is a layer's."""
    extra = " --layer layer.zip" if layer else ""
    return f"lambdapack check function.zip {t.flags}{extra}"


def build_command(t: InferredTarget, layer: bool = False) -> str:
    """The build that fixes a problem; `layer` builds the dependencies as a layer."""
    if layer:
        return f"lambdapack build --layer {t.flags} -r requirements.txt -o layer.zip"
    return f"lambdapack build . {t.flags}"


def in_layer(path: str) -> bool:
    """Whether a path the runtime printed is inside a layer rather than the function."""
    return path.startswith(LAYER_ROOT + "/")
