"""SM4 encryption of the data area (HJ 212-2025), as pure functions that never raise.

HJ 212-2025 has a logger encrypt the data area of its data commands (CN 2000-2999), of
1014 (new key) and of 3020 (field-unit information) with SM4 (GB/T 32907). Its text was
not available here: this follows public guides (a Node-RED integration guide checked
against the 2025 text, and the Appendix A.2 examples as transcribed by an open
implementation), and every choice below that they leave open is marked *unconfirmed*.

- SM4 with a 128-bit key in ECB mode, **no padding**: each whole 16-byte block of the
  data area is encrypted and a last piece shorter than a block travels in clear (the
  guides agree; Appendix A.2 has an example of each case).
- What is encrypted is the data area: the bytes between ``CP=&&`` and the closing ``&&``
  (the guides agree). The header stays in clear, so the MN and CN say which key to use.
- *Unconfirmed*: the ciphertext travels as raw bytes in place of the plaintext, so the
  data segment keeps its length. The standard's example prints the bytes as
  ``{0xE4,0x3E,…}`` yet keeps the length field of the plaintext, which only raw bytes
  make true (the printed text would also break the 1,024-byte limit).
- *Unconfirmed*: the CRC is computed over the data segment in clear, as in the example
  (its CRC is the plaintext's). :func:`~ingest.hj212.frame.verify` also accepts a CRC
  over the bytes sent, for loggers that compute it last.
- Only what a logger sends is encrypted here: the platform's replies (9013, 9014) and
  commands (1012, 1002) carry no data area to protect. Whether a history request from
  the platform (CN 2031/2051/2061) is encrypted is not said (*unconfirmed*; it is not).

With no padding, a wrong key cannot be told from a corrupt packet by the cipher itself:
a wrong key gives a data area that is not UTF-8 or not ``key=value`` (then the decoder
says ``bad_cipher``), or — when the CRC was over the plaintext — a CRC that fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ingest.hj212.reasons import Fault

BLOCK = 16  # bytes: SM4's block and key size
CP_OPEN = b"CP=&&"
CP_CLOSE = b"&&"
# CN 1014 (new key) and 3020 (field-unit information) besides the data commands 2000-2999
ENCRYPTED_OTHER = frozenset({"1014", "3020"})
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}", re.ASCII)


class Sm4Key:
    """A 128-bit SM4 key. Its repr and str are masked, so no log line or error shows it."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != BLOCK:
            raise ValueError(f"an SM4 key has {BLOCK} bytes")  # the value is never shown
        self._raw = bytes(raw)

    @classmethod
    def from_hex(cls, text: str) -> Sm4Key | None:
        """The key written as 32 hex digits; None for anything else."""
        return cls(bytes.fromhex(text)) if _HEX32.fullmatch(text) else None

    @property
    def raw(self) -> bytes:
        return self._raw

    def __repr__(self) -> str:
        return "Sm4Key(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm4Key) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)


KeyLookup = Callable[[str], Sm4Key | None]
"""MN → the SM4 key its logger encrypts with (None: it does not encrypt)."""


def encrypts(cn: str) -> bool:
    """Whether a logger encrypts the data area of a packet with this CN (HJ 212-2025)."""
    return (cn.isascii() and cn.isdigit() and 2000 <= int(cn) <= 2999) or cn in ENCRYPTED_OTHER


def encrypt(key: Sm4Key, data: bytes) -> bytes:
    """SM4-ECB over the whole blocks of ``data``; a last piece under 16 bytes stays as it is."""
    return _ecb(key, data, decrypt=False)


def decrypt(key: Sm4Key, data: bytes) -> bytes:
    """The inverse of :func:`encrypt` (with a wrong key: other bytes, never an error)."""
    return _ecb(key, data, decrypt=True)


def _ecb(key: Sm4Key, data: bytes, *, decrypt: bool) -> bytes:
    whole = len(data) - len(data) % BLOCK
    if whole == 0:
        return data
    cipher = Cipher(algorithms.SM4(key.raw), modes.ECB())  # noqa: S305 - HJ 212-2025's mode
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data[:whole]) + ctx.finalize() + data[whole:]


@dataclass(frozen=True, slots=True)
class Opened:
    """A data segment with its data area decrypted, or why it could not be.

    ``segment`` is there whenever the data area could be found — also when it does not
    read as text once decrypted (``bad_cipher``), since its CRC may still be checked.
    """

    segment: bytes | None
    error: Fault | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def data_area(segment: bytes) -> tuple[int, int] | None:
    """Where the data area of ``segment`` starts and ends, or None when it has none.

    It starts after the first ``CP=&&`` (no header value may hold ``&``) and ends before
    the segment's closing ``&&``, so an encrypted area may hold any byte.
    """
    at = segment.find(CP_OPEN)
    if at < 0 or (at > 0 and segment[at - 1] != ord(";")):
        return None
    start, end = at + len(CP_OPEN), len(segment) - len(CP_CLOSE)
    if end < start or not segment.endswith(CP_CLOSE):
        return None
    return start, end


def encrypt_segment(segment: bytes, key: Sm4Key) -> bytes | None:
    """``segment`` (a data segment in clear) with its data area encrypted; None without one."""
    span = data_area(segment)
    if span is None:
        return None
    start, end = span
    return segment[:start] + encrypt(key, segment[start:end]) + segment[end:]


def decrypt_segment(segment: bytes, key: Sm4Key) -> Opened:
    """``segment`` (as sent) with its data area decrypted under ``key``."""
    span = data_area(segment)
    if span is None:
        return Opened(None, Fault.BAD_CP, "no CP=&&…&& to decrypt")
    start, end = span
    area = decrypt(key, segment[start:end])
    opened = segment[:start] + area + segment[end:]
    try:
        area.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"the data area is not UTF-8 once decrypted (byte {exc.start})"
        return Opened(opened, Fault.BAD_CIPHER, detail)
    return Opened(opened)


def header_value(segment: bytes, name: str) -> str | None:
    """The value of header field ``name`` (``MN``, ``CN`` …) before the data area, if any."""
    span = data_area(segment)
    head = segment[: span[0] - len(CP_OPEN)] if span is not None else segment
    prefix = name.encode("ascii") + b"="
    for field in head.split(b";"):
        if field.startswith(prefix):
            return field[len(prefix) :].decode("ascii", "replace")
    return None


def key_for(segment: bytes, keys: KeyLookup | None) -> Sm4Key | None:
    """The key to open ``segment`` with: its MN's, when its CN is one that is encrypted."""
    if keys is None:
        return None
    mn, cn = header_value(segment, "MN"), header_value(segment, "CN")
    if mn is None or cn is None or not encrypts(cn):
        return None
    return keys(mn)
