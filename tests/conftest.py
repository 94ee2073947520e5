"""Test-session settings shared by unit and integration tests."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lambdapack.host.ziglang import Zig, find_zig


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


@pytest.fixture(scope="module")
def zig() -> Zig:
    """The native-build toolchain (lambdapack[native], in the test extras); skipped without it."""
    found = find_zig(os.environ)
    if found is None:
        pytest.skip("zig (the ziglang package) is not installed: pip install 'lambdapack[native]'")
    return found


# --- counters that stand in for wall-clock time -------------------------------------
# A test that means "no process is started" or "the member is not inflated" counts that,
# so a loaded machine cannot fail it and a regression still does.

_spawn_log: list[list[str]] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    # subprocess.Popen raises this audit event for every child it starts (PEP 578);
    # audit hooks cannot be removed, so the hook records only while a test listens.
    if _spawn_log is not None and event in ("subprocess.Popen", "os.system"):
        argv = args[1] if event == "subprocess.Popen" else args[0]
        _spawn_log.append([str(a) for a in argv] if isinstance(argv, (list, tuple)) else [str(argv)])


sys.addaudithook(_audit)


@pytest.fixture
def spawned() -> Iterator[list[list[str]]]:
    """The argv of every process this test process starts while the fixture is active."""
    global _spawn_log
    log: list[list[str]] = []
    _spawn_log = log
    try:
        yield log
    finally:
        _spawn_log = None


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.fixture
def bytes_read() -> Callable[[], int]:
    """Bytes this process has read through read(2) and friends so far (Linux /proc/self/io)."""
    try:
        _rchar()
    except OSError as e:
        pytest.skip(f"no /proc/self/io to count the bytes read: {e}")
    return _rchar


# --- tiers ----------------------------------------------------------------------------
# `slow` tests (minutes each) are left out of the default run unless --slow is given or
# the -m expression names them (`pytest -m slow`), so that `-m "not network"` and the
# plain run stay fast whatever else -m says.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (minutes each)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow") or "slow" in (config.getoption("-m") or ""):
        return
    slow = [i for i in items if i.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if i.get_closest_marker("slow") is None]
