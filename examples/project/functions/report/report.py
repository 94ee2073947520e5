"""The nightly report: reads msgpack rows, writes a YAML summary and a text table."""

from __future__ import annotations

import base64
from typing import Any

import msgpack
import yaml
from tabulate import tabulate


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    rows = msgpack.unpackb(base64.b64decode(event.get("rows", base64.b64encode(msgpack.packb([])))))
    total = sum(int(r.get("amount", 0)) for r in rows)
    summary = yaml.safe_dump({"orders": len(rows), "total": total}, sort_keys=True)
    table = tabulate([(r.get("order"), r.get("amount")) for r in rows], headers=["order", "amount"])
    return {"summary": summary, "table": table}
