from __future__ import annotations

import datetime as dt

import pytest

from lambdapack.facts import limits
from lambdapack.facts.runtimes import (
    RUNTIMES,
    Arch,
    Phase,
    UnknownArchError,
    UnknownRuntimeError,
    get_arch,
    get_runtime,
    lifecycle,
)


def test_catalog_matches_the_published_table() -> None:
    assert list(RUNTIMES) == [f"python3.{m}" for m in range(9, 16)]
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


def test_python315_is_a_preview_on_amazon_linux_2023() -> None:
    rt = get_runtime("python3.15")
    assert (rt.os, rt.glibc, rt.python_tag, rt.preview) == ("Amazon Linux 2023", (2, 34), "cp315", True)
    assert rt.architectures == (Arch.X86_64, Arch.ARM64)
    life = lifecycle(rt, dt.date(2026, 12, 2))
    assert life.phase is Phase.PREVIEW and life.warning is not None and "preview" in life.warning
    assert [r.name for r in RUNTIMES.values() if r.preview] == ["python3.15"]


# AWS's table as read 2026-12 (facts/runtimes.py names the sources).
DATES = {
    "python3.9": ("2025-12-15", "2027-02-01", "2027-03-03"),
    "python3.10": ("2026-10-31", "2026-11-30", "2027-01-15"),
    "python3.11": ("2027-06-30", "2027-07-31", "2027-08-31"),
}


@pytest.mark.parametrize("name", list(DATES))
def test_deprecation_dates_and_their_source(name: str) -> None:
    dep = get_runtime(name).deprecation
    assert dep is not None
    got = (dep.deprecated.isoformat(), dep.block_create and dep.block_create.isoformat(),
           dep.block_update and dep.block_update.isoformat())
    assert got == DATES[name]
    assert "lambda-runtimes" in dep.source


@pytest.mark.parametrize(("day", "phase"), [
    ("2026-10-30", Phase.SUPPORTED),
    ("2026-10-31", Phase.DEPRECATED),
    ("2026-11-29", Phase.DEPRECATED),
    ("2026-11-30", Phase.CREATE_BLOCKED),
    ("2026-12-02", Phase.CREATE_BLOCKED),
    ("2027-01-14", Phase.CREATE_BLOCKED),
    ("2027-01-15", Phase.UPDATE_BLOCKED),
])
def test_python310_phase_is_a_function_of_the_day(day: str, phase: Phase) -> None:
    life = lifecycle(get_runtime("python3.10"), dt.date.fromisoformat(day))
    assert life.phase is phase
    assert life.update_blocked == (phase is Phase.UPDATE_BLOCKED)
    assert (life.blocked_since is not None) == (phase is Phase.UPDATE_BLOCKED)
    assert (life.warning is None) == (phase is Phase.SUPPORTED)


def test_warnings_name_the_dates_and_the_newest_generally_available_runtime() -> None:
    life = lifecycle(get_runtime("python3.10"), dt.date(2026, 12, 2))
    assert life.warning is not None
    assert "blocked since 2026-11-30" in life.warning and "blocked from 2027-01-15" in life.warning
    assert "lambda-runtimes.html" in life.warning
    assert "python3.14" in life.warning and "python3.15" not in life.warning  # not the preview


def test_readme_runtime_table_is_the_catalog() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rest = readme[readme.index("## Runtimes"):]
    lines = rest[rest.index("\n|"):].lstrip("\n").splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    expected = []
    for rt in RUNTIMES.values():
        dep = rt.deprecation
        dates = (["preview"] * 3 if rt.preview else
                 [d.isoformat() if d else "-" for d in (dep.deprecated, dep.block_create, dep.block_update)]
                 if dep else ["-"] * 3)
        expected.append([rt.name, rt.os, ".".join(map(str, rt.glibc)), *dates])
    assert rows == expected


def test_build_refuses_only_once_updates_are_blocked() -> None:
    """The preflight decision, a pure function of the day: warn while updates are allowed,
    refuse after, and build with a warning when the user insists."""
    from lambdapack.errors import UsageError
    from lambdapack.pipeline.preflight import runtime_warning

    rt = get_runtime("python3.10")
    assert runtime_warning(rt, dt.date(2026, 10, 30), False) is None
    create_blocked = runtime_warning(rt, dt.date(2027, 1, 14), False)
    assert create_blocked is not None and "blocked since 2026-11-30" in create_blocked
    with pytest.raises(UsageError) as e:
        runtime_warning(rt, dt.date(2027, 1, 15), False)
    assert "since 2027-01-15" in e.value.message and "--allow-blocked-runtime" in (e.value.hint or "")
    forced = runtime_warning(rt, dt.date(2027, 1, 15), True)
    assert forced is not None and "--allow-blocked-runtime" in forced
    preview = runtime_warning(get_runtime("python3.15"), dt.date(2030, 1, 1), False)
    assert preview is not None and "preview" in preview
