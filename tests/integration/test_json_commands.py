"""`--format json` of every command, run for real, on success and on failure: one JSON object
on stdout that validates against the command's committed schema, `ok` true exactly when the
exit code is 0, and otherwise an `error` whose exit_code is the process's.

Real inputs: zips written by the tests' helpers, real wheel file names, real Lambda log
text, a real cache directory and real local interpreters (smoke), no network.
"""

from __future__ import annotations

import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import clean_env, run_lp, write_handler
from test_check import HANDLER, make_zip
from test_check_output import CLOUDWATCH, SCHEMAS, assert_valid, validator

from lambdapack.facts.runtimes import RUNTIMES, get_runtime
from lambdapack.host.interpreters import find_interpreter

pytest.importorskip("jsonschema")
pytest.importorskip("referencing")

TARGET = ("--runtime", "python3.12", "--arch", "x86_64")
WHEEL_X86 = "orjson-3.10.7-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_MAC = "orjson-3.10.7-cp312-cp312-macosx_10_15_x86_64.macosx_11_0_arm64.macosx_10_15_universal2.whl"


def lp_json(schema: str, *args: object, expect: int, cwd: Path | None = None) -> dict[str, Any]:
    """Run `lambdapack ARGS --format json`; its stdout must be one object valid against `schema`."""
    r = run_lp([*map(str, args), "--format", "json"], cwd=cwd)
    assert r.returncode == expect, r.explain()
    assert "Traceback" not in r.stderr, r.explain()
    data = r.json  # the whole of stdout is one object
    assert_valid(validator(f"{schema}.schema.json"), data)
    assert data["version"] == 1 and data["ok"] is (expect == 0), r.explain()
    if expect == 0:
        assert "error" not in data
    else:
        assert data["error"]["exit_code"] == expect and data["error"]["message"], data
        if expect == 2:  # bad usage: the person reading the log still gets the line
            assert "error:" in r.stderr, r.explain()
    return data


def test_every_command_has_a_valid_schema_listed_as_package_data() -> None:
    import jsonschema

    names = {p.name for p in SCHEMAS.glob("*.schema.json")}
    commands = {"build", "check", "smoke", "why", "tags", "explain", "cache", "deploy"}
    assert {f"{c}.schema.json" for c in commands} | {"error.schema.json", "manifest.schema.json"} == names
    for name in sorted(names):
        jsonschema.Draft202012Validator.check_schema(validator(name).schema)
    pyproject = (SCHEMAS.parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"schemas/*.json"' in pyproject


def test_the_schemas_can_fail() -> None:
    """The envelope rules are enforced: a failure without its error, an ok with one."""
    v = validator("tags.schema.json")
    assert list(v.iter_errors({"version": 1, "ok": False}))
    assert list(v.iter_errors({"version": 1, "ok": True, "runtime": "python3.12", "arch": "x86_64",
                               "preview": False, "tags": ["py3-none-any"],
                               "error": {"message": "x", "hint": None, "exit_code": 1}}))
    assert list(v.iter_errors({"version": 1, "ok": True}))  # success carries its result


# --- tags -------------------------------------------------------------------------------


def test_tags() -> None:
    data = lp_json("tags", "tags", *TARGET, expect=0)
    assert data["tags"][0] == "cp312-cp312-manylinux_2_34_x86_64" and "py3-none-any" in data["tags"]
    bad = lp_json("tags", "tags", "--runtime", "python2.7", "--arch", "x86_64", expect=2)
    assert "python2.7" in bad["error"]["message"]
    # argparse's own refusal, once the command is known: JSON too, with argparse's words
    missing = lp_json("tags", "tags", "--runtime", "python3.12", expect=2)
    assert "--arch" in missing["error"]["message"] and "lambdapack tags --help" in missing["error"]["hint"]


def test_format_equals_form_and_two_formats_are_refused() -> None:
    r = run_lp(["tags", "--runtime", "python3.12", "--format=json"])
    assert r.returncode == 2 and r.json["error"]["exit_code"] == 2, r.explain()
    r = run_lp(["tags", "--runtime", "python3.12", "--arch", "x86_64", "--format", "json", "--format", "text"])
    assert r.returncode == 2 and r.stdout == "" and "json and text" in r.stderr, r.explain()


def test_unknown_command_stays_text() -> None:
    """No command, no schema: argparse's text, exit 2 (documented in the README)."""
    r = run_lp(["nosuch", "--format", "json"])
    assert r.returncode == 2 and r.stdout == "" and "invalid choice" in r.stderr


# --- why --------------------------------------------------------------------------------


def test_why() -> None:
    fits = lp_json("why", "why", WHEEL_X86, *TARGET, expect=0)
    assert fits["compatible"] is True and fits["tag"] == "cp312-cp312-manylinux_2_17_x86_64"
    assert fits["problems"] == [] and 1 < fits["rank"] <= fits["of"]
    assert fits["target"] == {"runtime": "python3.12", "arch": "x86_64"} and fits["wheel"] == WHEEL_X86
    nope = lp_json("why", "why", WHEEL_MAC, *TARGET, expect=1)
    assert nope["compatible"] is False and nope["rank"] is None
    assert nope["problems"] == ["built for macOS"] and nope["error"]["message"] == nope["reason"]
    assert "lambdapack tags" in nope["error"]["hint"]
    bad = lp_json("why", "why", "orjson.tar.gz", *TARGET, expect=2)
    assert "not a wheel file name" in bad["error"]["message"]


# --- explain ----------------------------------------------------------------------------


def test_explain() -> None:
    got = lp_json("explain", "explain", CLOUDWATCH, expect=0)
    assert [x["code"] for x in got["explanations"]] == ["EX005"] and got["recognised"] is True
    assert got["input_bytes"] == got["read_bytes"] == len(CLOUDWATCH.encode())
    unknown = lp_json("explain", "explain", "START RequestId: 1 Version: $LATEST", expect=1)
    assert unknown["recognised"] is False and unknown["explanations"] == []
    log = "INFO nothing to see here\n" * 200 + CLOUDWATCH.splitlines()[2] + "\n"
    tail = lp_json("explain", "explain", log, "--max-bytes", "1K", expect=0)
    assert tail["read_bytes"] <= 1024 < tail["input_bytes"] == len(log.encode())
    assert [x["code"] for x in tail["explanations"]] == ["EX005"]
    bad = lp_json("explain", "explain", "x", "--max-bytes", "lots", expect=2)
    assert "--max-bytes" in bad["error"]["message"]


# --- cache ------------------------------------------------------------------------------


def test_cache(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    cache = tmp_path / "cache"
    built = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "fn.zip"), "--cache-dir", str(cache)])
    assert built.returncode == 0, built.explain()
    info = lp_json("cache", "cache", "info", "--cache-dir", cache, expect=0)
    assert info["action"] == "info" and info["path"] == str(cache) and info["total_bytes"] > 0
    assert info["kinds"]["artifacts"]["entries"] == 1
    pruned = lp_json("cache", "cache", "prune", "--max-size", "1M", "--cache-dir", cache, expect=0)
    assert pruned["freed_bytes"] == 0 and pruned["max_bytes"] == 1 << 20
    cleaned = lp_json("cache", "cache", "clean", "--cache-dir", cache, expect=0)
    assert cleaned["freed_bytes"] >= info["total_bytes"]
    assert lp_json("cache", "cache", "info", "--cache-dir", cache, expect=0)["total_bytes"] == 0
    # relative --cache-dir: shown absolute
    rel = lp_json("cache", "cache", "info", "--cache-dir", "cache", expect=0, cwd=tmp_path)
    assert Path(rel["path"]).is_absolute() and Path(rel["path"]).samefile(cache)


