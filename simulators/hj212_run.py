"""What the simulated HJ 212 data loggers are told (``LoggerOptions``) and what they count
(``FleetStats``): the options of a run and its tally, shared by every logger of a fleet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LoggerOptions:
    resend_s: float = 10.0  # HJ 212-2017 Table 1: 10 s before a retry
    malformed_rate: float = 0.0
    split_write_rate: float = 0.05  # packets written in two pieces
    split_packet_rate: float = 0.02  # uploads sent as two packets (PNUM/PNO)
    summaries: bool = True  # hourly and daily data besides the readings
    drain_s: float = 30.0  # once done, how long to wait for the last 9014s
    seed: int = 0
    outages: tuple[tuple[datetime, datetime], ...] = ()  # link down [from, to), simulated


@dataclass
class FleetStats:
    sent: Counter[str] = field(default_factory=Counter)  # uploads by CN (first sends)
    acked: Counter[str] = field(default_factory=Counter)  # uploads confirmed by a 9014, once
    readings: Counter[str] = field(default_factory=Counter)  # of those, readings, by feed
    resent: int = 0
    malformed: Counter[str] = field(default_factory=Counter)  # injected, by expected reason
    time_requests: int = 0
    time_set: int = 0
    history_answers: int = 0
    history_sent: int = 0  # uploads sent in history answers
    lost_in_outage: int = 0  # readings never sent: the link was down
    edition2025: Counter[str] = field(default_factory=Counter)  # 1001, 9015 sent; 1002 taken
    connects: int = 0
    unacked: int = 0  # uploads still without 9014 when the loggers stopped

    def as_dict(self) -> dict[str, Any]:
        return {
            "loggers_connects": self.connects,
            "sent": dict(sorted(self.sent.items())),
            "acked": dict(sorted(self.acked.items())),
            "readings": dict(sorted(self.readings.items())),
            "resent": self.resent,
            "malformed": dict(sorted(self.malformed.items())),
            "time_requests": self.time_requests,
            "time_set": self.time_set,
            "history_answers": self.history_answers,
            "history_sent": self.history_sent,
            "lost_in_outage": self.lost_in_outage,
            "edition2025": dict(sorted(self.edition2025.items())),
            "unacked": self.unacked,
        }
