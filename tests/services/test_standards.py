"""The standards tables, checked against the standards' text (not against the code's use)."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.registry import load_registry
from ingest.registry.model import Dma
from services.rules import default_pack, load_rules
from services.rules.model import RatioRule
from services.standards import gb3095, gb18918, hj633, targets

# GB 3095 Grade II, 24-h means (µg/m³; CO mg/m³): 2012, 2026 transition, 2026 final.
GB3095_GRADE_II_24H = {
    "so2": (150, 150, 50),
    "no2": (80, 80, 50),
    "co": (4, 4, 4),
    "pm10": (150, 120, 100),
    "pm25": (75, 60, 50),
}


@pytest.mark.parametrize(("pollutant", "expected"), GB3095_GRADE_II_24H.items())
def test_gb3095_grade_ii_daily_limits(
    pollutant: gb3095.Pollutant, expected: tuple[int, int, int]
) -> None:
    assert gb3095.TABLE[pollutant, "24h", "II"] == expected


def test_gb3095_limits_by_date_newest_first() -> None:
    assert gb3095.limits_by_date("pm25", "24h") == (
        (50, date(2031, 1, 1), "GB 3095-2026"),
        (60, date(2026, 3, 1), "GB 3095-2026（过渡期）"),
        (75, None, "GB 3095-2012"),
    )
    assert gb3095.limits_by_date("pm25", "annual", "I") == (
        (10, date(2031, 1, 1), "GB 3095-2026"),
        (15, date(2026, 3, 1), "GB 3095-2026（过渡期）"),
        (15, None, "GB 3095-2012"),
    )


def test_gb3095_an_unchanged_transition_is_the_2026_limit() -> None:
    assert gb3095.limits_by_date("o3", "8h") == (
        (160, date(2026, 3, 1), "GB 3095-2026"),
        (160, None, "GB 3095-2012"),
    )
    assert gb3095.limits_by_date("o3", "8h", "I")[0] == (100, date(2026, 3, 1), "GB 3095-2026")


def test_gb3095_has_no_limit_it_does_not_print() -> None:
    with pytest.raises(ValueError, match="no 8h limit for pm25"):
        gb3095.limits_by_date("pm25", "8h")


def test_gb3095_grade_i_never_looser_than_grade_ii() -> None:
    for (p, a, g), values in gb3095.TABLE.items():
        if g == "I":
            assert all(i <= ii for i, ii in zip(values, gb3095.TABLE[p, a, "II"], strict=True))


def test_gb18918_class_1a() -> None:
    assert [gb18918.maximum(i) for i in ("cod", "bod5", "ss", "tn", "nh3n", "tp")] == [
        50, 10, 10, 15, 5, 0.5,
    ]  # fmt: skip
    assert gb18918.maximum("tp_before_2006") == 1
    assert gb18918.cold_maximum("nh3n") == 8
    assert gb18918.cold_maximum("cod") is None
    assert gb18918.PH_RANGE == (6, 9)


def test_gb18918_classes_loosen_from_1a_to_3() -> None:
    for item in gb18918.ITEMS:
        values = [gb18918.MAXIMA.get((item, c)) for c in gb18918.CLASSES]
        given = [v for v in values if v is not None]
        assert given == sorted(given), item
    with pytest.raises(ValueError, match="class 3 sets no limit for nh3n"):
        gb18918.maximum("nh3n", "3")


def test_hj633_levels_cover_every_aqi_with_its_colour() -> None:
    tops = [c.top for c in hj633.CATEGORIES]
    assert tops == [50, 100, 150, 200, 300, 500]
    assert [c.colour for c in hj633.CATEGORIES] == [
        "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023",
    ]  # fmt: skip


def test_the_registry_default_leakage_target_is_the_district_target() -> None:
    assert Dma.model_fields["leakage_target_pct"].default == targets.LEAKAGE_DEFAULT_PCT


def test_the_treatment_rate_rules_use_the_target() -> None:
    rules = [r for r in load_rules(default_pack(), load_registry()) if r.id.startswith("ww-")]
    rates = [r for r in rules if isinstance(r, RatioRule) and "treatment" in r.title.en.lower()]
    assert len(rates) == 3
    for rule in rates:
        assert rule.condition.threshold == targets.TREATMENT_RATE_PCT
