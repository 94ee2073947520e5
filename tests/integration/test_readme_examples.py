"""README.md's example outputs are what the code prints: scripts/readme_examples.py --check, run for real.

A failure here means the README is stale: run `python scripts/readme_examples.py --write` and commit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lp_helpers import clean_env

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "readme_examples.py"


def _script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=clean_env(), capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout, check=False)


@pytest.mark.network
def test_every_generated_example_matches_the_code() -> None:
    # Builds examples/hello, examples/project and a numpy layer from PyPI: 25-40 s with uv's cache warm.
    r = _script("--check")
    assert r.returncode == 0, f"README.md is stale (python scripts/readme_examples.py --write):\n{r.stdout}{r.stderr}"
    # Every generated block was checked: as many as the README marks (a marker the script skipped would hide).
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    marked = sum(1 for line in readme.splitlines()
                 if line.startswith("<!-- example: ") and not line.startswith("<!-- example: not generated"))
    assert marked >= 8 and f"{marked} example(s) up to date" in r.stdout, r.stdout


def test_a_stale_block_fails_the_check_with_a_diff(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = (REPO / "README.md").read_text(encoding="utf-8")
    stale = text.replace("\n528\n", "\n527\n", 1)  # `tags ... | wc -l` in the tags-why block
    assert stale != text
    readme.write_text(stale, encoding="utf-8")
    r = _script("--check", "--offline", "--readme", str(readme))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "-527\n+528\n" in r.stdout
    assert "--write" in r.stderr
    assert readme.read_text(encoding="utf-8") == stale  # --check never writes

    w = _script("--write", "--offline", "--readme", str(readme))
    assert w.returncode == 0, w.stdout + w.stderr
    assert readme.read_text(encoding="utf-8") == text
    assert not list(tmp_path.glob("*.tmp"))


def test_a_marker_without_a_known_example_is_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- example: no-such-example -->\n```\n$ lambdapack\n```\n", encoding="utf-8")
    r = _script("--check", "--offline", "--readme", str(readme))
    assert r.returncode == 2
    assert r.stderr.startswith("error: no example named no-such-example")
    assert "Traceback" not in r.stderr
