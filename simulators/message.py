"""One simulated MQTT message: what to publish, when, and whether ingest must accept it."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Message(NamedTuple):
    """A message the simulated device sends.

    ``ts`` is the device's send time (its clock). It equals the payload's ``ts`` except
    for daily billing, which is sent when the day closes but carries the day's start, and
    for malformed messages, whose payload time may be deliberately wrong.
    ``valid`` is False for injected malformed messages, with ``reason`` the
    ``ingest.reasons.Reason`` value the collector is expected to dead-letter them with.
    """

    ts: datetime
    topic: str
    payload: bytes
    valid: bool = True
    reason: str | None = None
