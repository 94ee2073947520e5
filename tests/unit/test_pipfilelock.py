"""Pipfile.lock read directly, on a real lock written by pipenv 2026.10.3 (tests/fixtures/locks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.resolve.pipfilelock import pipfile_hashes, pipfile_pins, read_pipfile_lock
from lambdapack.resolve.pyprojectfile import read_toml

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
# `pipenv requirements` of the fixture (the default section).
DEFAULT = {"attrs": "26.1.0", "certifi": "2026.10.19.post1", "charset-normalizer": "3.5.3", "idna": "3.20",
           "pysocks": "1.7.1", "pyyaml": "6.0.2", "requests": "2.32.3", "urllib3": "2.8.0"}


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(LOCKS / "pipenv", tmp_path / "p"))


def test_the_pipfile_hash_is_pipenvs() -> None:
    lock = json.loads((LOCKS / "pipenv" / "Pipfile.lock").read_text(encoding="utf-8"))
    assert lock["_meta"]["hash"]["sha256"] in pipfile_hashes(read_toml(LOCKS / "pipenv" / "Pipfile"))


def test_default_section_pinned_with_hashes_and_markers(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    out = tmp_path / "r.txt"
    reqs = read_pipfile_lock(d / "Pipfile.lock", (), out)
    got = {r.name: str(next(iter(r.specifier)).version) for r in reqs.top_level}
    assert got == DEFAULT  # develop's six stays out
    text = out.read_text(encoding="utf-8")
    assert "requests[socks]==2.32.3" in text and "six" not in text
    lock = json.loads((d / "Pipfile.lock").read_text(encoding="utf-8"))
    for name, entry in lock["default"].items():
        assert all(h in text for h in entry["hashes"]), name
    urllib3 = next(r for r in reqs.top_level if r.name == "urllib3")
    assert str(urllib3.marker) == 'python_version >= "3.10"'


def test_a_changed_pipfile_makes_the_lock_stale(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    pipfile = d / "Pipfile"
    pipfile.write_text(pipfile.read_text(encoding="utf-8").replace('PyYAML = "==6.0.2"', 'PyYAML = "==6.0.2"\n'
                                                                    'cryptography = "*"'), encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_pipfile_lock(d / "Pipfile.lock", (), tmp_path / "r.txt")
    assert "out of date" in e.value.message and "pipenv lock" in (e.value.hint or "")


def test_name_spelling_does_not_make_it_stale(tmp_path: Path) -> None:
    d = _copy(tmp_path)  # pipenv normalises names before hashing: PyYAML and pyyaml are one package
    pipfile = d / "Pipfile"
    pipfile.write_text(pipfile.read_text(encoding="utf-8").replace("PyYAML", "pyyaml"), encoding="utf-8")
    read_pipfile_lock(d / "Pipfile.lock", (), tmp_path / "r.txt")


def test_path_git_and_index_entries(tmp_path: Path) -> None:
    data = {
        "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"},
                              {"name": "corp", "url": "https://corp.example/simple"}]},
        "default": {
            "shared": {"path": "./libs/shared", "editable": True},
            "tool": {"git": "https://github.com/o/tool.git", "ref": "abc123"},
            "inhouse": {"version": "==1.0", "index": "corp", "hashes": ["sha256:" + "1" * 64]},
        },
    }
    pins, indexes = pipfile_pins(data, tmp_path)
    by = {p.name: p for p in pins}
    assert by["shared"].url == (tmp_path / "libs" / "shared").as_uri()  # built, never editable
    assert by["tool"].url == "git+https://github.com/o/tool.git@abc123"
    assert by["inhouse"].version == "1.0" and indexes == ["https://corp.example/simple"]


def test_extras_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no extras"):
        read_pipfile_lock(_copy(tmp_path) / "Pipfile.lock", ("x",), tmp_path / "r.txt")


def test_not_json(tmp_path: Path) -> None:
    (tmp_path / "Pipfile.lock").write_text("{nope", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_pipfile_lock(tmp_path / "Pipfile.lock", (), tmp_path / "r.txt")
