"""poetry.lock read directly, on real locks written by Poetry 2.5.1 and 1.8.5 (tests/fixtures/locks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.resolve.poetrylock import content_hash, read_poetry_lock
from lambdapack.resolve.poetrywalk import python_marker
from lambdapack.resolve.pyprojectfile import read_toml

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
# What `poetry export -f requirements.txt` prints for both fixtures (main group).
MAIN = {"attrs": "26.1.0", "certifi": "2026.10.19.post1", "charset-normalizer": "3.5.3", "idna": "3.20",
        "requests": "2.32.3", "urllib3": "2.8.0"}


def _copy(tmp_path: Path, which: str) -> Path:
    return Path(shutil.copytree(LOCKS / which, tmp_path / which))


def _pins(reqs_text: str) -> dict[str, str]:
    out = {}
    for line in reqs_text.splitlines():
        if "==" in line and not line.startswith(" "):
            name, rest = line.split("==", 1)
            out[name.split("[")[0]] = rest.split()[0]
    return out


@pytest.mark.parametrize("which", ["poetry2", "poetry1"])
def test_the_content_hash_is_poetrys(which: str) -> None:
    lock, pyproject = read_toml(LOCKS / which / "poetry.lock"), read_toml(LOCKS / which / "pyproject.toml")
    assert content_hash(pyproject) == lock["metadata"]["content-hash"]  # type: ignore[index]


@pytest.mark.parametrize(("which", "socks"), [("poetry2", ()), ("poetry1", ("pysocks",))])
def test_main_group_pinned_with_hashes(tmp_path: Path, which: str, socks: tuple[str, ...]) -> None:
    d = _copy(tmp_path, which)
    out = tmp_path / "lock-requirements.txt"
    reqs = read_poetry_lock(d / "poetry.lock", (), out)
    text = out.read_text(encoding="utf-8")
    # poetry1's requests asks for its socks extra; the dev group's six never comes in.
    assert _pins(text) == {**MAIN, **dict.fromkeys(socks, "1.7.1")}
    assert "six" not in text and reqs.kind == "lock" and reqs.source == d / "poetry.lock"
    assert {r.name for r in reqs.top_level} == set(_pins(text))
    lock_text = (d / "poetry.lock").read_text(encoding="utf-8")
    hashes = [ln.split("--hash=")[1].split()[0] for ln in text.splitlines() if "--hash=" in ln]
    assert len(hashes) > 6 and all(h.startswith("sha256:") and h in lock_text for h in hashes)
    attrs = next(r for r in reqs.top_level if r.name == "attrs")
    assert attrs.marker is not None and "3.11" in str(attrs.marker)  # kept for uv to evaluate for the target


@pytest.mark.parametrize(("which", "extra", "adds"), [("poetry2", "socks", "pysocks"), ("poetry1", "yaml", "pyyaml")])
def test_an_extra_brings_its_optional_packages(tmp_path: Path, which: str, extra: str, adds: str) -> None:
    d = _copy(tmp_path, which)
    out = tmp_path / "r.txt"
    reqs = read_poetry_lock(d / "poetry.lock", (extra,), out)
    assert adds in _pins(out.read_text(encoding="utf-8"))
    assert next(r for r in reqs.top_level if r.name == adds).marker is None  # `extra == ...` decided here
    with pytest.raises(InputError, match="no extra 'nope'"):
        read_poetry_lock(d / "poetry.lock", ("nope",), out)


@pytest.mark.parametrize("which", ["poetry2", "poetry1"])
def test_a_stale_lock_is_an_error(tmp_path: Path, which: str) -> None:
    d = _copy(tmp_path, which)
    py = d / "pyproject.toml"
    text = py.read_text(encoding="utf-8")
    py.write_text(text.replace('"requests==2.32.3"', '"requests==2.32.3", "cryptography"')
                  .replace('python = "^3.10"', 'python = "^3.10"\ncryptography = "*"'), encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_poetry_lock(d / "poetry.lock", (), tmp_path / "r.txt")
    assert "out of date with pyproject.toml" in e.value.message and "poetry lock" in (e.value.hint or "")
    # A change Poetry's hash does not cover (the description) is not staleness.
    py.write_text(text.replace('version = "0.1.0"', 'version = "0.2.0"'), encoding="utf-8")
    read_poetry_lock(d / "poetry.lock", (), tmp_path / "r.txt")


def test_no_pyproject_beside_the_lock(tmp_path: Path) -> None:
    shutil.copy(LOCKS / "poetry2" / "poetry.lock", tmp_path / "poetry.lock")
    with pytest.raises(InputError, match=r"no pyproject\.toml beside it"):
        read_poetry_lock(tmp_path / "poetry.lock", (), tmp_path / "r.txt")


@pytest.mark.parametrize(("constraint", "marker"), [
    ("^3.10", 'python_full_version >= "3.10" and python_full_version < "4"'),
    (">=3.8,<3.12", 'python_full_version >= "3.8" and python_full_version < "3.12"'),
    ("~3.10", 'python_full_version >= "3.10" and python_full_version < "3.11"'),
    ("3.9.*", 'python_full_version == "3.9.*"'),
    ("*", None),
    ("<3.9 || >=3.12", '(python_full_version < "3.9") or (python_full_version >= "3.12")'),
])
def test_python_constraints_as_markers(constraint: str, marker: str | None) -> None:
    assert python_marker(constraint) == marker


def test_pyproject_of_a_poetry_1_project_points_to_its_lock() -> None:
    from lambdapack.resolve.pyprojectfile import read_pyproject

    with pytest.raises(InputError) as e:
        read_pyproject(LOCKS / "poetry1" / "pyproject.toml", ())
    assert "no [project] table" in e.value.message and "--lock poetry.lock" in (e.value.hint or "")
