"""The text report of `explain`'s result (the CLI's JSON is `Explanation.as_dict`)."""

from __future__ import annotations

from lambdapack.explain.model import Explanation
from lambdapack.explain.target import ARCH_PLACEHOLDER, RUNTIME_PLACEHOLDER

__all__ = ["render_text"]


def render_text(expls: list[Explanation]) -> str:
    """Human-readable report of `explain`'s result."""
    if not expls:
        return (
            "The text was not recognised as a known Lambda packaging or import error.\n"
            f"Check the package directly: lambdapack check PATH --runtime {RUNTIME_PLACEHOLDER} "
            f"--arch {ARCH_PLACEHOLDER} [--layer ZIP]...\n"
        )
    blocks: list[str] = []
    for i, e in enumerate(expls, 1):
        blocks.append(
            f"{i}. {e.code} {e.title}\n"
            f"   matched: {e.matched}\n"
            f"   cause:   {e.cause}\n"
            f"   confirm: {e.confirm}\n"
            f"   fix:     {e.fix}\n"
        )
    return "\n".join(blocks)
