"""An upload's data area → the wire-contract payload of its logger's feed.

Each mapped code's value (``-Rtd`` for real-time data, ``-Avg`` for minute, hourly and daily
data) is converted from the logger's unit to the field's, and its ``-Flag`` (the
instrument's data flag, HJ 212-2017 Table 8) goes into the payload's ``flags``. Codes the
registry does not map (facility states ``SBx-RS``, vendor extras) are left out.

``ts`` is DataTime (China Standard Time on the wire) in UTC, and ``seq`` is that instant in
seconds since 1970: the same reading sent again — the logger got no 9014 — makes the same
message, a duplicate on (device, ts) for the collector, whichever gateway process sent it.

Whether the values are possible is the collector's judgement, as for any device: the
gateway publishes plain JSON without validating it (which would cost it a tenth of its
time per upload), and a payload the contract refuses becomes a dead letter with the
contract's reason, ``impossible_value`` counted against the device.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.feeds import SCHEMA_VERSION
from ingest.gateway.directory import Logger
from ingest.gateway.reasons import Refusal
from ingest.hj212 import Packet, parse_time
from ingest.topics import topic_for
from ingest.units import convert

# the field of a code's entry that carries the value, by upload
VALUE_FIELDS: dict[str, tuple[str, ...]] = {
    "2011": ("Rtd",),
    "2051": ("Avg", "Rtd"),
    "2061": ("Avg", "Rtd"),
    "2031": ("Avg", "Rtd"),
}


@dataclass(frozen=True, slots=True)
class Reading:
    topic: str
    payload: bytes
    ts: datetime
    flags: int  # how many values carried a flag


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    detail: str
    ts: datetime | None = None


def build_reading(logger: Logger, packet: Packet, root: str) -> Reading | Refused:
    """The message ``packet`` (an upload of ``logger``) becomes, or why it cannot be one."""
    raw_time = packet.cp.data_time
    if raw_time is None:
        return Refused(Refusal.BAD_TIME, "no DataTime")
    at = parse_time(raw_time).at
    if at is None:
        return Refused(Refusal.BAD_TIME, f"DataTime {raw_time[:30]!r} is not a time")
    wanted = VALUE_FIELDS.get(packet.cn, ("Rtd",))
    values: dict[str, float] = {}
    flags: dict[str, str] = {}
    for code, fields in packet.cp.items.items():
        mapping = logger.codes.get(code)
        if mapping is None:
            continue
        text = next((fields[f] for f in wanted if f in fields), None)
        flag = fields.get("Flag")
        if flag is not None:
            flags[mapping.field] = flag
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            detail = f"{code}-{wanted[0]}={text[:20]!r} is not a finite number"
            return Refused(Refusal.BAD_VALUE, detail, at)
        values[mapping.field] = convert(value, mapping.unit, mapping.stored_in)
    if not values:
        return Refused(Refusal.NO_VALUES, "no code of the upload maps to a field", at)
    body: dict[str, Any] = {"v": SCHEMA_VERSION, "ts": at, "seq": int(at.timestamp()), **values}
    if flags:
        body["flags"] = flags
    topic = topic_for(logger.feed, logger.device_id, logger.kind.name, root)
    return Reading(topic, _encode(body), at, len(flags))


def _encode(body: dict[str, Any]) -> bytes:
    """The message as plain JSON: judging it is the collector's work, not the gateway's."""
    ts = body["ts"].isoformat().replace("+00:00", "Z")  # as the contract's models write it
    return json.dumps({**body, "ts": ts}, allow_nan=False).encode()
