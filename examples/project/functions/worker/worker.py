"""The queue worker: each SQS message is a msgpack-encoded, JWT-signed order to process."""

from __future__ import annotations

import base64
import os
from typing import Any

import attrs
import jwt
import msgpack

SECRET = os.environ.get("JWT_SECRET", "change-me")


@attrs.frozen
class Job:
    order: str
    amount: int


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    done = []
    for record in event.get("Records", []):
        payload = msgpack.unpackb(base64.b64decode(record["body"]))
        claims = jwt.decode(payload["token"], SECRET, algorithms=["HS256"])
        done.append(attrs.asdict(Job(order=claims["order"], amount=int(payload["amount"]))))
    return {"processed": len(done), "jobs": done}
