"""China's Air Quality Index (AQI) per HJ 633-2012 and HJ 633-2026: the standard's tables
(breakpoints, levels, categories, colours) and its formula — pure functions, no I/O.

Reference: HJ 633-2012 and HJ 633-2026 (the standards' own tables). The edition is chosen
by measurement time:
HJ 633-2026 applies from 2026-03-01 00:00 Asia/Shanghai, HJ 633-2012 before.

Units: µg/m³ for SO2, NO2, O3, PM10 and PM2.5; mg/m³ for CO.

Arithmetic is exact: a concentration is taken as the decimal number it prints as
(``repr``), so e.g. CO 2.2 mg/m³ on the 24-h scale gives exactly 55, not 56 from the binary
value 2.2000000000000002 pushed over an integer by ``ceil``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from itertools import pairwise
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, get_args

from ingest.feeds import LOCAL_TZ

__all__ = [
    "BREAKPOINTS",
    "CATEGORIES",
    "EDITIONS",
    "HEALTH",
    "IAQI_STEPS",
    "MAX_IAQI",
    "NEW_EDITION_FROM",
    "AqiResult",
    "Averaging",
    "Breakpoint",
    "Category",
    "Edition",
    "Health",
    "Pollutant",
    "daily_aqi",
    "edition_for",
    "hourly_aqi",
    "iaqi",
    "level_of",
]

Edition = Literal["HJ 633-2012", "HJ 633-2026"]
Pollutant = Literal["so2", "no2", "pm10", "pm25", "co", "o3"]
Averaging = Literal["1h", "24h", "8h"]

EDITIONS: Final[tuple[Edition, ...]] = get_args(Edition)
_POLLUTANTS: Final[frozenset[str]] = frozenset(get_args(Pollutant))
_AVERAGINGS: Final[frozenset[str]] = frozenset(get_args(Averaging))

NEW_EDITION_FROM: Final[datetime] = datetime(2026, 3, 1, tzinfo=LOCAL_TZ)
"""First instant measured under HJ 633-2026 (2026-03-01 00:00 +08:00)."""

MAX_IAQI: Final = 500


def edition_for(ts: datetime) -> Edition:
    """The HJ 633 edition in force at measurement time ``ts`` (must be timezone-aware)."""
    if ts.tzinfo is None or ts.tzinfo.utcoffset(ts) is None:
        raise ValueError(f"naive datetime {ts!r}: the AQI edition needs an aware time")
    return "HJ 633-2026" if ts >= NEW_EDITION_FROM else "HJ 633-2012"


# --------------------------------------------------------------------------------------------
# Breakpoint table (HJ 633-2012 Table 1, HJ 633-2026 Table 3)


class Breakpoint(NamedTuple):
    """One row of the IAQI table: the concentration at which the IAQI equals ``iaqi``."""

    concentration: int
    iaqi: int


IAQI_STEPS: Final[tuple[int, ...]] = (0, 50, 100, 150, 200, 300, 400, 500)

# Concentration columns, one value per IAQI step (shorter columns end where the table does).
_COLUMNS_2012: Final[dict[tuple[Pollutant, Averaging], tuple[int, ...]]] = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),  # note b: nothing above 800
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),  # note c: nothing above 800
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
# HJ 633-2026 changes only the IAQI-100 breakpoint of PM10 (150 -> 120) and PM2.5 (75 -> 60).
_COLUMNS_2026: Final[dict[tuple[Pollutant, Averaging], tuple[int, ...]]] = {
    **_COLUMNS_2012,
    ("pm10", "24h"): (0, 50, 120, 250, 350, 420, 500, 600),
    ("pm25", "24h"): (0, 35, 60, 115, 150, 250, 350, 500),
}


def _rows(column: tuple[int, ...]) -> tuple[Breakpoint, ...]:
    return tuple(Breakpoint(c, i) for c, i in zip(column, IAQI_STEPS, strict=False))


BREAKPOINTS: Final[Mapping[tuple[Pollutant, Averaging, Edition], tuple[Breakpoint, ...]]] = (
    MappingProxyType(
        {
            **{(p, a, "HJ 633-2012"): _rows(col) for (p, a), col in _COLUMNS_2012.items()},
            **{(p, a, "HJ 633-2026"): _rows(col) for (p, a), col in _COLUMNS_2026.items()},
        }
    )
)
"""The IAQI table keyed by (pollutant, averaging, edition) as printed in the standard.

