"""Ambient air-quality limits, GB 3095-2012 and GB 3095-2026, by measurement date.

GB 3095-2026 is in force from 2026-03-01 with transitional limits to 2030-12-31 and its
final limits from 2031-01-01; GB 3095-2012 (with its 2018 amendment) before. Grade I is
for class-1 zones (nature reserves, national parks), Grade II for everything else — an
urban district like Liudong is Grade II. Units: µg/m³, CO mg/m³.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, get_args

Pollutant = Literal["so2", "no2", "co", "o3", "pm10", "pm25"]
Averaging = Literal["annual", "24h", "8h", "1h"]  # 8h: O3 daily maximum 8-h mean
Grade = Literal["I", "II"]

POLLUTANTS: Final[tuple[Pollutant, ...]] = get_args(Pollutant)
GRADES: Final[tuple[Grade, ...]] = get_args(Grade)
DISTRICT_GRADE: Final[Grade] = "II"


class Phase(NamedTuple):
    """A span of dates under one set of limits, and how an alert names it."""

    edition: str
    valid_from: date | None  # None: since before any data we hold


PHASES: Final[tuple[Phase, Phase, Phase]] = (
    Phase("GB 3095-2012", None),
    Phase("GB 3095-2026（过渡期）", date(2026, 3, 1)),
    Phase("GB 3095-2026", date(2031, 1, 1)),
)
"""Oldest first: the 2012 edition, the 2026 edition's transition, its final limits."""

# (pollutant, averaging) -> {grade: (2012, 2026 transition, 2026 final)}; GB 3095-2012
# Tables 1-2, GB 3095-2026 Tables 1-2.
_TABLE: Final[dict[tuple[Pollutant, Averaging], dict[Grade, tuple[float, float, float]]]] = {
    ("so2", "annual"): {"I": (20, 20, 20), "II": (60, 60, 20)},
    ("so2", "24h"): {"I": (50, 50, 50), "II": (150, 150, 50)},
    ("so2", "1h"): {"I": (150, 150, 150), "II": (500, 500, 150)},
    ("no2", "annual"): {"I": (40, 40, 30), "II": (40, 40, 30)},
    ("no2", "24h"): {"I": (80, 80, 50), "II": (80, 80, 50)},
    ("no2", "1h"): {"I": (200, 200, 200), "II": (200, 200, 200)},
    ("co", "24h"): {"I": (4, 4, 4), "II": (4, 4, 4)},
    ("co", "1h"): {"I": (10, 10, 10), "II": (10, 10, 10)},
    ("o3", "8h"): {"I": (100, 100, 100), "II": (160, 160, 160)},
    ("o3", "1h"): {"I": (160, 160, 160), "II": (200, 200, 200)},
    ("pm10", "annual"): {"I": (40, 40, 20), "II": (70, 60, 50)},
    ("pm10", "24h"): {"I": (50, 50, 50), "II": (150, 120, 100)},
    ("pm25", "annual"): {"I": (15, 15, 10), "II": (35, 30, 25)},
    ("pm25", "24h"): {"I": (35, 35, 25), "II": (75, 60, 50)},
}
TABLE: Final[Mapping[tuple[Pollutant, Averaging, Grade], tuple[float, float, float]]] = (
    MappingProxyType(
        {(p, a, g): row for (p, a), by_grade in _TABLE.items() for g, row in by_grade.items()}
    )
)
"""Limits per phase of :data:`PHASES`, keyed by (pollutant, averaging, grade)."""


class DatedLimit(NamedTuple):
    threshold: float
    valid_from: date | None
    edition: str


def limits_by_date(
    pollutant: Pollutant, averaging: Averaging, grade: Grade = DISTRICT_GRADE
) -> tuple[DatedLimit, ...]:
    """The limit of each phase, newest first. Where the final limit equals the transitional
    one, the 2026 edition has one limit from 2026-03-01 (e.g. O3)."""
    values = TABLE.get((pollutant, averaging, grade))
    if values is None:
        raise ValueError(f"GB 3095 has no {averaging} limit for {pollutant} (grade {grade})")
    old, transition, final = (
        DatedLimit(v, p.valid_from, p.edition) for v, p in zip(values, PHASES, strict=True)
    )
    if final.threshold == transition.threshold:
        return (final._replace(valid_from=transition.valid_from), old)
    return (final, transition, old)


def edition_on(day: date) -> str:
    """The edition (and phase) whose limits apply on local ``day``."""
    for phase in reversed(PHASES):
        if phase.valid_from is None or day >= phase.valid_from:
            return phase.edition
    raise AssertionError("the oldest phase has no start")  # pragma: no cover


def limit_on(
    pollutant: Pollutant, averaging: Averaging, day: date, grade: Grade = DISTRICT_GRADE
) -> float:
    """The limit in force on ``day``."""
    for limit in limits_by_date(pollutant, averaging, grade):
        if limit.valid_from is None or day >= limit.valid_from:
            return limit.threshold
    raise AssertionError("the oldest limit has no start")  # pragma: no cover
