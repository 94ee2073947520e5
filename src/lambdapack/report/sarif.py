"""SARIF 2.1.0 output for code-scanning UIs (GitHub, GitLab, Azure DevOps).

https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
"""

from __future__ import annotations

from typing import Any

from lambdapack import __version__
from lambdapack.inspect.check import CheckResult
from lambdapack.inspect.rulebook import RULES

__all__ = ["to_sarif"]

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def to_sarif(result: CheckResult) -> dict[str, Any]:
    used = sorted({f.code for f in result.findings})
    artifact = str(result.artifacts[0]["path"]) if result.artifacts else ""
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lambdapack",
                "version": __version__,
                "informationUri": "https://pypi.org/project/lambdapack/",
                "rules": [{"id": code, "shortDescription": {"text": RULES[code].title if code in RULES else code}} for code in used],
            }},
            "results": [{
                "ruleId": f.code,
                "level": _LEVEL[f.severity],
                "message": {"text": f"{f.message}. Fix: {f.fix}"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": artifact},
                    "region": {"startLine": 1},
                }, "logicalLocations": [{"fullyQualifiedName": f.path or artifact,
                                         "kind": "member"}]}],
                "properties": {"distribution": f.distribution,
                               "target": f"{result.target.runtime.name} {result.target.arch.value}"},
            } for f in result.findings],
        }],
    }
