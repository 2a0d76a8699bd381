"""Water supply: minimum night flow, CJJ 92 leakage rate, bursts, acoustic leak flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from statistics import median
from typing import Any, TypeVar

from ingest.registry.model import Registry
from services.rules.conditions import judge
from services.rules.evaluators._base import Conn, Evaluator, InstantEvaluator, readings_after
from services.rules.model import BurstRule, Condition, LeakageRule, LeakFlagRule, NightFlowRule
from services.rules.state import Verdict
from services.rules.types import Observation, Subject
from services.rules.windows import DAY, Span
from services.statistics.water import leakage_rate_pct

D = TypeVar("D", NightFlowRule, LeakageRule, BurstRule)
BUCKET = timedelta(minutes=15)
BILLING_WAIT = timedelta(days=2)  # a window whose bills are this late is judged without verdict


def dma_subjects(registry: Registry, ids: Sequence[str], areas: Sequence[str]) -> list[Subject]:
    out = []
    for d in registry.dmas:
        if (ids and d.id not in ids) or (areas and d.area not in areas):
            continue
        meters = tuple(m.id for m in d.inlet_meters)
        out.append(
            Subject(
                d.id, d.name_zh, d.name_en, d.area, meters, {"target_pct": d.leakage_target_pct}
            )
        )
    return out


def dma_inflow(
    conn: Conn, subjects: Sequence[Subject], start: datetime, end: datetime, bucket: timedelta
) -> dict[str, dict[datetime, float]]:
    """A DMA's total inflow (m³/h) per time bucket: the sum over its inlet meters of each
    meter's mean flow in the bucket (only buckets where every meter reported)."""
    meters = {m: s.id for s in subjects for m in s.devices}
    rows = conn.execute(
        "SELECT device_id, date_bin(%s, ts, '2000-01-01'::timestamptz) AS b, avg(flow_m3h)"
        " FROM water_inlet_flow WHERE device_id = ANY(%s) AND ts >= %s AND ts < %s GROUP BY 1, 2",
        (bucket, list(meters), start, end),
    ).fetchall()
    per: dict[tuple[str, datetime], list[float]] = {}
    for meter, b, q in rows:
        per.setdefault((meters[str(meter)], b), []).append(float(q))
    size = {s.id: len(s.devices) for s in subjects}
    out: dict[str, dict[datetime, float]] = {}
    for (dma, b), flows in per.items():
        if len(flows) == size[dma]:
            out.setdefault(dma, {})[b] = sum(flows)
    return out


class DmaEvaluator(Evaluator[D]):
    """A rule whose subjects are DMAs (their inlet meters' data)."""

    def make_subjects(self, registry: Registry) -> list[Subject]:
        return dma_subjects(registry, self.rule.devices.ids, self.rule.devices.areas)


class NightFlowEvaluator(DmaEvaluator[NightFlowRule]):
    def _mnf(self, conn: Conn, subjects: Sequence[Subject], span: Span) -> dict[str, float]:
        flows = dma_inflow(conn, subjects, span.start, span.end, BUCKET)
        need = (span.end - span.start) // BUCKET
        return {d: min(b.values()) for d, b in flows.items() if len(b) >= need}

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        tonight = self._mnf(conn, subjects, span)
        history: dict[str, list[float]] = {}
        for k in range(1, rule.baseline_nights + 1):
            past = Span(span.start - k * DAY, span.end - k * DAY)
            for dma, q in self._mnf(conn, subjects, past).items():
                history.setdefault(dma, []).append(q)
        out = []
        for s in subjects:
            mnf, past_nights = tonight.get(s.id), history.get(s.id, [])
            evidence: dict[str, Any] = {"mnf_m3h": mnf, "baseline_nights": len(past_nights)}
            if mnf is None or len(past_nights) < rule.min_baseline_nights:
                out.append(
                    Observation(s.id, Verdict(span.start, span.end, None, False, mnf), evidence)
                )
                continue
            baseline = median(past_nights)
            excess = 100.0 * (mnf - baseline) / baseline if baseline > 0 else 0.0
            breach = excess > rule.margin_pct
            evidence |= {
                "baseline_m3h": baseline,
                "excess_pct": excess,
                "limit": f"> baseline + {rule.margin_pct:g} %",
            }
            out.append(
                Observation(
                    s.id, Verdict(span.start, span.end, breach, not breach, excess), evidence
                )
            )
        return out


