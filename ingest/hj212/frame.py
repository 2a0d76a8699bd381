"""Framing: ``##`` + four-digit length + data segment + four hex CRC + CR LF.

The length counts the data segment's UTF-8 *bytes* (HJ 212-2025 says so; 2017 speaks of
"characters", the same thing while the text is ASCII). The data segment holds at most
1024 bytes. The CRC covers the data segment only. CR LF is always sent, optional on input
(many loggers drop or mangle it).

An HJ 212-2025 logger may send its data area SM4-encrypted (:mod:`~ingest.hj212.sm4`):
the length is then that of the bytes sent (the same as in clear) and the CRC, as the
standard's example has it, the plaintext's — so a frame can be recognised only with the
key. ``keys`` (MN → key) gives it; :func:`verify` takes a CRC over the plaintext or over
the bytes sent, and the :class:`Frame` holds the segment in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ingest.hj212.crc import CrcVariant, crc_text, matching_variant, parse_crc
from ingest.hj212.reasons import EncodeError, Fault
from ingest.hj212.sm4 import KeyLookup, Sm4Key, decrypt_segment, encrypt_segment, key_for

HEADER = b"##"
TRAILER = b"\r\n"
MAX_SEGMENT = 1024
OVERHEAD = len(HEADER) + 4 + 4  # header, length field, CRC

ACCEPT_STANDARD = frozenset({CrcVariant.HJ212})
ACCEPT_ANY = frozenset(CrcVariant)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame cut from a stream: its data segment and CRC, valid under ``crc_variant``.

    ``segment`` is in clear; ``sealed`` is the segment as sent when its data area came
    SM4-encrypted (None: it came in clear).
    """

    segment: bytes
    crc: str
    crc_variant: CrcVariant
    sealed: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The frame as it came, without its CR LF."""
        body = self.segment if self.sealed is None else self.sealed
        return HEADER + b"%04d" % len(body) + body + self.crc.encode()


@dataclass(frozen=True, slots=True)
class Verified:
    """A data segment as the CRC vouches for it: in clear, with the algorithm it is valid
    under (None: neither, in clear or as sent) and the bytes sent when it was encrypted."""

    segment: bytes
    crc_variant: CrcVariant | None
    sealed: bytes | None = None


def verify(
    sent: bytes,
    crc: bytes | str,
    keys: KeyLookup | None = None,
    accept: frozenset[CrcVariant] = ACCEPT_ANY,
) -> Verified:
    """Check ``crc`` against a data segment as sent, opening it first when ``keys`` has the
    key of its MN and its CN is one that is encrypted.

    An opened segment is vouched for by a CRC over the plaintext (the standard's example)
    or, failing that, over the bytes sent; an algorithm in ``accept`` is preferred.
    """
    in_clear = matching_variant(sent, crc)
    key = key_for(sent, keys)
    opened = decrypt_segment(sent, key).segment if key is not None else None
    if opened is None:
        return Verified(sent, in_clear)
    found = (matching_variant(opened, crc), in_clear)
    variant = next((v for v in found if v in accept), None) or found[0] or found[1]
    return Verified(opened, variant, sent)


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
    sealed: bool = False  # the data area came SM4-encrypted (``segment`` is in clear)


def encode_frame(
    segment: bytes, variant: CrcVariant = CrcVariant.HJ212, key: Sm4Key | None = None
) -> bytes:
    """The frame of ``segment`` with CR LF; raises :class:`EncodeError` when it is over 1024.

    With ``key`` the data area is sent SM4-encrypted, the CRC still that of ``segment``.
    """
    if len(segment) > MAX_SEGMENT:
        raise EncodeError(
            Fault.OVERSIZE, f"data segment of {len(segment)} bytes, at most {MAX_SEGMENT}"
        )
    sent = segment
    if key is not None:
        sealed = encrypt_segment(segment, key)
        if sealed is None:
            raise EncodeError(Fault.BAD_CP, "no CP=&&…&& to encrypt")
        sent = sealed
    return HEADER + b"%04d" % len(sent) + sent + crc_text(segment, variant).encode() + TRAILER


def strip_trailer(data: bytes) -> bytes:
    """``data`` without one trailing CR LF (or a lone LF or CR)."""
    if data.endswith(TRAILER):
        return data[:-2]
    if data.endswith((b"\n", b"\r")):
        return data[:-1]
    return data


def check_frame(
    data: bytes, accept: frozenset[CrcVariant] = ACCEPT_STANDARD, keys: KeyLookup | None = None
) -> FrameCheck:
    """Check the framing of one packet (``data`` is the whole packet, CR LF optional).

    The data segment is taken as everything between the length field and the last four
    bytes, so a wrong length field still leaves the CRC checkable (a logger that counts
    Chinese characters instead of bytes shows ``crc_ok`` but not ``length_ok``). ``keys``
    opens the SM4-encrypted data areas of the MNs it knows (see :func:`verify`).
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
    sent, crc = body[6:-4], body[-4:]
    verified = verify(sent, crc, keys, accept)
    segment, variant = verified.segment, verified.crc_variant
    check = FrameCheck(
        segment,
        crc_ok=variant is CrcVariant.HJ212,
        crc_variant=variant,
        length_ok=len(sent) == declared,
        sealed=verified.sealed is not None,
    )
    fault = _fault(check, declared, segment, crc, accept)
    if fault is None:
        return check
    return replace(check, error=fault[0], detail=fault[1])


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
        opened = ", in clear or decrypted with the logger's SM4 key" if check.sealed else ""
        return Fault.BAD_CRC, f"CRC valid under {found}{opened}, expected {wanted}"
    return None
