"""The two CRCs HJ 212 loggers send: the standard's Appendix A CRC and CRC-16/MODBUS.

HJ 212 Appendix A is *not* CRC-16/MODBUS although it uses the same constant (0xA001,
reflected 0x8005) and start value (0xFFFF). For each byte the standard sets the register to
``(register >> 8) XOR byte`` — the low byte is thrown away — and then shifts eight times;
MODBUS XORs the byte into the low byte and keeps the high byte. So the standard's register
carries only eight bits from one byte to the next, and a frame's check value is one of 256
(the low byte is always 00/01/40/41/80/81/C0/C1): a weak check, never the only one.

Check values: ``b"123456789"`` gives 0x2F80 (HJ 212) and 0x4B37 (MODBUS).
Some vendors' loggers compute MODBUS instead; which one a device uses is its setting.
"""

from __future__ import annotations

from enum import StrEnum


class CrcVariant(StrEnum):
    HJ212 = "hj212"  # HJ 212-2017 Appendix A (also HJ/T 212-2005 and, per reports, 2025)
    MODBUS = "modbus"  # true CRC-16/MODBUS, sent by some field devices


def _table() -> tuple[int, ...]:
    out = []
    for i in range(256):
        reg = i
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        out.append(reg)
    return tuple(out)


# T[i]: i run through the eight shift-and-XOR steps. Both algorithms use it.
_T = _table()


def crc_hj212(data: bytes) -> int:
    """The CRC of HJ 212 Appendix A over ``data`` (the data segment's bytes)."""
    reg = 0xFFFF
    for b in data:
        reg = _T[(reg >> 8) ^ b]
    return reg


def crc_modbus(data: bytes) -> int:
    """CRC-16/MODBUS over ``data``."""
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ _T[(reg ^ b) & 0xFF]
    return reg


def crc(data: bytes, variant: CrcVariant = CrcVariant.HJ212) -> int:
    return crc_hj212(data) if variant is CrcVariant.HJ212 else crc_modbus(data)


def crc_text(data: bytes, variant: CrcVariant = CrcVariant.HJ212) -> str:
    """The CRC as a packet carries it: four upper-case hex digits, high byte first."""
    return f"{crc(data, variant):04X}"


def matching_variant(data: bytes, text: str | bytes) -> CrcVariant | None:
    """Which algorithm ``text`` (four hex digits, either case) is the CRC of ``data`` under.

    The standard's algorithm wins when both match (with 256 possible values it happens).
    None when neither matches or ``text`` is not four hex digits.
    """
    value = parse_crc(text)
    if value is None:
        return None
    if crc_hj212(data) == value:
        return CrcVariant.HJ212
    if crc_modbus(data) == value:
        return CrcVariant.MODBUS
    return None


_HEX = frozenset(b"0123456789abcdefABCDEF")


def parse_crc(text: str | bytes) -> int | None:
    """Four hex digits (either case) as an int; None for anything else."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if len(raw) != 4 or not all(c in _HEX for c in raw):
        return None
    return int(raw, 16)
