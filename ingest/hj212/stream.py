"""Cutting frames out of a logger's TCP stream.

TCP hands over arbitrary pieces: half a packet, several packets, line noise between them
(modems print ``AT`` replies, ``+++``, registration strings). :class:`FrameBuffer` takes the
pieces as they come and gives back, in stream order, each :class:`Frame` and each span of
:class:`Garbage` with the reason it is not a frame. Nothing raises.

Re-synchronisation: a candidate starts at ``##`` with four digits; it is a frame when the
four bytes after the declared data segment are a CRC valid under one of the accepted
algorithms. Anything else moves the search on by one byte, so a bad length or a corrupt
frame can never swallow the good frame after it. While a candidate is still incomplete,
a complete valid frame further on in the buffer proves the candidate's length wrong, so a
lost byte does not hold the next packet (and its acknowledgement) back. The buffer never
holds more than one maximal frame plus the last piece fed.

The data area of an HJ 212-2025 logger may come SM4-encrypted, with the CRC of the
plaintext: ``keys`` (MN → key) lets the buffer open such frames and hand them over in
clear (:func:`~ingest.hj212.frame.verify`); without its key such a frame is garbage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingest.hj212.crc import CrcVariant
from ingest.hj212.frame import ACCEPT_ANY, HEADER, MAX_SEGMENT, OVERHEAD, Frame, verify
from ingest.hj212.reasons import Fault
from ingest.hj212.sm4 import KeyLookup

_CR, _LF = 0x0D, 0x0A


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes of the stream that are not (part of) a frame, and why."""

    data: bytes
    reason: Fault


Event = Frame | Garbage


class FrameBuffer:
    """Frames and garbage out of a byte stream fed in arbitrary pieces.

    ``accept`` names the CRC algorithms a frame may use; both by default, since which one a
    logger uses is known only once its MN is read (the decoder then applies the device's).
    ``keys`` gives the SM4 key of each MN whose logger encrypts (None: none does).
    """

    def __init__(
        self, accept: Iterable[CrcVariant] = ACCEPT_ANY, keys: KeyLookup | None = None
    ) -> None:
        self._accept = frozenset(accept)
        self._keys = keys
        self._buf = bytearray()
        self._junk = bytearray()
        self._junk_reason = Fault.NO_HEADER
        self._trailer = 0  # CR LF bytes still allowed after the last frame

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[Event]:
        """What ``chunk`` completes: frames and garbage, in stream order."""
        self._buf += chunk
        return self._drain(final=False)

    def close(self) -> list[Event]:
        """The end of the stream: whatever is left, frames found in it and garbage."""
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[Event]:
        out: list[Event] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while pos < n:
            if self._trailer:
                pos = self._skip_trailer(pos)
                continue
            start = buf.find(HEADER, pos)
            if start < 0:
                # a last "#" may be the first half of the next header
                keep = 0 if final or buf[n - 1] != HEADER[0] else 1
                self._junk_add(buf[pos : n - keep], Fault.NO_HEADER, out)
                pos = n - keep
                break
            if start > pos:
                self._junk_add(buf[pos:start], Fault.NO_HEADER, out)
                pos = start
            step = self._candidate(pos, final)
            if step is None:
                break  # wait for more bytes
            if isinstance(step, Frame):
                self._junk_flush(out)
                out.append(step)
                pos += OVERHEAD + len(step.segment)
                self._trailer = 2
            else:
                self._junk_add(buf[pos : pos + 1], step, out)
                pos += 1
        del buf[:pos]
        self._junk_flush(out)
        return out

    def _skip_trailer(self, pos: int) -> int:
        byte = self._buf[pos]
        if byte == _CR and self._trailer == 2:
            self._trailer = 1
            return pos + 1
        self._trailer = 0
        return pos + 1 if byte == _LF else pos

    def _candidate(self, pos: int, final: bool) -> Frame | Fault | None:
        """The frame at ``pos`` (which holds ``##``), why there is none, or None to wait."""
        buf = self._buf
        if len(buf) - pos < 6:
            return Fault.TRUNCATED if final else None
        field = bytes(buf[pos + 2 : pos + 6])
        if not field.isdigit():
            return Fault.BAD_HEADER
        size = int(field)
        if size > MAX_SEGMENT:
            return Fault.OVERSIZE
        end = pos + OVERHEAD + size
        if end > len(buf):
            if final:
                return Fault.TRUNCATED
            return Fault.BAD_LENGTH if self._valid_frame_after(pos) else None
        # complete: a frame, or a CRC that fails (hex) or is not where one should be
        return self._frame_at(pos) or (
            Fault.BAD_CRC if _is_hex(bytes(buf[end - 4 : end])) else Fault.BAD_LENGTH
        )

    def _frame_at(self, pos: int) -> Frame | None:
        buf = self._buf
        field = bytes(buf[pos + 2 : pos + 6])
        if len(field) != 4 or not field.isdigit():
            return None
        size = int(field)
        end = pos + OVERHEAD + size
        if size > MAX_SEGMENT or end > len(buf):
            return None
        crc = bytes(buf[end - 4 : end])
        checked = verify(bytes(buf[pos + 6 : end - 4]), crc, self._keys, self._accept)
        variant = checked.crc_variant
        if variant is None or variant not in self._accept:
            return None
        return Frame(checked.segment, crc.decode("ascii"), variant, checked.sealed)

    def _valid_frame_after(self, pos: int) -> bool:
        at = self._buf.find(HEADER, pos + 1)
        while at >= 0:
            if self._frame_at(at) is not None:
                return True
            at = self._buf.find(HEADER, at + 1)
        return False

    def _junk_add(self, data: bytearray, reason: Fault, out: list[Event]) -> None:
        if not data:
            return
        # Bytes that start no frame join the span before them, so a corrupt frame comes out
        # as one span under the reason found at its start.
        if self._junk and reason is not Fault.NO_HEADER and reason is not self._junk_reason:
            self._junk_flush(out)
        if not self._junk:
            self._junk_reason = reason
        self._junk += data

    def _junk_flush(self, out: list[Event]) -> None:
        if self._junk:
            out.append(Garbage(bytes(self._junk), self._junk_reason))
            self._junk.clear()


def _is_hex(data: bytes) -> bool:
    return len(data) == 4 and all(c in b"0123456789abcdefABCDEF" for c in data)
