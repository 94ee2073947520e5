"""lambdapack.inspect.findings: one finding model, its severity one typed value."""

from __future__ import annotations

import json

from lambdapack.facts.layout import layer_origin, shown_in, split_shown
from lambdapack.inspect.findings import ERROR, WARNING, Finding, Severity, has_errors
from lambdapack.inspect.rulebook import RULES


def test_a_severity_is_its_word() -> None:
    assert Severity.ERROR == "error" and f"{Severity.WARNING}" == "warning" and str(Severity.INFO) == "info"
    assert {"error": 1}[Severity.ERROR] == 1  # tables keyed by the word still work
    assert json.dumps(Severity.ERROR) == '"error"'


def test_a_finding_read_back_from_its_dict_has_the_same_severity_type() -> None:
    # Cache records store findings as JSON; the build reads them back with the plain word.
    f = Finding("LP401", ERROR, "x.py", None, "message", "fix")
    again = Finding(**f.as_dict())  # type: ignore[arg-type]
    assert again == f and again.severity is Severity.ERROR
    assert f.as_dict()["severity"] == "error" and type(f.as_dict()["severity"]) is str


def test_has_errors_counts_only_errors() -> None:
    warn = Finding("LP102", WARNING, "", None, "m", "f")
    assert not has_errors([warn]) and has_errors([warn, Finding("LP101", "error", "", None, "m", "f")])  # type: ignore[arg-type]


def test_every_rule_names_severities_of_the_enum() -> None:
    assert all(isinstance(s, Severity) for rule in RULES.values() for s in rule.severities)


def test_a_layer_finding_name_reads_back() -> None:
    origin = layer_origin(2, "deps (v2).zip")
    assert split_shown(shown_in(origin, "python/x.py")) == (origin, "python/x.py")
    assert shown_in("function", "x.py") == "x.py" and shown_in(origin, "") == origin
