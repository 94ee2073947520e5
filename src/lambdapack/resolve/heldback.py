"""Held-back report: where the target gets an older version than a laptop would.

"A laptop" is the same requirements and Python version resolved for a current Linux
of the same architecture (manylinux_2_40, binary wheels): what `pip install` gives
on a developer's machine today. When the target's version is older, the reason is
read from the newest version's wheel file names (the index's PEP 691 JSON API).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from lambdapack.resolve.distributions import Distribution
from lambdapack.target.tags import Target, closeness, explain_tag

__all__ = ["LAPTOP_MANYLINUX", "HeldBack", "explain_held_back", "find_held_back"]

log = logging.getLogger(__name__)
LAPTOP_MANYLINUX = (2, 40)
DEFAULT_INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class HeldBack:
    name: str
    chosen: str
    newest: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "chosen": self.chosen, "newest": self.newest, "reason": self.reason}


def laptop_platform(target: Target) -> str:
    return f"{target.arch.machine}-manylinux_{LAPTOP_MANYLINUX[0]}_{LAPTOP_MANYLINUX[1]}"


def explain_held_back(name: str, newest: str, files: Sequence[str], target: Target) -> str:
    """One line: why no file of `name` `newest` fits the target (pure)."""
    wheels = []
    for f in files:
        try:
            _n, _v, _b, tags = parse_wheel_filename(f)
        except InvalidWheelFilename:
            continue
        wheels.append(tags)
    if not files:
        return f"could not list the files of {name} {newest} on the index"
    if not wheels:
        return f"{name} {newest} has only a source distribution (builds from source are off)"
    fitting = [t for tags in wheels for t in tags if t in target.tag_rank]
    rt = target.runtime
    if fitting:
        uv_max = rt.uv_manylinux
        for t in fitting:
            if t.platform.startswith("manylinux_"):
                parts = t.platform.split("_")
                glibc = (int(parts[1]), int(parts[2]))
                if glibc > uv_max:
                    return (
                        f"{name} {newest} ships {t.platform} wheels, valid on glibc "
                        f"{rt.glibc[0]}.{rt.glibc[1]}, but uv has no manylinux target between "
                        f"{uv_max[0]}.{uv_max[1]} and 2.28, so lambdapack resolves with "
                        f"manylinux_{uv_max[0]}_{uv_max[1]} to stay safe on {rt.os}"
                    )
        return f"{name} {newest} has a fitting wheel; another requirement constrains it to an older version"
    # Report the problem of the closest candidate (the wheel with the fewest problems).
    all_tags = [t for tags in wheels for t in tags]
    best = min(all_tags, key=lambda t: closeness(t, target))
    problems = "; ".join(explain_tag(best, target))
    return f"no wheel of {name} {newest} fits {target}: closest is {best} ({problems})"


def _index_files(index_url: str, name: str, version: str, timeout: float = 10.0) -> list[str]:
    import urllib.error  # only when versions differ; keeps a no-change rebuild's start-up short
    import urllib.request

    url = f"{index_url.rstrip('/')}/{canonicalize_name(name)}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.debug("cannot list %s on %s: %s", name, index_url, e)
        return []
    files = []
    try:
        want = Version(version)
    except InvalidVersion:
        return []
    for f in data.get("files", []):
        fname = f.get("filename", "")
        if fname.endswith(".whl"):
            try:
                _n, v, _b, _t = parse_wheel_filename(fname)
            except InvalidWheelFilename:
                continue
            if v == want:
                files.append(fname)
        elif fname.endswith((".tar.gz", ".zip")) and f"-{version}." in fname:
            files.append(fname)
    return files


def find_held_back(
    installed: Sequence[Distribution],
    laptop: Mapping[str, str],
    target: Target,
    index_url: str | None,
) -> list[HeldBack]:
    """Compare the target's versions with the laptop's; explain each older one."""
    older: list[tuple[Distribution, str]] = []
    for d in installed:
        newest = laptop.get(d.name)
        if newest is None:
            continue
        try:
            if Version(newest) > Version(d.version):
                older.append((d, newest))
        except InvalidVersion:
            continue
    if not older:
        return []
    index = index_url or DEFAULT_INDEX
    with ThreadPoolExecutor(max_workers=8) as pool:
        file_lists = list(pool.map(lambda dn: _index_files(index, dn[0].name, dn[1]), older))
    return [
        HeldBack(d.display_name, d.version, newest, explain_held_back(d.display_name, newest, files, target))
        for (d, newest), files in zip(older, file_lists, strict=True)
    ]
