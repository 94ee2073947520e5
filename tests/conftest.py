"""Test-session settings shared by unit and integration tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _own_lambdapack_cache() -> Iterator[None]:
    """Builds in tests use a cache of their own, never the developer's or CI's."""
    old = os.environ.get("LAMBDAPACK_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="lambdapack-test-cache-") as d:
        os.environ["LAMBDAPACK_CACHE_DIR"] = d
        yield
    if old is None:
        os.environ.pop("LAMBDAPACK_CACHE_DIR", None)
    else:
        os.environ["LAMBDAPACK_CACHE_DIR"] = old