def test_cache_failures(tmp_path: Path) -> None:
    ignored = lp_json("cache", "cache", "info", "--max-size", "1G", "--cache-dir", tmp_path, expect=2)
    assert "cache prune" in ignored["error"]["message"] and "prune --max-size 1G" in ignored["error"]["hint"]
    lp_json("cache", "cache", "clean", "--max-size", "1G", "--cache-dir", tmp_path, expect=2)
    (tmp_path / "file").write_text("")
    not_dir = lp_json("cache", "cache", "info", "--cache-dir", tmp_path / "file", expect=2)
    assert "not a directory" in not_dir["error"]["message"]
    lp_json("cache", "cache", "prune", "--max-size", "huge", "--cache-dir", tmp_path, expect=2)
    lp_json("cache", "cache", "purge", expect=2)  # an unknown action: argparse's refusal


# --- check ------------------------------------------------------------------------------


def test_check(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "fn.zip", {"lambda_function.py": HANDLER})
    ok = lp_json("check", "check", "fn.zip", *TARGET, expect=0, cwd=tmp_path)
    assert Path(ok["artifacts"][0]["path"]) == z.absolute()  # given relative, shown absolute
    evil = make_zip(tmp_path / "evil.zip", {"lambda_function.py": HANDLER, "../x.py": ""})
    bad = lp_json("check", "check", evil, *TARGET, expect=1)
    assert [f["code"] for f in bad["findings"]] == ["LP301"] and "1 error(s)" in bad["error"]["message"]
    two = lp_json("check", "check", z, z, *TARGET, expect=2)
    assert "unrecognized arguments" in two["error"]["message"]
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 not really a zip")
    lp_json("check", "check", tmp_path / "corrupt.zip", *TARGET, expect=2)
    lp_json("check", "check", expect=2)  # nothing to check


# --- smoke ------------------------------------------------------------------------------


