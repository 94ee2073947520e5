"""A handler that needs a dependency with a compiled extension (PyYAML's libyaml bindings)."""

from __future__ import annotations

from typing import Any

import yaml


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    # CSafeDumper exists only when the C extension loaded: proof the platform is right.
    body = yaml.dump({"hello": event.get("name", "world")}, Dumper=yaml.CSafeDumper)
    return {"statusCode": 200, "body": body}
