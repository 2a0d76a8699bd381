"""What a simulated HJ 212-2025 data logger does besides uploading (``hj212.py`` asks):

- on every connection it first uploads its hardware serial (1001, answered by a 9013);
- it takes the MN of the platform's 1002 — answering 9011/9012 — for everything it sends
  from then on, the uploads still waiting for their 9014 included;
- while connected it sends a 9015 heartbeat every ``heartbeat_s`` seconds, asking for a
  9013. A heartbeat keeps the TCP connection alive, so it runs on the wall clock, not on
  the simulated one;
- the data areas of its uploads go SM4-encrypted (``LoggerProfile.frame``).

It starts with the MN the registry holds, as a logger that was given it on an earlier
day; a 1002 with another MN moves it over. The 1001 layout (``i23005-Info`` … ) follows
open implementations, not the 2025 text (see :mod:`ingest.hj212.edition2025`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from ingest.hj212 import (
    ACCEPT_ANY,
    HEARTBEAT,
    SERIAL_UPLOAD,
    SET_MN,
    Edition,
    Packet,
    decode_packet,
)
from ingest.hj212.edition2025 import CPU_ID, MAC_1, SERIAL
from ingest.registry.hj212 import MN_2017
from simulators.hj212_packets import LoggerProfile, qn_for


class Counted(Protocol):
    edition2025: Counter[str]  # by CN: 1001 and 9015 sent, 1002 taken


class Waiting(Protocol):
    frames: list[bytes]


class SimulatedLogger(Protocol):
    """What of ``hj212.SimulatedLogger`` this module uses (it imports none of it)."""

    profile: LoggerProfile

    @property
    def stats(self) -> Counted: ...

    @property
    def pending(self) -> Mapping[str, Waiting]: ...


@dataclass
class Edition2025:
    """The 2025 behaviour of one logger; for a logger of an earlier edition it does nothing
    (no serial, no heartbeat, every 1002 refused)."""

    serial: str | None
    heartbeat_s: int | None
    last_beat: float = 0.0  # time.monotonic() of the last heartbeat

    @classmethod
    def of(cls, profile: LoggerProfile) -> Edition2025:
        if profile.edition is not Edition.HJ212_2025:
            return cls(None, None)
        return cls(profile.cfg.serial, profile.cfg.heartbeat_s, time.monotonic())

    def hello(self, logger: SimulatedLogger, now: datetime) -> list[bytes]:
        """The 1001 that goes first on a new connection (none without a serial)."""
        self.last_beat = time.monotonic()
        if self.serial is None:
            return []
        profile = logger.profile
        params = {SERIAL: self.serial, CPU_ID: f"CPU{self.serial}", MAC_1: _mac(self.serial)}
        packet = profile.notice(SERIAL_UPLOAD, params, qn_for(now, 998))
        logger.stats.edition2025[SERIAL_UPLOAD] += 1
        return [profile.frame(packet)]

    def heartbeat(self, logger: SimulatedLogger, now: datetime) -> list[bytes]:
        """A 9015 when one is due, else nothing (``now``: the simulated time, for its QN)."""
        wall = time.monotonic()
        if self.heartbeat_s is None or wall - self.last_beat < self.heartbeat_s:
            return []
        self.last_beat = wall
        packet = logger.profile.notice(HEARTBEAT, {}, qn_for(now, 997))
        logger.stats.edition2025[HEARTBEAT] += 1
        return [logger.profile.frame(packet)]

    def take_mn(self, logger: SimulatedLogger, p: Packet) -> list[bytes]:
        """Take the MN of the platform's 1002 ``p``; the 9011/9012 to send back.

        A 1002 to a logger without a serial, meant for another serial, or with an MN that
        is not 24 hex characters, is refused (QnRtn 2) and changes nothing.
        """
        old = logger.profile
        mn = p.mn or ""
        meant = self.serial is not None and p.cp.get(SERIAL) in (None, self.serial)
        if not meant or re.fullmatch(MN_2017, mn) is None:
            return [old.frame(old.reply(p, "9011", {"QnRtn": "2"}))]
        new = replace(old, cfg=old.cfg.model_copy(update={"mn": mn}))
        logger.profile = new
        logger.stats.edition2025[SET_MN] += 1
        if mn != old.cfg.mn:
            for entry in logger.pending.values():
                entry.frames = [_moved(old, new, f) for f in entry.frames]
        answers = [new.reply(p, "9011", {"QnRtn": "1"}), new.reply(p, "9012", {"ExeRtn": "1"})]
        return [new.frame(a) for a in answers]


def _moved(old: LoggerProfile, new: LoggerProfile, frame: bytes) -> bytes:
    """``frame`` (one of ``old``'s) sent under ``new``'s MN instead."""
    decoded = decode_packet(frame, ACCEPT_ANY, keys=lambda _mn: old.key)
    if decoded.packet is None:
        return frame
    return new.frame(replace(decoded.packet, mn=new.cfg.mn))


def _mac(serial: str) -> str:
    """A made-up MAC address for the 1001, the same for a serial every time."""
    digits = hashlib.sha256(serial.encode()).hexdigest()[:12].upper()
    return "-".join(digits[i : i + 2] for i in range(0, 12, 2))
