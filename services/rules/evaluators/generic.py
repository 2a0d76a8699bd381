"""Evaluators any feed can use: instant threshold, window aggregate, ratio of sums,
silence (stale), flat line and refused messages (dead letters)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from ingest.registry.model import Registry
from services.rules.evaluators._base import (
    CLOCK_TICK,
    Conn,
    Evaluator,
    InstantEvaluator,
    aggregate_rows,
    readings_after,
    selected,
)
from services.rules.model import (
    DeadLetterRule,
    FlatlineRule,
    RatioRule,
    SeqGapRule,
    StaleRule,
    ThresholdRule,
    WindowRule,
)
from services.rules.state import Verdict
from services.rules.types import Observation, Subject
from services.rules.windows import Span
from services.statistics.hourly import max_8h_means, means_of_valid_hours
from services.statistics.valid import all_valid, valid

_SIMPLE = {"mean": "avg", "max": "max", "min": "min", "sum": "sum"}


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


class ThresholdEvaluator(InstantEvaluator[ThresholdRule]):
    def observe(
        self, conn: Conn, cursors: Mapping[str, datetime], until: datetime
    ) -> list[Observation]:
        rows = readings_after(conn, self.table, (self.rule.measure,), cursors, until)
        return [
            self.threshold_verdict(self.by_id[str(d)], Span(ts, ts), _f(x), {"at": ts.isoformat()})
            for d, ts, x in rows
        ]


class WindowEvaluator(Evaluator[WindowRule]):
    def _selects(self) -> list[sql.Composable]:
        """The aggregate over the valid values only (flag N or none): a value flagged C
        (calibration) or D (fault) is no measurement of the discharge or the air."""
        rule = self.rule
        x = valid(rule.measure)
        agg = rule.aggregate
        if agg in _SIMPLE:
            first: sql.Composable = sql.SQL("{}({})").format(sql.SQL(_SIMPLE[agg]), x)
        elif agg == "rate":  # per hour, least squares over the window
            first = sql.SQL("regr_slope({}, extract(epoch FROM ts)) * 3600").format(x)
        else:  # missing: counted from the rows present
            first = sql.SQL("count(*)")
        out = [first, sql.SQL("count({})").format(x)]
        out += [sql.SQL("avg({})").format(valid(w.measure)) for w in rule.condition.when]
        return out

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        devices = [s.devices[0] for s in subjects]
        if rule.aggregate == "hourly_mean":
            values = self._hourly_means(conn, devices, span)
        elif rule.aggregate == "max_8h_mean":
            values = self._max_8h(conn, devices, span)
        else:
            values = self._simple(conn, devices, span)
        out = []
        for s in subjects:
            value, evidence, companions = values.get(s.id, (None, {"samples": 0}, {}))
            out.append(self.threshold_verdict(s, span, value, evidence, companions))
        return out

    def _simple(
        self, conn: Conn, devices: list[str], span: Span
    ) -> dict[str, tuple[float | None, dict[str, Any], dict[str, float | None]]]:
        rule = self.rule
        rows = aggregate_rows(conn, self.table, self._selects(), devices, span)
        out: dict[str, tuple[float | None, dict[str, Any], dict[str, float | None]]] = {}
        for device, row in rows.items():
            value, n = _f(row[0]), int(row[1])
            companions = {
                w.measure: _f(v) for w, v in zip(rule.condition.when, row[2:], strict=True)
            }
            if rule.aggregate == "missing":
                period = rule.period or timedelta(minutes=1)
                value = float(max(0, (span.end - span.start) // period - int(row[0])))
            elif n < rule.min_samples:
                value = None
            out[device] = (value, {"samples": n, **companions}, companions)
        if rule.aggregate == "missing":  # a device with no row at all misses everything
            period = rule.period or timedelta(minutes=1)
            for device in devices:
                if device not in out:
                    out[device] = (float((span.end - span.start) // period), {"samples": 0}, {})
        return out

    def _hourly_means(
        self, conn: Conn, devices: list[str], span: Span
    ) -> dict[str, tuple[float | None, dict[str, Any], dict[str, float | None]]]:
        rule = self.rule
        means = means_of_valid_hours(
            conn, self.table, rule.measure, span.start, span.end, devices=devices,
            min_samples=rule.hour_samples, min_hours=rule.min_hours or 1,
        )  # fmt: skip
        return {d: (m.value, {"valid_hours": m.valid_hours}, {}) for d, m in means.items()}

    def _max_8h(
        self, conn: Conn, devices: list[str], span: Span
    ) -> dict[str, tuple[float | None, dict[str, Any], dict[str, float | None]]]:
        rule = self.rule
        means = max_8h_means(
            conn, self.table, rule.measure, span.start, span.end, devices=devices,
            min_samples=rule.hour_samples,
        )  # fmt: skip
        return {d: (m.value, {"valid_8h_means": m.valid_means}, {}) for d, m in means.items()}


class RatioEvaluator(Evaluator[RatioRule]):
    def make_subjects(self, registry: Registry) -> list[Subject]:
        subjects = super().make_subjects(registry)
        if self.rule.subject == "district":
            devices = tuple(d for s in subjects for d in s.devices)
            return [Subject("district", "柳东新区", "Liudong New District", None, devices)]
        return subjects

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule

        def total(cols: tuple[str, ...]) -> sql.Composable:
            return sql.SQL("sum({})").format(
                sql.SQL(" + ").join(
                    sql.SQL("coalesce({}, 0)").format(sql.Identifier(c)) for c in cols
                )
            )

        # only rows whose every meter of the ratio reads a valid value (flag N or none)
        # count, towards the sums and towards the coverage alike
        columns = (*rule.numerator, *rule.denominator)
        devices = sorted({d for s in subjects for d in s.devices})
        rows = aggregate_rows(
            conn,
            self.table,
            [total(rule.numerator), total(rule.denominator), sql.SQL("count(*)")],
            devices,
            span,
            where=all_valid(columns),
        )
        expected = (span.end - span.start) / rule.period
        out = []
        for s in subjects:
            num = den = 0.0
            covered, short = [], []
            for d in s.devices:
                row = rows.get(d)
                if row is None or int(row[2]) < rule.min_coverage * expected:
                    short.append(d)
                    continue
                covered.append(d)
                num += float(row[0] or 0)
                den += float(row[1] or 0)
            value = rule.scale * num / den if covered and den > 0 else None
            evidence: dict[str, Any] = {"covered": covered, "short_of_data": short}
            out.append(self.threshold_verdict(s, span, value, evidence))
        return out


def latest(conn: Conn, table: str, devices: Sequence[str]) -> dict[str, datetime]:
    """The newest stored measurement time of each device (from ingest's device_latest)."""
    rows = conn.execute(
        "SELECT device_id, ts FROM device_latest WHERE table_name = %s AND device_id = ANY(%s)",
        (table, list(devices)),
    ).fetchall()
    return {str(d): ts for d, ts in rows}


class StaleEvaluator(Evaluator[StaleRule]):
    mode = "clock"

    @property
    def window_length(self) -> timedelta:
        return self.rule.period * self.rule.missing

    def next_change(self, observations: Sequence[Observation], now: datetime) -> datetime | None:
        """The first reporting device to fall silent; a silent one changes only with data."""
        limit = self.window_length
        quiet = [o.verdict.start + limit + CLOCK_TICK for o in observations if not o.verdict.breach]
        return min(quiet, default=None)

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        limit = self.window_length
        last = latest(conn, self.table, [s.devices[0] for s in subjects])
        out = []
        for s in subjects:
            seen = last.get(s.devices[0])
            if seen is None:  # never reported: not stale, not yet connected
                continue
            silent = now - seen
            breach = silent > limit
            minutes = silent.total_seconds() / 60
            out.append(
                Observation(
                    s.id,
                    Verdict(seen, now, breach, not breach, round(minutes, 1)),
                    {
                        "last_seen": seen.isoformat(),
                        "silent_min": round(minutes, 1),
                        "limit": f"> {limit.total_seconds() / 60:g} min",
                    },
                )
            )
        return out


class FlatlineEvaluator(Evaluator[FlatlineRule]):
    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        x = sql.Identifier(rule.measure)
        rows = aggregate_rows(
            conn,
            self.table,
            [
                sql.SQL("max({x}) - min({x})").format(x=x),
                sql.SQL("count({})").format(x),
                sql.SQL("avg({})").format(x),
            ],
            [s.devices[0] for s in subjects],
            span,
        )
        out = []
        for s in subjects:
            row = rows.get(s.devices[0])
            if row is None or int(row[1]) < rule.min_samples:
                verdict = Verdict(span.start, span.end, None, False, None)
                out.append(Observation(s.id, verdict, {}))
                continue
            spread, value = float(row[0]), _f(row[2])
            breach = spread <= rule.tolerance
            out.append(
                Observation(
                    s.id,
                    Verdict(span.start, span.end, breach, not breach, value),
                    {
                        "spread": spread,
                        "samples": int(row[1]),
                        "value": value,
                        "limit": f"spread <= {rule.tolerance:g}",
                    },
                )
            )
        return out


class DeadLetterEvaluator(Evaluator[DeadLetterRule]):
    """Counts a device's refused messages over the window before the service clock, by
    the payloads' own times (the collector stores them where it can read them)."""

    mode = "clock"

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("dead_letter",)

    def next_change(self, observations: Sequence[Observation], now: datetime) -> datetime | None:
        """While dead letters are in the window, each pass (they age out of it); without
        any, only a new one changes a count."""
        counting = any(o.verdict.value for o in observations)
        return now + CLOCK_TICK if counting else None

    def make_subjects(self, registry: Registry) -> list[Subject]:
        kinds = {d.device_type for d in registry.devices() if d.feed == self.rule.feed}
        return [
            Subject(d.device_id, d.place.name_zh, d.place.name_en, d.area, (d.device_id,))
            for d in selected(self.rule, registry, kinds)
        ]

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        start = now - self.window_length
        rows = conn.execute(
            "SELECT device_id, count(*) FROM dead_letter WHERE device_ts > %s"
            " AND device_ts <= %s AND feed = %s AND reason = ANY(%s) AND device_id = ANY(%s)"
            " GROUP BY device_id",
            (start, now, rule.feed, list(rule.reasons), [s.id for s in subjects]),
        ).fetchall()
        counts = {str(d): int(n) for d, n in rows}
        window = Span(start, now)
        return [
            self.threshold_verdict(
                s, window, float(counts.get(s.id, 0)), {"reasons": list(rule.reasons)}
            )
            for s in subjects
        ]


class SeqGapEvaluator(Evaluator[SeqGapRule]):
    """Counts a device's messages missing by its sequence numbers (``seq_gap``, recorded
    by the collector) and not recovered since, over the window before the service clock."""

    mode = "clock"

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("seq_gap",)

    def next_change(self, observations: Sequence[Observation], now: datetime) -> datetime | None:
        """While gaps are in the window, each pass (they age out, late messages fill them);
        without any, only a new gap changes a count."""
        counting = any(o.verdict.value for o in observations)
        return now + CLOCK_TICK if counting else None

    def make_subjects(self, registry: Registry) -> list[Subject]:
        hj212 = {site.id for _, site in registry.hj212_sites()}  # their gateway re-requests
        kinds = {d.device_type for d in registry.devices() if d.feed == self.rule.feed}
        return [
            Subject(d.device_id, d.place.name_zh, d.place.name_en, d.area, (d.device_id,))
            for d in selected(self.rule, registry, kinds)
            if d.device_id not in hj212
        ]

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        start = now - self.window_length
        rows = conn.execute(
            "SELECT device_id, sum(to_seq - from_seq + 1 - recovered) FROM seq_gap"
            " WHERE before_ts > %s AND before_ts <= %s AND feed = %s AND device_id = ANY(%s)"
            " GROUP BY device_id",
            (start, now, self.rule.feed, [s.id for s in subjects]),
        ).fetchall()
        missing = {str(d): float(n) for d, n in rows}
        window = Span(start, now)
        return [
            self.threshold_verdict(s, window, missing.get(s.id, 0.0), {"missing": "seq gaps"})
            for s in subjects
        ]
