"""Air quality: the hourly (real-time) AQI per station, computed, stored and judged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.rules.evaluators._base import Conn, Evaluator
from services.rules.model import AqiRule, Hour
from services.rules.types import Observation, Subject
from services.rules.windows import Span, spans
from services.standards.hj633 import hourly_aqi
from services.statistics import air
from services.statistics.air import store_aqi


class AqiEvaluator(Evaluator[AqiRule]):
    def spans(self, after: datetime, until: datetime) -> list[Span]:
        return spans(Hour(type="hour"), after, until)

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        means = air.hourly_means(conn, [s.id for s in subjects], span.start, self.rule.hour_samples)
        out = []
        for s in subjects:
            conc = means.get(s.id, {})
            result = (
                hourly_aqi(conc, span.start) if any(v is not None for v in conc.values()) else None
            )
            if result is None or result.aqi is None:
                out.append(self.threshold_verdict(s, span, None, {}))
                continue
            store_aqi(conn, s.id, span.start, result, conc)
            evidence = {
                "aqi": result.aqi,
                "level": result.level,
                "category": result.category_zh,
                "primary": list(result.primary),
                "iaqi": result.iaqi,
                "concentrations": conc,
                "edition": result.edition,
            }
            obs = self.threshold_verdict(s, span, float(result.aqi), evidence)
            obs.evidence["edition"] = result.edition
            out.append(obs)
        return out


__all__ = ["AqiEvaluator"]
