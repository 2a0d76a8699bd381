"""One evaluator per rule kind; feed-specific ones live in the feed's module."""

from __future__ import annotations

from typing import Any

from ingest.registry.model import Registry
from services.rules.evaluators._base import Evaluator
from services.rules.evaluators.air import AqiEvaluator
from services.rules.evaluators.generic import (
    DeadLetterEvaluator,
    FlatlineEvaluator,
    RatioEvaluator,
    SeqGapEvaluator,
    StaleEvaluator,
    ThresholdEvaluator,
    WindowEvaluator,
    latest,
)
from services.rules.evaluators.v2x import OnlineEvaluator
from services.rules.evaluators.water import (
    BurstEvaluator,
    LeakageEvaluator,
    LeakFlagEvaluator,
    NightFlowEvaluator,
)
from services.rules.model import RuleBase

EVALUATORS: dict[str, type[Evaluator[Any]]] = {
    "threshold": ThresholdEvaluator,
    "window": WindowEvaluator,
    "ratio": RatioEvaluator,
    "aqi": AqiEvaluator,
    "stale": StaleEvaluator,
    "flatline": FlatlineEvaluator,
    "dead_letter": DeadLetterEvaluator,
    "seq_gap": SeqGapEvaluator,
    "night_flow": NightFlowEvaluator,
    "leakage": LeakageEvaluator,
    "burst": BurstEvaluator,
    "leak_flag": LeakFlagEvaluator,
    "online": OnlineEvaluator,
}


def evaluator_for(rule: RuleBase, registry: Registry) -> Evaluator[RuleBase]:
    kind = str(getattr(rule, "kind", ""))
    ev: Evaluator[RuleBase] = EVALUATORS[kind](rule, registry)
    return ev


__all__ = ["EVALUATORS", "Evaluator", "evaluator_for", "latest"]
