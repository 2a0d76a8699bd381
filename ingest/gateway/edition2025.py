"""The gateway's side of HJ 212-2025: heartbeats, hardware serials and the MNs it assigns,
and how long a logger that sends heartbeats may stay silent.

SM4 needs nothing here: the session's :class:`~ingest.hj212.FrameBuffer` is given the
directory's keys (``Directory.sm4_key``), so an encrypted upload arrives in clear, and one
that does not decrypt is a dead letter (``bad_cipher``, or ``bad_crc`` when its CRC was
the plaintext's) that gets no 9014. The replies the platform sends carry no data area to
protect and go in clear, in the edition bits of the packet they answer.

- A **9015 heartbeat** is counted and, when it asks for it (Flag bit A), answered by a
  9013; it keeps the connection open: the idle timeout of a logger with a
  ``heartbeat_s`` follows that interval (:func:`keepalive_s`).
- A **1001** from a logger is answered by a 9013 and, when the registry holds the serial
  it uploads, by a **1002** giving it the MN the registry has for it. A 1001 may come
  before the logger has its MN, so it is matched by serial when its MN is unknown; one
  whose serial and MN are both unknown is a dead letter (``unknown_serial``).

These layouts follow open implementations, not the 2025 text (see
:mod:`ingest.hj212.edition2025`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from ingest.gateway.directory import Directory, Logger
from ingest.gateway.reasons import Refusal
from ingest.gateway.stats import GatewayStats
from ingest.hj212 import (
    HEARTBEAT,
    SERIAL_UPLOAD,
    Packet,
    hardware_serial,
    needs_heartbeat_reply,
    notification_reply,
    set_mn,
)

log = logging.getLogger(__name__)

SERVED = frozenset({HEARTBEAT, SERIAL_UPLOAD})


def resolve(directory: Directory, p: Packet) -> Logger | None:
    """The logger ``p`` comes from: by its MN, or — for a 1001 — by the serial it uploads."""
    return directory.get(p.mn) or directory.by_serial(hardware_serial(p))


def why_unknown(directory: Directory, p: Packet) -> tuple[Refusal, str]:
    """The refusal of a packet :func:`resolve` finds no logger for."""
    serial = hardware_serial(p)
    if serial is None:
        return Refusal.UNKNOWN_MN, directory.why_unknown(p.mn)
    return Refusal.UNKNOWN_SERIAL, (
        f"serial {serial[:40]!r} is not in the registry, and {directory.why_unknown(p.mn)}"
    )


def answer(logger: Logger, p: Packet, stats: GatewayStats, now: datetime) -> list[Packet]:
    """What the platform sends back to a 9015 or a 1001 of ``logger``, in order."""
    if p.cn == HEARTBEAT:
        stats.heartbeats += 1
        return [notification_reply(p)] if needs_heartbeat_reply(p) else []
    stats.serials += 1
    out = [notification_reply(p)]
    serial = hardware_serial(p)
    if serial is not None and serial == logger.serial:
        out.append(set_mn(p, logger.mn, logger.st, now))
        if p.mn != logger.mn:
            log.info(
                "%s: serial %s gets MN %s (it sent %r)",
                logger.device_id,
                serial,
                logger.mn,
                p.mn,
                extra={"device": logger.device_id},
            )
    else:
        log.warning(
            "%s: 1001 with serial %r, the registry has %r: MN not assigned",
            logger.device_id,
            serial,
            logger.serial,
            extra={"device": logger.device_id},
        )
    return out


def keepalive_s(logger: Logger) -> int:
    """The longest the logger should be silent: its upload interval, or the interval of its
    heartbeats when it sends them more often."""
    if logger.heartbeat_s is None:
        return logger.interval_s
    return min(logger.interval_s, logger.heartbeat_s)
