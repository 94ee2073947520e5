"""LP101's ways to make room, computed from what the package holds (sizerules.make_room):
the numbers of a real pandas + pyarrow build for python3.12 x86_64 (343.9 MiB with a 100 MB
layer; --slim aggressive's plan leaves out 25.0 MiB more) and of a boto3 function."""

from __future__ import annotations

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.inspect.sizerules import Contents, make_room, oversize_finding

MIB = 1 << 20
DATA = (("numpy", 52_219_000), ("pandas", 43_411_000), ("pyarrow", 163_999_000), ("python-dateutil", 740_000),
        ("six", 78_000), ("tzdata", 2_050_000))
BOTO = (("boto3", 991_000), ("botocore", 21_496_000), ("jmespath", 90_000), ("s3transfer", 420_000),
        ("urllib3", 450_000))


def test_a_data_build_gets_aggressive_slimming_with_its_saving_and_the_biggest_three() -> None:
    fix = make_room(Contents(DATA, "safe", 26_214_400, function_deps=True), over_by=98_000_000)
    assert fix == ("--slim aggressive (it leaves out 25.0 MiB more of this build, and strips debug sections); "
                   "leave out or replace the biggest distributions: pyarrow (156.4 MiB), numpy (49.8 MiB), "
                   "pandas (41.4 MiB); use a container image (10 GiB); a layer does not help: the limit counts "
                   "the function and all its layers together")


def test_boto3_is_named_only_when_it_ships() -> None:
    assert "boto3" not in make_room(Contents(DATA, "safe", 0), over_by=MIB)
    fix = make_room(Contents(BOTO, "safe", 0), over_by=MIB)
    assert fix.startswith("drop boto3, botocore, jmespath and s3transfer (the runtime has them: "
                          "--exclude-runtime-provided); ")
    assert "botocore (20.5 MiB), boto3 (967.8 KiB), urllib3 (439.5 KiB)" in fix


def test_aggressive_is_not_suggested_when_already_aggressive_or_when_it_saves_next_to_nothing() -> None:
    assert "--slim aggressive" not in make_room(Contents(DATA, "aggressive", 0), over_by=MIB)
    assert "--slim aggressive" not in make_room(Contents(BOTO, "safe", 7_000), over_by=5 * MIB)
    # A small saving that is enough on its own is worth saying.
    assert "--slim aggressive (it leaves out 6.8 KiB more of this build, enough on its own" in make_room(
        Contents(BOTO, "none", 7_000), over_by=5_000)


def test_a_layer_is_mentioned_only_for_a_function_with_dependencies() -> None:
    assert "a layer does not help" not in make_room(Contents(DATA, "safe", 0, function_deps=False), over_by=MIB)


def test_nothing_known_gives_the_general_advice_and_no_boto3() -> None:
    assert make_room(None) == make_room(Contents()) == (
        "leave out what the function does not need, or use a container image (10 GiB)")
    f = oversize_finding(UNZIPPED_BYTES + 1)
    assert "boto3" not in f.fix and "container image" in f.fix


def test_lp101_quotes_the_hints_after_its_bytecode_advice() -> None:
    f = oversize_finding(UNZIPPED_BYTES + 50 * MIB, 10 * MIB, contents=Contents(DATA, "safe", 26_214_400))
    assert f.fix.startswith("--no-compile alone is not enough; --slim aggressive (it leaves out 25.0 MiB")
