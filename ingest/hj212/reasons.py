"""Why a packet or a span of a TCP stream was refused: short machine-readable codes."""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    # framing
    BAD_HEADER = "bad_header"  # no "##", or the length field is not four digits
    OVERSIZE = "oversize"  # the data segment is (or claims to be) over 1024 bytes
    BAD_LENGTH = "bad_length"  # the length field does not match the data segment
    BAD_CRC = "bad_crc"  # CRC missing, not hex, or not valid under the accepted algorithms
    # the data segment
    BAD_ENCODING = "bad_encoding"  # not UTF-8
    BAD_FIELD = "bad_field"  # a header field (QN … PNO) missing, unknown, repeated or malformed
    BAD_CP = "bad_cp"  # no CP=&&…&&, or an entry of the data area without "="
    BAD_CIPHER = "bad_cipher"  # an SM4 data area that does not read once decrypted (HJ 212-2025)
    # stream only
    NO_HEADER = "no_header"  # bytes between frames that start no frame
    TRUNCATED = "truncated"  # the stream ended inside a frame


class TimeFault(StrEnum):
    BAD_TIME_FORMAT = "bad_time_format"  # not one of the accepted layouts
    BAD_TIME_VALUE = "bad_time_value"  # the right layout but no such time (month 13 …)


class EncodeError(ValueError):
    """A packet that cannot be sent as given (our own bug, so it raises)."""

    def __init__(self, reason: Fault, message: str) -> None:
        super().__init__(message)
        self.reason = reason
