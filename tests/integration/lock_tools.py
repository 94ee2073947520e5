"""Shared by the lock-format tests: what a format's own tool would install for a target, from
its export (`poetry export`, `pipenv requirements`), and what a build installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from lp_helpers import clean_env
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.target.tags import Target

FIXTURES = Path(__file__).parent.parent / "fixtures" / "locks"


def for_target(export: str, runtime: str, arch: str) -> dict[str, str]:
    """{name: version} of an exported requirements text whose markers hold on the target."""
    env = Target(get_runtime(runtime), get_arch(arch)).marker_environment
    out = {}
    for line in export.splitlines():
        line = line.split(" \\")[0].strip()
        if not line or line.startswith(("-", "#")):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            out[canonicalize_name(req.name)] = str(next(iter(req.specifier)).version)
    return out


def installed(data: dict[str, Any]) -> dict[str, str]:
    return {canonicalize_name(d["name"]): d["version"] for d in data["distributions"]}


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for Poetry or pipenv, with the CA bundle they read where the machine sets one
    (both reach PyPI through requests/pip, which do not read SSL_CERT_FILE)."""
    import os

    keep = {k: os.environ[k] for k in ("REQUESTS_CA_BUNDLE", "PIP_CERT") if os.environ.get(k)}
    return clean_env({**keep, **(extra or {})})


def tool_venv(root: Path, *packages: str) -> Path:
    """A virtual environment with the lock tool installed from PyPI; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=True,
                   timeout=600, env=tool_env())
    return root / "bin"
