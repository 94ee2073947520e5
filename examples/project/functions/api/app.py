"""The HTTP API: checks the caller's JWT and returns the order it asks for."""

from __future__ import annotations

import os
from typing import Any

import attrs
import jwt
from dateutil import parser as dateparser

SECRET = os.environ.get("JWT_SECRET", "change-me")


@attrs.frozen
class Order:
    id: str
    placed: str


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    token = (event.get("headers") or {}).get("authorization", "").removeprefix("Bearer ")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return {"statusCode": 401, "body": "invalid token"}
    placed = dateparser.isoparse(event.get("placed", "2026-01-01T00:00:00Z")).isoformat()
    order = Order(id=str(claims.get("order", "")), placed=placed)
    return {"statusCode": 200, "body": attrs.asdict(order)}
