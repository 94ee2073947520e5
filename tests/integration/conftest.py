"""Fixtures shared by the integration tests; the helpers live in lp_helpers.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from lp_helpers import silent_index


@pytest.fixture(scope="session")
def uv_cmd() -> list[str]:
    """uv from the `uv` package of this interpreter (as lambdapack uses it)."""
    return [sys.executable, "-m", "uv"]


@pytest.fixture
def stalled_index() -> Iterator[str]:
    """The URL of an index that accepts connections and never answers."""
    with silent_index() as (url, _got):
        yield url
