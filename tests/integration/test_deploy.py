"""`lambdapack deploy` and `publish-layer` against a real Lambda and S3 API: moto in server mode on
loopback (tests/motoserver.py), the CLI in its own process, boto3 pointed at it by AWS_ENDPOINT_URL.
What was changed is asserted from the server's request log and from the API's state."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import Run, clean_env, run_lp
from motoserver import MotoServer, moto_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "project"
SCHEMA = ROOT / "src" / "lambdapack" / "schemas"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as s:
        yield s


@pytest.fixture
def aws(server: MotoServer) -> MotoServer:
    server.reset()
    return server


def _env(server: MotoServer, **more: str) -> dict[str, str]:
    return clean_env({**server.env(), **more})


def _placeholder() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("placeholder.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


def create_function(server: MotoServer, name: str, runtime: str = "python3.12", arch: str = "x86_64") -> None:
    iam = server.client("iam")
    try:
        role = iam.get_role(RoleName="lambda-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    server.client("lambda").create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="placeholder.handler",
                                            Code={"ZipFile": _placeholder()}, Architectures=[arch])


def write_zip(path: Path, files: dict[str, bytes], stored: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def deploy(server: MotoServer, args: list[str], cwd: Path | None = None, **env: str) -> Run:
    server.clear_log()
    return run_lp(args, cwd=cwd, env=_env(server, **env), timeout=600)


def failed(r: Run, code: int, message: str) -> str:
    """The run failed with `code`, one error line containing `message`, and no traceback."""
    assert r.returncode == code, r.explain()
    assert "Traceback" not in r.stderr + r.stdout, r.explain()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.explain()
    return errors[0]


def function(server: MotoServer, name: str) -> dict[str, Any]:
    config: dict[str, Any] = server.client("lambda").get_function(FunctionName=name)["Configuration"]
    return config


def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource

    schemas = [json.loads(p.read_text()) for p in sorted(SCHEMA.glob("*.schema.json"))]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    schema = json.loads((SCHEMA / "deploy.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


# --- a project: examples/project, 3 functions and 2 layers ------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/project, built once for the module (each test deploys its own copy)."""
    root = tmp_path_factory.mktemp("built") / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist"))
    r = run_lp(["build", "-q"], cwd=root, timeout=900)
    assert r.returncode == 0, r.explain()
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path, aws: MotoServer) -> Path:
    root = tmp_path / "project"
    shutil.copytree(built, root)
    for name in ("api", "worker", "report"):
        create_function(aws, name)
    return root


