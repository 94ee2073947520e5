"""pylock.toml (PEP 751), on a real lock written by `uv export --format pylock.toml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.resolve.pylock import pylock_pins, read_pylock
from lambdapack.resolve.pyprojectfile import read_toml

LOCK = Path(__file__).parent.parent / "fixtures" / "locks" / "pylock" / "pylock.toml"


def test_every_package_pinned_with_its_files_hashes(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    reqs = read_pylock(LOCK, (), out)
    got = {r.name: str(next(iter(r.specifier)).version) for r in reqs.top_level}
    assert got == {"attrs": "26.1.0", "certifi": "2026.10.19.post1", "charset-normalizer": "3.5.3",
                   "idna": "3.20", "pyyaml": "6.0.2", "requests": "2.32.3", "six": "1.17.0", "urllib3": "2.8.0"}
    text = out.read_text(encoding="utf-8")
    data = read_toml(LOCK)
    for pkg in data["packages"]:  # type: ignore[union-attr]
        for f in [*pkg.get("wheels", []), *([pkg["sdist"]] if "sdist" in pkg else [])]:
            assert f"--hash=sha256:{f['hashes']['sha256']}" in text
    assert str(next(r for r in reqs.top_level if r.name == "attrs").marker) == 'python_full_version >= "3.11"'


MARKED = """
lock-version = "1.0"
created-by = "hand"
extras = ["yaml"]
default-groups = ["main"]

[[packages]]
name = "six"
version = "1.17.0"
marker = "'main' in dependency_groups"

[[packages]]
name = "pytest"
version = "8.0.0"
marker = "'dev' in dependency_groups"

[[packages]]
name = "pyyaml"
version = "6.0.2"
marker = "'yaml' in extras and python_version >= '3.9'"
"""


@pytest.mark.parametrize(("extras", "names"), [((), {"six"}), (("yaml",), {"six", "pyyaml"})])
def test_group_and_extra_markers_are_decided(tmp_path: Path, extras: tuple[str, ...], names: set[str]) -> None:
    (tmp_path / "pylock.toml").write_text(MARKED, encoding="utf-8")
    pins, _ = pylock_pins(read_toml(tmp_path / "pylock.toml"), extras, tmp_path)
    assert {p.name for p in pins} == names
    assert {p.name: p.marker for p in pins}.get("pyyaml", 'python_version >= "3.9"') == 'python_version >= "3.9"'


def test_wrong_version_and_unknown_extra(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text('lock-version = "2.0"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a PEP 751 lock version 1\.x"):
        read_pylock(tmp_path / "pylock.toml", (), tmp_path / "r.txt")
    with pytest.raises(InputError, match="no extra 'socks'"):
        read_pylock(LOCK, ("socks",), tmp_path / "r.txt")