class LeakageEvaluator(DmaEvaluator[LeakageRule]):
    """The CJJ 92-2016 comprehensive leakage rate (``services.statistics.water``) over a
    window, with Q_s the sum of the inlet meters' mean flows times the window's hours; it
    needs every inlet meter's data (``min_coverage``) and a bill for each day."""

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        hours = (span.end - span.start) / timedelta(hours=1)
        meters = [m for s in subjects for m in s.devices]
        supply = {
            str(d): (float(q), int(n))
            for d, q, n in conn.execute(
                "SELECT device_id, avg(flow_m3h), count(*) FROM water_inlet_flow"
                " WHERE device_id = ANY(%s) AND ts >= %s AND ts < %s GROUP BY device_id",
                (meters, span.start, span.end),
            )
        }
        bills = {
            str(d): (float(v), int(n))
            for d, v, n in conn.execute(
                "SELECT device_id, sum(billed_m3), count(*) FROM water_billing"
                " WHERE device_id = ANY(%s) AND ts >= %s AND ts < %s GROUP BY device_id",
                ([s.id for s in subjects], span.start, span.end),
            )
        }
        days = round((span.end - span.start) / DAY)
        out = []
        for s in subjects:
            billed, n_bills = bills.get(s.id, (0.0, 0))
            if n_bills < days and now < span.end + BILLING_WAIT:
                verdict = Verdict(span.start, span.end, None, False, None)
                out.append(Observation(s.id, verdict, {"bills": n_bills}, ready=False))
                continue
            covered = [supply[m] for m in s.devices if m in supply]
            enough = len(covered) == len(s.devices) and all(
                n >= rule.min_coverage * hours * 60 for _, n in covered
            )
            supplied = sum(q for q, _ in covered) * hours
            value = leakage_rate_pct(supplied, billed) if enough and n_bills == days else None
            evidence: dict[str, Any] = {
                "supplied_m3": round(supplied, 1),
                "billed_m3": round(billed, 1),
                "bills": n_bills,
            }
            cond = rule.condition or Condition(op=">", threshold=s.params["target_pct"])
            if value is None:
                out.append(
                    Observation(s.id, Verdict(span.start, span.end, None, False, None), evidence)
                )
                continue
            j = judge(cond, rule.clear, value, span.start)
            evidence |= {"value": value, "limit": j.limit}
            out.append(
                Observation(
                    s.id, Verdict(span.start, span.end, j.breach, j.cleared, value), evidence
                )
            )
        return out


class BurstEvaluator(DmaEvaluator[BurstRule]):
    """A step: inflow over the last window vs the ``baseline`` before it rises by
    ``flow_rise_pct`` while inlet pressure falls by ``pressure_drop_pct``."""

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        rule = self.rule
        base = Span(span.start - rule.baseline, span.start)
        meters = {m: s.id for s in subjects for m in s.devices}
        rows = conn.execute(
            "SELECT device_id, ts >= %s AS recent, avg(flow_m3h), avg(pressure_kpa), count(*)"
            " FROM water_inlet_flow WHERE device_id = ANY(%s) AND ts >= %s AND ts < %s"
            " GROUP BY 1, 2",
            (span.start, list(meters), base.start, span.end),
        ).fetchall()
        agg: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        for meter, recent, q, p, _n in rows:
            if q is not None and p is not None:
                agg.setdefault((meters[str(meter)], bool(recent)), []).append((float(q), float(p)))
        out = []
        for s in subjects:
            now_, before = agg.get((s.id, True), []), agg.get((s.id, False), [])
            if len(now_) < len(s.devices) or len(before) < len(s.devices):
                out.append(Observation(s.id, Verdict(span.start, span.end, None, False, None), {}))
                continue
            q1, q0 = sum(q for q, _ in now_), sum(q for q, _ in before)
            p1 = sum(p for _, p in now_) / len(now_)
            p0 = sum(p for _, p in before) / len(before)
            rise = 100.0 * (q1 - q0) / q0 if q0 > 0 else 0.0
            drop = 100.0 * (p0 - p1) / p0 if p0 > 0 else 0.0
            breach = rise >= rule.flow_rise_pct and drop >= rule.pressure_drop_pct
            evidence = {
                "flow_m3h": q1,
                "baseline_flow_m3h": q0,
                "rise_pct": rise,
                "pressure_kpa": p1,
                "baseline_pressure_kpa": p0,
                "drop_pct": drop,
                "value": rise,
                "limit": (
                    f"flow +{rule.flow_rise_pct:g} % and pressure -{rule.pressure_drop_pct:g} %"
                ),
            }
            out.append(
                Observation(s.id, Verdict(span.start, span.end, breach, not breach, rise), evidence)
            )
        return out


class LeakFlagEvaluator(InstantEvaluator[LeakFlagRule]):
    def observe(
        self, conn: Conn, cursors: Mapping[str, datetime], until: datetime
    ) -> list[Observation]:
        rows = readings_after(conn, self.table, ("leak_flag", "noise_db"), cursors, until)
        return [
            Observation(
                str(d),
                Verdict(ts, ts, bool(flag), not flag, float(noise)),
                {
                    "leak_flag": bool(flag),
                    "noise_db": float(noise),
                    "value": float(noise),
                    "limit": "leak_flag",
                },
            )
            for d, ts, flag, noise in rows
        ]
