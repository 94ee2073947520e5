"""What `explain` returns: one `Explanation` per problem, and the codes it can carry."""

from __future__ import annotations

from dataclasses import dataclass

from lambdapack import units
from lambdapack.facts.limits import UNZIPPED_BYTES

__all__ = ["CODES", "Explanation"]

# One line per code, for documentation and tests; a rule's title says more.
CODES: dict[str, str] = {
    "EX001": "native extension present but built for another OS, architecture or Python",
    "EX002": "module missing from the deployment package (or in the wrong folder)",
    "EX003": "handler module not at the zip root",
    "EX004": "native part of a package missing or built for another platform (cannot import name)",
    "EX005": "binary needs a newer glibc than the runtime has",
    "EX006": "binary needs a newer libstdc++ (GLIBCXX / CXXABI) than the runtime has",
    "EX007": "shared library neither on Amazon Linux nor bundled",
    "EX008": "not a Linux binary (macOS, Windows or not ELF at all)",
    "EX009": "binary for another architecture or ELF class",
    "EX010": "binary corrupted (stripped or truncated)",
    "EX011": "code does not parse on this runtime's Python",
    "EX012": "handler setting does not name a function in the module",
    "EX013": f"unzipped size over Lambda's {units.limit(UNZIPPED_BYTES)} limit",
    "EX014": "zip too large for a direct upload",
    "EX015": "files in the package not readable by the Lambda user",
    "EX016": "handler module failed to import (other cause)",
    "EX017": "urllib3 2 on a Python linked with OpenSSL older than 1.1.1",
}


@dataclass(frozen=True)
class Explanation:
    """One problem: what it is, the log line that shows it, and a command that confirms
    it and one that fixes it. The JSON output is `as_dict`, so field names are public."""

    code: str
    title: str
    matched: str
    cause: str
    confirm: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "title": self.title,
            "matched": self.matched,
            "cause": self.cause,
            "confirm": self.confirm,
            "fix": self.fix,
        }
