"""Shared checks for the simulator tests."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from ingest.feeds import Payload, kind_for
from ingest.registry.model import Registry
from ingest.topics import parse_topic
from simulators import Message


def decode_valid(registry: Registry, messages: Iterable[Message]) -> list[tuple[str, str, Payload]]:
    """Validate every valid message against the wire contract; (device, kind, payload)."""
    types = {d.device_id: d.device_type for d in registry.devices()}
    out = []
    for m in messages:
        if not m.valid:
            continue
        parts = parse_topic(m.topic)
        assert parts is not None, m.topic
        kind = kind_for(parts.feed, parts.kind)
        assert kind is not None, m.topic
        assert types[parts.device_id] in kind.device_types, m.topic
        payload = kind.model.model_validate_json(m.payload)
        if parts.kind != "billing":
            assert payload.ts == m.ts, m
        out.append((parts.device_id, parts.kind, payload))
    return out


def series(
    messages: Iterable[Message], device: str, kind: str, field: str
) -> list[tuple[datetime, float]]:
    """(send time, value) of one field of one device's valid messages."""
    suffix = f"/{device}/{kind}"
    return [
        (m.ts, json.loads(m.payload)[field])
        for m in messages
        if m.valid and m.topic.endswith(suffix)
    ]


def by_device(decoded: Iterable[tuple[str, str, Payload]]) -> dict[tuple[str, str], list[Payload]]:
    out: dict[tuple[str, str], list[Payload]] = defaultdict(list)
    for device, kind, payload in decoded:
        out[device, kind].append(payload)
    return out


def mean(values: Iterable[float]) -> float:
    vs = list(values)
    return sum(vs) / len(vs)
