"""The remote cache as a store (cache.tiered, cache.remote) against a real S3 API on loopback
(moto in server mode), a dead port and a server that never answers: two local caches share
artifacts through it, every object is verified, writes are write-once, and a remote that fails
is one warning and a bounded wait. No package index is needed: the artifacts are real zips
written here."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import silent_server
from motoserver import MotoServer, dead_endpoint, moto_server

from lambdapack.aws.s3location import parse_s3_url
from lambdapack.cache import remote as remote_module
from lambdapack.cache.local import Cache
from lambdapack.cache.records import ArtifactMeta, InputsPointer
from lambdapack.cache.remote import Remote
from lambdapack.cache.remotelayout import blob_key, record_key
from lambdapack.cache.tiered import TieredCache

BUCKET = "team-cache"
URL = f"s3://{BUCKET}/ci"
KEY = "a" * 64


@pytest.fixture(autouse=True)
def fresh_remotes() -> Iterator[None]:
    """Each test starts with no remote known down (the process-wide memo of cache.remote)."""
    remote_module._shared.clear()
    yield
    remote_module._shared.clear()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as m:
        yield m


@pytest.fixture
def s3(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    server.reset()
    server.client("s3").create_bucket(Bucket=BUCKET)
    server.clear_log()
    for k, v in server.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return server


def tiered(root: Path, read_only: bool = False, url: str = URL) -> TieredCache:
    return TieredCache(Cache(root), Remote(parse_s3_url(url), read_only))


def artifact(tmp: Path, text: str = "print('hi')\n") -> tuple[ArtifactMeta, Path]:
    """A real zip and the meta a build would store with it."""
    z = tmp / "fn.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("lambda_function.py", text)
    data = z.read_bytes()
    digest = hashlib.sha256(data)
    out = {"kind": "function", "path": str(z), "sha256": digest.hexdigest(),
           "sha256_base64": base64.b64encode(digest.digest()).decode(), "zipped_bytes": len(data),
           "unzipped_bytes": len(text), "files": 1}
    return ArtifactMeta({"outputs": [out], "unzipped_total_bytes": len(text), "findings": []}, []), z


def pointer(art: str = KEY) -> InputsPointer:
    return InputsPointer(art, True, None, None, {}, "requirements", None, (), (), (), ())


def test_an_artifact_travels_from_one_local_cache_to_another(s3: MotoServer, tmp_path: Path) -> None:
    meta, z = artifact(tmp_path)
    first = tiered(tmp_path / "a")
    first.save_artifact(KEY, meta, [("function", z)])
    first.save_inputs_pointer("p" * 64, pointer())
    assert first.warnings == []

    second = tiered(tmp_path / "b")
    assert second.load_inputs_pointer("p" * 64) == pointer()
    hit = second.load_artifact(KEY)
    assert hit is not None and hit[1][0].read_bytes() == z.read_bytes()
    assert hit[1][0].is_relative_to(tmp_path / "b")  # filled the local cache
    assert list((tmp_path / "b" / "tmp").iterdir()) == []  # the download is not left behind

    # The next build of that machine is a local hit: the remote is not asked at all.
    s3.clear_log()
    third = tiered(tmp_path / "b")
    assert third.load_inputs_pointer("p" * 64) is not None and third.load_artifact(KEY) is not None
    assert s3.requests() == [] and third.remote.requests == 0


def test_zips_go_up_before_the_record_that_names_them_and_once(s3: MotoServer, tmp_path: Path) -> None:
    meta, z = artifact(tmp_path)
    tiered(tmp_path / "a").save_artifact(KEY, meta, [("function", z)])
    puts = [r.path for r in s3.requests() if r.method == "PUT"]
    assert puts == [f"/{BUCKET}/ci/v1/blob/{meta.outputs[0].sha256}", f"/{BUCKET}/ci/v1/artifacts/{KEY}.json"]

    s3.clear_log()
    tiered(tmp_path / "c").save_artifact(KEY, meta, [("function", z)])
    # The blob is there (content-addressed): not sent again.
    assert [r.path for r in s3.requests() if r.method == "PUT"] == [f"/{BUCKET}/ci/v1/artifacts/{KEY}.json"]


def test_writes_are_write_once(s3: MotoServer, tmp_path: Path) -> None:
    tiered(tmp_path / "a").save_inputs_pointer("p" * 64, pointer("1" * 64))
    other = tiered(tmp_path / "b")
    other.save_inputs_pointer("p" * 64, pointer("2" * 64))  # another writer got there first: fine
    assert other.warnings == []
    assert tiered(tmp_path / "c").load_inputs_pointer("p" * 64) == pointer("1" * 64)


def _overwrite(s3: MotoServer, key: str, data: bytes) -> None:
    s3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)


def test_a_damaged_zip_is_a_miss_with_one_warning_and_is_replaced(s3: MotoServer, tmp_path: Path) -> None:
    meta, z = artifact(tmp_path)
    tiered(tmp_path / "a").save_artifact(KEY, meta, [("function", z)])
    blob = blob_key("ci/", meta.outputs[0].sha256)
    good = z.read_bytes()
    _overwrite(s3, blob, good[: len(good) // 2])  # a partial upload

    store = tiered(tmp_path / "b")
    assert store.load_artifact(KEY) is None
    assert store.load_artifact(KEY) is None  # asked once: the full path looks again, in vain
    assert len(store.warnings) == 1 and blob in store.warnings[0] and "damaged" in store.warnings[0]
    assert [r.method for r in s3.requests() if "/blob/" in r.path].count("GET") == 1
    assert not any((tmp_path / "b" / "artifacts").iterdir())  # never shipped, never kept

    store.save_artifact(KEY, meta, [("function", z)])  # the rebuilt zip
    assert s3.client("s3").get_object(Bucket=BUCKET, Key=blob)["Body"].read() == good
    hit = tiered(tmp_path / "c").load_artifact(KEY)
    assert hit is not None and hit[1][0].read_bytes() == good


@pytest.mark.parametrize("garbage", [b"not json", b'{"layout": "v1", "payload": "{}", "sha256": "0"}', b""])
def test_a_damaged_record_is_a_miss_and_is_replaced(s3: MotoServer, tmp_path: Path, garbage: bytes) -> None:
    tiered(tmp_path / "a").save_inputs_pointer("p" * 64, pointer())
    name = record_key("ci/", "inputs", "p" * 64)
    _overwrite(s3, name, garbage)
    store = tiered(tmp_path / "b")
    assert store.load_inputs_pointer("p" * 64) is None
    assert len(store.warnings) == 1 and name in store.warnings[0]
    store.save_inputs_pointer("p" * 64, pointer())
    assert tiered(tmp_path / "c").load_inputs_pointer("p" * 64) == pointer()


def test_a_record_moved_to_another_key_is_not_trusted(s3: MotoServer, tmp_path: Path) -> None:
    tiered(tmp_path / "a").save_inputs_pointer("p" * 64, pointer())
    c = s3.client("s3")
    body = c.get_object(Bucket=BUCKET, Key=record_key("ci/", "inputs", "p" * 64))["Body"].read()
    c.put_object(Bucket=BUCKET, Key=record_key("ci/", "inputs", "q" * 64), Body=body)
    assert tiered(tmp_path / "b").load_inputs_pointer("q" * 64) is None


def test_read_only_never_writes(s3: MotoServer, tmp_path: Path) -> None:
    meta, z = artifact(tmp_path)
    store = tiered(tmp_path / "a", read_only=True)
    store.save_artifact(KEY, meta, [("function", z)])
    store.save_inputs_pointer("p" * 64, pointer())
    assert store.load_artifact(KEY) is not None  # the local cache has it
    assert s3.mutations() == [] and store.warnings == []


def test_a_missing_bucket_is_one_warning(s3: MotoServer, tmp_path: Path) -> None:
    store = tiered(tmp_path / "a", url="s3://no-such-bucket/x")
    assert store.load_inputs_pointer("p" * 64) is None
    assert store.load_artifact(KEY) is None
    meta, z = artifact(tmp_path)
    store.save_artifact(KEY, meta, [("function", z)])
    assert len(store.warnings) == 1
    assert store.warnings[0].startswith("remote cache s3://no-such-bucket/x/ unavailable: NoSuchBucket")
    assert store.warnings[0].endswith("; building without it")
    assert store.remote.requests == 1  # not asked again for the rest of the build


def test_a_dead_endpoint_is_one_warning_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_credentials(monkeypatch, dead_endpoint())
    store = tiered(tmp_path / "a")
    start = time.monotonic()
    assert store.load_inputs_pointer("p" * 64) is None
    meta, z = artifact(tmp_path)
    store.save_artifact(KEY, meta, [("function", z)])
    assert time.monotonic() - start < 10
    assert len(store.warnings) == 1 and "could not connect" in store.warnings[0].lower()
    # The next build of this process (a project's next function) does not try again.
    later = tiered(tmp_path / "b")
    assert later.load_artifact(KEY) is None and later.remote.requests == 0 and len(later.warnings) == 1


def _fake_credentials(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def test_a_remote_that_never_answers_costs_a_bounded_wait(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    with silent_server() as (port, got):
        _fake_credentials(monkeypatch, f"http://127.0.0.1:{port}")
        store = tiered(tmp_path / "a")
        start = time.monotonic()
        assert store.load_inputs_pointer("p" * 64) is None
        assert store.load_resolution("r" * 64, pinned=True) is None
        elapsed = time.monotonic() - start
        assert len(store.warnings) == 1 and "timeout" in store.warnings[0].lower(), store.warnings
        assert 1 <= len(got) <= remote_module.REMOTE.max_attempts
        bound = remote_module.REMOTE.max_attempts * (remote_module.REMOTE.read_timeout + 1) + 2
        assert elapsed < bound


def test_denied_writes_are_one_warning_and_reads_still_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto checks IAM after the first 5 requests: the bucket, one record and a reader allowed
    # s3:GetObject only; from then on the admin keys mean nothing.
    with moto_server(tmp_path / "iam", auth_free_actions=5) as m:
        c, iam = m.client("s3"), m.client("iam")
        c.create_bucket(Bucket=BUCKET)
        from lambdapack.cache.remotelayout import seal

        name = record_key("ci/", "inputs", "p" * 64)
        c.put_object(Bucket=BUCKET, Key=name, Body=seal(name, pointer().to_json()))
        iam.create_user(UserName="reader")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        for k, v in {**m.env(), "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                     "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}.items():
            monkeypatch.setenv(k, v)

        store = tiered(tmp_path / "a")
        assert store.load_inputs_pointer("p" * 64) == pointer()
        meta, z = artifact(tmp_path)
        store.save_inputs_pointer("q" * 64, pointer())
        store.save_artifact(KEY, meta, [("function", z)])
        assert len(store.warnings) == 1, store.warnings
        assert "cannot be written: AccessDenied" in store.warnings[0]
        assert store.load_artifact(KEY) is not None  # the local cache has it
        assert store.load_inputs_pointer("r" * 64) is None  # still reading: a plain miss
        assert len(store.warnings) == 1