def _host_runtime() -> tuple[str, str] | None:
    """A runtime and architecture this machine has an interpreter for, if any."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    arch = "arm64" if machine == "aarch64" else "x86_64"
    for name in RUNTIMES:
        if find_interpreter(get_runtime(name).python, machine) is not None:
            return name, arch
    return None


def _missing_runtime() -> tuple[str, str] | None:
    for arch, machine in (("arm64", "aarch64"), ("x86_64", "x86_64")):
        for name in RUNTIMES:
            if find_interpreter(get_runtime(name).python, machine) is None:
                return name, arch
    return None


def test_smoke_passed_and_failed(tmp_path: Path) -> None:
    host = _host_runtime()
    if host is None:
        pytest.skip("no local CPython of any Lambda runtime's version")
    target = ("--runtime", host[0], "--arch", host[1])
    good = make_zip(tmp_path / "good.zip", {"lambda_function.py": HANDLER})
    passed = lp_json("smoke", "smoke", good, *target, "--handler", "lambda_function.lambda_handler",
                     expect=0)
    assert passed["status"] == "passed" and passed["summary"] == {"modules": 1, "ok": 1, "failed": 0}
    interp = passed["interpreter"]
    assert Path(interp["path"]).is_absolute() and interp["implementation"] == "cpython"
    assert interp["version"].startswith("{}.{}.".format(*get_runtime(host[0]).python))
    broken = make_zip(tmp_path / "broken.zip", {"lambda_function.py": "import no_such_module_zz\n" + HANDLER})
    failed = lp_json("smoke", "smoke", broken, *target, expect=1)
    assert failed["status"] == "failed" and failed["results"][0]["ok"] is False
    assert "no_such_module_zz" in failed["results"][0]["error"]


def test_smoke_skipped_and_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "fn.zip", {"lambda_function.py": HANDLER})
    missing = _missing_runtime()
    if missing is not None:
        skipped = lp_json("smoke", "smoke", z, "--runtime", missing[0], "--arch", missing[1], expect=3)
        assert skipped["status"] == "skipped" and skipped["interpreter"] is None
        assert skipped["error"]["message"] == skipped["reason"]
    cannot = lp_json("smoke", "smoke", z, expect=2)  # pure Python: nothing says the target
    assert "--runtime" in cannot["error"]["hint"]
    nothing = lp_json("smoke", "smoke", "--runtime", "python3.12", "--arch", "x86_64", expect=2)
    assert nothing["error"]["message"] == "nothing to smoke-test"


# --- build ------------------------------------------------------------------------------


def test_build_offline_success_and_usage_failures(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    ok = lp_json("build", "build", "src", *TARGET, "-o", "out/fn.zip", "--output-dir", "tree", "--no-cache",
                 expect=0, cwd=tmp_path)
    (out,) = ok["outputs"]  # given relative, shown absolute
    assert Path(out["path"]).is_absolute() and Path(out["path"]).samefile(tmp_path / "out" / "fn.zip")
    assert Path(out["tree"]).is_absolute() and Path(out["tree"]).samefile(tmp_path / "tree")
    assert Path(ok["size_report"][0]["artifact"]).is_absolute()
    jobs = lp_json("build", "build", src, *TARGET, "--jobs", "0", expect=2)
    assert "--jobs" in jobs["error"]["message"]
    runtime = lp_json("build", "build", src, "--runtime", "python2.7", "--arch", "x86_64", expect=2)
    assert "python2.7" in runtime["error"]["message"]
    parse = lp_json("build", "build", src, *TARGET, "--slim", "tiny", expect=2)
    assert "invalid choice" in parse["error"]["message"]
    assert not (tmp_path / "fn.zip").exists()



@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is not deliverable to a child on Windows")
def test_interrupted_is_one_object_too(tmp_path: Path) -> None:
    """SIGTERM while `explain` waits on a pipe that never ends: exit 130 and the failure object."""
    argv = [sys.executable, "-m", "lambdapack", "explain", "--format", "json"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=clean_env()) as p:
        assert p.stdin is not None
        p.stdin.write("START RequestId: 1\n")
        p.stdin.flush()
        time.sleep(2)  # the interpreter is up and reading (its import takes ~0.2 s)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    data = json.loads(out)
    assert_valid(validator("explain.schema.json"), data)
    assert data["ok"] is False and data["error"]["exit_code"] == 130 and "interrupted" in data["error"]["message"]


def test_project_build_success_and_a_failed_function(tmp_path: Path) -> None:
    """A project build's JSON is its manifest in the envelope; a failed function is `failed` and the error."""
    for name in ("good", "bad"):
        write_handler(tmp_path / name)
    (tmp_path / "lambdapack.toml").write_text(
        'runtime = "python3.12"\narch = "x86_64"\n'
        '[functions.good]\nsrc = "good"\nhandler = "lambda_function.lambda_handler"\n'
        '[functions.bad]\nsrc = "bad"\nhandler = "missing_module.main"\n', encoding="utf-8")
    data = lp_json("manifest", "build", "good", expect=0, cwd=tmp_path)
    assert [a["name"] for a in data["artifacts"]] == ["good"] and data["failed"] == []
    data = lp_json("manifest", "build", expect=1, cwd=tmp_path)
    assert [f["name"] for f in data["failed"]] == ["bad"]
    assert data["error"]["message"].startswith("function bad (python3.12 x86_64): ")
    # The file holds the manifest only: the envelope's error is for stdout.
    on_disk = json.loads((tmp_path / "dist" / "lambdapack.json").read_text(encoding="utf-8"))
    assert "error" not in on_disk and [a["name"] for a in on_disk["artifacts"]] == ["good"]
