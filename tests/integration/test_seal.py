"""The no-change fast path (lambdapack.seal) answers only what it may: real `lambdapack build`
processes, each change a user makes between two runs, and whether the next run replayed.

A replay loads none of the command line proper: `-X importtime` lists every module a process
imported, and `lambdapack.cli.dispatch` is among them exactly when the normal path ran. A record
is written by a run that took the inputs-pointer shortcut at least RACY_SECONDS after the last
change to what it read, so each test waits that long before its recording run. Offline: the
function has no requirements.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from lp_helpers import clean_env

from lambdapack.sealwatch import RACY_SECONDS

HANDLER = "import pkg\n\n\ndef handler(event, context):\n    return pkg.VALUE\n"


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.src = root / "src"
        self.out = root / "dist" / "function.zip"
        self.cache = root / "cache"
        (self.src / "pkg").mkdir(parents=True)
        (self.src / "app.py").write_text(HANDLER, encoding="utf-8")
        (self.src / "pkg" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
        self.env = clean_env({"LAMBDAPACK_CACHE_DIR": str(self.cache), "XDG_CACHE_HOME": str(root / "xdg")})
        self.args = ["build", str(self.src), "--runtime", "python3.12", "--arch", "arm64", "-o", str(self.out)]

    def run(self, *extra: str, env: dict[str, str] | None = None, stdin: str | None = None,
            args: list[str] | None = None) -> tuple[subprocess.CompletedProcess[str], bool, str]:
        """One real process: (the process, whether it replayed a record, stderr without importtime)."""
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "lambdapack", *(args or self.args), *extra],
            cwd=self.root, env=env or self.env, input=stdin, capture_output=True, text=True,
            timeout=300, check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        lines = proc.stderr.splitlines(keepends=True)
        timed = [ln for ln in lines if ln.startswith("import time:")]
        assert timed, "-X importtime printed nothing: the test could not tell a replay"
        replayed = not any(ln.rstrip().endswith("lambdapack.cli.dispatch") for ln in timed)
        return proc, replayed, "".join(ln for ln in lines if not ln.startswith("import time:"))

    def recorded(self, *extra: str, **kw: object) -> tuple[subprocess.CompletedProcess[str], str]:
        """Build, wait out the racy window, build again (the shortcut, which records), and
        check that a third identical run replays what the second printed."""
        self.run(*extra, **kw)  # type: ignore[arg-type]
        time.sleep(RACY_SECONDS + 0.2)
        second, replayed, said = self.run(*extra, **kw)  # type: ignore[arg-type]
        assert not replayed and "no change" in said
        third, replayed, said3 = self.run(*extra, **kw)  # type: ignore[arg-type]
        assert replayed, "an identical run after a recording run took the normal path"
        assert (third.stdout, said3) == (second.stdout, said)
        return third, said3

    def zip_text(self, name: str) -> str:
        with zipfile.ZipFile(self.out) as z:
            return z.read(name).decode("utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_identical_run_replays_and_leaves_the_zip_as_built(project: Project) -> None:
    before = project.out.read_bytes() if project.out.exists() else None
    assert before is None
    project.recorded()
    first = project.out.read_bytes()
    _, replayed, _ = project.run()
    assert replayed and project.out.read_bytes() == first
    records = list((project.cache / "seals").glob("*.seal"))
    assert len(records) == 1
    if os.name == "posix":  # it holds what the build printed and the paths it used
        assert stat.S_IMODE(records[0].stat().st_mode) == 0o600


def test_edited_source_of_the_same_size_is_noticed(project: Project) -> None:
    project.recorded()
    (project.src / "pkg" / "__init__.py").write_text("VALUE = 2\n", encoding="utf-8")  # same size
    _, replayed, said = project.run()
    assert not replayed and "no change" not in said
    assert project.zip_text("pkg/__init__.py") == "VALUE = 2\n"


def test_added_file_in_a_subfolder_is_noticed(project: Project) -> None:
    project.recorded()
    (project.src / "pkg" / "extra.py").write_text("X = 1\n", encoding="utf-8")
    _, replayed, _ = project.run()
    assert not replayed
    assert project.zip_text("pkg/extra.py") == "X = 1\n"


def test_deleted_source_file_is_noticed(project: Project) -> None:
    (project.src / "gone.py").write_text("Y = 1\n", encoding="utf-8")
    project.recorded()
    (project.src / "gone.py").unlink()
    _, replayed, _ = project.run()
    assert not replayed
    with zipfile.ZipFile(project.out) as z:
        assert "gone.py" not in z.namelist()


def test_deleted_or_replaced_output_is_rebuilt(project: Project) -> None:
    project.recorded()
    built = project.out.read_bytes()
    project.out.unlink()
    _, replayed, _ = project.run()
    assert not replayed and project.out.read_bytes() == built
    project.out.unlink()
    project.out.write_bytes(b"\0" * len(built))  # same size, other bytes
    _, replayed, _ = project.run()
    assert not replayed and project.out.read_bytes() == built


def test_a_changed_environment_variable_is_noticed(project: Project) -> None:
    project.recorded()
    _, replayed, _ = project.run(env={**project.env, "UV_INDEX_URL": "http://127.0.0.1:9/simple"})
    assert not replayed


def test_a_changed_config_file_is_noticed(project: Project) -> None:
    config = project.root / "lambdapack.toml"
    config.write_text('arch = "arm64"\n', encoding="utf-8")
    args = ["build", str(project.src), "--runtime", "python3.12", "-o", str(project.out)]
    project.recorded(args=args)
    config.write_text('arch = "x86_64"\n', encoding="utf-8")  # not the same size: a new arch
    proc, replayed, said = project.run(args=args)
    assert not replayed and "x86_64" in proc.stdout + said


def test_piped_requirements_are_never_replayed(project: Project) -> None:
    project.run("-r", "-", stdin="")
    time.sleep(RACY_SECONDS + 0.2)
    for _ in range(2):
        _, replayed, said = project.run("-r", "-", stdin="")
        assert not replayed and "no change" in said


def test_the_record_keeps_no_value_of_the_environment(project: Project) -> None:
    secret = "s3cr3t-value-of-a-token-0123456789"
    env = {**project.env, "SOME_API_TOKEN": secret}
    project.recorded(env=env)
    for record in (project.cache / "seals").glob("*.seal"):
        assert secret.encode() not in record.read_bytes()
