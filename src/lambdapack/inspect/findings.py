"""The one model of a finding: what a rule says about one file of an artifact.

Every part that reports or shows a problem speaks in `Finding`: the rules and the
archive reader create them, `check` and `build` collect them, the text, JSON and
SARIF reports print them, and smoke tests group them. Their codes are described in
`rulebook.RULES`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lambdapack.staged import TextChoice

__all__ = ["ERROR", "INFO", "WARNING", "Finding", "Severity", "has_errors"]


class Severity(TextChoice):
    """How bad a finding is: an error fails `check` and `build`, the others only inform."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# Short names for the rule tables, which name a severity on nearly every line.
ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO


@dataclass(frozen=True)
class Finding:
    code: str  # an LPxxx code of rulebook.RULES
    severity: Severity
    path: str  # where, as shown ("layer N (name): " in front for a layer's file); "" for the artifact
    distribution: str | None
    message: str
    fix: str

    def __post_init__(self) -> None:
        # Findings read back from a cache record carry the plain word: one type everywhere.
        object.__setattr__(self, "severity", Severity(self.severity))

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "path": self.path,
            "distribution": self.distribution,
            "message": self.message,
            "fix": self.fix,
        }


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
