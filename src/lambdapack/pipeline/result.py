"""What a build returns: the zips written and everything said about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.errors import LambdapackError
from lambdapack.inspect.findings import Finding, has_errors
from lambdapack.pack.zipwriter import WrittenZip
from lambdapack.pipeline.sizereports import report_json
from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from lambdapack.assemble.fromlayers import FromLayer
    from lambdapack.assemble.ignore import LeftOut
    from lambdapack.inspect.smoke import SmokeResult
    from lambdapack.report.sizes import SizeReport
    from lambdapack.resolve.distributions import Distribution
    from lambdapack.resolve.heldback import HeldBack
    from lambdapack.resolve.inputs import Requirements

__all__ = ["BuildFailed", "BuildResult", "NativeBuild", "Output", "WithoutBytecode"]


@dataclass(frozen=True)
class WithoutBytecode:
    """A distribution shipped without (some of) its bytecode so the package fits the limit."""

    name: str
    version: str
    bytes: int  # the .pyc bytes left out
    tests_only: bool  # only its test modules' bytecode: what a handler imports still has it

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "bytes": self.bytes, "tests_only": self.tests_only}


@dataclass(frozen=True)
class Output:
    kind: str  # "function" | "layer"
    artifact: WrittenZip
    tree: Path | None = None  # --output-dir: the same members as an unpacked tree

    def as_dict(self) -> dict[str, object]:
        a = self.artifact
        return {
            "kind": self.kind,
            "path": str(a.path.absolute()),  # absolute like inputs.path: not relative to a cwd the reader lacks
            "sha256": a.sha256_hex,
            "sha256_base64": a.sha256_base64,
            "zipped_bytes": a.zipped_bytes,
            "unzipped_bytes": a.unzipped_bytes,
            "files": a.files,
            "tree": str(self.tree.absolute()) if self.tree is not None else None,
        }


@dataclass(frozen=True)
class NativeBuild:
    """A package this build compiled from its sdist (--build-native), or took from the wheel cache."""

    name: str
    version: str
    wheel: str  # the built wheel's file name: its tag says the glibc it needs
    toolchain: str  # "zig 0.17.0"
    seconds: float | None  # the build's time; None: the wheel came from the cache

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "wheel": self.wheel, "toolchain": self.toolchain,
                "from_cache": self.seconds is None,
                "seconds": None if self.seconds is None else round(self.seconds, 3)}


@dataclass
class BuildResult:
    target: Target
    inputs: Requirements
    outputs: list[Output] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unzipped_total: int = 0
    cached: bool = False  # the zip(s) came whole from the artifact cache
    size_reports: list[SizeReport] = field(default_factory=list)
    smoke: SmokeResult | None = None
    saved_by_dist: dict[str, int] = field(default_factory=dict)  # bytes slimming removed
    slim_notes: list[str] = field(default_factory=list)
    without_bytecode: list[WithoutBytecode] = field(default_factory=list)  # left out to fit the limit
    uv_platform: str | None = None  # what uv resolved for (None: the target's own uv platform)
    glibc_ceiling: str | None = None  # the glibc the index pages were cut to (resolve/ceiling.py)
    source_left_out: list[LeftOut] = field(default_factory=list)  # by .gitignore & co (assemble/ignore.py)
    from_layers: list[FromLayer] = field(default_factory=list)  # provided by --with-layer layers instead
    native_builds: list[NativeBuild] = field(default_factory=list)  # --build-native, in this run's install

    def as_dict(self) -> dict[str, object]:
        return {
            "version": 1,
            "ok": not has_errors(self.findings),
            "target": {
                "runtime": self.target.runtime.name,
                "arch": self.target.arch.value,
                "os": self.target.runtime.os,
                "glibc": ".".join(map(str, self.target.runtime.glibc)),
                "uv_platform": self.uv_platform or self.target.uv_platform,
                "glibc_ceiling": self.glibc_ceiling,
                "preview": self.target.runtime.preview,
            },
            "inputs": {
                "kind": self.inputs.kind,
                "path": str(self.inputs.source) if self.inputs.source else None,
                "extras": list(self.inputs.extras),
            },
            "outputs": [o.as_dict() for o in self.outputs],
            "unzipped_total_bytes": self.unzipped_total,
            "distributions": [
                {"name": d.display_name, "version": d.version, "wheel_tag": ".".join(d.tags)}
                for d in self.distributions
            ],
            "held_back": [h.as_json() for h in self.held_back],
            "findings": [f.as_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "cached": self.cached,
            "size_report": [report_json(r) for r in self.size_reports],
            "smoke": self.smoke.as_dict() if self.smoke is not None else None,
            "slim": {"saved_bytes": sum(self.saved_by_dist.values()), "by_distribution": dict(self.saved_by_dist),
                     "notes": list(self.slim_notes)},
            "without_bytecode": [w.as_dict() for w in self.without_bytecode],
            "source_left_out": [x.as_dict() for x in self.source_left_out],
            "from_layers": [x.as_dict() for x in self.from_layers],
            "native_builds": [n.as_dict() for n in self.native_builds],
        }


class BuildFailed(LambdapackError):
    """Verification or a limit failed; carries the whole result for the report."""

    exit_code = 1

    def __init__(self, message: str, result: BuildResult, hint: str | None = None, *, exit_code: int = 1) -> None:
        super().__init__(message, hint)
        self.result = result
        self.exit_code = exit_code  # another error after the install keeps its own code
