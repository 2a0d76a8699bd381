"""The alert state machine and conditions: holds, hysteresis, limits by date."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.rules.conditions import judge
from services.rules.model import Clear, Condition, Hold
from services.rules.state import SubjectState, Verdict, step

T0 = datetime(2026, 11, 2, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TRIP, CLEAR_LEVEL = 5.0, 4.0
COND = Condition(op=">", threshold=TRIP)
CLEAR = Clear(level=CLEAR_LEVEL)


def _run(
    values: Sequence[float | None], hold: Hold | None = None, clear: Clear = CLEAR
) -> list[str]:
    hold = hold or Hold()
    state, changes = SubjectState(), list[str]()
    for i, x in enumerate(values):
        start = T0 + i * MINUTE
        if x is None:
            v = Verdict(start, start + MINUTE, None, False, None)
        else:
            j = judge(COND, clear, x, start)
            v = Verdict(start, start + MINUTE, j.breach, j.cleared, x)
        state, change = step(state, v, hold, clear)
        if change in ("firing", "resolved", "discarded"):
            changes.append(change)
    return changes


def test_fires_after_the_hold_and_clears_past_the_clear_level() -> None:
    hold = Hold(duration=timedelta(minutes=3))
    assert _run([6, 6, 6, 6, 4.5, 3.9], hold) == ["firing", "resolved"]
    assert _run([6, 6, 3], hold) == ["discarded"]


def test_hold_in_windows_and_clear_in_windows() -> None:
    assert _run([6, 3, 6, 6], Hold(windows=2)) == ["discarded", "firing"]
    assert _run([6, 3, 6, 3, 3], Hold(), Clear(level=CLEAR_LEVEL, windows=2)) == [
        "firing",
        "resolved",
    ]


def test_no_verdict_changes_nothing() -> None:
    assert _run([6, None, None, 4.5, None, 3]) == ["firing", "resolved"]


@given(st.lists(st.floats(min_value=CLEAR_LEVEL + 0.001, max_value=50), min_size=1))
def test_values_above_the_clear_level_never_resolve_once_fired(tail: list[float]) -> None:
    """Hysteresis: once firing, wobbling between the clear and the trip level never flaps."""
    assert _run([6.0, *tail]) == ["firing"]


@given(st.lists(st.sampled_from([TRIP + 1, CLEAR_LEVEL - 1, TRIP - 0.5]), max_size=60))
def test_firing_and_resolved_alternate(values: list[float]) -> None:
    changes = [c for c in _run(values) if c != "discarded"]
    assert all(a != b for a, b in itertools.pairwise(changes))
    if changes:
        assert changes[0] == "firing"


def test_limits_follow_the_measurement_date() -> None:
    cond = Condition.model_validate(
        {
            "op": ">",
            "limits": [
                {"from": "2026-03-01", "threshold": 60, "edition": "GB 3095-2026"},
                {"threshold": 75, "edition": "GB 3095-2012"},
            ],
        }
    )
    # 2026-03-01 00:00 local is 2026-02-28 16:00 UTC
    before = judge(cond, Clear(), 70, datetime(2026, 2, 28, 15, 59, tzinfo=UTC))
    after = judge(cond, Clear(), 70, datetime(2026, 2, 28, 16, 0, tzinfo=UTC))
    assert (before.breach, before.edition, before.threshold) == (False, "GB 3095-2012", 75)
    assert (after.breach, after.edition, after.threshold) == (True, "GB 3095-2026", 60)


def test_companion_measure_switches_the_threshold() -> None:
    """GB 18918 NH3-N: 5 mg/L, or 8 mg/L while the water is at or below 12 °C."""
    cond = Condition.model_validate(
        {
            "op": ">",
            "threshold": 5,
            "when": [{"measure": "water_temp_c", "op": "<=", "value": 12, "threshold": 8}],
        }
    )
    warm = judge(cond, Clear(), 6.5, T0, {"water_temp_c": 18.0})
    cold = judge(cond, Clear(), 6.5, T0, {"water_temp_c": 11.0})
    assert (warm.breach, warm.limit) == (True, "> 5")
    assert (cold.breach, cold.limit) == (False, "> 8")


def test_outside_range() -> None:
    cond = Condition(op="outside", low=6, high=9)
    assert judge(cond, Clear(), 9.6, T0).breach
    assert judge(cond, Clear(), 5.9, T0).breach
    assert not judge(cond, Clear(), 7.0, T0).breach


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30))
def test_a_stale_rule_fires_once_per_gap(gaps_s: list[int]) -> None:
    """Silence judged every 10 s against a 60 s limit: one firing (and one resolution)
    per gap longer than the limit, however long the gap."""
    limit = timedelta(seconds=60)
    reports, t = [], T0
    for gap in gaps_s:
        t += timedelta(seconds=gap)
        reports.append(t)
    state, fired, resolved = SubjectState(), 0, 0
    now, last, i = T0, T0, 0
    while now <= reports[-1] + timedelta(seconds=10):
        while i < len(reports) and reports[i] <= now:
            last, i = reports[i], i + 1
        breach = now - last > limit
        state, change = step(state, Verdict(last, now, breach, not breach, None), Hold(), Clear())
        fired += change == "firing"
        resolved += change == "resolved"
        now += timedelta(seconds=10)
    # a gap is seen when some 10 s tick falls inside it more than the limit after it began
    expected = 0
    previous = T0
    for r in reports:
        ticks = (T0 + timedelta(seconds=10 * k) for k in range(len(gaps_s) * 41))
        if any(previous + limit < tk < r for tk in ticks):
            expected += 1
        previous = r
    assert fired == expected
    assert resolved == expected
