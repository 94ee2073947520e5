"""Cache keys: everything that decides under which key the cache stores something.

Pure functions of typed inputs (the callers hash files and read the environment). A key
is the sha256 of a canonical JSON payload; the payloads are the ones lambdapack has
always used, so entries stored before keys moved here still hit. Any change to a
payload (a new field) makes older entries a clean miss, never a wrong hit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ArtifactKeyInputs", "InputFingerprint", "InputsKeyInputs", "ResolutionKeyInputs", "artifact_key",
           "digest", "dist_key", "facts_key", "files_key", "index_environment", "inputs_key", "key_environment", "pyc_key",
           "resolution_key", "wheel_key"]

# (path in the zip, content sha256, executable): one file as the artifact and inputs keys see it.
FileId = tuple[str, str, bool]


def digest(obj: object) -> str:
    """sha256 of canonical JSON: the same value gives the same key on every machine."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def dist_key(index: str | None, name: str, version: str, tags: Sequence[str], dist_info: str) -> str:
    """One installed wheel: the same wheel from the same index is unpacked once."""
    return digest({"index": index, "name": name, "version": version, "tags": sorted(tags), "dist_info": dist_info})


def files_key(files: Sequence[FileId]) -> str:
    """A set of files by content (rel, sha256, executable): installed files no RECORD
    claims, a --with-layer directory."""
    return digest(sorted(files))


def facts_key(version: str, fmt: str, files: Sequence[tuple[str, str]]) -> str:
    """What verification learnt of a set of files (rel, content sha256): the parser's version
    and format decide it with the contents (inspect.filefacts)."""
    return digest(["facts", version, fmt, sorted(files)])


def wheel_key(version: str, sdist_sha256: str, target: str, toolchain: str, build_python: str) -> str:
    """A wheel built from an sdist (--build-native): the sdist's bytes, the target (runtime and
    machine), the toolchain (zig's version) and the CPython whose headers it compiled against."""
    return digest(["wheel", version, sdist_sha256, target, toolchain, build_python])


def pyc_key(python: Sequence[int], mode: str, lambda_path: str, source_sha256: str) -> str:
    """One compiled module: the interpreter version, the invalidation mode, the path the
    module has on Lambda (it is in the .pyc) and the source's content."""
    return digest([list(python), mode, lambda_path, source_sha256])


# uv settings that change where and how fast uv works, never what it installs: in a key they
# would keep two machines (two CI runners with their own uv caches) from ever sharing an entry.
# Any other UV_ variable stays in the keys: an unknown one costs a miss, never a wrong hit.
_UV_HOW = frozenset({
    "UV_CACHE_DIR", "UV_NO_CACHE", "UV_NO_PROGRESS", "UV_HTTP_TIMEOUT", "UV_REQUEST_TIMEOUT", "UV_HTTP_RETRIES",
    "UV_PYTHON_INSTALL_DIR", "UV_PYTHON_BIN_DIR", "UV_PYTHON_CACHE_DIR", "UV_TOOL_DIR", "UV_TOOL_BIN_DIR",
    "UV_INSTALL_DIR", "UV_LINK_MODE", "UV_NATIVE_TLS", "UV_KEYRING_PROVIDER", "UV_NO_COLOR", "UV_LOG_CONTEXT",
    "UV_NO_WRAP",
})
_UV_HOW_PREFIXES = ("UV_CONCURRENT_",)
# Index credentials (UV_INDEX_<NAME>_USERNAME/_PASSWORD): rotated per job (CodeArtifact tokens);
# they say who may read the index, not what it holds.
_UV_CREDENTIALS = ("_USERNAME", "_PASSWORD")


def _decides_content(name: str) -> bool:
    return (name not in _UV_HOW and not name.startswith(_UV_HOW_PREFIXES)
            and not (name.startswith("UV_INDEX_") and name.endswith(_UV_CREDENTIALS)))


def index_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The uv settings that change what resolves (indexes, find-links, constraints)."""
    return {k: v for k, v in sorted(env.items())
            if (k.startswith("UV_INDEX") or k in ("UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_CONSTRAINT",
                                                   "UV_OVERRIDE")) and _decides_content(k)}


def key_environment(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The environment a whole build depends on: the uv settings that change what is installed,
    and SOURCE_DATE_EPOCH."""
    return sorted((k, v) for k, v in environ.items()
                  if (k.startswith("UV_") and _decides_content(k)) or k == "SOURCE_DATE_EPOCH")


