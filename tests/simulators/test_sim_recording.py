"""Recordings round-trip, including payloads that are not UTF-8; replay scales the gaps."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.registry.model import Registry
from simulators import DistrictSimulator, Message, read_recording, replay, write_recording
from tests.simulators.conftest import T0


def test_round_trip(tmp_path: Path, registry: Registry) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    sim = DistrictSimulator(registry, seed=6, malformed_rate=0.5, now=lambda: now)
    messages = list(sim.messages(T0, T0 + timedelta(minutes=5)))
    pairs = [(m.ts + timedelta(milliseconds=3), m) for m in messages]
    pairs.append(
        (now, Message(now, "liudong/air/aq-x/reading", b"\xff\xfe{}", False, "invalid_json"))
    )
    path = tmp_path / "run.jsonl"
    assert write_recording(path, pairs) == len(pairs)
    assert list(read_recording(path)) == pairs
    text = path.read_text(encoding="utf-8")
    assert '"payload_b64"' in text
    assert '"payload"' in text


def test_bad_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": "2025-01-01T00:00:00+00:00"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":1:"):
        list(read_recording(path))


def test_replay_delays() -> None:
    m = Message(T0, "liudong/air/aq-x/reading", b"{}")
    rec = [(T0, m), (T0 + timedelta(seconds=10), m), (T0 + timedelta(seconds=12), m)]
    assert [d for d, _ in replay(rec, speed=2)] == [0.0, 5.0, 1.0]
    assert [d for d, _ in replay(rec, speed=0)] == [0.0, 0.0, 0.0]
    assert [d for d, _ in replay(rec, speed=math.inf)] == [0.0, 0.0, 0.0]
    assert [d for d, _ in replay(list(reversed(rec)), speed=1)] == [0.0, 0.0, 0.0]
