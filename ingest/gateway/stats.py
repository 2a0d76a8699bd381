"""What the gateway counted: frames in, replies out, readings published, refusals by reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.gateway.history import History


@dataclass
class GatewayStats:
    connections: int = 0  # accepted
    refused_connections: int = 0  # closed on arrival: max_connections were open
    open: int = 0  # open now
    received: int = 0  # frames cut from the streams (a packet each, valid or not)
    garbage: int = 0  # spans of bytes that were no frame
    accepted: int = 0  # packets of a known logger, with its PW and ST, served
    published: int = 0  # readings the broker acknowledged
    unconfirmed: int = 0  # packets whose readings the broker did not acknowledge: no 9014
    replied: Counter[str] = field(default_factory=Counter)  # by CN: 9014, 9013, 1012, 1002
    skipped: Counter[str] = field(default_factory=Counter)  # uploads acknowledged, not readings
    dead_lettered: Counter[str] = field(default_factory=Counter)  # by reason
    command_replies: int = 0  # 9011/9012 from loggers
    heartbeats: int = 0  # 9015 from HJ 212-2025 loggers
    serials: int = 0  # 1001 hardware serials from HJ 212-2025 loggers (answered by 1002)
    split_parts: int = 0
    split_abandoned: int = 0
    idle_timeouts: int = 0
    closed_for_garbage: int = 0
    session_errors: int = 0  # a bug met in one session (logged; the others go on)
    history: History | None = None  # gaps found and asked for; None when that is off

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "refused_connections": self.refused_connections,
            "open": self.open,
            "received": self.received,
            "garbage": self.garbage,
            "accepted": self.accepted,
            "published": self.published,
            "unconfirmed": self.unconfirmed,
            "replied": _plain(self.replied),
            "skipped": _plain(self.skipped),
            "dead_lettered": _plain(self.dead_lettered),
            "command_replies": self.command_replies,
            "heartbeats": self.heartbeats,
            "serials": self.serials,
            "split_parts": self.split_parts,
            "split_abandoned": self.split_abandoned,
            "idle_timeouts": self.idle_timeouts,
            "closed_for_garbage": self.closed_for_garbage,
            "session_errors": self.session_errors,
            "history": self.history.as_dict() if self.history is not None else None,
        }


def _plain(counts: Counter[str]) -> dict[str, int]:
    return {str(k): n for k, n in sorted(counts.items())}