1-h PM10/PM2.5 have no entry: they are evaluated on the 24-h rows (see :func:`iaqi`).
"""

# Over-range notes b and c: (pollutant, averaging) -> IAQI per edition when above the top row;
# None means "no IAQI from this averaging" (2012: the caller uses another indicator).
_OVER_RANGE: Final[dict[tuple[Pollutant, Averaging], dict[Edition, int | None]]] = {
    ("so2", "1h"): {"HJ 633-2012": None, "HJ 633-2026": 200},
    ("o3", "8h"): {"HJ 633-2012": None, "HJ 633-2026": 300},
}

# HJ 633-2026 §4.2.2: round per GB/T 8170 (half to even) before computing IAQI.
_QUANTUM_2026: Final[dict[Pollutant, Decimal]] = {
    "so2": Decimal(1),
    "no2": Decimal(1),
    "o3": Decimal(1),
    "pm10": Decimal(1),
    "pm25": Decimal(1),
    "co": Decimal("0.1"),
}
# Enough digits for any finite float (1.8e308) to quantize without InvalidOperation.
_ROUNDING: Final = Context(prec=400, rounding=ROUND_HALF_EVEN)


def _table_key(
    pollutant: Pollutant, averaging: Averaging, edition: Edition
) -> tuple[Pollutant, Averaging, Edition]:
    if pollutant not in _POLLUTANTS:
        raise ValueError(f"unknown pollutant {pollutant!r}")
    if averaging not in _AVERAGINGS:
        raise ValueError(f"unknown averaging {averaging!r}")
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}")
    if pollutant in ("pm10", "pm25") and averaging == "1h":
        averaging = "24h"  # HJ 633-2026 §4.2: 1-h PM on the daily-mean breakpoints
    key = (pollutant, averaging, edition)
    if key not in BREAKPOINTS:
        raise ValueError(f"HJ 633 has no {averaging} IAQI scale for {pollutant}")
    return key


def _exact_concentration(pollutant: Pollutant, concentration: float, edition: Edition) -> Fraction:
    if math.isnan(concentration):
        raise ValueError(f"{pollutant}: concentration is NaN")
    if math.isinf(concentration):
        raise ValueError(f"{pollutant}: concentration is infinite")
    if concentration < 0:
        raise ValueError(f"{pollutant}: negative concentration {concentration!r}")
    # The decimal number the value prints as (shortest round-tripping repr).
    value = Decimal(repr(float(concentration)))
    if edition == "HJ 633-2026":
        value = value.quantize(_QUANTUM_2026[pollutant], context=_ROUNDING)
    return Fraction(value)


def iaqi(
    pollutant: Pollutant, concentration: float, averaging: Averaging, edition: Edition
) -> int | None:
    """Individual AQI of one pollutant (HJ 633 §4.2 formula and rounding), rounded up to an integer.

    ``averaging`` "1h" for PM10/PM2.5 uses the 24-h breakpoints; "8h" exists for O3 only.
    Returns None only for the 2012 over-range notes (SO2 1-h > 800, O3 8-h > 800), where the
    caller must use another indicator; 2026 gives 200 and 300 there. Any other value above
    the top breakpoint gives 500. Raises ValueError for NaN, infinite or negative
    concentrations and for pollutant/averaging pairs the standard has no scale for.
    """
    key = _table_key(pollutant, averaging, edition)
    rows = BREAKPOINTS[key]
    c = _exact_concentration(pollutant, concentration, edition)
    if c > rows[-1].concentration:
        over = _OVER_RANGE.get((key[0], key[1]))
        return over[edition] if over is not None else MAX_IAQI
    for lo, hi in pairwise(rows):
        if c <= hi.concentration:
            slope = Fraction(hi.iaqi - lo.iaqi, hi.concentration - lo.concentration)
            return math.ceil(slope * (c - lo.concentration) + lo.iaqi)
    return rows[0].iaqi  # unreachable for c >= 0: the loop covers [0, top]


# --------------------------------------------------------------------------------------------
# Levels and categories (HJ 633 Table 2 / Table 1, Appendix A)


class Category(NamedTuple):
    """One AQI level: its highest AQI, 类别, English category and colour (same in both
    editions; level 6 is everything above 300)."""

    level: int
    top: int
    zh: str
    en: str
    colour: str


CATEGORIES: Final[tuple[Category, ...]] = (
    Category(1, 50, "优", "Excellent", "#00E400"),
    Category(2, 100, "良", "Good", "#FFFF00"),
    Category(3, 150, "轻度污染", "Lightly polluted", "#FF7E00"),
    Category(4, 200, "中度污染", "Moderately polluted", "#FF0000"),
    Category(5, 300, "重度污染", "Heavily polluted", "#99004C"),
    Category(6, MAX_IAQI, "严重污染", "Severely polluted", "#7E0023"),
)


class Health(NamedTuple):
    """What a level means for health and what to do (HJ 633-2012 Table 2)."""

    effects_zh: str
    advice_zh: str
    effects_en: str
    advice_en: str


# HJ 633-2012 Table 2 as worded there; HJ 633-2026 keeps the levels and names the sensitive
# groups per pollutant instead (its wording is not compared here).
HEALTH: Final[Mapping[int, Health]] = MappingProxyType(
    {
        1: Health(
            "空气质量令人满意，基本无空气污染",
            "各类人群可正常活动",
            "Air quality is satisfactory; little or no air pollution.",
            "Everyone can carry on as usual.",
        ),
        2: Health(
            "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响",
            "极少数异常敏感人群应减少户外活动",
            "Acceptable; some pollutants may slightly affect a very few unusually sensitive"
            " people.",
            "The very few unusually sensitive people should reduce outdoor activity.",
        ),
        3: Health(
            "易感人群症状有轻度加剧，健康人群出现刺激症状",
            "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼",
            "Symptoms of sensitive people slightly worse; healthy people feel irritation.",
            "Children, the elderly and people with heart or respiratory disease should reduce"
            " long or strenuous outdoor exercise.",
        ),
        4: Health(
            "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响",
            "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻炼，"
            "一般人群适量减少户外运动",
            "Symptoms of sensitive people worse still; may affect the heart and lungs of"
            " healthy people.",
            "Children, the elderly and people with heart or respiratory disease should avoid"
            " long or strenuous outdoor exercise; everyone else should reduce it.",
        ),
        5: Health(
            "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状",
            "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动",
            "Symptoms of people with heart or lung disease markedly worse, exercise tolerance"
            " lower; healthy people commonly show symptoms.",
            "Children, the elderly and people with heart or lung disease should stay indoors"
            " and stop outdoor exercise; everyone else should reduce it.",
        ),
        6: Health(
            "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病",
            "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动",
            "Healthy people's exercise tolerance lower, with strong symptoms; some illnesses"
            " set in early.",
            "Children, the elderly and the sick should stay indoors and avoid exertion;"
            " everyone else should avoid outdoor activity.",
        ),
    }
)


def level_of(aqi: int) -> tuple[int, str, str, str]:
    """(level 1..6, 类别, English category, hex colour) of an AQI value (>300 is level 6)."""
    if aqi < 0:
        raise ValueError(f"negative AQI {aqi}")
    for level, top, zh, en, colour in CATEGORIES:
        if aqi <= top:
            return level, zh, en, colour
    level, _, zh, en, colour = CATEGORIES[-1]
    return level, zh, en, colour


# --------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class AqiResult:
    """One AQI report. ``iaqi`` keys are indicator names such as "pm25_1h", "o3_8h"."""

    aqi: int | None
    iaqi: dict[str, int]
    primary: tuple[str, ...]
    level: int | None
    category_zh: str | None
    category_en: str | None
    colour: str | None
    edition: Edition


def _result(iaqis: dict[str, int], edition: Edition) -> AqiResult:
    if not iaqis:
        return AqiResult(None, {}, (), None, None, None, None, edition)
    aqi = max(iaqis.values())
    primary: tuple[str, ...] = ()
    if aqi > 50:
        primary = tuple(sorted({k.split("_")[0] for k, v in iaqis.items() if v == aqi}))
    level, zh, en, colour = level_of(aqi)
    return AqiResult(aqi, iaqis, primary, level, zh, en, colour, edition)


def _check_keys(conc: Mapping[str, float | None], allowed: frozenset[str], report: str) -> None:
    unknown = set(conc) - allowed
    if unknown:
        raise ValueError(f"{report}: unknown keys {sorted(unknown)}; expected {sorted(allowed)}")


_HOURLY_KEYS: Final[tuple[Pollutant, ...]] = ("so2", "no2", "co", "o3", "pm10", "pm25")
_DAILY_KEYS: Final[tuple[Pollutant, ...]] = ("so2", "no2", "co", "pm10", "pm25")


def hourly_aqi(conc: Mapping[str, float | None], ts: datetime) -> AqiResult:
    """Real-time (hourly) AQI from the six 1-h means, edition by measurement time ``ts``.

    Keys: "so2", "no2", "co", "o3", "pm10", "pm25" (1-h means; PM on the 24-h breakpoints) and
    optionally "so2_24h", used only under HJ 633-2012 when the 1-h SO2 exceeds 800 µg/m³.
    Missing or None values are skipped; unknown keys raise ValueError.
    """
    _check_keys(conc, frozenset((*_HOURLY_KEYS, "so2_24h")), "hourly AQI")
    edition = edition_for(ts)
    iaqis: dict[str, int] = {}
    for p in _HOURLY_KEYS:
        c = conc.get(p)
        if c is None:
            continue
        value = iaqi(p, c, "1h", edition)
        if value is not None:
            iaqis[f"{p}_1h"] = value
        elif p == "so2" and (c24 := conc.get("so2_24h")) is not None:
            fallback = iaqi("so2", c24, "24h", edition)
            assert fallback is not None  # the 24-h SO2 scale has no over-range gap
            iaqis["so2_24h"] = fallback
    return _result(iaqis, edition)


def daily_aqi(conc: Mapping[str, float | None], day_start: datetime) -> AqiResult:
    """Daily AQI; edition by ``day_start`` (the start of the reported day, aware).

    Keys: "so2", "no2", "co", "pm10", "pm25" (24-h means), "o3_8h" (daily max 8-h sliding
    mean) and "o3_1h" (daily max 1-h mean) — the latter is an indicator under HJ 633-2012 only
    and is ignored under HJ 633-2026. Missing or None values are skipped; unknown keys raise
    ValueError.
    """
    _check_keys(conc, frozenset((*_DAILY_KEYS, "o3_8h", "o3_1h")), "daily AQI")
    edition = edition_for(day_start)
    iaqis: dict[str, int] = {}
    for p in _DAILY_KEYS:
        c = conc.get(p)
        if c is not None:
            value = iaqi(p, c, "24h", edition)
            assert value is not None  # 24-h scales have no over-range gap
            iaqis[f"{p}_24h"] = value
    if (c8 := conc.get("o3_8h")) is not None:
        value = iaqi("o3", c8, "8h", edition)
        if value is not None:  # 2012 note c: above 800 the 1-h O3 IAQI stands in
            iaqis["o3_8h"] = value
    if edition == "HJ 633-2012" and (c1 := conc.get("o3_1h")) is not None:
        value = iaqi("o3", c1, "1h", edition)
        assert value is not None
        iaqis["o3_1h"] = value
    return _result(iaqis, edition)


def published_aqi(result: AqiResult, missing: bool) -> int | None:
    """The AQI to publish: with an indicator missing (invalid), the AQI of the others only
    when above 100 — below, the missing one might have been the highest (HJ 633-2026 §5.3:
    "NA")."""
    if result.aqi is not None and missing and result.aqi <= 100:
        return None
    return result.aqi
