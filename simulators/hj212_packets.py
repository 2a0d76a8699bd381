"""What a simulated HJ 212 data logger sends, as bytes: pure, no sockets, no clock.

A :class:`LoggerProfile` is one registry site's logger: its MN, PW, ST, edition, CRC and
the code table with its own units. It turns a reading of the feed's simulator into the
data area of an upload — each field in the logger's unit (``-Rtd`` for real-time data,
``-Avg``/``-Min``/``-Max`` for minute, hourly and daily data), an HJ/T 212-2005 logger with
the 2005 codes where there are any and no Flag — and frames it with the vendor's CRC; an
HJ 212-2025 logger with an SM4 key sends the data area of its uploads encrypted.

Analysers calibrate for ten minutes a day at a time of their own (a hash of the device),
and their values are flagged ``C`` meanwhile; the rest ``N``.

:func:`malformed` makes the bad traffic the gateway must refuse, each with the reason it
must give: a CRC valid under neither algorithm, a length field that lies, an MN no site
has, a wrong PW, modem noise between frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ingest.feeds import Payload
from ingest.hj212 import (
    LEGACY_CODES,
    CrcVariant,
    DataArea,
    Edition,
    Packet,
    Sm4Key,
    crc_hj212,
    crc_modbus,
    encode_packet,
    encode_segment,
    encrypt_segment,
    encrypts,
    format_time,
    make_flag,
    make_qn,
)
from ingest.registry import Hj212Logger, Registry
from ingest.units import convert, field_unit
from simulators._signals import unit

CALIBRATION = timedelta(minutes=10)
DAY = timedelta(days=1)
# the analysers that calibrate (flow meters and weather sensors do not)
CALIBRATED = frozenset(
    {
        "effluent_cod_mgl",
        "effluent_nh3n_mgl",
        "effluent_tn_mgl",
        "effluent_tp_mgl",
        "pm25_ugm3",
        "pm10_ugm3",
        "so2_ugm3",
        "no2_ugm3",
        "o3_ugm3",
        "co_mgm3",
    }
)
OLD_CODES = {new: old for old, new in LEGACY_CODES.items()}
MALFORMED = ("bad_crc", "bad_length", "unknown_mn", "wrong_pw", "no_header")
MODEM_NOISE = (b"AT+CSQ\r\n+CSQ: 23,99\r\nOK\r\n", b"+++", b"\x00\x00\xff\xfe", b"RDY\r\n")


@dataclass(frozen=True, slots=True)
class Code:
    code: str  # as the logger sends it (2005 code for an HJ/T 212-2005 logger)
    field: str
    unit: str  # the logger's
    stored_in: str  # the field's


@dataclass(frozen=True, slots=True)
class LoggerProfile:
    device_id: str
    feed: str
    cfg: Hj212Logger
    codes: tuple[Code, ...]

    @property
    def edition(self) -> Edition:
        return Edition(self.cfg.edition)

    @property
    def crc(self) -> CrcVariant:
        return self.cfg.crc

    @property
    def legacy(self) -> bool:
        return self.edition is Edition.HJT212_2005

    @property
    def key(self) -> Sm4Key | None:
        """The SM4 key an HJ 212-2025 logger encrypts its uploads' data areas with."""
        return self.cfg.key

    def flag_for(self, field: str, at: datetime, seed: int) -> str:
        """``C`` while the field's analyser calibrates, else ``N``."""
        if field not in CALIBRATED:
            return "N"
        start = unit(seed, self.device_id, "calibration") * (DAY - CALIBRATION)
        into_day = (at - at.replace(hour=0, minute=0, second=0, microsecond=0)) % DAY
        return "C" if start <= into_day < start + CALIBRATION else "N"

    def items(self, payload: Payload, cn: str, seed: int) -> dict[str, dict[str, str]]:
        """The data area's pollutant items for ``payload`` sent as upload ``cn``."""
        out: dict[str, dict[str, str]] = {}
        for c in self.codes:
            value = getattr(payload, c.field)
            if value is None:
                continue
            text = _number(convert(float(value), c.stored_in, c.unit))
            fields = {"Rtd": text} if cn == "2011" else {"Avg": text, "Min": text, "Max": text}
            if not self.legacy:
                fields["Flag"] = self.flag_for(c.field, payload.ts, seed)
            out[c.code] = fields
        return out

    def packet(
        self, cn: str, data_time: datetime, items: dict[str, dict[str, str]], qn: str
    ) -> Packet:
        """An upload asking for its 9014 (a 2005 logger sends no Flag: the reply is due)."""
        return Packet(
            st=self.cfg.st,
            cn=cn,
            cp=DataArea.of({"DataTime": format_time(data_time)}, items),
            qn=qn,
            pw=self.cfg.pw,
            mn=self.cfg.mn,
            flag=None if self.legacy else make_flag(self.edition, ack=True),
        )

    def notice(self, cn: str, params: dict[str, str], qn: str) -> Packet:
        """A packet of the logger's own that asks for the platform's answer (9015, 1001)."""
        return Packet(
            st=self.cfg.st,
            cn=cn,
            cp=DataArea.of(params),
            qn=qn,
            pw=self.cfg.pw,
            mn=self.cfg.mn,
            flag=None if self.legacy else make_flag(self.edition, ack=True),
        )

    def reply(self, to: Packet, cn: str, params: dict[str, str]) -> Packet:
        """A 9011/9012 answer to a command of the platform."""
        return Packet(
            st="91",
            cn=cn,
            cp=DataArea.of(params),
            qn=to.qn,
            pw=self.cfg.pw,
            mn=self.cfg.mn,
            flag=None if self.legacy else make_flag(self.edition),
        )

    def frame(self, packet: Packet) -> bytes:
        return encode_packet(packet, self.crc, self.key)


