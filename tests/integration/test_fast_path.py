"""The no-change rebuild stays fast: it loads none of the steps only a full build needs.

The second identical `lambdapack build` takes the inputs-pointer shortcut. Its start-up cost
is mostly imports, so this checks, in a fresh interpreter, which of our modules it loaded:
a step module made eager again (verification, bytecode, slimming, smoke tests, held-back,
report rendering, or the pipeline's own full path) fails here. Offline: no requirements.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lp_helpers import clean_env

# Modules only a full build (or another command) needs; none may load on the shortcut.
FULL_PATH_ONLY = (
    "lambdapack.assemble.bytecode",
    "lambdapack.assemble.slim",
    "lambdapack.inspect.archive",
    "lambdapack.inspect.check",
    "lambdapack.inspect.rules",
    "lambdapack.inspect.smoke",
    "lambdapack.resolve.heldback",
    "lambdapack.resolve.indexpages",
    "lambdapack.resolve.indexproxy",
    "lambdapack.resolve.indexlisting",
    "lambdapack.resolve.indexhttp",
    "lambdapack.report.sarif",
    "lambdapack.pipeline.fullbuild",
    "lambdapack.pipeline.installing",
    "lambdapack.pipeline.staging",
    "lambdapack.pipeline.assembling",
    "lambdapack.pipeline.verifying",
    "lambdapack.pipeline.packing",
    "lambdapack.pipeline.smoketest",
)

# Runs the CLI in-process, then records every lambdapack module it loaded.
DRIVER = """\
import json, sys
from lambdapack.cli.main import main
rc = main(sys.argv[2:])
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(sorted(m for m in sys.modules if m.split(".")[0] == "lambdapack"), f)
sys.exit(rc)
"""


def _build(tmp_path: Path, run: int) -> tuple[list[str], bytes, str]:
    modules = tmp_path / f"modules-{run}.json"
    out = tmp_path / "dist" / "function.zip"
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(modules), "build", str(tmp_path / "src"),
         "--runtime", "python3.12", "--arch", "arm64", "-o", str(out), "--cache-dir", str(tmp_path / "cache")],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(modules.read_text(encoding="utf-8"))
    return loaded, out.read_bytes(), proc.stderr


def test_no_change_rebuild_loads_no_full_path_step(tmp_path: Path) -> None:
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "app.py").write_text("import pkg\n\n\ndef handler(event, context):\n    return pkg.VALUE\n", encoding="utf-8")
    (src / "pkg" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")

    first, first_zip, _ = _build(tmp_path, 1)
    # The driver sees the steps a full build loads (else this test could not fail).
    assert {"lambdapack.inspect.rules", "lambdapack.pipeline.verifying", "lambdapack.pipeline.packing"} <= set(first)

    second, second_zip, said = _build(tmp_path, 2)
    assert "no change" in said  # the shortcut was taken
    assert second_zip == first_zip
    assert [m for m in FULL_PATH_ONLY if m in second] == []
