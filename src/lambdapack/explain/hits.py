"""What a rule returns, and the quoting its patterns share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lambdapack.explain.model import Explanation
from lambdapack.explain.target import InferredTarget

__all__ = ["QUOTE", "Advice", "Hit", "Rule", "hit"]

# A matched line is quoted, not reproduced: one log line can be megabytes.
_MAX_MATCHED = 300

# Quotes: CPython uses '...'; glibc uses `...' in older releases; some loggers re-quote.
QUOTE = r"[`'\"‘’]"


@dataclass(frozen=True)
class Advice:
    """What a rule says about one problem; `hit` adds its code and the line it matched."""

    title: str
    cause: str
    confirm: str
    fix: str


@dataclass(frozen=True)
class Hit:
    """One explanation and the key that makes it distinct: one per key in an excerpt."""

    key: tuple[str, ...]
    expl: Explanation


Rule = Callable[[str, InferredTarget], list[Hit]]


def _clip(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _MAX_MATCHED else line[: _MAX_MATCHED - 3] + "..."


def hit(key: tuple[str, ...], code: str, line: str, advice: Advice) -> Hit:
    """`key` names the problem within its code: the same key twice in a log is one problem."""
    return Hit((code, *key), Explanation(code, advice.title, _clip(line), advice.cause, advice.confirm, advice.fix))
