"""Units of measurement: the unit each wire-contract field is stored in, and conversions.

A field's unit is named by its suffix (``_mgl`` mg/L, ``_ugm3`` µg/m³ …, see
``ingest.feeds.Payload``); pH has none. Devices that report in other units — HJ 212 loggers
send PM in µg/m³, mg/m³ or ng/m³, gases in mg/m³ or µg/m³, wastewater flow in L/s — are
converted on ingest with :func:`factor`. Unit names are ASCII (``ug/m3``, ``degC``) so a
registry file never depends on how ``µ`` or ``³`` were typed.
"""

from __future__ import annotations

from collections.abc import Mapping


class UnitError(ValueError):
    """An unknown unit, or two units that measure different things."""


# unit → (what it measures, its size in that quantity's reference unit)
UNITS: Mapping[str, tuple[str, float]] = {
    "mg/L": ("concentration in water", 1.0),
    "ug/L": ("concentration in water", 0.001),
    "ug/m3": ("concentration in air", 1.0),
    "mg/m3": ("concentration in air", 1000.0),
    "ng/m3": ("concentration in air", 0.001),
    "m3/h": ("flow", 1.0),
    "L/s": ("flow", 3.6),
    "m3/s": ("flow", 3600.0),
    "m3/d": ("flow", 1 / 24),
    "m3": ("volume", 1.0),
    "kPa": ("pressure", 1.0),
    "MPa": ("pressure", 1000.0),
    "dB": ("sound level", 1.0),
    "degC": ("temperature", 1.0),
    "%": ("ratio", 1.0),
    "m/s": ("speed", 1.0),
    "deg": ("angle", 1.0),
    "s": ("duration", 1.0),
    "pH": ("pH", 1.0),
}

# field-name suffix → the unit the field is stored in (longest suffix first when matching)
SUFFIX_UNITS: Mapping[str, str] = {
    "_mgl": "mg/L",
    "_ugm3": "ug/m3",
    "_mgm3": "mg/m3",
    "_m3h": "m3/h",
    "_m3": "m3",
    "_kpa": "kPa",
    "_db": "dB",
    "_c": "degC",
    "_pct": "%",
    "_ms": "m/s",
    "_deg": "deg",
    "_s": "s",
    "_ph": "pH",
}


def field_unit(field: str) -> str | None:
    """The unit ``field`` is stored in, from its suffix; None for a field without one."""
    for suffix in sorted(SUFFIX_UNITS, key=len, reverse=True):
        if field.endswith(suffix):
            return SUFFIX_UNITS[suffix]
    return None


def factor(unit: str, to: str) -> float:
    """What a value in ``unit`` is multiplied by to be in ``to``; raises :class:`UnitError`."""
    for name in (unit, to):
        if name not in UNITS:
            raise UnitError(f"unknown unit {name!r}; known: {', '.join(UNITS)}")
    (quantity, size), (quantity_to, size_to) = UNITS[unit], UNITS[to]
    if quantity != quantity_to:
        raise UnitError(f"{unit} ({quantity}) cannot be converted to {to} ({quantity_to})")
    return size / size_to


def convert(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit`` expressed in ``to``, without the float noise of the product."""
    if unit == to:
        return value
    return float(f"{value * factor(unit, to):.12g}")
