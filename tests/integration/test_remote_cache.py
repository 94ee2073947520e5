"""`lambdapack build --remote-cache` end to end: real builds (a real PyPI wheel, uv, bytecode)
sharing one S3 bucket on a real S3 API on loopback (moto in server mode), each from its own
local cache and uv cache, as two CI runners would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lp_helpers import Run, clean_env, run_lp, write_handler
from motoserver import MotoServer, dead_endpoint, moto_server

pytestmark = pytest.mark.network

BUCKET = "team-cache"
URL = f"s3://{BUCKET}/ci/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as m:
        yield m


@pytest.fixture
def s3(server: MotoServer) -> MotoServer:
    server.reset()
    server.client("s3").create_bucket(Bucket=BUCKET)
    server.clear_log()
    return server


def _project(tmp: Path) -> Path:
    proj = tmp / "proj"
    write_handler(proj / "src", "import six")
    (proj / "requirements.txt").write_text("six==1.16.0\n")
    return proj


def _build(proj: Path, runner: str, env: dict[str, str], *extra: str) -> Run:
    """A build as one runner does it: its own lambdapack cache and uv cache under `runner`."""
    root = proj.parent / runner
    full = clean_env({**env, "LAMBDAPACK_CACHE_DIR": str(root / "cache"), "UV_CACHE_DIR": str(root / "uv")})
    return run_lp(["build", "src", "-r", "requirements.txt", "--runtime", "python3.12", "--arch", "x86_64",
                   "-o", str(root / "function.zip"), "-v", *extra], cwd=proj, env=full)


def test_a_second_runner_hits_the_first_runners_build_with_identical_bytes(s3: MotoServer, tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = {**s3.env(), "LAMBDAPACK_REMOTE_CACHE": URL}
    first = _build(proj, "runner-a", env)
    assert first.returncode == 0, first.explain()
    assert any(r.method == "PUT" for r in s3.requests()), "the first build filled the remote"
    s3.clear_log()
    second = _build(proj, "runner-b", env)
    assert second.returncode == 0, second.explain()
    assert "warning" not in second.stdout + second.stderr, second.explain()
    a, b = (tmp_path / r / "function.zip" for r in ("runner-a", "runner-b"))
    assert a.read_bytes() == b.read_bytes()
    assert not (tmp_path / "runner-b" / "uv").exists() or not any((tmp_path / "runner-b" / "uv").rglob("six*")), \
        "the hit ran uv"
    assert not any(r.method == "PUT" for r in s3.requests()), "a hit writes nothing"
    # The hit filled runner-b's local cache: its next build does not ask the remote.
    s3.clear_log()
    third = _build(proj, "runner-b", env)
    assert third.returncode == 0, third.explain()
    assert s3.requests() == [], [str(r) for r in s3.requests()]


def test_a_damaged_remote_zip_is_detected_rebuilt_and_overwritten(s3: MotoServer, tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = {**s3.env(), "LAMBDAPACK_REMOTE_CACHE": URL}
    assert _build(proj, "runner-a", env).returncode == 0
    c = s3.client("s3")
    blobs = [o["Key"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix="ci/v1/blob/")["Contents"]]
    assert blobs
    good = {k: c.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in blobs}
    for k in blobs:
        c.put_object(Bucket=BUCKET, Key=k, Body=b"PK\x03\x04 not the zip it names")
    second = _build(proj, "runner-b", env)
    assert second.returncode == 0, second.explain()
    said = second.stdout + second.stderr
    assert "warning" in said and "remote" in said, second.explain()
    assert (tmp_path / "runner-b" / "function.zip").read_bytes() == (tmp_path / "runner-a" / "function.zip").read_bytes()
    for k in blobs:  # the rebuilt zip replaced the damaged object
        assert c.get_object(Bucket=BUCKET, Key=k)["Body"].read() == good[k], k


def test_a_damaged_remote_record_is_a_miss_never_a_failure(s3: MotoServer, tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = {**s3.env(), "LAMBDAPACK_REMOTE_CACHE": URL}
    assert _build(proj, "runner-a", env).returncode == 0
    c = s3.client("s3")
    for o in c.list_objects_v2(Bucket=BUCKET, Prefix="ci/v1/")["Contents"]:
        if o["Key"].endswith(".json"):
            c.put_object(Bucket=BUCKET, Key=o["Key"], Body=b'{"layout": "v1", "payload": "garbage"')
    second = _build(proj, "runner-b", env)
    assert second.returncode == 0, second.explain()
    assert "Traceback" not in second.stderr
    assert (tmp_path / "runner-b" / "function.zip").read_bytes() == (tmp_path / "runner-a" / "function.zip").read_bytes()


def test_read_only_mode_reads_and_never_writes(s3: MotoServer, tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = {**s3.env(), "LAMBDAPACK_REMOTE_CACHE": URL}
    r = _build(proj, "pull-request", env, "--remote-cache-read-only")
    assert r.returncode == 0, r.explain()
    assert s3.requests(), "the remote was read"
    assert not any(q.mutating for q in s3.requests()), [str(q) for q in s3.requests()]
    assert "warning" not in r.stdout + r.stderr, r.explain()


def test_an_unreachable_remote_is_one_warning_and_the_build_goes_on(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = {"AWS_ENDPOINT_URL": dead_endpoint(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "LAMBDAPACK_REMOTE_CACHE": URL}
    r = _build(proj, "runner-a", env)
    assert r.returncode == 0, r.explain()
    said = r.stdout + r.stderr
    assert said.count(f"remote cache {URL.rstrip('/')}") == 1 or said.count("remote cache s3://") == 1, said
    assert "building without it" in said and "Traceback" not in said
    assert (tmp_path / "runner-a" / "function.zip").is_file()


def test_a_build_without_a_remote_never_imports_boto3(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    cache = tmp_path / "cache"
    args = ["build", "src", "-r", "requirements.txt", "--runtime", "python3.12", "--arch", "x86_64",
            "-o", str(tmp_path / "f.zip"), "--cache-dir", str(cache)]
    assert run_lp(args, cwd=proj).returncode == 0
    probe = ("import runpy, sys; sys.argv = ['lambdapack', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('lambdapack', run_name='__main__')\n"
             "finally:\n    print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))),"
             " file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", "import json\n" + probe, *args], cwd=proj, env=clean_env(),
                       capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stderr.strip().splitlines()[-1]) == [], p.stderr
