"""Which dependency input `build SRC_DIR` uses when none is given, and `--lock` formats by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lambdapack.errors import InputError, UsageError
from lambdapack.resolve.detect import choose_default_input, lock_format, refuse_lock_as_requirements
from lambdapack.resolve.lockfiles import NEVER, Pin, pin_line, reduce_marker

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"


def test_a_poetry_project_uses_its_lock_and_names_what_it_ignored(tmp_path: Path) -> None:
    shutil.copytree(LOCKS / "poetry1", tmp_path, dirs_exist_ok=True)
    (tmp_path / "requirements.txt").write_text("six\n", encoding="utf-8")
    choice = choose_default_input(tmp_path)
    assert choice is not None and choice.path == tmp_path / "poetry.lock" and choice.kind == "lock"
    assert "a lock is used before its project file" in choice.note
    assert "ignored: requirements.txt (pip)" in choice.note and "pyproject.toml" not in choice.note


def test_a_pipenv_project_uses_its_lock(tmp_path: Path) -> None:
    shutil.copytree(LOCKS / "pipenv", tmp_path, dirs_exist_ok=True)
    choice = choose_default_input(tmp_path)
    assert choice is not None and choice.path == tmp_path / "Pipfile.lock" and "ignored" not in choice.note


def test_uv_lock_wins_over_another_tools_lock(tmp_path: Path) -> None:
    shutil.copytree(LOCKS / "poetry2", tmp_path, dirs_exist_ok=True)
    (tmp_path / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    choice = choose_default_input(tmp_path)
    assert choice is not None and choice.path.name == "uv.lock" and "ignored: poetry.lock (Poetry)" in choice.note


def test_a_pipfile_without_its_lock_is_an_error(tmp_path: Path) -> None:
    shutil.copy(LOCKS / "pipenv" / "Pipfile", tmp_path / "Pipfile")
    (tmp_path / "requirements.txt").write_text("six\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        choose_default_input(tmp_path)
    assert "has no Pipfile.lock" in e.value.message
    assert "pipenv lock" in (e.value.hint or "") and "-r requirements.txt" in (e.value.hint or "")


def test_a_poetry_project_without_its_lock_is_an_error(tmp_path: Path) -> None:
    shutil.copy(LOCKS / "poetry1" / "pyproject.toml", tmp_path / "pyproject.toml")
    with pytest.raises(InputError) as e:
        choose_default_input(tmp_path)
    assert "no poetry.lock" in e.value.message and "poetry lock" in (e.value.hint or "")
    # Poetry 2's [project] dependencies are readable without the lock.
    shutil.copy(LOCKS / "poetry2" / "pyproject.toml", tmp_path / "pyproject.toml")
    choice = choose_default_input(tmp_path)
    assert choice is not None and choice.kind == "pyproject"


def test_nothing_found(tmp_path: Path) -> None:
    assert choose_default_input(tmp_path) is None


@pytest.mark.parametrize(("name", "fmt"), [("uv.lock", "uv"), ("poetry.lock", "poetry"),
                                           ("Pipfile.lock", "pipenv"), ("pylock.toml", "pylock"),
                                           ("pylock.prod.toml", "pylock")])
def test_lock_format_by_name(name: str, fmt: str) -> None:
    assert lock_format(Path("x") / name) == fmt


def test_unknown_lock_name_and_locks_given_as_requirements() -> None:
    with pytest.raises(UsageError, match="not a lock file lambdapack knows"):
        lock_format(Path("deps.lock"))
    for name in ("Pipfile", "Pipfile.lock"):
        with pytest.raises(UsageError) as e:
            refuse_lock_as_requirements(Path(name))
        assert "--lock Pipfile.lock" in (e.value.hint or "")
    with pytest.raises(UsageError, match="lock file is not a requirements file"):
        refuse_lock_as_requirements(Path("poetry.lock"))
    refuse_lock_as_requirements(Path("requirements-prod.txt"))


@pytest.mark.parametrize(("marker", "extras", "reduced"), [
    ('extra == "socks"', {"socks"}, None),
    ('extra == "yaml"', {"socks"}, NEVER),
    ('python_version >= "3.11" and extra == "socks"', {"socks"}, 'python_version >= "3.11"'),
    ('(python_version < "3.9" or extra == "socks") and sys_platform == "linux"', {"socks"},
     'sys_platform == "linux"'),
    ('extra != "socks"', {"socks"}, NEVER),
    ('python_version >= "3.8"', set(), 'python_version >= "3.8"'),
    ("*", set(), None),
])
def test_lock_markers_decided_for_the_requested_extras(marker: str, extras: set[str], reduced: str | None) -> None:
    assert reduce_marker(marker, frozenset(extras)) == reduced


def test_pin_line() -> None:
    assert pin_line(Pin("six", "1.17.0", 'python_version >= "3"', ("sha256:ab",))) == (
        'six==1.17.0 ; python_version >= "3" \\\n    --hash=sha256:ab')
    assert pin_line(Pin("lib", None, None, (), "file:///x/lib")) == "lib @ file:///x/lib"
