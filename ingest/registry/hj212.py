"""The HJ 212 side of the registry: each data logger's MN, password, edition, CRC and codes.

A plant (ST 32) or an air station (ST 22) reports either over MQTT or through its HJ 212
data logger: ``transport`` says which. Every logger of one system code shares the
registry's pollutant-code mapping (``hj212_codes``: code → the wire-contract field and the
unit the loggers send it in); a logger whose instruments send another unit names it in
``units`` (code → unit), and the gateway converts on ingest (HJ 212-2017 App. B itself
gives PM in ng/m³, and field feeds send µg/m³, mg/m³ or ng/m³).

An HJ 212-2025 logger may also have a hardware ``serial`` (it uploads it with CN 1001 and
the platform answers with its MN, CN 1002), a ``heartbeat_s`` (its 9015 interval, which
the gateway's idle timeout follows) and an ``sm4_key`` (32 hex digits: it encrypts its
data area). The key, like the PW, lives in this file only: it is a ``SecretStr``, the
registry's validation errors never echo their input, and the device table does not get it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    model_validator,
)

from ingest.feeds import kind_for
from ingest.hj212 import CrcVariant, Edition, Sm4Key
from ingest.units import UnitError, factor, field_unit

Transport = Literal["mqtt", "hj212"]
SystemCode = Literal["22", "32"]
ReadingsCn = Literal["2011", "2051", "2061"]

# The system code of each feed's loggers and the message kind their readings become.
ST_KINDS: Mapping[str, tuple[str, str]] = {
    "32": ("wastewater", "reading"),
    "22": ("air", "reading"),
}
MN_2017 = r"^[0-9A-F]{24}$"  # HJ 212-2017/2025: 24 hex characters (EPC-96)
MN_2005 = r"^[0-9A-Za-z]{14}$"  # HJ/T 212-2005: 14 characters
SERIAL = r"^[0-9A-Za-z._-]{1,64}$"  # a logger's hardware serial (i23005-Info)
EDITION_2025_ONLY = ("serial", "heartbeat_s", "sm4_key")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeMapping(_Strict):
    """A pollutant code's wire-contract field and the unit loggers send it in."""

    field: str = Field(pattern=r"^[a-z0-9_]+$")
    unit: str


CodeTable = Mapping[SystemCode, Mapping[str, CodeMapping]]  # ST → code → mapping


class Hj212Logger(_Strict):
    # the PW and the SM4 key are secrets: errors name the field, never the value given
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    mn: str = Field(description="the logger's MN (2017/2025: 24 hex characters; 2005: 14)")
    pw: str = Field(pattern=r"^[0-9A-Za-z]{6}$", description="access password PW")
    st: SystemCode
    edition: Literal["2005", "2017", "2025"] = "2017"
    crc: CrcVariant = CrcVariant.HJ212
    # code → unit, for instruments that do not send the mapping's unit
    units: dict[str, str] = Field(default_factory=dict)
    # the upload whose values become readings; other uploads are acknowledged only
    readings_cn: ReadingsCn = "2011"
    interval_s: int = Field(default=60, ge=10, le=86_400, description="upload interval, s")
    # HJ 212-2025 only
    serial: str | None = Field(
        default=None, pattern=SERIAL, description="hardware serial it uploads (CN 1001)"
    )
    heartbeat_s: int | None = Field(
        default=None, ge=1, le=3_600, description="seconds between its 9015 heartbeats"
    )
    sm4_key: SecretStr | None = Field(
        default=None, description="SM4 key, 32 hex digits: its data area comes encrypted"
    )

    @model_validator(mode="after")
    def _check_mn(self) -> Hj212Logger:
        pattern = MN_2005 if self.edition == Edition.HJT212_2005.value else MN_2017
        if re.fullmatch(pattern, self.mn) is None:
            raise ValueError(f"MN {self.mn!r} does not match {pattern} ({self.edition} edition)")
        if self.edition != Edition.HJ212_2025.value:
            given = [name for name in EDITION_2025_ONLY if getattr(self, name) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: HJ 212-2025 loggers only")
        if self.sm4_key is not None and self.key is None:
            raise ValueError("sm4_key must be 32 hexadecimal digits")  # never the value
        return self

    @field_serializer("sm4_key")
    def _dump_key(self, key: SecretStr | None, info: SerializationInfo) -> str | SecretStr | None:
        """Masked, unless the dump is the registry file itself (``context={"secrets": True}``)."""
        context = info.context
        if key is not None and isinstance(context, dict) and context.get("secrets"):
            return key.get_secret_value()
        return key

    @property
    def key(self) -> Sm4Key | None:
        """The SM4 key, when the logger encrypts its data area."""
        if self.sm4_key is None:
            return None
        return Sm4Key.from_hex(self.sm4_key.get_secret_value())


def check_mapping(st: str, codes: Mapping[str, CodeMapping]) -> None:
    """Every code names a field of the system's readings, in a unit convertible to its own."""
    feed, kind_name = ST_KINDS[st]
    kind = kind_for(feed, kind_name)
    assert kind is not None
    fields = set(kind.numeric_columns)
    seen: dict[str, str] = {}
    for code, m in codes.items():
        if m.field not in fields:
            raise ValueError(f"hj212_codes[{st}][{code}]: {feed} readings have no {m.field!r}")
        if m.field in seen:
            raise ValueError(f"hj212_codes[{st}]: {m.field} mapped from {seen[m.field]} and {code}")
        seen[m.field] = code
        _check_unit(f"hj212_codes[{st}][{code}]", m.unit, m.field)


def check_logger(device_id: str, feed: str, logger: Hj212Logger, st_codes: CodeTable) -> None:
    """The logger fits its device: the feed's system code, units for mapped codes only."""
    if ST_KINDS[logger.st][0] != feed:
        raise ValueError(f"{device_id}: ST {logger.st} is not the system code of {feed} devices")
    codes = st_codes.get(logger.st)
    if codes is None:
        raise ValueError(f"{device_id}: no hj212_codes for ST {logger.st}")
    for code, unit in logger.units.items():
        if code not in codes:
            raise ValueError(f"{device_id}: unit given for {code!r}, which ST {logger.st} lacks")
        _check_unit(f"{device_id}.hj212.units[{code}]", unit, codes[code].field)


def _check_unit(where: str, unit: str, field: str) -> None:
    target = field_unit(field)
    if target is None:
        raise ValueError(f"{where}: field {field} has no unit suffix")
    try:
        factor(unit, target)
    except UnitError as exc:
        raise ValueError(f"{where}: {exc}") from None
