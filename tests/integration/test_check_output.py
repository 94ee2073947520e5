"""What `lambdapack check`, `build --format json` and `explain` print, judged from outside.

JSON output is validated against the committed schemas (jsonschema, Draft 2020-12,
with `referencing` resolving build.schema.json's relative $ref to check.schema.json);
SARIF by a structural check of the parts code-scanning UIs read (no schema download).
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import Run, clean_env, run_lp, write_handler
from test_check import HANDLER, dist_version, fn_zip, make_zip, uv_target

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "lambdapack" / "schemas"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def validator(name: str) -> Any:
    """A validator of `name` whose relative $refs (error.schema.json, check.schema.json) resolve."""
    from referencing import Registry, Resource

    schema = _schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    others = [_schema(p.name) for p in sorted(SCHEMAS.glob("*.schema.json"))]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in others)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_validator() -> Any:
    return validator("check.schema.json")


def build_validator() -> Any:
    return validator("build.schema.json")


def assert_valid(validator: Any, data: Any) -> None:
    errs = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errs, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errs[:10])


# --- one artifact with findings from several distributions and severities -----------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """aarch64 orjson (LP002/LP005 errors, owned by orjson per its RECORD), jmespath (LP206
    info), a `.env` (LP402 error, unowned) and a `.git/` (LP402 warning)."""
    tmp = tmp_path_factory.mktemp("mixed")
    site = uv_target(tmp / "site", "aarch64-manylinux_2_17", "3.12", "orjson", "jmespath")
    z = fn_zip(tmp / "mixed.zip", site, extra={".env": "SECRET=1\n", ".git/config": "[core]\n"})
    return {"zip": z, "orjson": f"orjson {dist_version(site, 'orjson')}",
            "jmespath": f"jmespath {dist_version(site, 'jmespath')}"}


def _check(*args: object, env: dict[str, str] | None = None) -> Run:
    r = run_lp(["check", *map(str, args)], env=env)
    assert "Traceback" not in r.stderr, r.explain()
    return r


TARGET = ("--runtime", "python3.12", "--arch", "x86_64")


@pytest.mark.network
def test_json_validates_and_names_distributions(mixed: dict[str, Any]) -> None:
    r = _check(mixed["zip"], *TARGET, "--format", "json")
    assert r.returncode == 1, r.explain()
    data = r.json
    assert_valid(check_validator(), data)
    for f in data["findings"]:
        assert set(f) == {"code", "severity", "path", "distribution", "message", "fix"}
        assert f["message"] and f["fix"]
    so = [f for f in data["findings"] if f["code"] == "LP002"]
    assert [f["distribution"] for f in so] == [mixed["orjson"]]  # from orjson's RECORD
    assert {f["distribution"] for f in data["findings"] if f["code"] == "LP005"} == {mixed["orjson"]}
    (sdk,) = [f for f in data["findings"] if f["code"] == "LP206"]
    assert sdk["distribution"] == mixed["jmespath"] and sdk["severity"] == "info"
    lp402 = {f["path"]: f for f in data["findings"] if f["code"] == "LP402"}
    assert set(lp402) == {".env", ".git/"} and lp402[".env"]["distribution"] is None
    assert lp402[".git/"]["severity"] == "warning"
    s = data["summary"]
    sev = [f["severity"] for f in data["findings"]]
    assert (s["errors"], s["warnings"], s["info"]) == (sev.count("error"), sev.count("warning"), sev.count("info"))
    assert data["target"] == {"runtime": "python3.12", "arch": "x86_64", "os": "Amazon Linux 2023", "glibc": "2.34"}
    (art,) = data["artifacts"]
    assert art["role"] == "function" and art["kind"] == "zip" and art["zipped_bytes"] == mixed["zip"].stat().st_size
    with zipfile.ZipFile(mixed["zip"]) as zf:
        assert art["files"] == sum(1 for i in zf.infolist() if not i.is_dir())
        assert art["unzipped_bytes"] == sum(i.file_size for i in zf.infolist() if not i.is_dir())


@pytest.mark.network
def test_json_inferred_target_validates(mixed: dict[str, Any]) -> None:
    r = _check(mixed["zip"], "--format", "json")
    data = r.json
    assert_valid(check_validator(), data)
    assert (data["target"]["runtime"], data["target"]["arch"]) == ("python3.12", "arm64")
    assert set(data["inferred"]) == {"runtime", "arch"}


def test_json_clean_and_directory_validate(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "fn.zip", {"lambda_function.py": HANDLER})
    d = write_handler(tmp_path / "dir")
    layer = make_zip(tmp_path / "layer.zip", {"python/x.py": ""})
    for args in ((z,), (d, "--layer", layer)):
        r = _check(*args, *TARGET, "--format", "json")
        assert r.returncode == 0, r.explain()
        data = r.json
        assert_valid(check_validator(), data)
        assert data["findings"] == [] and data["summary"] == {"errors": 0, "warnings": 0, "info": 0}
    assert [a["role"] for a in data["artifacts"]] == ["function", "layer 1"]
    assert data["artifacts"][0]["kind"] == "dir" and data["artifacts"][0]["zipped_bytes"] is None


def test_json_archive_findings_validate(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "evil.zip", {"lambda_function.py": HANDLER, "../x.py": "", "/abs.py": ""})
    r = _check(z, *TARGET, "--format", "json")
    assert r.returncode == 1
    assert_valid(check_validator(), r.json)
    assert {f["code"] for f in r.json["findings"]} == {"LP301", "LP302"}


@pytest.mark.network
def test_sarif_structure(mixed: dict[str, Any]) -> None:
    r = _check(mixed["zip"], *TARGET, "--format", "sarif")
    assert r.returncode == 1, r.explain()
    sarif = r.json
    assert sarif["version"] == "2.1.0"
    assert "sarif" in sarif.get("$schema", "")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "lambdapack" and isinstance(driver.get("version"), str)
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert re.fullmatch(r"LP\d{3}", rule["id"]) and rule["shortDescription"]["text"]
        assert rule["shortDescription"]["text"] != rule["id"], f"{rule['id']} has no description"
    results = run["results"]
    as_json = _check(mixed["zip"], *TARGET, "--format", "json").json
    assert len(results) == len(as_json["findings"])
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for res, f in zip(results, as_json["findings"], strict=True):
        assert res["ruleId"] == f["code"] and res["ruleId"] in rule_ids
        assert res["level"] == levels[f["severity"]]
        assert res["message"]["text"]
        (loc,) = res["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"]
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    assert set(rule_ids) == {f["code"] for f in as_json["findings"]}


def test_sarif_archive_rules_have_descriptions(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "evil.zip", {"lambda_function.py": HANDLER, "../x.py": ""})
    sarif = _check(z, *TARGET, "--format", "sarif").json
    (rule,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "LP301" and "traversal" in rule["shortDescription"]["text"]


# --- text output --------------------------------------------------------------------


def _plain_env() -> dict[str, str]:
    env = clean_env(drop=("NO_COLOR", "FORCE_COLOR"))
    return env


@pytest.mark.network
def test_text_grouped_by_distribution_without_colour(mixed: dict[str, Any]) -> None:
    r = _check(mixed["zip"], *TARGET, env=_plain_env())  # stdout is a pipe: no colour
    assert r.returncode == 1, r.explain()
    assert not ANSI.search(r.stdout) and "\x1b" not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0].startswith("target: python3.12 x86_64")
    assert re.match(r"FAIL: \d+ error\(s\), \d+ warning\(s\), \d+ note\(s\)$", lines[-1])
    headers = [ln for ln in lines[1:-1] if not ln.startswith(" ") and not ln.startswith(("function:", "layer"))]
    assert len(headers) == len(set(headers)), headers  # each distribution once
    assert mixed["orjson"] in headers and mixed["jmespath"] in headers
    # every finding line sits under its distribution's header
    def block(header: str) -> list[str]:
        i = lines.index(header)
        out = []
        for ln in lines[i + 1:]:
            if not ln.startswith(" "):
                break
            out.append(ln)
        return out

    orjson = block(mixed["orjson"])
    assert any(" LP002 orjson/" in ln for ln in orjson) and any(ln.strip().startswith("fix:") for ln in orjson)
    assert any("LP206" in ln for ln in block(mixed["jmespath"]))
    unowned = [h for h in headers if "unowned" in h]
    assert unowned and any("LP402 .env" in ln for ln in block(unowned[0]))


@pytest.mark.network
def test_text_force_color(mixed: dict[str, Any]) -> None:
    env = _plain_env()
    env["FORCE_COLOR"] = "1"
    r = _check(mixed["zip"], *TARGET, env=env)
    assert ANSI.search(r.stdout), r.stdout[:500]
    assert "\x1b[1;31mFAIL\x1b[0m" in r.stdout
    assert ANSI.sub("", r.stdout) == _check(mixed["zip"], *TARGET, env=_plain_env()).stdout
    env["NO_COLOR"] = "1"
    assert not ANSI.search(_check(mixed["zip"], *TARGET, env=env).stdout)  # NO_COLOR wins


def test_text_clean_ok(tmp_path: Path) -> None:
    r = _check(make_zip(tmp_path / "fn.zip", {"lambda_function.py": HANDLER}), *TARGET)
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "OK: 0 error(s), 0 warning(s), 0 note(s)"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "fn.zip", {"lambda_function.py": HANDLER})
    for args in (("--runtime", "python2.7", "--arch", "x86_64"), ("--runtime", "python3.12", "--arch", "sparc"),
                 ()):
        r = _check(z, *args, "--format", "json")
        assert r.returncode == 2 and r.stderr.startswith("error:"), r.explain()
        assert r.json["ok"] is False and r.json["error"]["exit_code"] == 2  # one object, failures too
    r = _check(tmp_path / "missing.zip", *TARGET)
    assert r.returncode == 2 and "missing.zip" in r.stderr
    r = _check(z, z, *TARGET)  # the usage says [PATH]: one function at a time
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr and "[PATH]" in r.stderr


# --- build --format json against build.schema.json ---------------------------------------


def test_build_schema_resolves_check_finding() -> None:
    v = build_validator()
    bad = {"version": 1, "ok": False, "findings": [{"code": "nope"}]}
    assert list(v.iter_errors(bad)), "the $ref to check.schema.json#/$defs/finding was not applied"


@pytest.mark.network
def test_build_json_success_and_failures_validate(tmp_path: Path) -> None:
    v = build_validator()
    src = write_handler(tmp_path / "src", "import six")
    (tmp_path / "req.txt").write_text("six\n")
    base = ["build", str(src), "-r", str(tmp_path / "req.txt"), "--runtime", "python3.12", "--arch", "x86_64",
            "--format", "json"]
    ok = run_lp([*base, "-o", str(tmp_path / "ok.zip")], cwd=tmp_path)
    assert ok.returncode == 0, ok.explain()
    assert_valid(v, ok.json)
    assert ok.json["ok"] is True and ok.json["outputs"][0]["path"].endswith("ok.zip")
    # verification failure (BuildFailed): the whole report, ok false, findings in check's shape
    bad = run_lp([*base, "-o", str(tmp_path / "bad.zip"), "--handler", "nope.fn"], cwd=tmp_path)
    assert bad.returncode == 1, bad.explain()
    assert_valid(v, bad.json)
    assert bad.json["ok"] is False and bad.json["error"]["message"]
    assert any(f["code"] == "LP203" for f in bad.json["findings"])
    assert not (tmp_path / "bad.zip").exists()
    # input error: the short form
    (tmp_path / "missing.txt").write_text("no-such-package-lambdapack-zzz\n")
    gone = run_lp([*base[:3], str(tmp_path / "missing.txt"), *base[4:], "-o", str(tmp_path / "x.zip")],
                  cwd=tmp_path)
    assert gone.returncode == 2, gone.explain()
    assert_valid(v, gone.json)
    assert gone.json["ok"] is False and gone.json["error"]["exit_code"] == 2


# --- explain -------------------------------------------------------------------------

CLOUDWATCH = """\
INIT_START Runtime Version: python:3.11.v45\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc
START RequestId: 1b2c3d4e-0000-4000-8000-000000000000 Version: $LATEST
[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': /lib64/libc.so.6: version `GLIBC_2.28' not found (required by /var/task/cryptography/hazmat/bindings/_rust.abi3.so)
Traceback (most recent call last):
END RequestId: 1b2c3d4e-0000-4000-8000-000000000000
REPORT RequestId: 1b2c3d4e-0000-4000-8000-000000000000\tDuration: 1.23 ms\tBilled Duration: 2 ms
"""


def _explain(*args: str, stdin: str | None = None) -> Run:
    import subprocess

    argv = [sys.executable, "-m", "lambdapack", "explain", *args]
    p = subprocess.run(argv, input=stdin if stdin is not None else "", capture_output=True, text=True,
                       env=clean_env(), timeout=60, check=False)
    r = Run(argv, p.returncode, p.stdout, p.stderr)
    assert "Traceback (most recent call last)" not in r.stderr, r.explain()
    return r


def test_explain_stdin_cloudwatch_excerpt() -> None:
    r = _explain(stdin=CLOUDWATCH)
    assert r.returncode == 0, r.explain()
    assert "EX005" in r.stdout and "GLIBC_2.28" in r.stdout and "LP003" in r.stdout
    assert "START RequestId" not in r.stdout  # log noise is not echoed as a match
    j = _explain("--format", "json", stdin=CLOUDWATCH)
    assert j.returncode == 0
    data = j.json
    assert data["version"] == 1 and data["recognised"] is True
    (x,) = data["explanations"]
    assert x["code"] == "EX005"
    assert "--runtime python3.11" in x["confirm"]  # inferred from the INIT_START line
    assert set(x) == {"code", "title", "matched", "cause", "confirm", "fix"}


def test_explain_argument() -> None:
    r = _explain("[ERROR] Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'")
    assert r.returncode == 0 and "EX012" in r.stdout, r.explain()
    j = _explain("--format", "json", "Runtime.ImportModuleError: Unable to import module 'lambda_function': "
                 "No module named 'lambda_function'")
    assert j.returncode == 0 and j.json["recognised"] is True, j.explain()


def test_explain_not_recognised_exit_1() -> None:
    r = _explain("everything is fine")
    assert r.returncode == 1, r.explain()
    j = _explain("--format", "json", stdin="nothing to see here\n")
    assert j.returncode == 1 and j.json["recognised"] is False and j.json["explanations"] == []
    assert j.json["ok"] is False and j.json["error"]["exit_code"] == 1
