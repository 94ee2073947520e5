"""The runtime catalog in real builds: python3.15 (a preview runtime) end to end, and
builds for runtimes whose AWS lifecycle dates have passed.

The day a build judges the lifecycle on is a field of BuildOptions (`today`), so the
date-dependent paths run through the real pipeline on a chosen day, with no patched clock.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from lp_helpers import (
    EM_AARCH64,
    EM_X86_64,
    elf_header,
    extract_elf_members,
    glibc_needs,
    lp_build_json,
    require_readelf,
    run_lp,
    write_handler,
)

from lambdapack.errors import UsageError
from lambdapack.host.interpreters import find_interpreter
from lambdapack.pipeline.build import build
from lambdapack.pipeline.options import BuildOptions

AFTER_310_UPDATE_BLOCK = dt.date(2027, 1, 20)  # python3.10: updates blocked from 2027-01-15


def _options(tmp: Path, **kw: object) -> BuildOptions:
    src = write_handler(tmp / "src")
    return BuildOptions(runtime="python3.10", arch="x86_64", src=src, output=tmp / "out" / "function.zip",
                        use_cache=False, compile="off", **kw)  # type: ignore[arg-type]


def test_update_blocked_runtime_is_refused_before_any_work(tmp_path: Path) -> None:
    opts = _options(tmp_path, today=AFTER_310_UPDATE_BLOCK)
    with pytest.raises(UsageError) as e:
        build(opts, lambda _m: None)
    assert "python3.10" in e.value.message and "2027-01-15" in e.value.message
    assert e.value.hint is not None and "--allow-blocked-runtime" in e.value.hint
    assert e.value.exit_code == 2  # a usage error, as documented in EXIT_CODES
    assert not (tmp_path / "out").exists()


def test_allow_blocked_runtime_builds_with_a_warning(tmp_path: Path) -> None:
    opts = _options(tmp_path, today=AFTER_310_UPDATE_BLOCK, allow_blocked_runtime=True)
    result = build(opts, lambda _m: None)
    assert (tmp_path / "out" / "function.zip").is_file()
    assert any("blocked since 2027-01-15" in w and "--allow-blocked-runtime" in w for w in result.warnings)


def test_create_blocked_runtime_builds_with_a_warning_in_the_json(tmp_path: Path) -> None:
    # python3.10 on 2026-12-02: creation blocked since 2026-11-30, updates still allowed.
    result = build(_options(tmp_path, today=dt.date(2026, 12, 2)), lambda _m: None)
    assert (tmp_path / "out" / "function.zip").is_file()
    data = json.loads(json.dumps(result.as_dict()))
    assert any("blocked since 2026-11-30" in w and "2027-01-15" in w for w in data["warnings"])
    assert data["target"]["preview"] is False


def test_the_flag_reaches_the_build(tmp_path: Path) -> None:
    """--allow-blocked-runtime is a real flag of `build` (today nothing is update-blocked, so
    the build succeeds either way; the flag must still parse)."""
    src = write_handler(tmp_path / "src")
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--no-cache", "--no-compile",
                "--allow-blocked-runtime", "-o", str(tmp_path / "f.zip"), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 0, r.explain()


def test_tags_say_preview_for_python315() -> None:
    r = run_lp(["tags", "--runtime", "python3.15", "--arch", "arm64"])
    assert r.returncode == 0, r.explain()
    assert r.stdout.splitlines()[0] == "cp315-cp315-manylinux_2_34_aarch64"
    assert all("-" in line for line in r.stdout.splitlines())  # stdout stays tags only
    assert "preview" in r.stderr
    j = run_lp(["tags", "--runtime", "python3.15", "--arch", "x86_64", "--format", "json"])
    assert j.json["preview"] is True and j.json["tags"][0] == "cp315-cp315-manylinux_2_34_x86_64"
    assert run_lp(["tags", "--runtime", "python3.14", "--arch", "x86_64", "--format", "json"]).json["preview"] is False


# numpy, pydantic-core and markupsafe publish cp315 manylinux wheels (checked 2026-12).
@pytest.mark.network
@pytest.mark.parametrize(("arch", "machine"), [("x86_64", EM_X86_64), ("arm64", EM_AARCH64)])
def test_python315_builds_pure_and_native_packages(tmp_path: Path, arch: str, machine: int) -> None:
    src = write_handler(tmp_path / "src", "import numpy, six")
    req = tmp_path / "requirements.txt"
    req.write_text("six\nnumpy\nmarkupsafe\n", encoding="utf-8")
    out = tmp_path / "function.zip"
    r, data = lp_build_json(["build", str(src), "--runtime", "python3.15", "--arch", arch, "-r", str(req),
                             "-o", str(out), "--no-cache"], cwd=tmp_path)
    assert data["ok"] is True and data["target"]["preview"] is True
    assert data["target"]["runtime"] == "python3.15" and data["target"]["glibc"] == "2.34"
    assert any("preview" in w for w in data["warnings"])
    tags = {d["name"].lower(): d["wheel_tag"] for d in data["distributions"]}
    assert tags["six"].startswith("py")
    assert tags["numpy"].startswith("cp315-cp315-manylinux")
    assert tags["markupsafe"].startswith("cp315-cp315-manylinux")
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
    assert "six.py" in names and "lambda_function.py" in names
    sos = [n for n in names if n.endswith(".so") and n.startswith(("numpy/", "markupsafe/"))]
    assert any(".cpython-315-" in n for n in sos) and not any(".cpython-314-" in n for n in sos)
    readelf = require_readelf()
    for name, path in extract_elf_members(out, tmp_path / "elf").items():
        header = elf_header(path.read_bytes())
        assert header is not None and header.machine == machine, name
        assert all(v <= (2, 34) for v in glibc_needs(path, readelf)), name
    if find_interpreter((3, 15)) is None:
        # No 3.15 here: the zip ships no bytecode, and the build says why.
        assert not any(n.endswith(".pyc") for n in names)
        assert any("no Python 3.15" in w for w in data["warnings"]), r.stdout
