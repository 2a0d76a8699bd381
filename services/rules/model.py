"""The rule file format: YAML validated into a discriminated union on ``kind``.

A rule says what it watches (feed, message kind, devices, measure), over which window,
with which aggregate and condition, how long the breach must hold before it fires, how it
clears (hysteresis), how severe it is, which standard it enforces, and who is told beyond
the routing file. See the README's "Rule files" section for the full format.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ingest.feeds import FeedName
from services.rules.refs import resolve

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RULE_ID = r"^[a-z0-9][a-z0-9.-]{1,79}$"


def _duration(value: object) -> object:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` (or seconds as a number) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 2h, 1d)")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Severity = Literal["critical", "major", "minor", "warning"]
Op = Literal[">", ">=", "<", "<=", "==", "outside"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Standard(_Model):
    name: str = Field(description="e.g. GB 18918-2002")
    clause: str = Field(description="e.g. 表1 一级A")
    note: str = ""


class Selector(_Model):
    """Which devices a rule watches; empty lists mean all devices of the feed and kind."""

    ids: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


# -- windows -----------------------------------------------------------------------------


class Instant(_Model):
    type: Literal["instant"]


class Rolling(_Model):
    """The last ``length`` before each tick; a tick every ``step``."""

    type: Literal["rolling"]
    length: Duration
    step: Duration = timedelta(minutes=1)

    @model_validator(mode="after")
    def _positive(self) -> Rolling:
        if self.length <= timedelta(0) or self.step <= timedelta(0):
            raise ValueError("length and step must be positive")
        return self


class Hour(_Model):
    type: Literal["hour"]


class Day(_Model):
    """A calendar day in Asia/Shanghai."""

    type: Literal["day"]


class Night(_Model):
    """A local night window, e.g. 02:00-04:00 (the minimum-night-flow hours)."""

    type: Literal["night"]
    start: time = time(2)
    end: time = time(4)

    @model_validator(mode="after")
    def _ordered(self) -> Night:
        if self.end <= self.start:
            raise ValueError("a night window must end after it starts, on the same night")
        return self


class Month(_Model):
    """A calendar month in Asia/Shanghai."""

    type: Literal["month"]


Window = Annotated[Instant | Rolling | Hour | Day | Night | Month, Field(discriminator="type")]


# -- conditions ----------------------------------------------------------------------------


class Limit(_Model):
    """A threshold in force from a date (by the window's local start date)."""

    threshold: float
    valid_from: date | None = Field(default=None, alias="from")
    edition: str | None = None


class When(_Model):
    """Another threshold while a companion measure's window mean meets a condition
    (e.g. GB 18918 NH3-N: 8 mg/L instead of 5 while the water is at or below 12 °C)."""

    measure: str
    op: Literal[">", ">=", "<", "<="]
    value: float
    threshold: float


class Condition(_Model):
    op: Op
    threshold: float | None = None
    low: float | None = None  # op "outside": breach below low or above high
    high: float | None = None
    limits: tuple[Limit, ...] = ()  # date-dependent thresholds, newest first
    when: tuple[When, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_standards(cls, data: Any) -> Any:
        """``limits: {table: ...}``: the numbers of a services.standards entry (refs.py)."""
        if isinstance(data, dict) and isinstance(data.get("limits"), dict):
            return resolve(data)
        return data

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.op == "outside":
            if self.low is None or self.high is None or self.low >= self.high:
                raise ValueError("op 'outside' needs low < high")
        elif self.threshold is None and not self.limits:
            raise ValueError(f"op {self.op!r} needs a threshold (or limits by date)")
        return self


class Clear(_Model):
    """How a firing alert clears: back past ``level`` (default: the trip level) for
    ``windows`` evaluations in a row and at least ``hold``."""

    level: float | None = None
    low: float | None = None
    high: float | None = None
    windows: int = Field(default=1, ge=1)
    hold: Duration = timedelta(0)


class Hold(_Model):
    """How long a breach must last before the alert fires (both must be met)."""

    windows: int = Field(default=1, ge=1)
    duration: Duration = timedelta(0)


# -- the rule kinds --------------------------------------------------------------------------


class RuleBase(_Model):
    id: str = Field(pattern=RULE_ID)
    title: Text
    feed: FeedName
    message: str | None = Field(default=None, description="message kind; default per rule kind")
    devices: Selector = Selector()
    severity: Severity
    standard: Standard | None = None
    hold: Hold = Hold()
    clear: Clear = Clear()
    receivers: tuple[str, ...] = ()
    label: Text | None = Field(default=None, description="what is measured, for messages")
    unit: str = ""
    panel: str | None = Field(default=None, description="dashboard panel path for links")

    def trip_level(self) -> tuple[Op, float | None, float | None, float | None]:
        cond: Condition | None = getattr(self, "condition", None)
        if cond is None:
            return ">", None, None, None
        return cond.op, cond.threshold, cond.low, cond.high

    @model_validator(mode="after")
    def _clear_on_the_safe_side(self) -> RuleBase:
        op, threshold, low, high = self.trip_level()
        c = self.clear
        if c.level is not None and threshold is not None:
            if op in (">", ">=") and c.level > threshold:
                raise ValueError(f"clear.level {c.level} must be <= the threshold {threshold}")
            if op in ("<", "<=") and c.level < threshold:
                raise ValueError(f"clear.level {c.level} must be >= the threshold {threshold}")
        if op == "outside" and low is not None and high is not None:
            if c.low is not None and c.low < low:
                raise ValueError(f"clear.low {c.low} must be >= low {low}")
            if c.high is not None and c.high > high:
                raise ValueError(f"clear.high {c.high} must be <= high {high}")
        return self


class ThresholdRule(RuleBase):
    """Each reading on its own, evaluated as it is stored."""

    kind: Literal["threshold"]
    measure: str
    condition: Condition


Aggregate = Literal["mean", "max", "min", "sum", "missing", "rate", "hourly_mean", "max_8h_mean"]


class WindowRule(RuleBase):
    """An aggregate of one measure over a window, per device."""

    kind: Literal["window"]
    measure: str
    window: Window
    aggregate: Aggregate
    condition: Condition
    min_samples: int = Field(default=1, ge=0, description="valid samples the window needs")
    min_hours: int | None = Field(default=None, description="hourly_mean: valid hours needed")
    hour_samples: int = Field(default=45, description="samples that make an hour valid")
    period: Duration | None = Field(default=None, description="sampling period (for missing)")
    active_hours: tuple[time, time] | None = Field(
        default=None, description="evaluate only ticks in this local time range"
    )


class RatioRule(RuleBase):
    """``scale × Σ numerator / Σ denominator`` over a window, per device or district."""

    kind: Literal["ratio"]
    numerator: tuple[str, ...] = Field(min_length=1)
    denominator: tuple[str, ...] = Field(min_length=1)
    scale: float = 100.0
    window: Window
    subject: Literal["device", "district"] = "device"
    period: Duration = timedelta(minutes=1)
    min_coverage: float = Field(default=0.8, gt=0, le=1)
    condition: Condition


class AqiRule(RuleBase):
    """Hourly (real-time) AQI per station, HJ 633 edition by measurement date; each
    computed value is stored in ``air_aqi_hourly``."""

    kind: Literal["aqi"]
    condition: Condition
    hour_samples: int = 45


class StaleRule(RuleBase):
    """No data from a device for ``missing`` × ``period`` (silence, on the service clock)."""

    kind: Literal["stale"]
    period: Duration
    missing: int = Field(default=10, ge=1)


class FlatlineRule(RuleBase):
    """A sensor stuck on one value: max - min ≤ tolerance over a rolling window."""

    kind: Literal["flatline"]
    measure: str
    window: Window
    min_samples: int = Field(default=10, ge=2)
    tolerance: float = Field(default=0.0, ge=0)


class DeadLetterRule(RuleBase):
    """Messages of a device refused for the given reasons within a rolling window."""

    kind: Literal["dead_letter"]
    reasons: tuple[str, ...] = Field(min_length=1)
    window: Window
    condition: Condition


class SeqGapRule(RuleBase):
    """Messages of a device found missing by its sequence numbers, less those that arrived
    late, in gaps closed within a rolling window (by the time of the message after each)."""

    kind: Literal["seq_gap"]
    window: Window
    condition: Condition


class NightFlowRule(RuleBase):
    """A DMA's minimum night flow (sum of its inlet meters) above its learned baseline
    (median of the previous ``baseline_nights`` nights) by more than ``margin_pct``."""

    kind: Literal["night_flow"]
    window: Window
    baseline_nights: int = Field(default=7, ge=1)
    min_baseline_nights: int = Field(default=3, ge=1)
    margin_pct: float = Field(default=20.0, gt=0)


class LeakageRule(RuleBase):
    """CJJ 92-2016 comprehensive leakage rate of a DMA over a day or month:
    (supplied − billed) / supplied, supplied = Σ inlet meter volume."""

    kind: Literal["leakage"]
    window: Window
    condition: Condition | None = Field(
        default=None, description="default: above the DMA's leakage_target_pct"
    )
    min_coverage: float = Field(default=0.9, gt=0, le=1)


class BurstRule(RuleBase):
    """A burst: a DMA's inflow steps up while its pressure drops, comparing the last
    ``window`` with the ``baseline`` before it."""

    kind: Literal["burst"]
    window: Window
    baseline: Duration = timedelta(hours=1)
    flow_rise_pct: float = Field(default=20.0, gt=0)
    pressure_drop_pct: float = Field(default=10.0, gt=0)


class LeakFlagRule(RuleBase):
    """An acoustic logger's own leak verdict, nightly; ``hold.windows`` nights in a row."""

    kind: Literal["leak_flag"]


class OnlineRule(RuleBase):
    """RSUs online (heartbeat within ``timeout`` and ``online`` true) per intersection
    or for the district, as a percentage of the registered ones."""

    kind: Literal["online"]
    group: Literal["intersection", "district"]
    timeout: Duration = timedelta(seconds=60)
    condition: Condition


Rule = Annotated[
    ThresholdRule
    | WindowRule
    | RatioRule
    | AqiRule
    | StaleRule
    | FlatlineRule
    | DeadLetterRule
    | SeqGapRule
    | NightFlowRule
    | LeakageRule
    | BurstRule
    | LeakFlagRule
    | OnlineRule,
    Field(discriminator="kind"),
]

# The message kind a rule reads when it does not name one.
DEFAULT_MESSAGE: dict[tuple[str, str], str] = {
    ("wastewater", "*"): "reading",
    ("air", "*"): "reading",
    ("water", "night_flow"): "flow",
    ("water", "leakage"): "flow",
    ("water", "burst"): "flow",
    ("water", "leak_flag"): "leak",
    ("water", "*"): "flow",
    ("v2x", "online"): "heartbeat",
    ("v2x", "*"): "heartbeat",
}


def message_of(rule: RuleBase) -> str:
    if rule.message:
        return rule.message
    kind = str(getattr(rule, "kind", "*"))
    return DEFAULT_MESSAGE.get((rule.feed, kind)) or DEFAULT_MESSAGE[(rule.feed, "*")]
