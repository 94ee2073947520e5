"""Cache records: what the cache stores besides files, as typed values.

Each record has `to_json` (a JSON object) and `from_json` (None for anything damaged:
wrong types, missing fields, not an object), so a damaged entry is a miss and is rebuilt,
never a crash. The JSON is the format lambdapack has always written, so entries stored
before these types existed are read as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ArtifactMeta", "DistRecord", "InputsPointer", "InterpreterRecord", "ResolutionRecord",
           "StoredOutput"]

_DAMAGED = (KeyError, TypeError, ValueError, AttributeError)


def _strs(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError("not a list of strings")
    return tuple(v)


def _str_map(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise TypeError("not a map of strings")
    return dict(v)


def _held_back(v: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(v, list):
        raise TypeError("not a list")
    return tuple(_str_map(h) for h in v)


@dataclass(frozen=True)
class DistRecord:
    """One distribution of a resolution; `label` None (and empty names) for the entry
    holding files no RECORD claims."""

    key: str
    label: str | None
    name: str
    display_name: str
    version: str
    tags: tuple[str, ...]
    dist_info: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "name": self.name, "display_name": self.display_name,
                "version": self.version, "tags": list(self.tags), "dist_info": self.dist_info}

    @classmethod
    def parse(cls, d: Any) -> DistRecord:
        """As from_json, raising on damage (for records nested in others)."""
        label = d["label"]
        fields = [d["key"], d["name"], d["display_name"], d["version"], d["dist_info"]]
        if not all(isinstance(x, str) for x in fields) or not (label is None or isinstance(label, str)):
            raise TypeError("a distribution record field is not a string")
        return cls(d["key"], label, d["name"], d["display_name"], d["version"], _strs(d["tags"]), d["dist_info"])


@dataclass(frozen=True)
class ResolutionRecord:
    """The pinned resolution of (inputs, target, options): its distributions, the side
    resolution for this machine (for the held-back report) and, once known, that report."""

    dists: tuple[DistRecord, ...]
    laptop: Mapping[str, str]
    held_back: tuple[dict[str, str], ...] | None = None
    created: float = 0.0  # time.time() when stored (unpinned inputs expire)

    def dists_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.dists]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dists": self.dists_json(), "laptop": dict(self.laptop)}
        if self.held_back is not None:
            out["held_back"] = [dict(h) for h in self.held_back]
        out["created"] = self.created
        return out

    @classmethod
    def from_json(cls, d: Any) -> ResolutionRecord | None:
        try:
            held = d.get("held_back")
            return cls(tuple(DistRecord.parse(x) for x in d.get("dists", [])), _str_map(d.get("laptop", {})),
                       _held_back(held) if isinstance(held, list) else None, float(d.get("created", 0)))
        except _DAMAGED:
            return None


@dataclass(frozen=True)
class InputsPointer:
    """The no-change shortcut: build inputs -> the finished artifact, with what is needed
    to report the build again without reading requirements or distributions."""

    artifact: str
    pinned: bool
    resolution: str | None  # the resolution record it was built from (decides freshness)
    dists_digest: str | None
    included: Mapping[str, str]  # files the requirements include -> sha256 (or "missing")
    inputs_kind: str
    inputs_source: str | None
    extras: tuple[str, ...]
    distributions: tuple[tuple[str, str, str, tuple[str, ...], str], ...]  # name, display, version, tags, dist-info
    held_back: tuple[dict[str, str], ...]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact, "pinned": self.pinned, "resolution": self.resolution,
            "dists_digest": self.dists_digest, "included": dict(self.included),
            "inputs": {"kind": self.inputs_kind, "source": self.inputs_source, "extras": list(self.extras)},
            "distributions": [[n, dn, v, list(t), di] for n, dn, v, t, di in self.distributions],
            "held_back": [dict(h) for h in self.held_back], "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, d: Any) -> InputsPointer | None:
        try:
            inp = d["inputs"]
            source = inp["source"]
            res, dd = d["resolution"], d["dists_digest"]
            if not isinstance(d["artifact"], str) or not all(
                    x is None or isinstance(x, str) for x in (source, res, dd)):
                return None
            dists = tuple((str(n), str(dn), str(v), _strs(t), str(di)) for n, dn, v, t, di in d["distributions"])
            return cls(d["artifact"], bool(d["pinned"]), res, dd, _str_map(d["included"]), str(inp["kind"]),
                       source, _strs(inp["extras"]), dists, _held_back(d["held_back"]), _strs(d["warnings"]))
        except _DAMAGED:
            return None


@dataclass(frozen=True)
class StoredOutput:
    """One zip of a cached artifact, as its build reported it."""

    kind: str
    path: str  # the first build's output path (findings name it)
    sha256: str
    sha256_base64: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    @classmethod
    def parse(cls, o: Any) -> StoredOutput:
        out = cls(o["kind"], o["path"], o["sha256"], o["sha256_base64"], o["zipped_bytes"], o["unzipped_bytes"],
                  o["files"])
        if not all(isinstance(x, str) for x in (out.kind, out.path, out.sha256, out.sha256_base64)) or not all(
                isinstance(x, int) for x in (out.zipped_bytes, out.unzipped_bytes, out.files)):
            raise TypeError("a stored output field has the wrong type")
        return out


@dataclass(frozen=True)
class ArtifactMeta:
    """A finished artifact's build result (BuildResult.as_dict()) and size reports; the
    outputs are typed, the rest is given back to the build as it stored it."""

    result: Mapping[str, Any]
    size_reports: Sequence[Any]

    @property
    def outputs(self) -> tuple[StoredOutput, ...]:
        return tuple(StoredOutput.parse(o) for o in self.result["outputs"])

    def to_json(self) -> dict[str, Any]:
        return {"result": dict(self.result), "size_reports": list(self.size_reports)}

    @classmethod
    def from_json(cls, d: Any) -> ArtifactMeta | None:
        try:
            meta = cls(d["result"], d.get("size_reports", []))
            meta.outputs  # noqa: B018 - parsed now: damaged outputs are a miss, not a crash later
        except _DAMAGED:
            return None
        if not isinstance(meta.result, dict) or not isinstance(meta.size_reports, list):
            return None
        return meta


@dataclass(frozen=True)
class InterpreterRecord:
    """A found interpreter, trusted while its file's (mtime_ns, size) is unchanged."""

    path: str
    version: tuple[int, int, int]
    machine: str
    stat: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "version": list(self.version), "machine": self.machine, "stat": list(self.stat)}

    @classmethod
    def from_json(cls, d: Any) -> InterpreterRecord | None:
        try:
            major, minor, micro = (int(x) for x in d["version"])
            mtime, size = (int(x) for x in d["stat"])
            return cls(str(d["path"]), (major, minor, micro), str(d["machine"]), (mtime, size))
        except _DAMAGED:
            return None
