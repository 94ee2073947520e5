"""--build-native: packages with no wheel for the target, built from their sdists with zig.

The install stays binary-only. When it fails because a package has no wheel (uv's hint names
it), that package alone is resolved with its sdist allowed (`--no-binary NAME`, every other
package still binary-only, so nothing that has a wheel is built), its sdist fetched from the
index and checked against the page's sha256, built for the target (`native.crossbuild`),
checked and retagged (`native.wheelcheck`), kept in the cache by (sdist hash, target, zig's
version, the build CPython) and offered to the next install attempt through --find-links.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import platform
import sys
import time
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename

from lambdapack import __version__
from lambdapack.cache.keys import wheel_key
from lambdapack.errors import BuildError, UsageError
from lambdapack.facts.machines import normalize_machine
from lambdapack.host.interpreters import Interpreter, clear_cache, find_interpreter
from lambdapack.host.ziglang import Zig, find_zig
from lambdapack.native.buildfailure import rust_refusal
from lambdapack.native.crossbuild import CrossEnvironment, build_wheel, prepare
from lambdapack.native.sdist import cross_ready, read_sdist
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.result import NativeBuild
from lambdapack.resolve.candidates import read_files
from lambdapack.resolve.indexlisting import IndexFile, read_location
from lambdapack.resolve.install import (
    InstallOptions,
    Limits,
    compile_argv,
    index_args,
    parse_compile_output,
    run_uv,
)
from lambdapack.resolve.requirementsfile import read_text_file, with_built_hashes
from lambdapack.resolve.uvfailure import uv_cause, wheel_required

__all__ = ["NativeBuilder"]

log = logging.getLogger(__name__)

_MAX_BUILDS = 30  # packages built in one install: past it, something else is wrong


class NativeBuilder:
    """Builds what a failed binary-only install lacked; `options` adds the built wheels."""

    def __init__(self, ctx: BuildContext, uv: str, env: dict[str, str], limits: Limits) -> None:
        self.ctx, self.uv, self.env, self.limits = ctx, uv, env, limits
        self.dir = ctx.work / "native-wheels"
        self.built: dict[str, str] = {}  # canonical name -> the wheel's file name
        self.records: list[NativeBuild] = []  # for the report, in build order
        self.hashes: dict[str, tuple[str, str]] = {}  # canonical name -> (sdist sha256, wheel sha256)
        self._cross: CrossEnvironment | None = None
        self._zig: Zig | None = None

    def options(self, base: InstallOptions) -> InstallOptions:
        if not self.built:
            return base
        return dataclasses.replace(base, find_links=(*base.find_links, str(self.dir)))

    def requirements(self, req_file: Path) -> Path:
        """`req_file`, or a copy in which a hashed line (a lock's export) of a package built here
        names the built wheel's hash, after checking that the lock lists the sdist's."""
        if not self.hashes:
            return req_file
        text = read_text_file(req_file)
        if "--hash" not in text:
            return req_file
        out = self.ctx.work / "requirements-native.txt"
        out.write_text(with_built_hashes(text, self.hashes), encoding="utf-8")
        return out

    def build_missing(self, stderr: str, req_file: Path) -> bool:
        """Build the packages uv's `stderr` says lack a wheel; False when there is none to build."""
        names = [n for n in wheel_required(stderr) if canonicalize_name(n) not in self.built]
        if not names or len(self.built) + len(names) > _MAX_BUILDS:
            return False
        pins = self._pins(req_file, names)  # may add to names
        for name in names:
            version = pins.get(canonicalize_name(name))
            if version is None:
                return False
            self._build(name, version)
        return True

    def _pins(self, req_file: Path, names: list[str]) -> dict[str, str]:
        """The versions uv picks for `names` when only they may come from sdists; a package the
        resolution then finds wheel-less too joins them (uv names one at a time)."""
        ctx = self.ctx
        while True:
            argv = compile_argv(self.uv, ctx.target, req_file, sys.executable, self.options(ctx.opts.install),
                                ctx.target.uv_platform)
            for name in names:
                argv += ["--no-binary", name]
            res = run_uv(argv, self.env, self.limits.deadline)
            if res.returncode == 0:
                return {canonicalize_name(k): v for k, v in parse_compile_output(res.stdout).items()}
            more = [n for n in wheel_required(res.stderr) if n not in names]
            if not more or len(self.built) + len(names) >= _MAX_BUILDS:
                raise BuildError(f"resolving {', '.join(names)} with their sdists allowed failed: "
                                 f"{uv_cause(res.stderr) or 'uv gave no reason'}",
                                 "uv's reason is above: a conflict to fix, or what the sdist needs to be read (its "
                                 "build requirements come from the index too)")
            names.extend(more)

    def _sdist(self, name: str, version: str) -> IndexFile:
        files = read_files(name, self.ctx.opts.install, self.env, self.limits.request_timeout)
        for f in files:
            if f.filename.endswith((".tar.gz", ".zip")) and f.url:
                try:
                    _n, v = parse_sdist_filename(f.filename)
                except ValueError:
                    continue
                if str(v) == version:
                    return f
        raise BuildError(f"{name} {version} has no wheel for {self.ctx.target} and no source distribution either",
                         "pin a release that has one (lambdapack why NAME lists them)")

    def _download(self, f: IndexFile, dest: Path) -> Path:
        assert f.url is not None
        status, _ctype, body, _final = read_location(f.url, max(self.limits.request_timeout, 60.0))
        if status != 200:
            raise BuildError(f"downloading {f.filename} failed (HTTP {status or 'no answer'})",
                             "check the network or the index, then retry")
        if f.sha256 and hashlib.sha256(body).hexdigest() != f.sha256:
            raise BuildError(f"{f.filename} does not match the sha256 its index page gives",
                             "retry; if it persists, the index or a proxy serves altered files")
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / f.filename
        path.write_bytes(body)
        return path

    def _environment(self) -> tuple[Zig, CrossEnvironment]:
        if self._cross is not None and self._zig is not None:
            return self._zig, self._cross
        zig = find_zig(self.env)
        if zig is None:
            raise UsageError("--build-native needs zig, the C/C++ toolchain, which is not installed",
                             "pip install 'lambdapack[native]'")
        python = self._build_python()
        cross = prepare(self.ctx.work / "cross", self.ctx.target, python, zig, self.env)
        self._zig, self._cross = zig, cross.with_frontend(self.uv, index_args(self.ctx.opts.install), self.env)
        return zig, self._cross

    def _build_python(self) -> Interpreter:
        """A Linux CPython of the runtime's version for this machine: found, else installed by uv
        (a standalone CPython; its headers are the target's, its pyconfig.h set per machine)."""
        target = self.ctx.target
        if not sys.platform.startswith("linux"):
            # A macOS or Windows CPython's headers and sysconfig describe that system, not Linux.
            raise UsageError(f"--build-native runs on a Linux build machine (this is {sys.platform})",
                             "build in Linux CI (x86_64 or aarch64), or use releases with wheels for the target")
        machine = normalize_machine(platform.machine())
        python = find_interpreter(target.runtime.python, machine)
        if python is not None:
            return python
        self.ctx.say(f"no CPython {target.runtime.version} here: installing one with uv python install")
        res = run_uv([self.uv, "python", "install", target.runtime.version, "--no-config"], self.env,
                     self.limits.deadline)
        clear_cache()
        python = find_interpreter(target.runtime.python, machine) if res.returncode == 0 else None
        if python is not None:
            return python
        said = (uv_cause(res.stderr) or "it installed none").splitlines()[0]
        cause = f"uv python install {target.runtime.version} failed: {said[:160]}"
        raise UsageError(f"--build-native needs a Linux CPython {target.runtime.version} for {machine} to run "
                         f"the build, and found none (PATH, pyenv, uv; {cause})",
                         f"install one (uv python install {target.runtime.version}, pyenv, or your package "
                         "manager)")

    def _build(self, name: str, version: str) -> None:
        ctx = self.ctx
        doing = f"building {name} {version} for {ctx.target} from its sdist"
        sdist = self._download(self._sdist(name, version), ctx.work / "sdists")
        facts = read_sdist(sdist)
        if facts.rust:
            raise rust_refusal(doing)
        zig, cross = self._environment()
        if cross.python.machine != ctx.target.arch.machine and not cross_ready(facts):
            raise BuildError(f"{doing}: its build backend {facts.backend} cannot build for another machine yet",
                             f"build on a {ctx.target.arch.machine} machine, or use a release with a wheel")
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        key = wheel_key(__version__, digest, f"{ctx.target.runtime.name}-{ctx.target.arch.value}", zig.version,
                        ".".join(map(str, cross.python.version)))
        hit = ctx.cache.load_wheel(key) if ctx.cache is not None else None
        if hit is None:
            started = time.monotonic()
            built = build_wheel(sdist, ctx.work / "native-out" / name, cross, doing, self.limits.deadline)
            hit = (built.filename, built.data)
            if ctx.cache is not None:
                ctx.cache.save_wheel(key, *hit)
            seconds: float | None = time.monotonic() - started
            how = f"with zig {zig.version}" if built.binaries else "(pure Python: nothing to compile)"
            ctx.say(f"built {built.filename} {how} in {seconds:.1f} s")
        else:
            seconds = None
            ctx.say(f"{hit[0]}: built before (from the cache)")
        self.records.append(NativeBuild(name, version, hit[0], f"zig {zig.version}", seconds))
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / hit[0]).write_bytes(hit[1])
        self.built[canonicalize_name(name)] = hit[0]
        self.hashes[canonicalize_name(name)] = (digest, hashlib.sha256(hit[1]).hexdigest())
