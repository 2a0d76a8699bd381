"""One message as the collector received it, with what the decoder made of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.collector.decode import Accepted, Rejected


@dataclass(slots=True)
class Inbound:
    topic: bytes
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    result: Accepted | Rejected
