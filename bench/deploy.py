"""`lambdapack deploy` of a three-function project (examples/project: 3 functions, 2 layers)
against moto in server mode on loopback: a first deploy, a no-change deploy, and a deploy after one
function's code changed; each the median of N fresh rounds (moto reset between rounds), wall time
of the whole CLI process (build included: a cache hit after the first), and the mutating calls the
server logged. The issue's goal: a no-change deploy under 2 s with no mutating call.
Run: .venv/bin/python bench/deploy.py [--runs 5]; writes bench/results/deploy.txt
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from motoserver import MotoServer, moto_server  # noqa: E402

FUNCTIONS = ("api", "worker", "report")


def _functions(server: MotoServer) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("placeholder.py", "x = 1\n")
    role = server.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in FUNCTIONS:
        server.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                                Handler="x.h", Code={"ZipFile": buf.getvalue()})


def _deploy(server: MotoServer, cwd: Path) -> tuple[float, int]:
    server.clear_log()
    env = {**os.environ, **server.env()}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "lambdapack", "deploy", "-qq"], cwd=cwd, env=env,
                       capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"deploy failed:\n{r.stdout}\n{r.stderr}")
    return seconds, len(server.mutations())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    results: dict[str, list[tuple[float, int]]] = {"first deploy": [], "no-change deploy": [], "one code change": []}
    with tempfile.TemporaryDirectory() as tmp, moto_server(Path(tmp) / "moto") as server:
        for i in range(runs):
            project = Path(tmp) / f"p{i}"
            shutil.copytree(ROOT / "examples" / "project", project, ignore=shutil.ignore_patterns("dist"))
            subprocess.run([sys.executable, "-m", "lambdapack", "build", "-qq"], cwd=project, check=True)
            server.reset()
            _functions(server)
            results["first deploy"].append(_deploy(server, project))
            results["no-change deploy"].append(_deploy(server, project))
            app = project / "functions" / "api" / "app.py"
            app.write_text(app.read_text() + f"\nROUND = {i}\n")
            results["one code change"].append(_deploy(server, project))
    lines = [f"lambdapack deploy, examples/project (3 functions, 2 layers), moto server on loopback, "
             f"median of {runs} (wall time of the CLI process, build step included)", "",
             f"{'case':<18} {'median s':>9} {'min s':>7} {'max s':>7} {'mutating calls':>15}"]
    for case, rows in results.items():
        secs = [s for s, _ in rows]
        calls = sorted({m for _, m in rows})
        lines.append(f"{case:<18} {statistics.median(secs):>9.2f} {min(secs):>7.2f} {max(secs):>7.2f} "
                     f"{'/'.join(map(str, calls)):>15}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = ROOT / "bench" / "results" / "deploy.txt"
    out.write_text(text)


if __name__ == "__main__":
    main()
