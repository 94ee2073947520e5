"""Fixtures shared by the integration tests; the helpers live in lp_helpers.py."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="session")
def uv_cmd() -> list[str]:
    """uv from the `uv` package of this interpreter (as lambdapack uses it)."""
    return [sys.executable, "-m", "uv"]
