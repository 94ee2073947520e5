from __future__ import annotations

import datetime as dt

import pytest

from lambdapack.facts import limits
from lambdapack.facts.runtimes import (
    RUNTIMES,
    Arch,
    UnknownArchError,
    UnknownRuntimeError,
    get_arch,
    get_runtime,
)


def test_catalog_matches_the_published_table() -> None:
    assert list(RUNTIMES) == [f"python3.{m}" for m in range(9, 15)]
    for name, rt in RUNTIMES.items():
        minor = int(name.split(".")[1])
        if minor <= 11:
            assert (rt.os, rt.glibc) == ("Amazon Linux 2", (2, 26))
        else:
            assert (rt.os, rt.glibc) == ("Amazon Linux 2023", (2, 34))
        assert rt.architectures == (Arch.X86_64, Arch.ARM64)
        assert rt.uv_manylinux <= rt.glibc


def test_limits() -> None:
    assert limits.UNZIPPED_BYTES == 262_144_000
    assert limits.ZIPPED_DIRECT_UPLOAD_BYTES == 52_428_800
    assert limits.MAX_LAYERS == 5


def test_unknown_runtime_lists_valid_names() -> None:
    with pytest.raises(UnknownRuntimeError) as e:
        get_runtime("python3.8")
    assert "python3.9, python3.10" in str(e.value) and "python3.14" in str(e.value)


def test_shorthands() -> None:
    assert get_runtime("3.12").name == "python3.12"
    assert get_runtime("py313").name == "python3.13"
    assert get_arch("aarch64") is Arch.ARM64
    assert get_arch("amd64") is Arch.X86_64
    with pytest.raises(UnknownArchError):
        get_arch("riscv64")


def test_deprecation_warning_only_after_the_date() -> None:
    rt = get_runtime("python3.9")
    assert rt.deprecation is not None
    before = rt.deprecation.deprecated - dt.timedelta(days=1)
    assert rt.deprecation_message(before) is None
    msg = rt.deprecation_message(dt.date(2026, 11, 22))
    assert msg is not None and "deprecated" in msg and "python3.14" in msg
    assert get_runtime("python3.14").deprecation_message(dt.date(2026, 11, 22)) is None