def profiles(registry: Registry) -> list[LoggerProfile]:
    """The loggers of the sites that report over HJ 212."""
    out = []
    for feed, site in registry.hj212_sites():
        cfg = site.hj212
        assert cfg is not None
        legacy = cfg.edition == Edition.HJT212_2005.value
        codes = []
        for code, m in registry.hj212_codes[cfg.st].items():
            stored_in = field_unit(m.field)
            assert stored_in is not None
            sent = OLD_CODES.get(code, code) if legacy else code
            codes.append(Code(sent, m.field, cfg.units.get(code, m.unit), stored_in))
        out.append(LoggerProfile(site.id, feed, cfg, tuple(codes)))
    return out


def qn_for(at: datetime, k: int = 0) -> str:
    """A distinct QN for the k-th packet a logger sends at ``at``."""
    return make_qn(at + timedelta(milliseconds=k))


def split(packet: Packet, parts: int) -> list[Packet]:
    """``packet`` as ``parts`` packets (PNUM/PNO), its data area's items shared out."""
    items = packet.cp.items_raw
    size = -(-len(items) // parts)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    # D bit set; a 2005 logger sends no Flag at all (and is answered all the same)
    flag = None if packet.flag is None else packet.flag | 0b10
    return [
        Packet(
            st=packet.st,
            cn=packet.cn,
            cp=DataArea.build(chunk),
            qn=packet.qn,
            pw=packet.pw,
            mn=packet.mn,
            flag=flag,
            pnum=len(chunks),
            pno=n,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


def malformed(profile: LoggerProfile, good: Packet, reason: str, pick: float) -> bytes:
    """Bad traffic derived from ``good``, which the gateway must refuse with ``reason``."""
    if reason == "bad_crc":
        segment = encode_segment(good)
        sent = _sent(profile, good.cn, segment)
        valid = {f(b) for f in (crc_hj212, crc_modbus) for b in (segment, sent)}
        for flip in range(1, 0x10000):  # the first CRC valid under neither, in clear or sent
            crc = (crc_hj212(segment) ^ flip) & 0xFFFF
            if crc not in valid:
                return b"##%04d" % len(sent) + sent + b"%04X\r\n" % crc
    frame = profile.frame(good)
    if reason == "bad_length":  # claims 7 bytes more than it has
        return frame[:2] + b"%04d" % (int(frame[2:6]) + 7) + frame[6:]
    if reason == "unknown_mn":  # another logger's, with no key of the district's
        stranger = f"01FFFFFFF{int(pick * 16**15):015X}"
        return encode_packet(replace(good, mn=stranger), profile.crc)
    if reason == "wrong_pw":
        pw = good.pw or ""
        return profile.frame(replace(good, pw="000000" if pw != "000000" else "111111"))
    if reason == "no_header":
        return MODEM_NOISE[int(pick * len(MODEM_NOISE))]
    raise ValueError(f"no malformed traffic for {reason!r}")


def _sent(profile: LoggerProfile, cn: str, segment: bytes) -> bytes:
    """``segment`` as the logger sends it: its data area encrypted when it should be."""
    if profile.key is None or not encrypts(cn):
        return segment
    return encrypt_segment(segment, profile.key) or segment


def periods(start: datetime, end: datetime | None, step: timedelta) -> Iterator[datetime]:
    """Period starts ``k x step`` after midnight UTC of ``start``'s day, from ``start`` on."""
    origin = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t = origin + -(-(start - origin) // step) * step
    while end is None or t < end:
        yield t
        t += step


def _number(value: float) -> str:
    """A value as loggers write it: fixed decimals, no exponent, no trailing zeros."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
