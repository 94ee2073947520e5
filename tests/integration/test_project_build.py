"""Project builds (`lambdapack build` with no SRC_DIR) of real projects against real PyPI: the
example project (examples/project: three functions, two layers), de-duplication against layers,
the combined 250 MB budget, conflicts, subsets, failures, no-change rebuilds, a uv workspace, and
poetry / pipenv projects configured as projects. Each test builds a copy in a temporary folder."""

from __future__ import annotations

import base64
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lock_tools import FIXTURES
from lp_helpers import Run, assert_no_outputs, clean_env, make_zero_layer, python_exe, run_lp, zip_names

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "project"
SCHEMAS = ROOT / "src" / "lambdapack" / "schemas"
MB250 = 250 * 1024 * 1024


def copy_example(dest: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist", ".cache", "__pycache__")))


def lp_project(proj: Path, *args: str, cache: Path | None = None) -> Run:
    """`lambdapack build ARGS` in the project folder, with its own lambdapack cache."""
    return run_lp(["build", *args, "--cache-dir", str(cache or proj.parent / "lp-cache")], cwd=proj, timeout=600)


def manifest(proj: Path) -> dict[str, Any]:
    return json.loads((proj / "dist" / "lambdapack.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in data["artifacts"]}


def table_names(r: Run) -> list[str]:
    """The artifact names of the summary table's rows, in order."""
    lines = r.stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("name "))
    rows = []
    for ln in lines[start + 1:]:
        cells = ln.split()
        if len(cells) < 3 or cells[1] not in ("function", "layer"):
            break
        rows.append(cells[0])
    return rows


def write_project(root: Path, config: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lambdapack.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@dataclass
class Built:
    proj: Path
    run: Run
    data: dict[str, Any]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("example")
    proj = copy_example(tmp / "project")
    r = lp_project(proj, "--format", "json")
    assert r.returncode == 0, r.explain()
    return Built(proj, r, r.json)


# --- the example project ---------------------------------------------------------------------


def test_the_example_builds_every_artifact_into_a_manifest_that_matches_the_zips(example: Built) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    data = example.data
    assert data == manifest(example.proj)  # --format json prints the manifest it wrote
    check = json.loads((SCHEMAS / "check.schema.json").read_text(encoding="utf-8"))
    schema = json.loads((SCHEMAS / "manifest.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    registry = referencing.Registry().with_resource(check["$id"], referencing.Resource.from_contents(check))
    errors = list(jsonschema.Draft202012Validator(schema, registry=registry).iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    assert data["ok"] is True and data["failed"] == []
    assert [(e["kind"], e["name"]) for e in data["artifacts"]] == [
        ("layer", "common"), ("layer", "data"), ("function", "api"), ("function", "report"), ("function", "worker")]
    dist = example.proj / "dist"
    assert sorted(p.name for p in dist.glob("*.zip")) == sorted(e["path"] for e in data["artifacts"])
    for e in data["artifacts"]:
        assert (e["runtime"], e["arch"], e["cached"]) == ("python3.12", "x86_64", False)
        blob = (dist / e["path"]).read_bytes()
        digest = hashlib.sha256(blob).digest()
        assert e["sha256"] == digest.hex() and e["sha256_base64"] == base64.b64encode(digest).decode()
        with zipfile.ZipFile(dist / e["path"]) as zf:
            files = [i for i in zf.infolist() if not i.is_dir()]
        assert e["zipped_bytes"] == len(blob)
        assert e["unzipped_bytes"] == sum(i.file_size for i in files) and e["files"] == len(files), e["name"]
    fns = by_name(data)
    assert {n: (fns[n]["handler"], fns[n]["layers"]) for n in ("api", "worker", "report")} == {
        "api": ("app.handler", ["common"]), "worker": ("worker.handler", ["common", "data"]),
        "report": ("report.handler", ["data"])}
    assert fns["common"]["handler"] is None and fns["common"]["path"] == "layer-common.zip"


def _tops(names: list[str]) -> set[str]:
    return {n.split("/")[0] for n in names}


def test_a_function_leaves_out_what_its_layers_ship_and_lists_it(example: Built) -> None:
    dist, fns = example.proj / "dist", by_name(example.data)
    common, data = _tops(zip_names(dist / "layer-common.zip")), _tops(zip_names(dist / "layer-data.zip"))
    assert common == {"python"} == data
    assert {"python/attrs/__init__.py", "python/jwt/__init__.py"} <= set(zip_names(dist / "layer-common.zip"))
    assert "python/yaml/__init__.py" in zip_names(dist / "layer-data.zip")
    api, worker, report = (_tops(zip_names(dist / f"{n}.zip")) for n in ("api", "worker", "report"))
    assert {"app.py", "dateutil", "six.py"} <= api and not api & {"attrs", "jwt"}
    assert not any(t.startswith(("attrs-", "PyJWT-", "pyjwt-")) for t in api)  # nor their dist-info
    assert worker == {"worker.py", "__pycache__"} or worker == {"worker.py"}  # everything else is in its layers
    assert "tabulate" in report and not report & {"yaml", "msgpack", "_yaml"}

    def took(name: str) -> set[tuple[str, str, str]]:
        return {(x["name"].lower(), x["version"], x["layer"]) for x in fns[name]["from_layers"]}

    jwt, attrs = ("pyjwt", "2.10.1", "common"), ("attrs", "25.3.0", "common")
    msgpack, yaml = ("msgpack", "1.1.1", "data"), ("pyyaml", "6.0.2", "data")  # the pins of layers/*.txt
    assert (took("api"), took("worker"), took("report")) == ({jwt, attrs}, {jwt, attrs, msgpack}, {yaml, msgpack})


def test_each_function_is_budgeted_with_its_layers(example: Built) -> None:
    fns = by_name(example.data)
    for e in fns.values():
        layers = sum(fns[n]["unzipped_bytes"] for n in e["layers"])
        assert e["unzipped_with_layers"] == e["unzipped_bytes"] + layers, e["name"]
    assert fns["worker"]["unzipped_with_layers"] > fns["data"]["unzipped_bytes"] > fns["worker"]["unzipped_bytes"]


def _need_python312() -> str:
    exe = python_exe(12)
    if exe is None:
        pytest.skip("no CPython 3.12 here to import the handlers with")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the example is built for x86_64; this host cannot load its native wheels")
    return exe


@pytest.mark.parametrize("fn", ["api", "worker", "report"])
def test_each_handler_imports_with_its_layers_in_a_real_python312(example: Built, fn: str) -> None:
    _need_python312()
    dist, e = example.proj / "dist", by_name(example.data)[fn]
    layers = [a for n in e["layers"] for a in ("--layer", str(dist / by_name(example.data)[n]["path"]))]
    target = ["--runtime", "python3.12", "--arch", "x86_64", "--handler", e["handler"]]
    r = run_lp(["smoke", str(dist / e["path"]), *layers, *target, "--format", "json"])
    assert r.returncode == 0 and r.json["status"] == "passed", r.explain()
    # Without its layers the same zip cannot import: what they ship really is left out.
    r = run_lp(["smoke", str(dist / e["path"]), *target])
    assert r.returncode == 1 and "No module named" in r.stdout + r.stderr, r.explain()


def test_the_worker_runs_on_its_two_layers(example: Built, tmp_path: Path) -> None:
    """The worker's handler called for real: its zip at /var/task, both layers merged at /opt."""
    exe = _need_python312()
    dist = example.proj / "dist"
    with zipfile.ZipFile(dist / "worker.zip") as zf:
        zf.extractall(tmp_path / "task")
    for layer in ("layer-common.zip", "layer-data.zip"):
        with zipfile.ZipFile(dist / layer) as zf:
            zf.extractall(tmp_path / "opt")
    code = textwrap.dedent("""\
        import base64, json, sys
        sys.path[:0] = [sys.argv[1], sys.argv[2]]
        import jwt, msgpack, worker
        token = jwt.encode({"order": "o-1"}, "change-me", algorithm="HS256")
        body = base64.b64encode(msgpack.packb({"token": token, "amount": 7})).decode()
        assert msgpack.__file__.startswith(sys.argv[2]), msgpack.__file__
        print(json.dumps(worker.handler({"Records": [{"body": body}]}, None)))
        """)
    out = subprocess.run([exe, "-I", "-S", "-c", code, str(tmp_path / "task"), str(tmp_path / "opt" / "python")],
                         capture_output=True, text=True, timeout=60, env=clean_env(), check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"processed": 1, "jobs": [{"order": "o-1", "amount": 7}]}


def test_smoke_imports_each_function_with_its_layers_and_catches_a_missing_dependency(tmp_path: Path) -> None:
    _need_python312()
    proj = copy_example(tmp_path / "project")
    req = proj / "functions" / "api" / "requirements.txt"
    req.write_text(req.read_text(encoding="utf-8").replace("python-dateutil==2.9.0.post0\n", ""), encoding="utf-8")
    r = lp_project(proj, "--smoke")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.explain()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "function api" in errors[0] and "smoke test failed" in errors[0], errors
    assert not (proj / "dist" / "api.zip").exists()
    # worker and report import only with their layers at /opt: the smoke test had them.
    assert {e["name"] for e in manifest(proj)["artifacts"]} == {"common", "data", "worker", "report"}


def test_a_no_change_rebuild_reuses_every_artifact_and_rewrites_no_zip(example: Built) -> None:
    dist = example.proj / "dist"
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in dist.glob("*.zip")}
    r = lp_project(example.proj)
    assert r.returncode == 0, r.explain()
    assert [ln.split()[-1] for ln in r.stdout.splitlines()[1:6]] == ["cached"] * 5, r.stdout
    data = manifest(example.proj)
    assert all(e["cached"] for e in data["artifacts"])
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in dist.glob("*.zip")} == before
    strip = [{k: v for k, v in e.items() if k != "cached"} for e in data["artifacts"]]
    assert strip == [{k: v for k, v in e.items() if k != "cached"} for e in example.data["artifacts"]]


def test_one_job_at_a_time_and_single_commands_make_the_same_bytes(example: Built, tmp_path: Path) -> None:
    """-j 1 (no threads racing) and the single-artifact commands a Makefile would run give the same
    zips as the parallel project build; a layer shared by two functions is built once."""
    proj = copy_example(tmp_path / "project")
    r = lp_project(proj, "-j", "1")
    assert r.returncode == 0, r.explain()
    assert sum("layer common (python3.12 x86_64): resolving" in ln for ln in r.stderr.splitlines()) == 1
    want = {e["path"]: e["sha256"] for e in example.data["artifacts"]}
    assert {e["path"]: e["sha256"] for e in manifest(proj)["artifacts"]} == want
    single = tmp_path / "single"
    r = run_lp(["build", "--layer", "-r", "layers/data.txt", "-o", str(single / "layer-data.zip"),
                "--runtime", "python3.12", "--arch", "x86_64", "--cache-dir", str(tmp_path / "c2")], cwd=proj)
    assert r.returncode == 0, r.explain()
    r = run_lp(["build", "functions/report", "-r", "functions/report/requirements.txt", "--handler", "report.handler",
                "--with-layer", str(single / "layer-data.zip"), "-o", str(single / "report.zip"),
                "--runtime", "python3.12", "--arch", "x86_64", "--cache-dir", str(tmp_path / "c2")], cwd=proj)
    assert r.returncode == 0, r.explain()
    for name in ("layer-data.zip", "report.zip"):
        assert hashlib.sha256((single / name).read_bytes()).hexdigest() == want[name], name


def test_build_name_builds_that_function_and_its_layer_and_keeps_the_rest(tmp_path: Path) -> None:
    proj = copy_example(tmp_path / "project")
    r = lp_project(proj)
    assert r.returncode == 0, r.explain()
    first = by_name(manifest(proj))
    api_stat = (proj / "dist" / "api.zip").stat().st_mtime_ns
    report_py = proj / "functions" / "report" / "report.py"
    report_py.write_text(report_py.read_text(encoding="utf-8") + "\nVERSION = 2\n", encoding="utf-8")
    r = lp_project(proj, "report")
    assert r.returncode == 0, r.explain()
    assert table_names(r) == ["data", "report"], r.stdout
    assert "api (" not in r.stderr and "layer common" not in r.stderr
    now = by_name(manifest(proj))
    assert set(now) == set(first)
    assert now["report"]["sha256"] != first["report"]["sha256"] and now["report"]["cached"] is False
    assert now["data"]["sha256"] == first["data"]["sha256"] and now["data"]["cached"] is True
    for name in ("api", "worker", "common"):
        assert now[name] == first[name], name
    assert (proj / "dist" / "api.zip").stat().st_mtime_ns == api_stat
    # A name the project does not define is a usage error, before anything is built.
    r = lp_project(proj, "reprot")
    assert r.returncode == 2 and "no function or layer 'reprot' (did you mean 'report'?)" in r.stderr, r.explain()


# --- conflicts, failures and the budget ------------------------------------------------------

FN = "import attrs\n\ndef handler(event, context):\n    return attrs.__version__\n"


def test_a_version_conflict_with_a_layer_is_exit_2_naming_both_versions(tmp_path: Path) -> None:
    proj = write_project(tmp_path / "p", """\
        runtime = "python3.12"
        arch = "x86_64"
        [functions.fn]
        src = "fn"
        handler = "app.handler"
        requirements = "fn/requirements.txt"
        layers = ["common"]
        [layers.common]
        requirements = "common.txt"
        """, {"fn/app.py": FN, "fn/requirements.txt": "attrs==25.1.0\n", "common.txt": "attrs==25.3.0\n"})
    r = lp_project(proj)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.explain()
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert "function fn" in line and "attrs 25.1.0" in line and "attrs 25.3.0" in line, line
    assert any(ln.startswith("hint:") for ln in r.stderr.splitlines())
    assert not (proj / "dist" / "fn.zip").exists()
    data = manifest(proj)
    assert [e["name"] for e in data["artifacts"]] == ["common"]
    assert [(f["name"], f["error"]["exit_code"]) for f in data["failed"]] == [("fn", 2)]


def test_a_failed_layer_skips_its_functions_and_writes_no_zip_for_them(tmp_path: Path) -> None:
    # pyperclip 1.9.0 ships only an sdist: no wheel for the target, so the layer fails (exit 1).
    proj = write_project(tmp_path / "p", """\
        runtime = "python3.12"
        arch = "x86_64"
        [functions.uses]
        src = "fn"
        handler = "app.handler"
        layers = ["bad"]
        [functions.free]
        src = "fn"
        handler = "app.handler"
        requirements = "free.txt"
        [layers.bad]
        requirements = "bad.txt"
        """, {"fn/app.py": "def handler(event, context):\n    return 1\n", "bad.txt": "pyperclip==1.9.0\n",
              "free.txt": "six==1.17.0\n"})
    old = proj / "dist" / "uses.zip"
    old.parent.mkdir()
    old.write_bytes(b"an older build")
    r = lp_project(proj)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.explain()
    assert "layer bad" in r.stderr and "pyperclip" in r.stderr
    assert "function uses (python3.12 x86_64): not built: layer bad python3.12 x86_64 failed" in r.stdout
    assert old.read_bytes() == b"an older build"  # left as it was, never half-rewritten
    assert_no_outputs(proj / "dist", keep=[old, proj / "dist" / "free.zip"])
    data = manifest(proj)
    assert data["ok"] is False and [e["name"] for e in data["artifacts"]] == ["free"]
    assert {f["name"]: f["error"]["exit_code"] for f in data["failed"]} == {"bad": 1, "uses": 1}


def test_a_function_over_250_mb_with_its_layers_fails(tmp_path: Path) -> None:
    """A real project layer (attrs: ~0.4 MB unzipped) and an attached zip of zeros just under 250 MB:
    each fits alone, the function with both does not."""
    big = make_zero_layer(tmp_path / "big.zip", MB250 - 200 * 1024)
    proj = write_project(tmp_path / "p", f"""\
        runtime = "python3.12"
        arch = "x86_64"
        [functions.alone]
        src = "fn"
        handler = "app.handler"
        attach_layers = ["{big.as_posix()}"]
        [functions.both]
        src = "fn"
        handler = "app.handler"
        attach_layers = ["{big.as_posix()}"]
        layers = ["common"]
        [layers.common]
        requirements = "common.txt"
        """, {"fn/app.py": FN, "common.txt": "attrs==25.3.0\n"})
    r = lp_project(proj)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.explain()
    assert "function both (python3.12 x86_64): error LP101:" in r.stdout, r.stdout
    assert "over Lambda's 250 MiB limit (262,144,000 bytes) for the function and all its layers" in r.stdout
    data = manifest(proj)
    fns = by_name(data)
    assert fns["alone"]["unzipped_with_layers"] == fns["alone"]["unzipped_bytes"] + MB250 - 200 * 1024
    assert [f["name"] for f in data["failed"]] == ["both"]
    assert not (proj / "dist" / "both.zip").exists()


# --- other kinds of projects -----------------------------------------------------------------


def test_a_uv_workspace_shares_a_local_package_between_two_functions(tmp_path: Path) -> None:
    root = write_project(tmp_path / "mono", """\
        runtime = "python3.12"
        arch = "x86_64"
        lock = "uv.lock"
        [functions.orders]
        src = "functions/orders"
        handler = "orders.handler"
        [functions.billing]
        src = "functions/billing"
        handler = "billing.handler"
        """, {
            "pyproject.toml": """\
                [project]
                name = "mono"
                version = "0.1.0"
                requires-python = ">=3.10"
                dependencies = ["shared"]

                [tool.uv.sources]
                shared = { workspace = true }

                [tool.uv.workspace]
                members = ["packages/*"]
                """,
            "packages/shared/pyproject.toml": """\
                [project]
                name = "shared"
                version = "1.0.0"
                requires-python = ">=3.10"
                dependencies = ["six==1.17.0"]

                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                """,
            "packages/shared/src/shared/__init__.py": "def greet():\n    return 'shared'\n",
            "functions/orders/orders.py": "import shared\n\ndef handler(e, c):\n    return shared.greet()\n",
            "functions/billing/billing.py": "import shared, six\n\ndef handler(e, c):\n    return shared.greet()\n",
        })
    # A lambdapack.toml beside the workspace's pyproject.toml: the config is the toml file.
    (root / "lambdapack.toml").replace(root / "lp.toml")
    locked = subprocess.run([sys.executable, "-m", "uv", "lock", "-q", "--python", sys.executable], cwd=root, capture_output=True, text=True,
                            env=clean_env(), timeout=300, check=False)
    assert locked.returncode == 0, locked.stderr
    r = lp_project(root, "--config", "lp.toml", "--smoke")  # each handler imports `shared` (pure wheels)
    assert r.returncode == 0, r.explain()
    assert ("smoke test skipped" in r.stdout) == (python_exe(12) is None), r.stdout
    assert "orders (python3.12 x86_64): smoke test: importing" in r.stderr, r.stderr
    for fn in ("orders", "billing"):
        names = zip_names(root / "dist" / f"{fn}.zip")
        assert "shared/__init__.py" in names and "six.py" in names, names
        assert not [n for n in names if n.endswith(".pth") or "__editable__" in n or n.startswith("src/")], names
        assert any(n.startswith("shared-1.0.0.dist-info/") for n in names), names


def test_a_poetry_project_configured_as_a_project_and_its_stale_lock(tmp_path: Path) -> None:
    proj = Path(shutil.copytree(FIXTURES / "poetry1", tmp_path / "poetry"))
    py = proj / "pyproject.toml"
    py.write_text(py.read_text(encoding="utf-8") + textwrap.dedent("""
        [tool.lambdapack]
        runtime = "python3.12"
        arch = "x86_64"
        lock = "poetry.lock"

        [tool.lambdapack.functions.fetch]
        src = "fetch"
        handler = "fetch.handler"
        layers = ["deps"]

        [tool.lambdapack.functions.solo]
        src = "fetch"
        handler = "fetch.handler"

        [tool.lambdapack.layers.deps]
        """), encoding="utf-8")
    (proj / "fetch").mkdir()
    (proj / "fetch" / "fetch.py").write_text("import requests\n\ndef handler(e, c):\n    return 1\n", encoding="utf-8")
    r = lp_project(proj)
    assert r.returncode == 0, r.explain()
    r = lp_project(proj, "--smoke", "fetch")  # the handler imports requests from the layer, at /opt
    assert r.returncode == 0 and ("smoke test skipped" in r.stdout) == (python_exe(12) is None), r.explain()
    assert "fetch (python3.12 x86_64): smoke test: importing" in r.stderr, r.stderr
    fns = by_name(manifest(proj))
    layer = set(zip_names(proj / "dist" / "layer-deps.zip"))
    assert {"python/requests/__init__.py", "python/socks.py", "python/attrs/__init__.py"} <= layer
    assert not any(n.startswith("python/six") for n in layer)  # the dev group stays out
    assert _tops(zip_names(proj / "dist" / "fetch.zip")) <= {"fetch.py", "__pycache__"}
    assert {x["name"].lower() for x in fns["fetch"]["from_layers"]} >= {"requests", "urllib3", "attrs"}
    assert "requests" in _tops(zip_names(proj / "dist" / "solo.zip"))
    # The project's dependencies change, the lock does not: every artifact fails, none is rewritten.
    before = {p.name: p.stat().st_mtime_ns for p in (proj / "dist").glob("*.zip")}
    py.write_text(py.read_text(encoding="utf-8").replace('attrs = {', 'cryptography = "*"\nattrs = {'),
                  encoding="utf-8")
    r = lp_project(proj)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.explain()
    assert "poetry.lock is out of date with pyproject.toml" in r.stderr and "poetry lock" in r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (proj / "dist").glob("*.zip")} == before


def test_a_pipenv_project_configured_as_a_project_and_its_stale_lock(tmp_path: Path) -> None:
    proj = Path(shutil.copytree(FIXTURES / "pipenv", tmp_path / "pipenv"))
    write_project(proj, """\
        runtime = "python3.12"
        arch = "arm64"
        lock = "Pipfile.lock"
        [functions.fetch]
        src = "fetch"
        handler = "fetch.handler"
        """, {"fetch/fetch.py": "import requests, yaml\n\ndef handler(e, c):\n    return 1\n"})
    r = lp_project(proj, "--format", "json")
    assert r.returncode == 0, r.explain()
    names = set(zip_names(proj / "dist" / "fetch.zip"))
    assert {"fetch.py", "requests/__init__.py", "yaml/__init__.py", "attrs/__init__.py"} <= names
    assert not any(n.startswith("six") for n in names)  # develop stays out
    assert any(n.startswith("yaml/_yaml.cpython-312-aarch64") for n in names), sorted(names)
    pipfile = proj / "Pipfile"
    pipfile.write_text(pipfile.read_text(encoding="utf-8").replace("[dev-packages]", 'cryptography = "*"\n\n'
                                                                    "[dev-packages]"), encoding="utf-8")
    r = lp_project(proj)
    assert r.returncode == 2 and "is out of date" in r.stderr and "pipenv lock" in r.stderr, r.explain()
