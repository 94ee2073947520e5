"""The remote cache's edge to S3: get and put objects, never failing the build.

The remote is never required. The first failure that is not a plain miss (unreachable, too
slow, access denied, no such bucket, no credentials) turns it off for the rest of the build,
with one warning; a denied write turns off writing only. Timeouts are short and attempts few
(REMOTE): the worst case a dead or silent remote adds to a build is bounded (docs/remote-cache.md).

One S3 client per remote and credentials is shared by every build of the process (a project
build's threads), and so is the news that the remote is unavailable: the next job does not
wait for it again. boto3 is imported (through lambdapack.aws) only when a remote is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdapack.aws.s3location import S3Location
from lambdapack.aws.session import Patience

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["DOWN_SECONDS", "REMOTE", "Remote"]

# 2 s to connect, 5 s without a byte, 2 attempts: a silent remote costs one build ~10 s once.
REMOTE = Patience(connect_timeout=2.0, read_timeout=5.0, max_attempts=2)
# How long a remote found unavailable stays off for the other builds of this process.
DOWN_SECONDS = 300.0
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# Another writer stored the key first (write-once): theirs has the same content.
_TAKEN = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_CHUNK = 1 << 20
_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass
class _Shared:
    """What the builds of one process share about one remote."""

    client: Any = None
    down: str | None = None  # why it is unavailable
    down_at: float = 0.0


_shared: dict[tuple[str, ...], _Shared] = {}
_shared_lock = threading.Lock()


class RemoteFailure(Exception):
    """An AWS failure that is not a miss; `why` is what AWS said, in a few words."""

    def __init__(self, why: str, code: str | None) -> None:
        super().__init__(why)
        self.why, self.code = why, code


def _why(e: BaseException) -> str | None:
    """A failure of the AWS SDK in a few words; None when it is not one (a bug: raised)."""
    from lambdapack.aws.failures import aws_error, error_code

    if aws_error(e, "") is None:
        return None
    code = error_code(e)
    if code is None:
        return str(e)
    msg = getattr(e, "response", {}).get("Error", {}).get("Message") or ""
    return f"{code}: {msg}".rstrip(": ") if msg else code


@dataclass
class Remote:
    """One remote as one build uses it; its warnings (each once) are the build's warnings."""

    location: S3Location
    read_only: bool
    warnings: list[str] = field(default_factory=list)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    requests: int = 0
    _off: bool = False
    _writes_off: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        ident = (str(self.location), *(self.environ.get(v, "") for v in _AWS_ENV))
        with _shared_lock:
            self._shared = _shared.setdefault(ident, _Shared())

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    @property
    def usable(self) -> bool:
        if self._off:
            return False
        s = self._shared
        if s.down is not None and time.monotonic() - s.down_at < DOWN_SECONDS:
            self._turn_off(s.down, shared=False)
            return False
        return True

    @property
    def writable(self) -> bool:
        return not self.read_only and not self._writes_off and self.usable

    def _turn_off(self, why: str, shared: bool = True) -> None:
        with self._lock:
            if self._off:
                return
            self._off = True
        if shared:
            with _shared_lock:
                self._shared.down, self._shared.down_at = why, time.monotonic()
        self.warn(f"remote cache {self.location} unavailable: {why}; building without it")

    def _client(self) -> S3Client:
        with _shared_lock:
            if self._shared.client is None:
                from lambdapack.aws.session import AwsSettings, s3_client

                self._shared.client = s3_client(AwsSettings(), REMOTE)
            client: S3Client = self._shared.client
            return client

    def _call(self, action: Callable[[S3Client], Any]) -> Any:
        """`action` on the client; a failure that is not a miss or a lost race as RemoteFailure."""
        from lambdapack.aws.failures import error_code
        from lambdapack.errors import LambdapackError

        self.requests += 1
        try:
            return action(self._client())
        except LambdapackError as e:  # the client could not be made (an unknown profile, ...)
            raise RemoteFailure(e.message, None) from e
        except Exception as e:
            why = _why(e)
            if why is None:
                raise
            raise RemoteFailure(why, error_code(e)) from e

    # -- reads ---------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when it is missing or the remote is off."""
        if not self.usable:
            return None
        try:
            data: bytes = self._call(
                lambda c: c.get_object(Bucket=self.location.bucket, Key=key)["Body"].read())
        except RemoteFailure as e:
            if e.code not in _MISSING:
                self._turn_off(e.why)
            return None
        return data

    def get_file(self, key: str, tmp_dir: Path) -> tuple[Path, str, int] | None:
        """The object streamed into a new file in `tmp_dir`: (path, sha256, size), or None."""
        if not self.usable:
            return None
        fd, name = tempfile.mkstemp(prefix="remote-", dir=tmp_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                sha, size = self._call(lambda c: _stream(c, self.location.bucket, key, f))
        except BaseException as e:
            with contextlib.suppress(OSError):
                path.unlink()
            if not isinstance(e, RemoteFailure):
                raise
            if e.code not in _MISSING:
                self._turn_off(e.why)
            return None
        return path, sha, size

    def exists(self, key: str) -> bool | None:
        """Whether the object is there; None when the remote is off."""
        if not self.usable:
            return None
        try:
            self._call(lambda c: c.head_object(Bucket=self.location.bucket, Key=key))
        except RemoteFailure as e:
            if e.code in _MISSING:
                return False
            self._turn_off(e.why)
            return None
        return True

    # -- writes --------------------------------------------------------------------
    def put(self, key: str, body: bytes | Path, replace: bool = False) -> None:
        """Store `body` under `key` once (a conditional put), or over it when `replace`."""
        if not self.writable:
            return
        extra = {} if replace else {"IfNoneMatch": "*"}

        def action(c: S3Client) -> None:
            if isinstance(body, Path):
                with open(body, "rb") as f:
                    c.put_object(Bucket=self.location.bucket, Key=key, Body=f, **extra)  # type: ignore[arg-type]
            else:
                c.put_object(Bucket=self.location.bucket, Key=key, Body=body, **extra)  # type: ignore[arg-type]

        try:
            self._call(action)
        except RemoteFailure as e:
            if e.code in _TAKEN:
                return
            from lambdapack.aws.failures import ACCESS_DENIED

            if e.code in ACCESS_DENIED:
                self._writes_off = True
                self.warn(f"remote cache {self.location} cannot be written: {e.why}; "
                          "this build is kept in the local cache only")
                return
            self._turn_off(e.why)


def _stream(client: S3Client, bucket: str, key: str, f: Any) -> tuple[str, int]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    h, size = hashlib.sha256(), 0
    for chunk in body.iter_chunks(_CHUNK):
        h.update(chunk)
        f.write(chunk)
        size += len(chunk)
    return h.hexdigest(), size
