"""Per-line requirement options (issue 11 item 1): pip's `--only-binary`/`--no-binary`/`--prefer-binary`
on a requirement line, installed by the real uv from a --find-links directory of wheels the test writes
(offline: an empty --index-url)."""

from __future__ import annotations

from pathlib import Path

from lp_helpers import run_lp, write_handler, zip_names
from wheels import write_wheel

TARGET = ["--runtime", "python3.12", "--arch", "x86_64", "--no-compile"]


def _project(tmp_path: Path, requirements: str) -> list[str]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "alpha", "1.0")
    write_wheel(wheels, "beta", "2.0")
    (tmp_path / "empty").mkdir()
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    write_handler(tmp_path / "src", "import alpha, beta")
    return ["build", str(tmp_path / "src"), "-r", str(tmp_path / "requirements.txt"), *TARGET,
            "--index-url", str(tmp_path / "empty"), "--find-links", str(wheels), "-o", str(tmp_path / "fn.zip")]


def test_binary_options_on_a_requirement_line_are_installed(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text("beta==2.0 --only-binary beta --prefer-binary\n", encoding="utf-8")
    args = _project(tmp_path, "alpha==1.0 --only-binary=:all: \\\n    --prefer-binary\n-r more.txt\n")
    r = run_lp(args, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.explain()
    names = zip_names(tmp_path / "fn.zip")
    assert "alpha/__init__.py" in names and "beta/__init__.py" in names, names


def test_no_binary_on_a_line_asks_for_allow_sdist(tmp_path: Path) -> None:
    r = run_lp(_project(tmp_path, "alpha==1.0\nbeta==2.0 --no-binary=:all:\n"), cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.explain()
    assert "beta" in r.stderr and "--allow-sdist" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "fn.zip").exists()


def test_an_option_uv_cannot_honour_is_an_error_naming_the_line(tmp_path: Path) -> None:
    r = run_lp(_project(tmp_path, "alpha==1.0 --config-settings=editable_mode=compat\n"), cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.explain()
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert err and "alpha==1.0" in err[0] and "--config-settings" in err[0], r.stderr
    assert "Traceback" not in r.stderr
