"""What HJ 212-2025 adds to the exchanges: the heartbeat, the hardware serial, the MN the
platform assigns. Pure functions over :class:`~ingest.hj212.packet.Packet`.

The 2025 text was not available; the layouts follow open implementations (a C# logger
library that cites the 2025 Appendix C examples, and a Python CEMS pipeline), and are
*unconfirmed*:

- **9015 heartbeat** (logger → platform): the logger's ST, ``CP=&&&&``; it tells that the
  connection is alive. With Flag bit A set the platform answers a **9013** (the C#
  library waits for one); without it, nothing.
- **1001 hardware serial** (logger → platform, a notification, so answered by 9013):
  ``CP=&&i23005-Info=<logger serial>;i23006-Info=<CPU id>;i23007-Info=<MAC 1>;
  i23008-Info=<MAC 2>&&``. Its MN is whatever the logger holds, possibly none yet.
- **1002 set MN** (platform → logger): the new MN in the header's ``MN`` field and the
  serial it is meant for echoed as ``i23005-Info``; the logger answers 9011/9012 and uses
  the new MN from then on. (A Node-RED guide gives other field names for its simulation
  only; the 2025 MN is 24 hex characters, assigned from the hardware fingerprint.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ingest.hj212.packet import Packet
from ingest.hj212.replies import command

HEARTBEAT = "9015"
SERIAL_UPLOAD = "1001"
SET_MN = "1002"
SERIAL = "i23005-Info"  # the data logger's serial (its hardware id)
CPU_ID = "i23006-Info"
MAC_1 = "i23007-Info"
MAC_2 = "i23008-Info"


def needs_heartbeat_reply(packet: Packet) -> bool:
    """A heartbeat asking for an answer (Flag bit A): the platform sends a 9013."""
    return packet.cn == HEARTBEAT and packet.ack_required


def hardware_serial(packet: Packet) -> str | None:
    """The serial a 1001 uploads (``i23005-Info``); None for any other packet."""
    if packet.cn != SERIAL_UPLOAD:
        return None
    serial = packet.cp.get(SERIAL)
    return serial or None


def set_mn(notice: Packet, mn: str, st: str, now: datetime) -> Packet:
    """The 1002 that gives the logger of ``notice`` (its 1001) the MN ``mn``.

    It asks for the logger's 9011, like any command; ``st`` is the logger's system code,
    since a 1001 may come with the interaction code 91.
    """
    serial = hardware_serial(notice) or ""
    return replace(command(notice, SET_MN, {SERIAL: serial}, now), mn=mn, st=st)
