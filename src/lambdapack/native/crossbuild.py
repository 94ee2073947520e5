"""Build one sdist into a wheel for a Lambda target with zig: the edge that runs the build.

uv is the build frontend (`uv build --wheel`): it makes the isolated build environment and
installs the package's declared build requirements there, resolved for the build machine,
as PEP 517 asks. The build runs on a CPython of the runtime's minor version on this machine;
what makes it a build for the target is its environment:

- `_PYTHON_SYSCONFIGDATA_NAME` and a `_sysconfigdata_*` module on PYTHONPATH with the
  target's configuration (`crosspython.target_config`): zig as CC, CXX and LDSHARED, the
  target's extension suffix; `_PYTHON_HOST_PLATFORM` for the platform tag;
- a copy of the build interpreter's headers with `pyconfig.h` set for the target's machine
  (a distribution's per-machine redirect followed first);
- CC/CXX for backends that read the environment (meson, CMake), and no CFLAGS/LDFLAGS of the
  user's (they are for this machine).

The result is checked and retagged (`wheelcheck.retag`) before anyone installs it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.errors import BuildError
from lambdapack.host import processes
from lambdapack.host.interpreters import Interpreter
from lambdapack.host.ziglang import Zig
from lambdapack.native.buildfailure import backend_ran, build_failure
from lambdapack.native.crosspython import (
    Toolchain,
    host_platform,
    module_name,
    module_source,
    pyconfig_redirect,
    target_config,
    target_pyconfig,
)
from lambdapack.native.wheelcheck import BuiltWheel, retag
from lambdapack.resolve.install import run_uv
from lambdapack.target.tags import Target

__all__ = ["CrossEnvironment", "build_wheel", "prepare"]

log = logging.getLogger(__name__)

_EPOCH = "315532800"  # 1980-01-01, zip's first date: SOURCE_DATE_EPOCH for backends that stamp files
# The user's compiler settings are for this machine; a backend would add them to the target's.
_DROPPED_VARS = ("CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LDSHARED", "CC", "CXX", "AR", "ARFLAGS", "PKG_CONFIG_SYSROOT_DIR",
                 "PYTHONPATH", "_PYTHON_SYSCONFIGDATA_NAME", "_PYTHON_HOST_PLATFORM", "MACOSX_DEPLOYMENT_TARGET")


@dataclass(frozen=True)
class CrossEnvironment:
    """What every build for one target shares: the build interpreter and the variables."""

    target: Target
    python: Interpreter
    env: dict[str, str]  # the variables set for the build (on top of uv's environment)
    uv: str = "uv"
    index: tuple[str, ...] = ()  # uv's index arguments, for the build requirements

    def with_frontend(self, uv: str, index: Sequence[str], base_env: Mapping[str, str]) -> CrossEnvironment:
        """The environment uv builds in: `base_env` without the user's compiler settings, plus ours."""
        env = {k: v for k, v in base_env.items() if k not in _DROPPED_VARS} | self.env
        return dataclasses.replace(self, env=env, uv=uv, index=tuple(index))


def _probe(python: Interpreter, environ: Mapping[str, str]) -> dict[str, object]:
    argv = [python.path, "-I", processes.script("native_sysconfig.py")]
    try:
        res = processes.run_text(argv, env=dict(environ), timeout=60)
        data = json.loads(res.stdout) if res.returncode == 0 else None
    except (OSError, processes.Timeout, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("vars"), dict):
        raise BuildError(f"reading the build configuration of {python.path} failed",
                         "check that this CPython runs (`python -c 'import sysconfig'`)")
    return data


def _headers(include: Path, dest: Path, multiarch: str, machine: str) -> Path:
    """A copy of the build interpreter's headers with `pyconfig.h` for the target's machine."""
    out = dest / include.name
    if out.exists():
        return out
    shutil.copytree(include, out)
    pyconfig = out / "pyconfig.h"
    text = pyconfig.read_text(encoding="utf-8")
    redirect = pyconfig_redirect(text, multiarch) if multiarch else None
    if redirect is not None:  # a distribution's per-machine header: the real one is beside it
        text = (include.parent / redirect).read_text(encoding="utf-8")
    pyconfig.write_text(target_pyconfig(text, machine), encoding="utf-8")
    return out


