"""Judging a value against a rule's condition: limits by date, companion measures, clear level."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ingest.feeds import LOCAL_TZ
from services.rules.model import Clear, Condition, Op

_COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
}


@dataclass(frozen=True)
class Judgement:
    breach: bool
    cleared: bool
    limit: str  # e.g. "> 60", "outside 6–9"
    threshold: float | None
    edition: str | None


def threshold_for(
    cond: Condition, window_start: datetime, companions: Mapping[str, float | None]
) -> tuple[float | None, str | None]:
    """The threshold in force for a window starting at ``window_start``, and its edition."""
    threshold, edition = cond.threshold, None
    day = window_start.astimezone(LOCAL_TZ).date()
    for limit in cond.limits:
        if limit.valid_from is None or limit.valid_from <= day:
            threshold, edition = limit.threshold, limit.edition
            break
    for alt in cond.when:
        companion = companions.get(alt.measure)
        if companion is not None and _COMPARE[alt.op](companion, alt.value):
            threshold = alt.threshold
            break
    return threshold, edition


def _fmt(x: float) -> str:
    return f"{x:g}"


def judge(
    cond: Condition,
    clear: Clear,
    value: float,
    window_start: datetime,
    companions: Mapping[str, float | None] | None = None,
) -> Judgement:
    if cond.op == "outside":
        low, high = cond.low, cond.high
        assert low is not None
        assert high is not None
        clear_low = clear.low if clear.low is not None else low
        clear_high = clear.high if clear.high is not None else high
        return Judgement(
            breach=value < low or value > high,
            cleared=clear_low <= value <= clear_high,
            limit=f"outside {_fmt(low)}–{_fmt(high)}",
            threshold=None,
            edition=None,
        )
    threshold, edition = threshold_for(cond, window_start, companions or {})
    assert threshold is not None
    op: Op = cond.op
    breach = _COMPARE[op](value, threshold)
    # Past the clear level (default: the trip level in force) = the breach test fails there.
    level = threshold
    if clear.level is not None and op != "==":
        level = min(clear.level, threshold) if op in (">", ">=") else max(clear.level, threshold)
    cleared = not _COMPARE[op](value, level)
    return Judgement(breach, cleared, f"{op} {_fmt(threshold)}", threshold, edition)
