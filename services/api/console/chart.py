"""A time series as SVG geometry: one line per measure, flagged values marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 720, 160
PAD_LEFT, PAD_RIGHT, PAD_Y = 56.0, 12.0, 14.0


@dataclass(frozen=True)
class Chart:
    measure: str
    path: str  # SVG path data of the line (gaps over an hour break it)
    flagged: list[tuple[float, float, str]]  # x, y, flag of values not flagged N
    low: float
    high: float
    start: datetime
    end: datetime
    last: float | None
    width: int = WIDTH
    height: int = HEIGHT


GAP_S = 3600.0


def build(
    measure: str,
    points: Sequence[tuple[datetime, float | None, str | None]],
    start: datetime,
    end: datetime,
) -> Chart | None:
    """None when the measure has no value in the window."""
    values = [(t, v, f) for t, v, f in points if v is not None]
    if not values:
        return None
    low = min(v for _, v, _ in values)
    high = max(v for _, v, _ in values)
    if high == low:
        low, high = low - 1.0, high + 1.0
    span_s = max((end - start).total_seconds(), 1.0)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - 2 * PAD_Y

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = PAD_LEFT + (t - start).total_seconds() / span_s * inner_w
        y = PAD_Y + (high - v) / (high - low) * inner_h
        return x, y

    parts: list[str] = []
    flagged = []
    previous: datetime | None = None
    for t, v, flag in values:
        x, y = xy(t, v)
        gap = previous is None or (t - previous).total_seconds() > GAP_S
        parts.append(f"{'M' if gap else 'L'}{x:.1f},{y:.1f}")
        previous = t
        if flag not in (None, "N"):
            flagged.append((x, y, str(flag)))
    return Chart(measure, " ".join(parts), flagged, low, high, start, end, values[-1][1])