def _empty(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare(work: Path, target: Target, python: Interpreter, zig: Zig, environ: Mapping[str, str]) -> CrossEnvironment:
    """Write the target's configuration under `work` and return the build environment."""
    probed = _probe(python, environ)
    host_vars = probed["vars"]
    assert isinstance(host_vars, dict)
    include = _headers(Path(str(probed["include"])), work / "include", str(probed.get("multiarch") or ""),
                       target.arch.machine)
    tools = Toolchain(python.path, processes.script("zigcc.py"), str(zig.path))
    config = target_config(host_vars, python.machine, target, tools, str(include))
    config["CFLAGS"] = f"{config['CFLAGS']} -I{include}"  # before the backend's own -I of the host's headers
    sysconfig_dir = work / "sysconfig"
    sysconfig_dir.mkdir(parents=True, exist_ok=True)
    (sysconfig_dir / f"{module_name(target)}.py").write_text(module_source(config), encoding="utf-8")
    env = {
        "PYTHONPATH": str(sysconfig_dir),
        "_PYTHON_SYSCONFIGDATA_NAME": module_name(target),
        "_PYTHON_HOST_PLATFORM": host_platform(target),
        "CC": str(config["CC"]), "CXX": str(config["CXX"]),
        "SOURCE_DATE_EPOCH": _EPOCH,
        # pkg-config would describe this machine's libraries (meson asks it first, even for Python).
        "PKG_CONFIG_LIBDIR": str(_empty(work / "pkgconfig")), "PKG_CONFIG_PATH": "",
        # The wrapper lets the build read the interpreter's own headers, never the rest of /usr/include.
        "LAMBDAPACK_ZIGCC_ALLOW": os.pathsep.join(sorted({str(probed["include"]), str(include),
                                                          str(probed.get("platinclude") or include)})),
    }
    return CrossEnvironment(target, python, env)


def build_argv(uv: str, sdist: Path, out_dir: Path, python: str, index: Sequence[str]) -> list[str]:
    """The uv command that builds `sdist` into `out_dir` (pure). `--no-build`: the build
    requirements come as wheels; only the sdist itself is built."""
    return [uv, "build", "--wheel", "--no-build", "--out-dir", str(out_dir), "--python", python,
            "--no-progress", "--color", "never", *index, str(sdist)]


def build_wheel(sdist: Path, out_dir: Path, cross: CrossEnvironment, doing: str, timeout: float) -> BuiltWheel:
    """Build, check and retag one sdist; the wheel is returned, not yet written anywhere."""
    argv = build_argv(cross.uv, sdist, out_dir, cross.python.path, cross.index)
    for attempt in (1, 2):
        res = run_uv(argv, cross.env, timeout)
        if res.timed_out:
            raise BuildError(f"{doing}: the build did not finish within {timeout:.0f} s",
                             "raise --deadline, or use a release with a wheel for the target")
        output = res.stdout + "\n" + res.stderr
        log.debug("%s: the build's output:\n%s", doing, output)
        built = sorted(out_dir.glob("*.whl"))
        if res.returncode == 0 and len(built) == 1:
            break
        # uv failing before the package's build ran (fetching its build requirements) may be a
        # passing network fault: once more, then the error with uv's causes.
        if attempt == 2 or backend_ran(output):
            raise build_failure(output, doing)
        log.info("%s: uv failed before the build ran; trying once more", doing)
    try:
        return retag(built[0].name, built[0].read_bytes(), cross.target)
    except ValueError as e:
        raise BuildError(f"{doing}: the built wheel does not fit the target: {e}",
                         "use a release with a wheel for the target, or build it in the Lambda build image") from None
