"""The `lambdapack check` / `lambdapack build` commands that explanations suggest."""

from __future__ import annotations

from lambdapack.explain.target import InferredTarget
from lambdapack.facts.layout import LAYER_ROOT

__all__ = ["build_command", "check_command", "in_layer"]


def check_command(t: InferredTarget, layer: bool = False) -> str:
    extra = " --layer layer.zip" if layer else ""
    return f"lambdapack check function.zip {t.flags}{extra}"


def build_command(t: InferredTarget, layer: bool = False) -> str:
    if layer:
        return f"lambdapack build --layer {t.flags} -r requirements.txt -o layer.zip"
    return f"lambdapack build . {t.flags}"


def in_layer(path: str) -> bool:
    return path.startswith(LAYER_ROOT + "/")
