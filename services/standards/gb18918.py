"""Urban WWTP discharge limits, GB 18918-2002 Table 1 (basic control items, daily-mean
maxima, mg/L; pH dimensionless).

Class 1A is the basic requirement for reuse and for discharge into small, low-dilution
rivers and lakes; the district's plants are held to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

EDITION: Final = "GB 18918-2002"
Item = Literal["cod", "bod5", "ss", "tn", "nh3n", "tp", "tp_before_2006"]
Class = Literal["1A", "1B", "2", "3"]
ITEMS: Final[tuple[Item, ...]] = get_args(Item)
CLASSES: Final[tuple[Class, ...]] = get_args(Class)
DISTRICT_CLASS: Final[Class] = "1A"

# Per item, the maxima of classes 1A, 1B, 2, 3 (None: the class sets no limit).
_TABLE: Final[dict[Item, tuple[float | None, float | None, float | None, float | None]]] = {
    "cod": (50.0, 60.0, 100.0, 120.0),
    "bod5": (10.0, 20.0, 30.0, 60.0),
    "ss": (10.0, 20.0, 30.0, 50.0),
    "tn": (15.0, 20.0, None, None),
    "nh3n": (5.0, 8.0, 25.0, None),  # water above 12 °C; see COLD_MAXIMA
    "tp": (0.5, 1.0, 3.0, 5.0),  # plants built from 2006-01-01
    "tp_before_2006": (1.0, 1.5, 3.0, 5.0),  # plants built up to 2005-12-31
}
MAXIMA: Final[Mapping[tuple[Item, Class], float]] = MappingProxyType(
    {
        (item, c): v
        for item, row in _TABLE.items()
        for c, v in zip(CLASSES, row, strict=True)
        if v is not None
    }
)
COLD_WATER_C: Final = 12.0
"""Table note 2: at a water temperature at or below this (°C) NH3-N has its bracketed limit."""
COLD_MAXIMA: Final[Mapping[tuple[Item, Class], float]] = MappingProxyType(
    {("nh3n", "1A"): 8.0, ("nh3n", "1B"): 15.0, ("nh3n", "2"): 30.0}
)
PH_RANGE: Final[tuple[float, float]] = (6, 9)  # every class


def maximum(item: Item, cls: Class = DISTRICT_CLASS) -> float:
    """The daily-mean maximum of ``item`` for class ``cls`` (NH3-N: water above 12 °C)."""
    value = MAXIMA.get((item, cls))
    if value is None:
        raise ValueError(f"{EDITION} class {cls} sets no limit for {item}")
    return value


def cold_maximum(item: Item, cls: Class = DISTRICT_CLASS) -> float | None:
    """The maximum at water temperature ≤ :data:`COLD_WATER_C`, where it differs."""
    return COLD_MAXIMA.get((item, cls))
