"""Recordings: JSON lines of published messages, and their replay at a speed factor.

One line per message::

    {"t": "<publish time, ISO 8601 UTC>", "ts": "<send time>", "topic": "...",
     "payload": "<UTF-8 text>" | "payload_b64": "<base64>", "valid": true, "reason": null}

``payload_b64`` is used when the bytes are not valid UTF-8 (some malformed messages).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulators.message import Message


def _utc(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t.isoformat()}: pass an aware time (UTC)")
    return t.astimezone(UTC).isoformat()


def recording_line(published: datetime, m: Message) -> str:
    """One line of a recording (without the newline)."""
    rec: dict[str, Any] = {"t": _utc(published), "ts": _utc(m.ts), "topic": m.topic}
    try:
        rec["payload"] = m.payload.decode()
    except UnicodeDecodeError:
        rec["payload_b64"] = base64.b64encode(m.payload).decode("ascii")
    rec["valid"] = m.valid
    rec["reason"] = m.reason
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def write_recording(path: str | Path, messages: Iterable[tuple[datetime, Message]]) -> int:
    """Write ``(publish time, message)`` pairs as JSON lines; returns how many."""
    n = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as f:
        for published, m in messages:
            f.write(recording_line(published, m) + "\n")
            n += 1
    return n


def read_recording(path: str | Path) -> Iterator[tuple[datetime, Message]]:
    """The ``(publish time, message)`` pairs of a recording, in file order."""
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                payload = (
                    rec["payload"].encode()
                    if "payload" in rec
                    else base64.b64decode(rec["payload_b64"], validate=True)
                )
                published = datetime.fromisoformat(rec["t"])
                ts = datetime.fromisoformat(rec.get("ts", rec["t"]))
                message = Message(ts, rec["topic"], payload, bool(rec["valid"]), rec["reason"])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}:{number}: not a recording line: {e}") from e
            yield published, message


def replay(
    recording: Iterable[tuple[datetime, Message]], speed: float = 1.0
) -> Iterator[tuple[float, Message]]:
    """``(seconds to wait before sending, message)``, the recorded gaps divided by ``speed``.

    ``speed`` 0 or infinity replays as fast as possible (no waits).
    """
    if not speed >= 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    fast = speed == 0 or math.isinf(speed)
    previous: datetime | None = None
    for published, m in recording:
        gap = 0.0 if previous is None else (published - previous).total_seconds()
        previous = published if previous is None else max(previous, published)
        yield (0.0 if fast else max(0.0, gap) / speed), m