def _manifest(root: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((root / "dist" / "lambdapack.json").read_text())
    return {f"{e['kind']} {e['name']}": e for e in data["artifacts"]}


@pytest.mark.network
def test_first_deploy_publishes_each_layer_once_and_updates_every_function(project: Path, aws: MotoServer) -> None:
    r = deploy(aws, ["deploy"], cwd=project)
    assert r.returncode == 0, r.explain()
    lam, manifest = aws.client("lambda"), _manifest(project)
    arns = {}
    for layer in ("common", "data"):
        versions = lam.list_layer_versions(LayerName=layer)["LayerVersions"]
        assert len(versions) == 1, versions  # common is shared by api and worker: published once
        arns[layer] = versions[0]["LayerVersionArn"]
        content = lam.get_layer_version(LayerName=layer, VersionNumber=versions[0]["Version"])["Content"]
        assert content["CodeSha256"] == manifest[f"layer {layer}"]["sha256_base64"]
    expected = {"api": ["common"], "worker": ["common", "data"], "report": ["data"]}
    for name, layers in expected.items():
        config = function(aws, name)
        assert config["CodeSha256"] == manifest[f"function {name}"]["sha256_base64"]
        assert [x["Arn"] for x in config["Layers"]] == [arns[x] for x in layers]
    assert "deployed: 2 layer version(s) published, 0 reused; 3 function(s) updated" in r.stdout


@pytest.mark.network
def test_a_no_change_deploy_makes_no_mutating_call(project: Path, aws: MotoServer) -> None:
    assert deploy(aws, ["deploy"], cwd=project).returncode == 0
    r = deploy(aws, ["deploy"], cwd=project)
    assert r.returncode == 0, r.explain()
    assert aws.mutations() == []
    assert "nothing changed: 0 layer version(s) published, 2 reused; 0 function(s) updated, 3 unchanged" in r.stdout
    assert r.stdout.count(": unchanged (same code and layers)") == 3


@pytest.mark.network
def test_a_code_change_updates_only_that_function(project: Path, aws: MotoServer) -> None:
    assert deploy(aws, ["deploy"], cwd=project).returncode == 0
    before = {n: function(aws, n)["CodeSha256"] for n in ("worker", "report")}
    app = project / "functions" / "api" / "app.py"
    app.write_text(app.read_text() + "\nVERSION = 2\n")
    r = deploy(aws, ["deploy"], cwd=project)
    assert r.returncode == 0, r.explain()
    assert [(m.method, m.path) for m in aws.mutations()] == [("PUT", "/2015-03-31/functions/api/code")]
    assert function(aws, "api")["CodeSha256"] == _manifest(project)["function api"]["sha256_base64"]
    assert {n: function(aws, n)["CodeSha256"] for n in ("worker", "report")} == before


@pytest.mark.network
def test_dry_run_changes_nothing_and_prints_the_plan(project: Path, aws: MotoServer) -> None:
    r = deploy(aws, ["deploy", "--dry-run"], cwd=project)
    assert r.returncode == 0, r.explain()
    assert aws.mutations() == []
    assert "layer common (python3.12 x86_64): would publish a new version of common (the layer has no version yet)" \
        in r.stdout
    assert "function api (python3.12 x86_64): would update code and layers" in r.stdout
    assert "dry run: would publish 2 layer version(s)" in r.stdout
    r = deploy(aws, ["deploy", "--dry-run", "--format", "json"], cwd=project)
    assert r.returncode == 0 and aws.mutations() == [], r.explain()
    data = r.json
    validator().validate(data)
    assert data["dry_run"] is True and data["changed"] is False
    assert {f["name"]: f["action"] for f in data["functions"]} == dict.fromkeys(("api", "report", "worker"),
                                                                                "update code and layers")
    assert lambda_layers(aws) == []


def lambda_layers(server: MotoServer) -> list[Any]:
    layers: list[Any] = server.client("lambda").list_layers()["Layers"]
    return layers


@pytest.mark.network
def test_no_build_refuses_a_zip_that_is_not_the_manifests(project: Path, aws: MotoServer) -> None:
    zip_path = project / "dist" / "api.zip"
    with zipfile.ZipFile(zip_path, "a") as z:
        z.writestr("extra.txt", "changed after the build")
    r = deploy(aws, ["deploy", "--no-build", "api"], cwd=project)
    failed(r, 2, "is not the zip the manifest lists")
    assert "rebuild" in r.stderr and aws.mutations() == []


# --- one zip, one layer -----------------------------------------------------------------------


def test_deploy_zip_updates_once_and_then_leaves_it(aws: MotoServer, tmp_path: Path) -> None:
    create_function(aws, "fn")
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"def handler(e, c):\n    return 1\n"})
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "fn"])
    assert r.returncode == 0, r.explain()
    assert "function fn (any target): updated code" in r.stdout
    assert [(m.method, m.path) for m in aws.mutations()] == [("PUT", "/2015-03-31/functions/fn/code")]
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "fn", "--format", "json"])
    assert r.returncode == 0, r.explain()
    validator().validate(r.json)
    assert r.json["functions"][0]["action"] == "unchanged" and aws.mutations() == []


