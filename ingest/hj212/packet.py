"""The data segment: ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;PNUM=…;PNO=…;CP=&&…&&``.

Decoding never raises: :func:`decode_packet` (one whole packet, e.g. a line) and
:func:`decode_frame` (a frame cut by :class:`~ingest.hj212.stream.FrameBuffer`) return a
:class:`Decoded` whose ``error`` is a :class:`~ingest.hj212.reasons.Fault`. Semantic checks
(is the MN registered, is the PW right, is the CN one we serve) are the gateway's.

Flag, most significant bit first: V5 V4 V3 V2 V1 V0 D A. V5..V0 is the edition
(000000 HJ/T 212-2005, 000001 HJ 212-2017, 000010 HJ 212-2025), D says PNUM and PNO are
present, A that the sender wants an acknowledgement. A packet without Flag is 2005-era
(those loggers often send neither QN nor Flag).

:func:`encode_packet` is the inverse of decoding: ``decode_packet(encode_packet(p)).packet
== p``, and a packet received in the standard's field order encodes back to its bytes.
With an SM4 key (HJ 212-2025) the data area goes encrypted and comes back in clear given
the key (:mod:`~ingest.hj212.sm4`); one that does not read once decrypted is ``bad_cipher``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from ingest.hj212.cp import DataArea
from ingest.hj212.crc import CrcVariant
from ingest.hj212.frame import ACCEPT_STANDARD, Frame, FrameCheck, check_frame, encode_frame
from ingest.hj212.reasons import EncodeError, Fault
from ingest.hj212.sm4 import KeyLookup, Sm4Key, encrypts

FLAG_ACK = 0b01  # A: acknowledgement required
FLAG_SPLIT = 0b10  # D: PNUM and PNO present
HEADER_FIELDS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")


class Edition(StrEnum):
    HJT212_2005 = "2005"
    HJ212_2017 = "2017"
    HJ212_2025 = "2025"


_EDITION_BITS = {0: Edition.HJT212_2005, 1: Edition.HJ212_2017, 2: Edition.HJ212_2025}
_BITS_OF = {e: b for b, e in _EDITION_BITS.items()}
_ST = re.compile(r"[A-Za-z0-9]{1,2}", re.ASCII)
_CN = re.compile(r"\d{4}", re.ASCII)
_FORBIDDEN = frozenset(";&\r\n")
_MN_PEEK = re.compile(rb"(?:^|[;#0-9])MN=([^;&]*)")
_UNREADABLE = frozenset({Fault.BAD_ENCODING, Fault.BAD_CP})


def make_flag(edition: Edition, *, ack: bool = False, split: bool = False) -> int:
    """The Flag value for ``edition`` with the A and D bits as given."""
    return _BITS_OF[edition] << 2 | (FLAG_SPLIT if split else 0) | (FLAG_ACK if ack else 0)


@dataclass(frozen=True, slots=True)
class Packet:
    """One data segment. Header values are the text sent; ``flag``, ``pnum``, ``pno`` ints."""

    st: str
    cn: str
    cp: DataArea
    qn: str | None = None
    pw: str | None = None
    mn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None

    @property
    def edition(self) -> Edition | None:
        """The edition the Flag names; 2005 without Flag; None for unknown version bits."""
        if self.flag is None:
            return Edition.HJT212_2005
        return _EDITION_BITS.get(self.flag >> 2)

    @property
    def ack_required(self) -> bool:
        """Flag bit A. (A 2005 logger without Flag also expects a 9014: see replies.)"""
        return self.flag is not None and bool(self.flag & FLAG_ACK)

    @property
    def split(self) -> bool:
        """One part of a split packet (PNUM/PNO present)."""
        return self.pnum is not None


@dataclass(frozen=True, slots=True)
class Decoded:
    """The result of decoding one packet.

    ``packet`` is there whenever the data segment could be read — also when the frame is
    faulty, for logging; act on it only when ``ok``. ``mn`` is the MN when it could be read
    at all. ``crc_ok`` is the verdict of the standard's algorithm; ``crc_variant`` the
    algorithm the CRC is valid under (None: neither). ``encrypted``: the data area came
    SM4-encrypted and was opened.
    """

    packet: Packet | None
    error: Fault | None = None
    detail: str | None = None
    crc_ok: bool | None = None
    crc_variant: CrcVariant | None = None
    length_ok: bool | None = None
    mn: str | None = None
    encrypted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class SegmentParse:
    packet: Packet | None
    error: Fault | None = None
    detail: str | None = None


def decode_packet(
    data: bytes, accept: frozenset[CrcVariant] = ACCEPT_STANDARD, keys: KeyLookup | None = None
) -> Decoded:
    """Decode one whole packet (``##`` … CRC, CR LF optional); ``accept``: CRCs allowed;
    ``keys``: the SM4 key of each MN whose logger encrypts its data area."""
    return _decoded(check_frame(data, accept, keys), data)


def decode_frame(frame: Frame, accept: frozenset[CrcVariant] = ACCEPT_STANDARD) -> Decoded:
    """Decode a frame cut from a stream, holding it to the device's CRC algorithm(s)."""
    check = FrameCheck(
        frame.segment,
        crc_ok=frame.crc_variant is CrcVariant.HJ212,
        crc_variant=frame.crc_variant,
        length_ok=True,
        sealed=frame.sealed is not None,
    )
    if frame.crc_variant not in accept:
        wanted = "/".join(sorted(accept))
        check = replace(
            check, error=Fault.BAD_CRC, detail=f"CRC is {frame.crc_variant}, expected {wanted}"
        )
    return _decoded(check, frame.segment)


def _decoded(check: FrameCheck, data: bytes) -> Decoded:
    if check.segment is None:
        return Decoded(None, check.error, check.detail, mn=_peek_mn(data))
    parsed = parse_segment(check.segment)
    error, detail = (
        (check.error, check.detail) if check.error is not None else (parsed.error, parsed.detail)
    )
    if check.sealed and error in _UNREADABLE:  # the header reads, so the key is to blame
        detail = f"the data area does not read once decrypted with the logger's key: {detail}"
        error = Fault.BAD_CIPHER
    mn = parsed.packet.mn if parsed.packet is not None else _peek_mn(data)
    return Decoded(
        parsed.packet,
        error,
        detail,
        check.crc_ok,
        check.crc_variant,
        check.length_ok,
        mn,
        encrypted=check.sealed,
    )


def _peek_mn(data: bytes) -> str | None:
    """The MN of a packet that could not be read, for the log."""
    m = _MN_PEEK.search(data)
    return m.group(1).decode("utf-8", "replace") if m else None


def parse_segment(segment: bytes) -> SegmentParse:
    """Read a data segment into a :class:`Packet`, or say what is wrong with it."""
    try:
        text = segment.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SegmentParse(None, Fault.BAD_ENCODING, f"not UTF-8 at byte {exc.start}")
    header = _read_header(text)
    if isinstance(header, SegmentParse):
        return header
    fields, pos = header
    body = text[pos + 3 :]
    if len(body) < 4 or not body.startswith("&&") or not body.endswith("&&"):
        return SegmentParse(None, Fault.BAD_CP, "CP is not enclosed in && … &&")
    cp = DataArea.parse(body[2:-2])
    if isinstance(cp, str):
        return SegmentParse(None, Fault.BAD_CP, cp)
    return _packet(fields, cp)


def _read_header(text: str) -> tuple[dict[str, str], int] | SegmentParse:
    """The fields before CP, and where CP starts."""
    fields: dict[str, str] = {}
    pos = 0
    while not text.startswith("CP=", pos):
        end = text.find(";", pos)
        if end < 0:
            return SegmentParse(None, Fault.BAD_CP, "no CP field")
        name, eq, value = text[pos:end].partition("=")
        if not eq or name not in HEADER_FIELDS or name in fields:
            what = "has no '='" if not eq else "given twice" if name in fields else "unknown"
            return SegmentParse(None, Fault.BAD_FIELD, f"field {name[:20]!r} {what}")
        fields[name] = value
        pos = end + 1
    return fields, pos


def _packet(fields: dict[str, str], cp: DataArea) -> SegmentParse:
    st, cn = fields.get("ST"), fields.get("CN")
    if st is None or _ST.fullmatch(st) is None:
        return SegmentParse(None, Fault.BAD_FIELD, "ST missing or not 1-2 letters/digits")
    if cn is None or _CN.fullmatch(cn) is None:
        return SegmentParse(None, Fault.BAD_FIELD, "CN missing or not 4 digits")
    numbers: dict[str, int | None] = {}
    for name, top in (("Flag", 255), ("PNUM", 9999), ("PNO", 9999)):
        raw = fields.get(name)
        if raw is not None and (not raw.isascii() or not raw.isdigit() or int(raw) > top):
            return SegmentParse(None, Fault.BAD_FIELD, f"{name}={raw[:10]} is not 0..{top}")
        numbers[name] = int(raw) if raw is not None else None
    pnum, pno = numbers["PNUM"], numbers["PNO"]
    if (pnum is None) != (pno is None):
        return SegmentParse(None, Fault.BAD_FIELD, "PNUM and PNO come together")
    if pnum is not None and pno is not None and not 1 <= pno <= pnum:
        return SegmentParse(None, Fault.BAD_FIELD, f"PNO={pno} outside 1..PNUM={pnum}")
    packet = Packet(
        st=st,
        cn=cn,
        cp=cp,
        qn=fields.get("QN"),
        pw=fields.get("PW"),
        mn=fields.get("MN"),
        flag=numbers["Flag"],
        pnum=pnum,
        pno=pno,
    )
    return SegmentParse(packet)


def encode_segment(packet: Packet) -> bytes:
    """The data segment of ``packet`` in the standard's field order (UTF-8)."""
    parse = _packet(_header_values(packet), packet.cp)
    if parse.error is not None:
        raise EncodeError(parse.error, parse.detail or parse.error)
    header = "".join(
        f"{name}={value};"
        for name, value in zip(HEADER_FIELDS, _ordered_values(packet), strict=True)
        if value is not None
    )
    return f"{header}CP=&&{packet.cp.text}&&".encode()


def encode_packet(
    packet: Packet, variant: CrcVariant = CrcVariant.HJ212, key: Sm4Key | None = None
) -> bytes:
    """The whole packet, CR LF included; raises :class:`EncodeError` if it cannot be sent.

    ``key``: the logger's SM4 key; the data area is encrypted when the CN is one that
    HJ 212-2025 encrypts (:func:`~ingest.hj212.sm4.encrypts`), and sent in clear otherwise.
    """
    sealing = key if key is not None and encrypts(packet.cn) else None
    return encode_frame(encode_segment(packet), variant, sealing)


def _ordered_values(p: Packet) -> tuple[str | None, ...]:
    def num(v: int | None) -> str | None:
        return None if v is None else str(v)

    return (p.qn, p.st, p.cn, p.pw, p.mn, num(p.flag), num(p.pnum), num(p.pno))


def _header_values(packet: Packet) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in zip(HEADER_FIELDS, _ordered_values(packet), strict=True):
        if value is None:
            continue
        if _FORBIDDEN.intersection(value):
            raise EncodeError(Fault.BAD_FIELD, f"{name}={value!r} cannot be sent")
        out[name] = value
    return out
