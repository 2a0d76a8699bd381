"""From (topic, payload bytes) to a typed row, or to a dead letter with its reason."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ingest.edge import DEAD_KIND, EDGE_FEED, EdgeDeadLetter
from ingest.feeds import FEEDS, Kind, Payload, kind_for
from ingest.reasons import Reason
from ingest.topics import TopicParts, parse_topic

MAX_DETAIL = 300
_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
_NOT_AN_OBJECT = frozenset({"json_invalid", "model_type", "model_attributes_type"})


@dataclass(slots=True)
class Accepted:
    kind: Kind
    device_id: str
    ts: datetime
    seq: int
    values: tuple[Any, ...]
    flags: dict[str, str] | None = None


@dataclass(slots=True)
class Rejected:
    reason: str  # a ``Reason``, or the HJ 212 gateway's reason for what it relays
    detail: str
    device_id: str | None = None
    feed: str | None = None
    ts: datetime | None = None  # the payload's own time, when it could be read
    raw: bytes | None = None  # what to store instead of the payload (relayed traffic)


def payload_time(payload: bytes) -> datetime | None:
    """The ``ts`` of a refused payload if it is readable (to place a faulty device's
    refusals on measurement time), else None."""
    try:
        obj = json.loads(payload)
        ts = datetime.fromisoformat(obj["ts"]) if isinstance(obj, dict) else None
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return ts if ts is not None and ts.utcoffset() is not None else None


_KEY = re.compile(rb'"\s*:')


def repeated_key(payload: bytes, msg: Payload) -> str | None:
    """A key the JSON object names twice (its last value would win silently), or None.

    The exact check parses the payload again, so it runs only when the payload holds more
    ``"key":`` marks than the message has keys — never for an ordinary message.
    """
    keys = len(msg.model_fields_set) + len(msg.flags or ())
    if len(_KEY.findall(payload)) <= keys:
        return None
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for k, _ in items:
            if k in seen:
                repeated.append(k)
            seen.add(k)
        return dict(items)

    json.loads(payload, object_pairs_hook=pairs)
    return repeated[0] if repeated else None


def _non_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def classify(exc: ValidationError) -> tuple[Reason, str]:
    """The dead-letter reason of a validation error, most fundamental problem first."""
    errors = exc.errors(include_url=False)
    types = {e["type"] for e in errors}
    if any(_non_finite(e.get("input")) for e in errors):
        types.add("finite_number")  # NaN in an integer field fails as a type error
    if types & _NOT_AN_OBJECT:
        reason = Reason.INVALID_JSON
    elif "finite_number" in types:
        reason = Reason.NON_FINITE
    elif types <= _RANGE_ERRORS:
        reason = Reason.IMPOSSIBLE_VALUE
    else:
        reason = Reason.SCHEMA
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in errors
    )
    return reason, detail[:MAX_DETAIL]


class Decoder:
    """Checks topic, device and payload; pure apart from the device table it is given."""

    def __init__(
        self,
        device_types: dict[str, str],
        *,
        root: str = "liudong",
        future_tolerance: timedelta = timedelta(minutes=10),
        max_age: timedelta = timedelta(days=400),
    ) -> None:
        self.device_types = device_types
        self.root = root
        self.future_tolerance = future_tolerance
        self.max_age = max_age

    def decode(  # noqa: PLR0911 - one return per check, in the order they apply
        self, topic: bytes, payload: bytes, received_at: datetime
    ) -> Accepted | Rejected:
        try:
            text = topic.decode("utf-8")
        except UnicodeDecodeError:
            return Rejected(Reason.BAD_TOPIC, "topic is not UTF-8")
        parts = parse_topic(text, self.root)
        if parts is None:
            return Rejected(
                Reason.BAD_TOPIC,
                f"topic {text[:100]!r} is not {self.root}/<feed>/<device>/<kind>"[:MAX_DETAIL],
            )
        if parts.feed == EDGE_FEED:
            return self._relayed(parts, payload)
        kind = kind_for(parts.feed, parts.kind)
        if kind is None:
            return Rejected(
                Reason.BAD_TOPIC,
                f"no message kind {parts.kind!r} in feed {parts.feed!r}",
                parts.device_id,
                parts.feed if parts.feed in FEEDS else None,
            )
        device_type = self.device_types.get(parts.device_id)
        if device_type is None:
            return Rejected(
                Reason.UNKNOWN_DEVICE,
                f"device {parts.device_id!r} is not in the registry",
                parts.device_id,
                parts.feed,
            )
        if device_type not in kind.device_types:
            return Rejected(
                Reason.WRONG_KIND,
                f"a {device_type} does not publish {parts.feed}/{parts.kind}",
                parts.device_id,
                parts.feed,
            )
        try:
            msg = kind.model.model_validate_json(payload)
        except ValidationError as exc:
            reason, detail = classify(exc)
            return Rejected(reason, detail, parts.device_id, parts.feed, payload_time(payload))
        if (repeated := repeated_key(payload, msg)) is not None:
            return Rejected(
                Reason.DUPLICATE_KEY,
                f"the key {repeated!r} appears more than once",
                parts.device_id,
                parts.feed,
            )
        if received_at - msg.ts > self.max_age:
            return Rejected(
                Reason.TOO_OLD,
                f"ts {msg.ts.isoformat()} is older than {self.max_age.days} days before the"
                f" collector clock {received_at.isoformat()} (ENVMON_INGEST__MAX_AGE_DAYS)",
                parts.device_id,
                parts.feed,
            )
        if msg.ts - received_at > self.future_tolerance:
            return Rejected(
                Reason.FUTURE_TIMESTAMP,
                f"ts {msg.ts.isoformat()} is ahead of the collector clock"
                f" {received_at.isoformat()} by more than {self.future_tolerance}",
                parts.device_id,
                parts.feed,
            )
        flags: dict[str, str] | None = dict(msg.flags) if msg.flags else None
        return Accepted(kind, parts.device_id, msg.ts, msg.seq, kind.row(msg), flags)

    def _relayed(self, parts: TopicParts, payload: bytes) -> Rejected:
        """A gateway's dead letter: stored with the logger's bytes and the gateway's reason."""
        if parts.kind != DEAD_KIND:
            return Rejected(Reason.BAD_TOPIC, f"no message kind {parts.kind!r} in {EDGE_FEED}")
        try:
            dead = EdgeDeadLetter.model_validate_json(payload)
        except ValidationError as exc:
            return Rejected(*classify(exc))
        known = dead.device_id is not None and dead.device_id in self.device_types
        return Rejected(
            dead.reason,
            dead.describe()[:MAX_DETAIL],
            dead.device_id if known else None,
            dead.feed if known and dead.feed in FEEDS else None,
            dead.device_ts,
            dead.raw,
        )