@dataclass(frozen=True)
class InputFingerprint:
    """The dependency input as uv reads it: its kind, requirements, extras, file hashes."""

    kind: str
    top: tuple[str, ...]
    extras: tuple[str, ...]
    files: Mapping[str, str]  # name -> sha256 (or "missing")

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "top": list(self.top), "extras": list(self.extras), "files": dict(self.files)}


@dataclass(frozen=True)
class ResolutionKeyInputs:
    version: str  # lambdapack's
    runtime: str
    arch: str
    uv_platform: str
    inputs: InputFingerprint
    install: Mapping[str, object]  # the install options that decide what is installed
    index: str | None
    index_env: Mapping[str, str]  # index_environment(...)


def resolution_key(k: ResolutionKeyInputs) -> str:
    """Everything that decides what uv resolves: inputs, target, options, index settings."""
    return digest({"v": k.version, "target": [k.runtime, k.arch, k.uv_platform], "inputs": k.inputs.as_json(),
                   "install": dict(k.install), "index": k.index, "uv_env": dict(k.index_env)})


@dataclass(frozen=True)
class InputsKeyInputs:
    version: str
    options: str  # repr of the build options with outputs and cache settings left out, paths absolute
    kind: str  # the dependency input's kind
    files: Mapping[str, str]  # dependency input files -> sha256
    runtime: str
    arch: str
    environment: Sequence[tuple[str, str]]  # key_environment(...)
    date: Sequence[int]  # the zip's timestamp
    codec: str  # the deflate implementation (pack.codec): the pointer names an artifact by its bytes
    interpreter: tuple[str, Sequence[int]] | None  # (path, version) compiling the bytecode
    layers: Sequence[str]  # --with-layer content keys
    strip: Sequence[str]  # strip tools (aggressive slimming)
    code: Sequence[FileId]


def inputs_key(k: InputsKeyInputs) -> str:
    """Everything a build reads before it resolves (the no-change shortcut's key)."""
    interp = [k.interpreter[0], list(k.interpreter[1])] if k.interpreter is not None else None
    return digest({"v": k.version, "opts": k.options, "kind": k.kind, "files": dict(k.files),
                   "target": [k.runtime, k.arch], "env": [list(e) for e in k.environment], "date": list(k.date),
                   "deflate": k.codec, "interp": interp, "layers": list(k.layers), "strip": list(k.strip), "code": sorted(k.code)})


@dataclass(frozen=True)
class ArtifactKeyInputs:
    version: str
    runtime: str
    arch: str
    kind: str  # build kind: function | layer | split
    level: int  # compression level
    codec: str  # the deflate implementation (pack.codec): another one writes other bytes
    date: Sequence[int]
    handler: str | None
    smoke: bool
    pyc: tuple[str, Sequence[int]] | None  # (invalidation mode, interpreter version)
    slim: str
    dep_excludes: Sequence[str]
    keeps: Sequence[str]
    exclude_runtime_provided: bool
    strip: Sequence[str]
    layers: Sequence[str]
    allow_secrets: Sequence[str]
    deps: Sequence[FileId]
    code: Sequence[FileId]
    # --compile: every .pyc ships, where the default may leave some out to fit the size limit.
    all_pyc: bool = False


def artifact_key(k: ArtifactKeyInputs) -> str:
    """Everything that decides the bytes of the finished zip(s)."""
    return digest({
        "pyc": [k.pyc[0], list(k.pyc[1])] if k.pyc is not None else None,
        "v": k.version, "target": [k.runtime, k.arch], "kind": k.kind,
        "deflate": [k.codec, k.level], "date": list(k.date), "handler": k.handler, "smoke": k.smoke,
        "slim": [k.slim, list(k.dep_excludes), list(k.keeps), k.exclude_runtime_provided, list(k.strip)],
        "layers": list(k.layers),
        # A zip let through by --allow-secret must not be reused by a build without it.
        **({"allow_secrets": list(k.allow_secrets)} if k.allow_secrets else {}),
        **({"all_pyc": True} if k.all_pyc else {}),  # absent by default: default builds keep their keys
        "deps": sorted(k.deps), "code": sorted(k.code),
    })
