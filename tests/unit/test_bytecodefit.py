"""Which bytecode a default build leaves out to fit Lambda's unzipped limit (pure).

Numbers shaped like scikit-learn for arm64 python3.11: 262.8 MB unzipped with bytecode,
the .pyc of scikit-learn, scipy, numpy and the rest, test modules among them."""

from __future__ import annotations

from lambdapack.assemble.bytecodefit import FitEntry, LeftOut, plan_fit
from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.inspect.sizerules import bytecode_left_out_finding, check_sizes

SK, SP, NP, JL = "scikit-learn 1.5.2", "scipy 1.13.1", "numpy 2.0.2", "joblib 1.4.2"


def _pyc(arc: str, dist: str | None, size: int) -> FitEntry:
    return FitEntry(arc, dist, True, size)


ENTRIES = [
    FitEntry("sklearn/_tree.cpython-311-aarch64-linux-gnu.so", SK, False, 150_000_000),
    FitEntry("sklearn/base.py", SK, False, 40_000),
    _pyc("sklearn/__pycache__/base.cpython-311.pyc", SK, 9_000_000),
    _pyc("sklearn/tests/__pycache__/test_base.cpython-311.pyc", SK, 2_000_000),
    _pyc("scipy/__pycache__/linalg.cpython-311.pyc", SP, 14_000_000),
    _pyc("scipy/linalg/tests/__pycache__/test_basic.cpython-311.pyc", SP, 6_000_000),
    _pyc("numpy/__pycache__/core.cpython-311.pyc", NP, 9_000_000),
    _pyc("numpy/testing/__pycache__/utils.cpython-311.pyc", NP, 500_000),
    _pyc("joblib/__pycache__/pool.cpython-311.pyc", JL, 1_000_000),
    _pyc("joblib/test/__pycache__/test_pool.cpython-311.pyc", JL, 700_000),
    # the user's handler and a module of theirs in a tests/ directory: never left out
    FitEntry("lambda_function.py", None, False, 2_000),
    _pyc("__pycache__/lambda_function.cpython-311.pyc", None, 30_000_000),
    _pyc("tests/__pycache__/test_handler.cpython-311.pyc", None, 4_000_000),
    # a .pyc the wheel shipped itself (not compiled by this build): never counted
    FitEntry("six/__pycache__/six.cpython-311.pyc", "six 1.16.0", False, 8_000_000),
]
TESTS = 2_000_000 + 6_000_000 + 500_000 + 700_000  # the dependencies' test-module bytecode


def _total(entries: list[FitEntry]) -> int:
    return sum(e.size for e in entries)


def test_already_under_the_limit_leaves_nothing_out() -> None:
    plan = plan_fit(ENTRIES, UNZIPPED_BYTES - 1, UNZIPPED_BYTES)
    assert plan is not None and plan.drop == frozenset() and plan.left_out == ()


def test_test_modules_first_when_they_are_enough() -> None:
    plan = plan_fit(ENTRIES, UNZIPPED_BYTES + TESTS - 1, UNZIPPED_BYTES)
    assert plan is not None
    assert plan.drop == {e.arcname for e in ENTRIES if e.distribution and e.is_pyc
                         and any(p in e.arcname.split("/") for p in ("tests", "test", "testing"))}
    # every distribution's tests go in one step; the report is by name, tests only
    assert plan.left_out == (LeftOut(JL, 700_000, True), LeftOut(NP, 500_000, True),
                             LeftOut(SK, 2_000_000, True), LeftOut(SP, 6_000_000, True))
    assert plan.saved == TESTS


def test_then_whole_distributions_largest_first_and_stop_when_under() -> None:
    # Tests (9.2 MB) are not enough; scipy's remaining 14 MB is the largest, then SK/NP tie at 9 MB.
    total = UNZIPPED_BYTES + TESTS + 14_000_000 + 1
    plan = plan_fit(ENTRIES, total, UNZIPPED_BYTES)
    assert plan is not None
    assert total - plan.saved == UNZIPPED_BYTES - 9_000_000 + 1  # after scipy, one more (numpy) was enough
    # the 9 MB tie between numpy and scikit-learn goes by name: numpy first
    assert "numpy/__pycache__/core.cpython-311.pyc" in plan.drop
    assert "sklearn/__pycache__/base.cpython-311.pyc" not in plan.drop
    assert plan.left_out == (LeftOut(SP, 20_000_000, False), LeftOut(NP, 9_500_000, False),
                             LeftOut(JL, 700_000, True), LeftOut(SK, 2_000_000, True))
    assert total - plan.saved < UNZIPPED_BYTES


def test_exactly_at_the_limit_is_over() -> None:
    # LP101 fails at the limit itself: leaving out exactly down to it is not enough.
    plan = plan_fit(ENTRIES, UNZIPPED_BYTES + TESTS, UNZIPPED_BYTES)
    assert plan is not None and plan.saved > TESTS


def test_user_code_and_shipped_pyc_are_never_left_out() -> None:
    droppable = _total([e for e in ENTRIES if e.is_pyc and e.distribution])
    plan = plan_fit(ENTRIES, UNZIPPED_BYTES + droppable - 1, UNZIPPED_BYTES)
    assert plan is not None and plan.saved == droppable
    kept = {e.arcname for e in ENTRIES} - plan.drop
    assert "__pycache__/lambda_function.cpython-311.pyc" in kept
    assert "tests/__pycache__/test_handler.cpython-311.pyc" in kept
    assert "six/__pycache__/six.cpython-311.pyc" in kept
    assert all(e.is_pyc for e in ENTRIES if e.arcname in plan.drop)


def test_nothing_when_it_cannot_fit() -> None:
    droppable = _total([e for e in ENTRIES if e.is_pyc and e.distribution])
    # the user's own 34 MB of bytecode would fit, but it is never left out: so nothing is
    assert plan_fit(ENTRIES, UNZIPPED_BYTES + droppable, UNZIPPED_BYTES) is None


def test_the_order_does_not_depend_on_the_input_order() -> None:
    total = UNZIPPED_BYTES + TESTS + 20_000_000
    assert plan_fit(ENTRIES, total, UNZIPPED_BYTES) == plan_fit(ENTRIES[::-1], total, UNZIPPED_BYTES)


def test_lp104_names_the_distributions_and_bytes() -> None:
    f = bytecode_left_out_finding([("scikit-learn", 31_200_000, False), ("scipy", 20_100_000, False),
                                   ("numpy", 1_200_000, True)], UNZIPPED_BYTES)
    assert f.code == "LP104" and f.severity == "warning"
    assert f.message == ("left out the bytecode of scikit-learn (29.8 MiB) and scipy (19.2 MiB), and of the test "
                         "modules of numpy (1.1 MiB) to fit within 262,144,000 bytes; their modules compile at "
                         "each cold start that imports them")
    tests_only = bytecode_left_out_finding([("numpy", 1_200_000, True), ("narwhals", 27_368, True)], UNZIPPED_BYTES)
    assert "test modules of numpy (1.1 MiB) and narwhals (26.7 KiB) to fit" in tests_only.message
    assert "a handler never imports test modules" in tests_only.message


def test_lp101_under_compile_says_what_the_default_would_leave_out() -> None:
    (f,) = check_sizes(UNZIPPED_BYTES + 5, [], 0, 40_000_000, [("scikit-learn", 31_200_000, False)])
    assert f.code == "LP101"
    assert f.message.endswith("; the default (without --compile) would leave out the bytecode of "
                              "scikit-learn (29.8 MiB) and fit")
    assert f.fix.startswith("build without --compile")
