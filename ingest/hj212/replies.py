"""The platform's side of the exchanges: the replies it owes and the commands it sends.

- An upload (2011, 2021, 2031, 2041, 2051, 2061, 2081) with Flag bit A set, or with no Flag
  at all (2005-era loggers), gets a **9014** data reply echoing its QN — sent only once the
  data is safe, since a logger that gets none sends again.
- A notification (1013 time-calibration request; 1001 hardware serial in 2025) gets a
  **9013** notification reply; a 1013 is then answered with a **1012** set-time command.
- A command the platform sends is answered by a 9011 (QnRtn) and, after the data, a 9012
  (ExeRtn): :func:`parse_command_reply` reads both.

Replies speak the edition of the packet they answer. 2005-era replies carry the QN (and for
9014 the CN) answered in the data area, without a QN field; that layout is taken from open
implementations of HJ/T 212-2005, not from its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.hj212.clock import format_time, make_qn
from ingest.hj212.cp import DataArea
from ingest.hj212.packet import Edition, Packet, make_flag

ST_INTERACTION = "91"
UPLOADS = frozenset({"2011", "2021", "2031", "2041", "2051", "2061", "2081"})
NOTIFICATIONS = frozenset({"1013", "1001"})

QN_RTN = {
    1: "ready to execute",
    2: "refused",
    3: "wrong PW",
    4: "wrong MN",
    5: "wrong ST",
    6: "wrong Flag",
    7: "wrong QN",
    8: "wrong CN",
    9: "CRC error",
    100: "unknown error",
}
EXE_RTN = {
    1: "succeeded",
    2: "failed, reason unknown",
    3: "condition error",
    4: "timed out",
    5: "busy",
    6: "system fault",
    100: "no data",
}


def needs_data_reply(packet: Packet) -> bool:
    """Whether ``packet`` is an upload the logger expects a 9014 for."""
    return packet.cn in UPLOADS and (packet.flag is None or packet.ack_required)


def needs_notification_reply(packet: Packet) -> bool:
    return packet.cn in NOTIFICATIONS


def data_reply(upload: Packet) -> Packet:
    """The 9014 data reply to ``upload``."""
    return _reply(upload, "9014")


def notification_reply(notice: Packet) -> Packet:
    """The 9013 notification reply to ``notice``."""
    return _reply(notice, "9013")


def _reply(to: Packet, cn: str) -> Packet:
    if to.edition is Edition.HJT212_2005:
        params = {"QN": to.qn} if to.qn is not None else {}
        if cn == "9014":
            params["CN"] = to.cn
        flag = None if to.flag is None else 0
        return Packet(
            st=ST_INTERACTION, cn=cn, pw=to.pw, mn=to.mn, flag=flag, cp=DataArea.of(params)
        )
    # the version bits of the packet answered (also when this codec does not know them)
    flag = (to.flag or 0) & ~0b11
    return Packet(
        qn=to.qn, st=ST_INTERACTION, cn=cn, pw=to.pw, mn=to.mn, flag=flag, cp=DataArea.of()
    )


def command(
    to: Packet, cn: str, params: dict[str, str], now: datetime, *, ack: bool = True
) -> Packet:
    """A command from the platform to the logger that sent ``to`` (same ST, PW, MN, edition).

    Its QN is ``now`` in China Standard Time to the millisecond; with ``ack`` (the default)
    the logger is asked for its 9011 answer.
    """
    edition = to.edition or Edition.HJ212_2017
    return Packet(
        qn=make_qn(now),
        st=to.st,
        cn=cn,
        pw=to.pw,
        mn=to.mn,
        flag=make_flag(edition, ack=ack),
        cp=DataArea.of(params),
    )


def set_time(request: Packet, now: datetime) -> Packet:
    """The 1012 answer to a 1013 time-calibration request: ``SystemTime`` = ``now`` (CST).

    The request's ``PolId`` (which instrument asks) is echoed.
    """
    params: dict[str, str] = {}
    pol = request.cp.get("PolId")
    if pol is not None:
        params["PolId"] = pol
    params["SystemTime"] = format_time(now)
    return command(request, "1012", params, now)


@dataclass(frozen=True, slots=True)
class CommandReply:
    """A logger's answer to a command: 9011 (``QnRtn``) or 9012 (``ExeRtn``).

    ``qn`` is the QN of the command answered; ``code`` None (with ``error``) when the packet
    is not such an answer or carries no readable code.
    """

    cn: str
    qn: str | None
    code: int | None
    meaning: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def accepted(self) -> bool:
        """9011 ``QnRtn=1`` (will execute) or 9012 ``ExeRtn=1`` (done)."""
        return self.code == 1


def parse_command_reply(packet: Packet) -> CommandReply:
    """Read a 9011 or 9012 packet; 2005-era ones carry the QN answered in the data area."""
    qn = packet.qn if packet.qn is not None else packet.cp.get("QN")
    if packet.cn not in ("9011", "9012"):
        return CommandReply(packet.cn, qn, None, error="not_a_command_reply")
    key, meanings = ("QnRtn", QN_RTN) if packet.cn == "9011" else ("ExeRtn", EXE_RTN)
    raw = packet.cp.get(key)
    if raw is None:
        return CommandReply(packet.cn, qn, None, error="missing_code")
    if not raw.isascii() or not raw.isdigit():
        return CommandReply(packet.cn, qn, None, error="bad_code")
    code = int(raw)
    return CommandReply(packet.cn, qn, code, meanings.get(code, "unknown code"))
