"""The AWS edge (lambdapack/aws): what each AWS failure becomes, on real boto3 clients and a real
server where one can answer; s3:// locations; and boto3 imported nowhere else in the product."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from motoserver import dead_endpoint, moto_server

from lambdapack.aws.failures import aws_error
from lambdapack.aws.s3location import S3Location, parse_s3_url
from lambdapack.aws.session import AwsSettings, Patience, lambda_client, s3_client
from lambdapack.errors import BuildError, InputError, UsageError

SRC = Path(__file__).resolve().parents[2] / "src" / "lambdapack"
QUICK = Patience(connect_timeout=1, read_timeout=2, max_attempts=1)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's test credentials: any key is accepted when no IAM checks are on."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_boto3_is_imported_only_by_the_aws_edge() -> None:
    importers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("boto3", "botocore") for n in names):
                importers.append(path.relative_to(SRC).as_posix())
    assert importers, "the scan found no import at all: it is not looking at the product"
    assert all(p.startswith("aws/") for p in importers), importers


@pytest.mark.parametrize(("text", "bucket", "prefix"), [
    ("s3://team-cache/lambdapack", "team-cache", "lambdapack/"),
    ("s3://team-cache/a/b/", "team-cache", "a/b/"),
    ("s3://team-cache", "team-cache", ""),
    ("team.cache-1", "team.cache-1", ""),
])
def test_s3_locations(text: str, bucket: str, prefix: str) -> None:
    loc = parse_s3_url(text)
    assert loc == S3Location(bucket, prefix)
    assert loc.key("x.zip") == f"{prefix}x.zip"


@pytest.mark.parametrize("text", ["https://bucket/x", "s3://Upper/x", "s3://ab", "s3:///x", "s3://a_b/c"])
def test_bad_s3_locations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_s3_url(text, "--remote-cache")
    assert "--remote-cache" in e.value.message and e.value.hint


def test_a_dead_endpoint_is_unreachable_not_a_traceback(keys: None) -> None:
    settings = AwsSettings(region="us-east-1", endpoint_url=dead_endpoint())
    client = lambda_client(settings, QUICK)
    with pytest.raises(Exception) as raised:
        client.get_function(FunctionName="f")
    err = aws_error(raised.value, "reading function f")
    assert isinstance(err, BuildError) and err.exit_code == 1
    assert err.message.startswith("reading function f: could not reach AWS")
    assert "--endpoint-url" in (err.hint or "")


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    client = s3_client(AwsSettings(region="us-east-1", endpoint_url=dead_endpoint()), QUICK)
    with pytest.raises(Exception) as raised:
        client.head_object(Bucket="bucket1", Key="k")
    err = aws_error(raised.value, "reading the remote cache")
    assert isinstance(err, InputError) and "no AWS credentials found" in err.message


def test_an_unknown_profile_is_an_input_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    with pytest.raises(InputError) as e:
        lambda_client(AwsSettings(profile="nosuch", region="us-east-1"))
    assert "nosuch" in e.value.message and "--profile" in (e.value.hint or "")


def test_what_a_real_server_answers(keys: None, tmp_path: Path) -> None:
    with moto_server(tmp_path / "moto") as server:
        settings = AwsSettings(region="us-east-1", endpoint_url=server.endpoint)
        lam = lambda_client(settings, QUICK)
        with pytest.raises(Exception) as raised:
            lam.get_function(FunctionName="nosuch")
        err = aws_error(raised.value, "reading function nosuch")
        assert isinstance(err, InputError)
        assert "ResourceNotFoundException" in err.message and "--region" in (err.hint or "")
        s3 = s3_client(settings, QUICK)
        with pytest.raises(Exception) as raised:
            s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
        err = aws_error(raised.value, "writing the remote cache")
        assert isinstance(err, InputError) and "NoSuchBucket" in err.message


def test_other_exceptions_are_not_aws_failures() -> None:
    assert aws_error(ValueError("x"), "doing") is None
    assert aws_error(OSError(28, "No space left on device"), "doing") is None
