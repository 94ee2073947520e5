"""The one value every step of an attempt reads: the options, the checked facts, the cache
and the work directory (instead of a dozen positional parameters per step)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.pipeline.options import BuildKind, BuildOptions, CompileMode
from lambdapack.pipeline.preflight import Preflight
from lambdapack.progress import Progress, Stage, staged
from lambdapack.resolve.inputs import Piped
from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from lambdapack.cache.store import CacheStore

__all__ = ["BuildContext"]


@dataclass(frozen=True)
class BuildContext:
    opts: BuildOptions
    target: Target
    kind: BuildKind
    compile: CompileMode
    fn_out: Path | None
    layer_out: Path | None
    dep_kind: str
    dep_path: Path | Piped | None
    attached_unzipped: int
    cache: CacheStore | None
    work: Path  # this attempt's scratch directory, removed after it
    # This attempt's warnings; the result of the attempt carries this same list.
    warnings: list[str]
    say: Progress

    @classmethod
    def attempt(cls, opts: BuildOptions, pre: Preflight, cache: CacheStore | None, work: Path,
                warnings: Sequence[str], say: Progress) -> BuildContext:
        """A fresh context per attempt: a retried attempt starts again from the warnings given."""
        return cls(opts, pre.target, pre.kind, pre.compile, pre.fn_out, pre.layer_out, pre.dep_kind,
                   pre.dep_path, pre.attached_unzipped, cache, work, list(warnings), say)

    def output_of(self, zip_kind: str) -> Path | None:
        """Where the "function" or "layer" zip goes."""
        return self.fn_out if zip_kind == "function" else self.layer_out

    def stage(self, head: str, total: int | None = None, unit: str = "", tail: str = "") -> AbstractContextManager[Stage]:
        """A step that takes time, reported as a stage (lambdapack/progress.py): `with ctx.stage(...) as st:`,
        `st.advance(n)` as the work is done. Its start goes through `say`, which may stop the build."""
        return staged(self.say, head, total, unit, tail)
