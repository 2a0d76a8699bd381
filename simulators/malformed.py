"""Malformed messages mixed into a valid stream, one of every dead-letter reason.

Each injected message is additional to the valid one it is derived from (never replacing
it), follows it immediately, and carries ``valid=False`` and the ``Reason`` the collector
must dead-letter it with. Whether a valid message gets a malformed twin, and which kind,
is a hash of (seed, topic, time), so injection is deterministic and chunk-independent.

Where a malformed payload reuses a real device and kind, its ``ts`` is moved 500 µs (valid
timestamps are whole milliseconds) so it never shares (device, ts) with a valid row.
Topics always have four levels: a five-level topic would not even reach a collector
subscribed to ``<root>/+/+/+``, so it could not be counted as a dead letter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ingest.feeds import LOCAL_TZ, Payload
from ingest.feeds.water import BilledConsumption, InletFlow, LeakLoggerReading, Pressure
from ingest.reasons import Reason
from ingest.registry.model import Registry
from ingest.topics import DEFAULT_ROOT, TopicParts, parse_topic, topic_for
from simulators._signals import unit
from simulators.message import Message

SHIFT = timedelta(microseconds=500)
FUTURE = timedelta(hours=1)
CLOCK_RESET = datetime(1970, 1, 1, tzinfo=UTC)
ENVELOPE = ("v", "ts", "seq")
# Values outside the physically possible range of the field (ingest's Measure bounds).
IMPOSSIBLE: dict[str, float] = {
    "effluent_ph": 19.0,
    "influent_flow_m3h": -12.5,
    "rh_pct": 140.0,
    "pm25_ugm3": -3.0,
    "flow_m3h": 75_000.0,
    "pressure_kpa": 3_000.0,
    "noise_db": 180.0,
    "billed_m3": -5.0,
    "cpu_pct": 140.0,
    "bsm_rx": -1,
    "lat": 95.0,
}
Obj = dict[str, Any]
Out = tuple[str, bytes]
_WATER_KINDS = {
    "dma": "billing",
    "flow_meter": "flow",
    "pressure_point": "pressure",
    "leak_logger": "leak",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode()


def _water_payload(kind: str, ts: datetime, seq: int) -> Payload:
    """A valid payload of a water kind (for wrong-kind messages)."""
    if kind == "flow":
        return InletFlow(v=1, ts=ts, seq=seq, flow_m3h=120.0, pressure_kpa=350.0)
    if kind == "pressure":
        return Pressure(v=1, ts=ts, seq=seq, pressure_kpa=330.0)
    if kind == "leak":
        return LeakLoggerReading(v=1, ts=ts, seq=seq, noise_db=25.0, spread_db=4.0, leak_flag=False)
    day = ts.astimezone(LOCAL_TZ).date()
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return BilledConsumption(v=1, ts=start, seq=seq, day=day, billed_m3=1000.0)


def _set_time(obj: Obj, ts: datetime) -> None:
    """A new ``ts``; a message of one local day (billing: ``day`` and 00:00 of it) moves to
    the first local midnight from ``ts``, so that only its time is wrong, not its form."""
    if "day" not in obj:
        obj["ts"] = ts.isoformat()
        return
    local = ts.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date(), time(0), LOCAL_TZ)
    if midnight < local:
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), LOCAL_TZ)
    obj["ts"], obj["day"] = midnight.isoformat(), midnight.date().isoformat()


class MalformedInjector:
    """Adds a malformed message after a ``rate`` fraction of the valid ones.

    ``now`` is the wall clock used for future timestamps (``max(msg ts, now) + 1 h``, so
    they are still far ahead when ingested); pass a fixed one for byte-identical output.
    """

    def __init__(
        self,
        registry: Registry,
        seed: int = 0,
        rate: float = 0.0,
        *,
        root: str = DEFAULT_ROOT,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"malformed rate must be within [0, 1], got {rate}")
        self.seed, self.rate, self.root, self._now = seed, rate, root, now
        self._known = {d.device_id for d in registry.devices()}
        # Water devices with a water kind their type does not publish.
        self._misfits = sorted(
            (d.device_id, k)
            for d in registry.devices()
            if d.device_type in _WATER_KINDS
            for k in _WATER_KINDS.values()
            if k != _WATER_KINDS[d.device_type]
        )
        self.reasons = tuple(r for r in _HANDLERS if r is not Reason.WRONG_KIND or self._misfits)

    def inject(self, messages: Iterable[Message]) -> Iterator[Message]:
        for m in messages:
            yield m
            if m.valid and self.rate and self._u(m, "inject") < self.rate:
                yield self.corrupt(m)

    def impossible(self, m: Message) -> Message:
        """``m`` with one measurement replaced by a physically impossible value (a device
        fault, not a glitch: its ``ts`` is kept)."""
        parts = parse_topic(m.topic, self.root)
        if parts is None:
            raise ValueError(f"not a simulator topic: {m.topic!r}")
        obj: dict[str, Any] = json.loads(m.payload)
        topic, payload = self._impossible_value(m, parts, obj, m.ts)
        return Message(m.ts, topic, payload, valid=False, reason=Reason.IMPOSSIBLE_VALUE.value)

    def _u(self, m: Message, *keys: object) -> float:
        return unit(self.seed, "malformed", m.topic, m.ts.isoformat(), *keys)

    def _pick(self, m: Message, key: str, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[int(self._u(m, key) * len(options))]

    def corrupt(self, m: Message) -> Message:
        """A malformed message derived from the valid message ``m``."""
        reason: Reason = self._pick(m, "reason", self.reasons)
        parts = parse_topic(m.topic, self.root)
        if parts is None:
            raise ValueError(f"not a simulator topic: {m.topic!r}")
        obj: dict[str, Any] = json.loads(m.payload)
        ts = datetime.fromisoformat(obj["ts"])
        obj["ts"] = (ts + SHIFT).isoformat()
        topic, payload = _HANDLERS[reason](self, m, parts, obj, ts)
        return Message(m.ts, topic, payload, valid=False, reason=reason.value)

    # One method per reason: (message, its topic parts, payload with ts moved, original ts)
    # -> (topic, payload).

    def _invalid_json(self, m: Message, _p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        payload = _dump(obj)
        variant = self._pick(m, "variant", ("truncated", "utf-16", "latin-1", "text"))
        if variant == "truncated":
            payload = payload[: len(payload) // 2]
        elif variant == "utf-16":
            payload = payload.decode().encode("utf-16")  # BOM and NULs: not UTF-8
        elif variant == "latin-1":
            payload = payload[:-1] + ',"site":"caf\xe9"}'.encode("latin-1")
        else:
            payload = b"device rebooting\r\n"
        return m.topic, payload

    def _schema(self, m: Message, _p: TopicParts, obj: Obj, ts: datetime) -> Out:
        variant = self._pick(
            m, "variant", ("missing", "type", "digits", "version", "extra", "naive")
        )
        if variant == "missing":
            del obj["seq"]
        elif variant == "type":
            obj["seq"] = "seven"
        elif variant == "digits":  # a number in a string: the contract is strict
            obj["seq"] = str(obj["seq"])
        elif variant == "version":
            obj["v"] = 2
        elif variant == "extra":
            obj["firmware"] = "2.4.1"
        else:
            obj["ts"] = (ts + SHIFT).replace(tzinfo=None).isoformat()
        return m.topic, _dump(obj)

    def _non_finite(self, m: Message, _p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        numbers = [k for k, v in obj.items() if k not in ENVELOPE and _is_number(v)]
        floats = [k for k in numbers if isinstance(obj[k], float)] or numbers
        value = self._pick(m, "value", (math.nan, math.inf, -math.inf))
        obj[self._pick(m, "field", floats)] = value
        return m.topic, _dump(obj)

    def _impossible_value(self, m: Message, p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        fields = [k for k in IMPOSSIBLE if obj.get(k) is not None]
        if not fields:
            raise ValueError(f"no impossible value defined for {p.feed}/{p.kind}")
        field = self._pick(m, "field", fields)
        obj[field] = IMPOSSIBLE[field]
        return m.topic, _dump(obj)

    def _unknown_device(self, m: Message, p: TopicParts, _obj: Obj, _ts: datetime) -> Out:
        ghost = f"ghost-{int(self._u(m, 'ghost') * 16**8):08x}"
        if ghost in self._known:
            raise ValueError(f"the registry holds a device named {ghost}")
        return topic_for(p.feed, ghost, p.kind, self.root), m.payload

    def _wrong_kind(self, m: Message, _p: TopicParts, obj: Obj, ts: datetime) -> Out:
        other, kind = self._pick(m, "misfit", self._misfits)
        payload = _water_payload(kind, ts + SHIFT, int(obj["seq"]))
        return topic_for("water", other, kind, self.root), payload.model_dump_json().encode()

    def _future_timestamp(self, m: Message, _p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        _set_time(obj, max(m.ts, self._now()) + FUTURE)
        return m.topic, _dump(obj)

    def _too_old(self, m: Message, _p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        # a real-time clock reset to 1970 (the time of day kept, as such clocks do)
        _set_time(obj, CLOCK_RESET + timedelta(seconds=m.ts.timestamp() % 86_400))
        return m.topic, _dump(obj)

    def _duplicate_key(self, m: Message, _p: TopicParts, obj: Obj, ts: datetime) -> Out:
        # Its own time, unshifted: a kind whose time is fixed (billing at 00:00 of its day)
        # must stay valid but for the repeated key, or it would be refused as a schema error.
        obj["ts"] = ts.isoformat()
        payload = _dump(obj)
        return m.topic, b'{"seq": 0, ' + payload[1:]  # its own seq again, further on

    def _bad_topic(self, m: Message, p: TopicParts, obj: Obj, _ts: datetime) -> Out:
        feed, device, kind = p
        variant = self._pick(m, "variant", ("feed", "kind", "device"))
        if variant == "feed":
            topic = f"{self.root}/noise/{device}/{kind}"
        elif variant == "kind":
            topic = f"{self.root}/{feed}/{device}/{'status' if feed == 'v2x' else 'heartbeat'}"
        else:  # device ids are lower case
            bad = device.upper() if device.upper() != device else f"{device}!"
            topic = f"{self.root}/{feed}/{bad}/{kind}"
        return topic, _dump(obj)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


Handler = Callable[[MalformedInjector, Message, TopicParts, Obj, datetime], Out]
# Every reason a device's message can earn on its own. Not here: ``db_rejected``, for rows
# valid to the contract that the database refuses, which no payload can provoke, and
# ``conflicting_duplicate``, which only a row already stored can make of a payload.
_HANDLERS: dict[Reason, Handler] = {
    Reason.BAD_TOPIC: MalformedInjector._bad_topic,
    Reason.INVALID_JSON: MalformedInjector._invalid_json,
    Reason.SCHEMA: MalformedInjector._schema,
    Reason.NON_FINITE: MalformedInjector._non_finite,
    Reason.IMPOSSIBLE_VALUE: MalformedInjector._impossible_value,
    Reason.UNKNOWN_DEVICE: MalformedInjector._unknown_device,
    Reason.WRONG_KIND: MalformedInjector._wrong_kind,
    Reason.FUTURE_TIMESTAMP: MalformedInjector._future_timestamp,
    Reason.TOO_OLD: MalformedInjector._too_old,
    Reason.DUPLICATE_KEY: MalformedInjector._duplicate_key,
}
INJECTED_REASONS: tuple[Reason, ...] = tuple(_HANDLERS)
