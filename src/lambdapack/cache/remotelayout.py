"""The remote cache's objects, as pure functions: their keys and the verified envelope.

Layout under the remote's prefix (`s3://bucket/prefix/`):
  v1/inputs/<key>.json        the inputs pointer (the no-change shortcut)
  v1/resolutions/<key>.json   a pinned resolution record
  v1/artifacts/<key>.json     a finished artifact's meta (its zips named by sha256)
  v1/blob/<sha256>            a zip, content-addressed: uploaded before the record naming it

Records travel in an envelope carrying the sha256 of their payload and the key they were
stored under, so a truncated, damaged or misplaced object is a miss, never a wrong hit.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

__all__ = ["LAYOUT", "RecordKind", "blob_key", "open_envelope", "record_key", "seal"]

LAYOUT = "v1"  # a new layout is a clean miss for everything stored under the old one
RecordKind = Literal["inputs", "resolutions", "artifacts"]


def record_key(prefix: str, kind: RecordKind, key: str) -> str:
    return f"{prefix}{LAYOUT}/{kind}/{key}.json"


def blob_key(prefix: str, sha256: str) -> str:
    return f"{prefix}{LAYOUT}/blob/{sha256}"


def seal(object_key: str, record: Any) -> bytes:
    """A record as the bytes of its envelope."""
    payload = json.dumps(record, sort_keys=True, separators=(",", ":"))
    sha = hashlib.sha256(payload.encode()).hexdigest()
    return json.dumps({"layout": LAYOUT, "key": object_key, "sha256": sha, "payload": payload}).encode()


def open_envelope(object_key: str, data: bytes) -> Any | None:
    """The record in an envelope's bytes; None when anything is off (damaged, truncated,
    stored under another key, a payload whose hash does not match)."""
    try:
        env = json.loads(data)
        payload = env["payload"]
        if (not isinstance(env, dict) or env.get("layout") != LAYOUT or env.get("key") != object_key
                or not isinstance(payload, str)
                or hashlib.sha256(payload.encode()).hexdigest() != env.get("sha256")):
            return None
        return json.loads(payload)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
