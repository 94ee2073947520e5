"""Reading the log text: whatever a user pastes or pipes, as logical message lines.

One message, a `[ERROR] ...` line, a Traceback, a JSON-formatted log record, or a whole
CloudWatch excerpt with START/END/REPORT/INIT_REPORT lines interleaved all become the
same lines, so that one set of patterns serves every format.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterable, Iterator

__all__ = ["DEFAULT_MAX_BYTES", "keep_tail", "logical_lines"]

# Input beyond this is dropped from the front: the error is usually at the end of a log,
# and a few MB of CloudWatch is thousands of invocations.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
_JSON_START = re.compile(r"\{")

# `aws logs tail` / console copies start each event with "<timestamp>\t<request id>\t";
# the error text is what follows.
_EVENT_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(?:[0-9a-f-]{8,}\s+)?")

# Literal escape sequences, as left by copying a JSON string or a Python repr.
_ESCAPED_BREAK = re.compile(r"\\r\\n|\\n|\\r")


def _unescape(line: str) -> list[str]:
    if "\\n" not in line and "\\r" not in line:
        return [line]
    parts = _ESCAPED_BREAK.split(line)
    return [p.replace('\\"', '"').replace("\\'", "'").replace("\\t", "\t") for p in parts]


def _walk_json(obj: object) -> Iterator[str]:
    """The human text inside a JSON log record, as Lambda's text format would print it."""
    if isinstance(obj, dict):
        msg = obj.get("errorMessage")
        etype = obj.get("errorType")
        if isinstance(msg, str):
            # The text format prints `[ERROR] <errorType>: <errorMessage>`; rebuilding that
            # lets the same patterns serve both formats.
            yield f"{etype}: {msg}" if isinstance(etype, str) else msg
        elif isinstance(etype, str):
            yield etype
        for key, value in obj.items():
            if key in ("errorMessage", "errorType"):
                continue
            if isinstance(value, str):
                if key in ("message", "msg", "log", "stackTrace") or "\n" in value:
                    yield value
            else:
                yield from _walk_json(value)
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, str):
                yield item
            else:
                yield from _walk_json(item)


def logical_lines(text: str) -> list[str]:
    """Logical lines: one per message line, whatever the log format.

    Lambda's Python runtime replaces "\\n" inside one log event with "\\r" so that a
    traceback stays one CloudWatch record; copies of it carry "\\r", real newlines, or
    JSON-escaped "\\n", and all of them must split the same way.
    """
    out: list[str] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for raw in text.split("\n"):
        line = _EVENT_PREFIX.sub("", raw.strip())
        if not line:
            continue
        m = _JSON_START.search(line)
        if m is not None:
            try:
                obj, _ = json.JSONDecoder().raw_decode(line[m.start() :])
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                for s in _walk_json(obj):
                    for sub in s.replace("\r", "\n").split("\n"):
                        out.extend(p.strip() for p in _unescape(sub) if p.strip())
                continue
        out.extend(p.strip() for p in _unescape(line) if p.strip())
    return out


def keep_tail(chunks: Iterable[bytes], limit: int) -> tuple[bytes, int]:
    """The last `limit` bytes of a stream given as chunks, and the stream's total size,
    holding at most `limit` bytes plus one chunk at any time. When input was dropped, the
    partial line it leaves at the front is dropped too (it may start mid-character)."""
    kept: collections.deque[bytes] = collections.deque()
    held = total = 0
    for chunk in chunks:
        kept.append(chunk)
        held += len(chunk)
        total += len(chunk)
        while kept and held - len(kept[0]) >= limit:
            held -= len(kept.popleft())
    data = b"".join(kept)
    if len(data) <= limit:
        return data, total
    data = data[len(data) - limit :]
    cut = data.find(b"\n")
    return (data[cut + 1 :] if cut >= 0 else data), total
