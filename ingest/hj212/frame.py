"""Framing: ``##`` + four-digit length + data segment + four hex CRC + CR LF.

The length counts the data segment's UTF-8 *bytes* (HJ 212-2025 says so; 2017 speaks of
"characters", the same thing while the text is ASCII). The data segment holds at most
1024 bytes. The CRC covers the data segment only. CR LF is always sent, optional on input
(many loggers drop or mangle it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.hj212.crc import CrcVariant, crc_text, matching_variant, parse_crc
from ingest.hj212.reasons import EncodeError, Fault

HEADER = b"##"
TRAILER = b"\r\n"
MAX_SEGMENT = 1024
OVERHEAD = len(HEADER) + 4 + 4  # header, length field, CRC

ACCEPT_STANDARD = frozenset({CrcVariant.HJ212})
ACCEPT_ANY = frozenset(CrcVariant)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame cut from a stream: its data segment and CRC, valid under ``crc_variant``."""

    segment: bytes
    crc: str
    crc_variant: CrcVariant

    @property
    def wire(self) -> bytes:
        """The frame as it came, without its CR LF."""
        return HEADER + b"%04d" % len(self.segment) + self.segment + self.crc.encode()


@dataclass(frozen=True, slots=True)
class FrameCheck:
    """What the framing of one packet says.

    ``segment`` is None when no data segment can be cut out. ``crc_ok`` is the verdict of the
    standard's algorithm; ``crc_variant`` names the algorithm the CRC is valid under (None:
    neither). ``error`` is the first framing fault, None when the frame is sound.
    """

    segment: bytes | None
    crc_ok: bool | None = None
    crc_variant: CrcVariant | None = None
    length_ok: bool | None = None
    error: Fault | None = None
    detail: str | None = None


def encode_frame(segment: bytes, variant: CrcVariant = CrcVariant.HJ212) -> bytes:
    """The frame of ``segment`` with CR LF; raises :class:`EncodeError` when it is over 1024."""
    if len(segment) > MAX_SEGMENT:
        raise EncodeError(
            Fault.OVERSIZE, f"data segment of {len(segment)} bytes, at most {MAX_SEGMENT}"
        )
    return HEADER + b"%04d" % len(segment) + segment + crc_text(segment, variant).encode() + TRAILER


def strip_trailer(data: bytes) -> bytes:
    """``data`` without one trailing CR LF (or a lone LF or CR)."""
    if data.endswith(TRAILER):
        return data[:-2]
    if data.endswith((b"\n", b"\r")):
        return data[:-1]
    return data


def check_frame(data: bytes, accept: frozenset[CrcVariant] = ACCEPT_STANDARD) -> FrameCheck:
    """Check the framing of one packet (``data`` is the whole packet, CR LF optional).

    The data segment is taken as everything between the length field and the last four
    bytes, so a wrong length field still leaves the CRC checkable (a logger that counts
    Chinese characters instead of bytes shows ``crc_ok`` but not ``length_ok``).
    """
    body = strip_trailer(data)
    if not body.startswith(HEADER):
        return FrameCheck(None, error=Fault.BAD_HEADER, detail="does not start with ##")
    field = body[2:6]
    if len(field) != 4 or not field.isdigit():
        return FrameCheck(None, error=Fault.BAD_HEADER, detail="length field is not 4 digits")
    declared = int(field)
    if len(body) < OVERHEAD:
        return FrameCheck(
            None, length_ok=False, error=Fault.BAD_LENGTH, detail="too short for a CRC"
        )
    segment, crc = body[6:-4], body[-4:]
    variant = matching_variant(segment, crc)
    check = FrameCheck(
        segment,
        crc_ok=variant is CrcVariant.HJ212,
        crc_variant=variant,
        length_ok=len(segment) == declared,
    )
    fault = _fault(check, declared, segment, crc, accept)
    if fault is None:
        return check
    return FrameCheck(
        segment, check.crc_ok, check.crc_variant, check.length_ok, error=fault[0], detail=fault[1]
    )


def _fault(
    check: FrameCheck, declared: int, segment: bytes, crc: bytes, accept: frozenset[CrcVariant]
) -> tuple[Fault, str] | None:
    if declared > MAX_SEGMENT or len(segment) > MAX_SEGMENT:
        size = max(declared, len(segment))
        return Fault.OVERSIZE, f"data segment of {size} bytes, at most {MAX_SEGMENT}"
    if not check.length_ok:
        detail = f"length field {declared}, data segment {len(segment)} bytes"
        try:
            if len(segment.decode()) == declared:
                detail += " (the length counts characters, not bytes)"
        except UnicodeDecodeError:
            pass
        return Fault.BAD_LENGTH, detail
    if parse_crc(crc) is None:
        return Fault.BAD_CRC, "CRC is not 4 hex digits"
    if check.crc_variant not in accept:
        found = check.crc_variant or "neither algorithm"
        wanted = "/".join(sorted(accept))
        return Fault.BAD_CRC, f"CRC valid under {found}, expected {wanted}"
    return None
