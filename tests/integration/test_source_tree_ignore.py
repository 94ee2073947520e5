"""What goes into a function zip from the source tree (issue 11, item 2), through the real CLI.

Offline: the trees have no dependencies (a requirements.txt of comments only). Real files on
disk, a real 20 MiB zip lying in the source folder, real rebuilds through the cache.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from lp_helpers import clean_env, run_lp, write_handler, zip_names
from test_check_output import assert_valid, build_validator

TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]

TREE = {
    ".gitignore": "*.log\n!keep.log\nbuild/\n/local_settings.py\n**/fixtures/*.json\n",
    "app/.gitignore": "!debug.log\nscratch/\n",
    "app/__init__.py": "",
    "app/debug.log": "kept by app/.gitignore's !",
    "app/scratch/notes.py": "",
    "app/local_settings.py": "",  # the root's /local_settings.py is anchored: this one ships
    "app/fixtures/a.json": "{}",
    "app/fixtures/a.txt": "",
    "build/lib/app.py": "",
    "local_settings.py": "",
    "server.log": "",
    "keep.log": "",
    "requirements.txt": "# no dependencies yet\n",
    "README.md": "# the service\n",
    "Makefile": "build:\n\tlambdapack build .\n",
    "template.yaml": "Resources: {}\n",
}
SHIPPED = ["app/__init__.py", "app/debug.log", "app/fixtures/a.txt", "app/local_settings.py", "keep.log",
           "lambda_function.py"]


def _tree(src: Path) -> Path:
    write_handler(src)
    for rel, text in TREE.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    return src


def _run(src: Path, out: Path, *extra: str) -> Any:
    r = run_lp(["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--cache-dir", str(src.parent / "cache"),
                *extra], cwd=src.parent, env=clean_env({"UV_OFFLINE": "1"}))
    assert r.returncode == 0, r.explain()
    assert "Traceback" not in r.stderr
    return r


def _build(src: Path, out: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    r = _run(src, out, "--format", "json", *extra)
    return r, r.json


def _left_line(src: Path, out: Path) -> str:
    """The progress line of a text build (--format json prints no progress)."""
    (line,) = [ln for ln in _run(src, out).stderr.splitlines() if "source: left out" in ln]
    return line


def test_the_zip_holds_the_code_and_none_of_the_ignored_or_packaging_files(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    _, data = _build(src, tmp_path / "out" / "function.zip")
    assert sorted(zip_names(tmp_path / "out" / "function.zip")) == SHIPPED
    assert_valid(build_validator(), data)
    left = {x["path"]: (x["reason"], x["origin"], x["pattern"]) for x in data["source_left_out"]}
    assert left == {
        ".gitignore": ("packaging", "default", ".gitignore"),
        "app/.gitignore": ("packaging", "default", ".gitignore"),
        "app/scratch/": (".gitignore", "app/.gitignore", "scratch/"),
        "app/fixtures/a.json": (".gitignore", ".gitignore", "**/fixtures/*.json"),
        "build/": (".gitignore", ".gitignore", "build/"),
        "local_settings.py": (".gitignore", ".gitignore", "/local_settings.py"),
        "server.log": (".gitignore", ".gitignore", "*.log"),
        "requirements.txt": ("packaging", "default", "requirements*.txt"),
        "README.md": ("packaging", "default", "README*"),
        "Makefile": ("packaging", "default", "Makefile"),
        "template.yaml": ("packaging", "default", "template.yaml"),
    }
    line = _left_line(src, tmp_path / "out" / "function.zip")
    assert line.startswith("• source: left out 11 paths (.gitignore: 5: ") and "; packaging: 6: " in line


def test_a_stray_20_mib_zip_is_not_shipped_as_your_code(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    with zipfile.ZipFile(src / "function-old.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("blob.bin", os.urandom(20 * 1024 * 1024))
    _, data = _build(src, tmp_path / "out.zip")
    assert zip_names(tmp_path / "out.zip") == ["lambda_function.py"]
    assert data["outputs"][0]["zipped_bytes"] < 10_000
    assert data["source_left_out"] == [{"path": "function-old.zip", "reason": "packaging", "origin": "default",
                                        "pattern": "*.zip"}]
    assert "packaging: 1: function-old.zip" in _left_line(src, tmp_path / "out.zip")


def test_keep_ships_the_readme(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    _, data = _build(src, tmp_path / "out.zip", "--keep", "README.md")
    assert sorted(zip_names(tmp_path / "out.zip")) == sorted([*SHIPPED, "README.md"])
    assert "README.md" not in {x["path"] for x in data["source_left_out"]}


def test_the_no_change_rebuild_ignores_what_the_zip_ignores(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    out = tmp_path / "out.zip"
    _, first = _build(src, out)
    assert first["cached"] is False
    # An ignored file, a packaging file and a file in an ignored folder change: the shortcut holds.
    (src / "server.log").write_text("a new line\n", encoding="utf-8")
    (src / "README.md").write_text("# changed\n", encoding="utf-8")
    (src / "build" / "lib" / "app.py").write_text("changed = True\n", encoding="utf-8")
    (src / "new.log").write_text("", encoding="utf-8")
    r, again = _build(src, out)
    assert again["cached"] is True, r.explain()
    assert "new.log" in {x["path"] for x in again["source_left_out"]}  # said fresh on the shortcut too
    assert_valid(build_validator(), again)
    # A shipped file changes: a real rebuild, with the change in the zip.
    (src / "keep.log").write_text("changed\n", encoding="utf-8")
    _, third = _build(src, out)
    assert third["cached"] is False
    with zipfile.ZipFile(out) as zf:
        assert zf.read("keep.log") == b"changed\n"
    # Un-ignoring a file through .lambdapackignore is a change too.
    (src / ".lambdapackignore").write_text("!server.log\n", encoding="utf-8")
    _, fourth = _build(src, out)
    assert fourth["cached"] is False
    assert "server.log" in zip_names(out)


def test_a_secret_is_an_error_until_gitignore_leaves_it_out(tmp_path: Path) -> None:
    """The secrets check (LP402) still judges what ships; a .gitignore'd .env no longer ships."""
    src = write_handler(tmp_path / "src")
    (src / ".env").write_text("aws_secret_access_key = k9Jd8sLq2Wv7Xn3Bp5Rt1Yz6Mc4Fg0Hh2Aa9Qe1T\n", encoding="utf-8")
    (src / "README.md").write_text("# x\n", encoding="utf-8")
    argv = ["build", str(src), *TARGET, "-o", str(tmp_path / "out.zip"), "--no-compile", "--no-cache", "--format", "json"]
    failed = run_lp(argv, cwd=tmp_path, env=clean_env({"UV_OFFLINE": "1"}))
    assert failed.returncode == 1, failed.explain()
    assert any(f["code"] == "LP402" and f["path"].endswith(".env") for f in failed.json["findings"])
    assert failed.json["source_left_out"] == [{"path": "README.md", "reason": "packaging", "origin": "default",
                                               "pattern": "README*"}]  # the failed build's report says it too
    assert_valid(build_validator(), failed.json)
    (src / ".gitignore").write_text(".env\n", encoding="utf-8")
    _, data = _build(src, tmp_path / "out.zip")
    assert zip_names(tmp_path / "out.zip") == ["lambda_function.py"]
    assert {"path": ".env", "reason": ".gitignore", "origin": ".gitignore", "pattern": ".env"} in data["source_left_out"]
