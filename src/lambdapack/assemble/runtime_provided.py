"""--exclude-runtime-provided: which distributions the Lambda Python runtime already has.

The SDK every Python runtime includes (boto3 and what it needs), and the closure of
Requires-Dist (evaluated for the target) that decides what else can go with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lambdapack.facts import sdk
from lambdapack.resolve.distributions import Distribution
from lambdapack.target.tags import Target

__all__ = ["RUNTIME_INCLUDED", "RUNTIME_SDK", "runtime_provided_closure"]

# The SDK every Python runtime includes, and the whole set of distributions installed
# with it in the runtime (boto3's dependency closure).
RUNTIME_SDK: tuple[str, ...] = sdk.SDK_DISTRIBUTIONS
RUNTIME_INCLUDED: tuple[str, ...] = sdk.INCLUDED_DISTRIBUTIONS


_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requires(site: Path, dist: Distribution, target: Target, installed: set[str]) -> set[str]:
    """Installed distributions `dist` may need on the target.

    Deliberately generous: a requirement counts when its marker holds for the target
    with no extra or with any extra the distribution declares (we cannot know which
    extras were asked for), and an unparsable line counts by its leading name. More
    edges only ever keep more.
    """
    meta_path = site / dist.dist_info / "METADATA"
    try:
        text = meta_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    meta = HeaderParser().parsestr(text)
    extras = ["", *(meta.get_all("Provides-Extra") or [])]
    env = target.marker_environment
    out: set[str] = set()
    for line in meta.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            m = _NAME_RE.match(line)
            if m:
                out.add(canonicalize_name(m.group(1)))
            continue
        if req.marker is not None and not _marker_holds(req.marker, env, extras):
            continue
        out.add(canonicalize_name(req.name))
    return out & installed


def _marker_holds(marker: Marker, env: dict[str, str], extras: list[str]) -> bool:
    for extra in extras:
        try:
            if marker.evaluate({**env, "extra": extra}):
                return True
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return True
    return False


def runtime_provided_closure(
    dists: Sequence[Distribution], site: Path, target: Target
) -> tuple[set[str], str]:
    """Canonical names to leave out for --exclude-runtime-provided, and a note saying so.

    boto3, botocore, s3transfer and jmespath always go. A distribution they need goes
    too when nothing else kept needs it (walking Requires-Dist evaluated for the target)
    and the runtime itself ships it (python-dateutil, six, urllib3); anything else only
    they need (awscrt from boto3[crt]) stays, since the runtime does not have it.
    """
    by_name = {d.name: d for d in dists}
    installed = set(by_name)
    requires = {n: _requires(site, d, target, installed) for n, d in by_name.items()}
    roots = {n for n in RUNTIME_SDK if n in installed}
    if not roots:
        return set(), (
            "--exclude-runtime-provided: nothing to leave out "
            f"({', '.join(RUNTIME_SDK)} are not among the dependencies)"
        )
    reach = _closure(roots, requires, stop=set())
    # Everything outside the SDK's closure is kept, and so is what it needs (not
    # walking through the SDK itself: those needs are met by the runtime's own copies).
    needed = _closure(installed - reach, requires, stop=roots)
    drop = roots | {n for n in reach - needed if n in RUNTIME_INCLUDED}
    users_of_sdk = sorted(
        f"{by_name[n].display_name} ({', '.join(sorted(by_name[r].display_name for r in requires[n] & roots))})"
        for n in needed
        if n not in drop and requires[n] & roots
    )
    kept_needed = sorted(
        f"{by_name[n].display_name} (needed by "
        f"{', '.join(sorted(by_name[u].display_name for u in needed - drop if n in requires[u]))})"
        for n in reach & needed
        if n not in drop
    )
    kept_absent = sorted(by_name[n].display_name for n in reach - needed - drop)
    rt = target.runtime.name
    parts = [
        "--exclude-runtime-provided: left out "
        + ", ".join(f"{by_name[n].display_name} {by_name[n].version}" for n in sorted(drop))
        + f". The {rt} runtime includes {_included_text()}, in versions AWS picks and updates with the runtime; "
        "AWS recommends bundling your own copy of the SDK when you need a specific version "
        "(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html, "
        "https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html).",
    ]
    if kept_needed:
        parts.append("Kept because other packages need them: " + "; ".join(kept_needed) + ".")
    if kept_absent:
        parts.append(
            "Kept although only the SDK needs them, because the runtime does not include them: "
            + ", ".join(kept_absent)
            + "."
        )
    if users_of_sdk:
        parts.append("These will use the runtime's SDK: " + "; ".join(users_of_sdk) + ".")
    return drop, " ".join(parts)


def _included_text() -> str:
    """'boto3 and botocore (with s3transfer, ..., six and urllib3)', from the sdk facts."""
    first, second, *rest = RUNTIME_INCLUDED
    return f"{first} and {second} (with {', '.join(rest[:-1])} and {rest[-1]})"


def _closure(start: set[str], requires: dict[str, set[str]], stop: set[str]) -> set[str]:
    seen = set(start)
    todo = [n for n in start if n not in stop]
    while todo:
        for dep in requires.get(todo.pop(), set()):
            if dep not in seen:
                seen.add(dep)
                if dep not in stop:
                    todo.append(dep)
    return seen