def test_publish_layer_reuses_the_version_on_the_second_call(aws: MotoServer, tmp_path: Path) -> None:
    z = write_zip(tmp_path / "layer.zip", {"python/mod.py": b"X = 1\n"})
    args = ["publish-layer", str(z), "--layer-name", "deps", "--runtime", "python3.12", "--arch", "arm64"]
    first = deploy(aws, args)
    assert first.returncode == 0, first.explain()
    arn = first.stdout.strip().splitlines()[-1]
    assert arn.startswith("arn:aws:lambda:") and arn.endswith(":layer:deps:1")
    second = deploy(aws, args)
    assert second.returncode == 0, second.explain()
    assert second.stdout.strip().splitlines()[-1] == arn
    assert "reuse" in second.stdout and aws.mutations() == []
    # Declared for another architecture: the same bytes are not reused for it.
    third = deploy(aws, [*args[:-1], "x86_64"])
    assert third.returncode == 0 and third.stdout.strip().endswith(":layer:deps:2"), third.explain()


def _big_zip(tmp_path: Path) -> Path:
    """A built function whose source carries 51 MiB of incompressible bytes: over the 50 MB limit."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return None\n")
    (src / "blob.bin").write_bytes(random.Random(0).randbytes(51 * 1024 * 1024))
    out = tmp_path / "big.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out), "-q"],
               timeout=600)
    assert r.returncode == 0, r.explain()
    return out


def test_a_zip_over_50_mb_goes_through_s3_once(aws: MotoServer, tmp_path: Path) -> None:
    create_function(aws, "big")
    aws.client("s3").create_bucket(Bucket="deploys")
    z = _big_zip(tmp_path)
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "big"])
    err = failed(r, 2, "over Lambda's 50 MiB direct-upload limit")
    assert "51." in err and "--s3-bucket" in r.stderr and aws.mutations() == []
    args = ["deploy", "--zip", str(z), "--function-name", "big", "--s3-bucket", "s3://deploys/lambda"]
    r = deploy(aws, args)
    assert r.returncode == 0, r.explain()
    puts = [m for m in aws.mutations() if m.service == "s3"]
    assert len(puts) == 1 and puts[0].path.startswith("/deploys/lambda/") and puts[0].path.endswith(".zip")
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="deploys")["Contents"]]
    import hashlib
    assert keys == [f"lambda/{hashlib.sha256(z.read_bytes()).hexdigest()}.zip"]
    assert function(aws, "big")["CodeSha256"] == r.stdout.split(" -> ")[1].split(")")[0]
    # A second deploy: nothing uploaded, nothing updated. The bucket from the environment this time.
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "big"], LAMBDAPACK_DEPLOY_BUCKET="s3://deploys/lambda")
    assert r.returncode == 0, r.explain()
    assert aws.mutations() == [], r.stdout


# --- errors: one error line, the exit code, no traceback, nothing changed -----------------------


def test_a_function_that_does_not_exist(aws: MotoServer, tmp_path: Path) -> None:
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "missing"])
    failed(r, 2, "function missing does not exist")
    assert "deploy updates existing functions" in r.stderr and aws.mutations() == []


def test_runtime_and_architecture_must_match_the_function(aws: MotoServer, tmp_path: Path) -> None:
    create_function(aws, "old", runtime="python3.11", arch="arm64")
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "old", "--runtime", "python3.12",
                     "--arch", "x86_64"])
    failed(r, 2, "function old is python3.11 arm64, but")
    assert "python3.12 x86_64" in r.stderr and aws.mutations() == []


def test_wrong_architecture_for_a_layer_arn(aws: MotoServer, tmp_path: Path) -> None:
    create_function(aws, "fn")
    layer = aws.client("lambda").publish_layer_version(
        LayerName="arm-only", Content={"ZipFile": _placeholder()}, CompatibleArchitectures=["arm64"],
        CompatibleRuntimes=["python3.12"])["LayerVersionArn"]
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
    r = deploy(aws, ["deploy", "--zip", str(z), "--function-name", "fn", "--layer-arn", layer])
    failed(r, 2, f"wrong architecture for the layer {layer}")
    assert aws.mutations() == []


def test_no_credentials(aws: MotoServer, tmp_path: Path) -> None:
    create_function(aws, "fn")
    (tmp_path / "empty").write_text("")
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
    env = clean_env({"AWS_ENDPOINT_URL": aws.endpoint, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                     "AWS_CONFIG_FILE": str(tmp_path / "empty"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "empty")},
                    drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"))
    aws.clear_log()
    r = run_lp(["deploy", "--zip", str(z), "--function-name", "fn"], env=env)
    failed(r, 2, "no AWS credentials found")
    assert "aws configure" in r.stderr and aws.mutations() == []


def test_access_denied(tmp_path: Path) -> None:
    """moto checks IAM policies after its first few actions. Its Lambda refuses IAM users' signatures
    outright (SignatureDoesNotMatch), so the policy-specific denial is shown on S3: a user that may
    read the deploy bucket but not write to it is refused at the upload, as one error line."""
    from lambdapack.aws.s3location import parse_s3_url
    from lambdapack.aws.session import AwsSettings, s3_client
    from lambdapack.deploy.upload import upload
    from lambdapack.errors import BuildError

    with moto_server(tmp_path / "moto", auth_free_actions=4) as s:
        s.client("s3").create_bucket(Bucket="deploys")
        iam = s.client("iam")
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
        mp = pytest.MonkeyPatch()
        mp.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        mp.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        try:
            client = s3_client(AwsSettings("us-east-1", None, s.endpoint))
            with pytest.raises(BuildError) as e:
                upload(client, parse_s3_url("s3://deploys/x"), z, "ab" * 32, z.stat().st_size)
        finally:
            mp.undo()
        # Usually moto lets the HEAD through (404) and refuses the PUT; one CI run (2026-12-04) saw
        # its HEAD refused instead (403, no body), not reproduced in 60 runs here. Either way the
        # user gets one access-denied line with the hint; the server's log says which, if it fails.
        said = e.value.message
        assert said.startswith(("uploading ", "reading s3://deploys/")) and ": access denied (" in said, \
            (tmp_path / "moto" / "server.log").read_text()[-2000:]
        assert e.value.hint and "docs/deploy.md#iam-permissions" in e.value.hint
        # Through the CLI, Lambda's refusal is one error line too, exit 1.
        r = run_lp(["deploy", "--zip", str(z), "--function-name", "fn"],
                   env=_env(s, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"]))
        failed(r, 1, "reading function fn: access denied")
        assert "docs/deploy.md#iam-permissions" in r.stderr


def test_no_boto3_installed(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "boto3"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named boto3')\n")
    z = write_zip(tmp_path / "fn.zip", {"app.py": b"x = 1\n"})
    r = run_lp(["deploy", "--zip", str(z), "--function-name", "fn"], env=clean_env({"PYTHONPATH": str(fake.parent)}))
    failed(r, 2, "this command needs boto3, which is not installed")
    assert "pip install 'lambdapack[aws]'" in r.stderr


def test_build_and_help_do_not_import_boto3(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return None\n")
    code = ("import sys\nfrom lambdapack.cli.main import main\n"
            "for argv in (['--help'], ['deploy', '--help'], ['build', sys.argv[1], '--runtime', 'python3.12', "
            "'--arch', 'x86_64', '-o', sys.argv[2], '-q']):\n"
            "    try:\n        code = main(argv)\n    except SystemExit as e:\n        code = e.code\n"
            "    assert code == 0, (argv, code)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n")
    r = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "fn.zip")], env=clean_env(),
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "fn.zip").is_file()


@pytest.mark.network
def test_a_failed_build_deploys_nothing(project: Path, aws: MotoServer) -> None:
    (project / "functions" / "api" / "requirements.txt").write_text("lambdapack-no-such-package-xyz==1.0\n")
    r = deploy(aws, ["deploy", "--format", "json"], cwd=project)
    assert r.returncode == 2, r.explain()
    validator().validate(r.json)
    assert r.json["ok"] is False and "nothing was deployed" in r.json["error"]["message"]
    assert "Traceback" not in r.stderr and aws.mutations() == []
