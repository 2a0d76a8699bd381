"""Device faults as scenarios any feed's device can suffer, applied to the merged stream:

* ``device-silent``: the device publishes nothing during the window;
* ``device-buffered``: it keeps publishing into a local buffer and sends the buffer when
  the window ends (payload times unchanged: late data);
* ``sensor-stuck``: its measurements repeat the first values of the window (flat line);
* ``impossible-values``: every message carries a physically impossible value;
* ``sensor-set``: the measurements named in its params read the given values (with a
  little noise), flagged N (the analyser says it is normal), e.g. a real exceedance;
* ``sensor-calibration``: the same, flagged C: the analyser is being calibrated, so its
  values do not count in compliance statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ingest.topics import parse_topic
from simulators._signals import gauss
from simulators.malformed import MalformedInjector
from simulators.message import Message
from simulators.scenarios import ActiveScenario

FAULTS = (
    "device-silent",
    "device-buffered",
    "sensor-stuck",
    "impossible-values",
    "sensor-set",
    "sensor-calibration",
)
SET_FLAGS = {"sensor-set": "N", "sensor-calibration": "C"}
_ENVELOPE = ("v", "ts", "seq")


class DeviceFaults:
    def __init__(
        self, active: Sequence[ActiveScenario], injector: MalformedInjector, root: str
    ) -> None:
        self._active = [a for a in active if a.name in FAULTS]
        self._injector = injector
        self._root = root
        self._stuck: dict[str, dict[str, Any]] = {}

    def _fault(self, m: Message) -> tuple[ActiveScenario, str] | None:
        parts = parse_topic(m.topic, self._root)
        if parts is None:
            return None
        for a in self._active:
            if a.level(parts.device_id, m.ts) > 0:
                return a, parts.device_id
        return None

    def apply(self, messages: Iterable[Message]) -> Iterator[Message]:
        """The stream with the faults applied (buffered messages are held back: see
        ``backlog`` for their release)."""
        if not self._active:
            yield from messages
            return
        for m in messages:
            found = self._fault(m)
            if found is None:
                yield m
                continue
            fault, device = found
            if fault.name == "sensor-stuck":
                yield self._stuck_copy(device, m)
            elif fault.name == "impossible-values":
                yield self._injector.impossible(m)
            elif fault.name in SET_FLAGS:
                yield self._set_copy(fault, m, SET_FLAGS[fault.name])
            # device-silent and device-buffered: nothing now

    def releases(self, t0: datetime, t1: datetime) -> list[ActiveScenario]:
        """The buffered-device faults whose buffer is sent in ``[t0, t1)``."""
        return [a for a in self._active if a.name == "device-buffered" and t0 <= a.end < t1]

    def backlog(self, fault: ActiveScenario, messages: Iterable[Message]) -> Iterator[Message]:
        """The targets' messages of the fault window, all sent when it ends."""
        for m in messages:
            parts = parse_topic(m.topic, self._root)
            if parts is not None and parts.device_id in fault.targets:
                yield m._replace(ts=fault.end)

    def _set_copy(self, fault: ActiveScenario, m: Message, flag: str) -> Message:
        obj: dict[str, Any] = json.loads(m.payload)
        flags: dict[str, str] = dict(obj.get("flags") or {})
        for name, value in fault.params.items():
            if name in obj:
                noise = 1 + 0.01 * gauss(0, "sensor-set", m.topic, m.ts.isoformat(), name)
                obj[name] = round(value * noise, 3)
                flags[name] = flag
        if flags:
            obj["flags"] = flags
        return m._replace(payload=json.dumps(obj, separators=(",", ":")).encode())

    def _stuck_copy(self, device: str, m: Message) -> Message:
        obj: dict[str, Any] = json.loads(m.payload)
        key = f"{device}\x1f{m.topic}"
        first = self._stuck.setdefault(
            key, {k: v for k, v in obj.items() if k not in _ENVELOPE and isinstance(v, float)}
        )
        obj.update(first)
        return m._replace(payload=json.dumps(obj, separators=(",", ":")).encode())
