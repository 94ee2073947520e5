from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.inputs import (
    find_default_input,
    parse_requirements_text,
    pyproject_requirements,
    read_pyproject,
    read_requirements_file,
)


def names(reqs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.name for r in reqs]


def test_hash_checking_mode_with_continuations(tmp_path: Path) -> None:
    text = (
        "# pinned\n"
        "requests==2.32.3 \\\n"
        "    --hash=sha256:aaaa \\\n"
        "    --hash=sha256:bbbb\n"
        "six==1.17.0 --hash=sha256:cccc  # trailing comment\n"
        "--index-url https://example.invalid/simple\n"
        "typing-extensions; python_version < '3.12'\n"
    )
    reqs = parse_requirements_text(text, tmp_path)
    assert names(reqs) == ["requests", "six", "typing-extensions"]
    assert str(reqs[0].specifier) == "==2.32.3"
    assert reqs[2].marker is not None


def test_includes_are_followed_once(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six\n-r requirements.txt\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\nattrs\n")
    reqs = read_requirements_file(tmp_path / "requirements.txt")
    assert sorted(names(list(reqs.top_level))) == ["attrs", "six"]


def test_missing_include_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("-r nope.txt\n")
    with pytest.raises(InputError, match=r"nope\.txt"):
        read_requirements_file(tmp_path / "r.txt")


def test_invalid_requirement_line(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("requests>>2\n")
    with pytest.raises(InputError, match="invalid requirement"):
        read_requirements_file(tmp_path / "r.txt")


def test_unreadable_requirements(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_requirements_file(tmp_path)  # a directory
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not UTF-8"):
        read_requirements_file(tmp_path / "bin.txt")


def test_urls_and_paths_are_left_to_uv(tmp_path: Path) -> None:
    reqs = parse_requirements_text("./vendor/pkg\nhttps://example.invalid/x.whl\n", tmp_path)
    assert reqs == []


def test_pyproject_with_extras(tmp_path: Path) -> None:
    data = {"project": {"dependencies": ["requests"], "optional-dependencies": {"fast": ["orjson"]}}}
    assert names(pyproject_requirements(data, ("fast",), "x")) == ["requests", "orjson"]
    with pytest.raises(InputError, match="no optional dependency group 'slow'"):
        pyproject_requirements(data, ("slow",), "x")


def test_pyproject_dynamic_dependencies_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text('[project]\nname="x"\nversion="1"\ndynamic=["dependencies"]\n')
    with pytest.raises(InputError, match="dynamic"):
        read_pyproject(p, ())
    p.write_text("[project\n")
    with pytest.raises(InputError, match="not valid TOML"):
        read_pyproject(p, ())


def test_default_input_order(tmp_path: Path) -> None:
    assert find_default_input(tmp_path) is None
    (tmp_path / "requirements.txt").write_text("six\n")
    assert find_default_input(tmp_path) == tmp_path / "requirements.txt"
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length=100\n")
    assert find_default_input(tmp_path) == tmp_path / "requirements.txt"  # no [project] deps
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\nversion="1"\ndependencies=["six"]\n')
    assert find_default_input(tmp_path) == tmp_path / "pyproject.toml"
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert find_default_input(tmp_path) == tmp_path / "uv.lock"
