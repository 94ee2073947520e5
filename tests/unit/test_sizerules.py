"""LP101's bytecode sentence, pure: the numbers of scikit-learn on arm64 python3.11
(262.8 MB unzipped, about 200 MiB of it without bytecode) and the exact boundary."""

from __future__ import annotations

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.inspect.sizerules import check_sizes, oversize_finding

SKLEARN_TOTAL = 262_800_000
SKLEARN_PLAIN = 200 * 1024 * 1024


def test_sklearn_arm64_fits_without_bytecode() -> None:
    f = oversize_finding(SKLEARN_TOTAL, SKLEARN_TOTAL - SKLEARN_PLAIN)
    assert f.code == "LP101"
    assert "53,084,800 bytes (50.6 MiB) of it is the bytecode this build compiled" in f.message
    assert f"it would be {SKLEARN_PLAIN:,} bytes (200.0 MiB), within the limit" in f.message
    assert f.fix.startswith("build with --no-compile")


def test_exactly_at_the_limit_without_bytecode_is_still_over() -> None:
    # The rule fails at the limit itself (>=), so "within" must mean strictly below it.
    f = oversize_finding(UNZIPPED_BYTES + 10, 10)
    assert "still over the limit" in f.message and f.fix.startswith("--no-compile alone is not enough")
    assert "within the limit" in oversize_finding(UNZIPPED_BYTES + 10, 11).message


def test_no_bytecode_no_sentence_and_under_the_limit_no_finding() -> None:
    assert "bytecode" not in oversize_finding(SKLEARN_TOTAL).message
    assert check_sizes(UNZIPPED_BYTES - 1, [], 0, compiled_bytecode=50_000_000) == []
