"""What a rule would have done over past data: its transitions, computed in memory.

Nothing is recorded: the evaluation runs in a transaction that is rolled back (the AQI
rules store the hourly AQI they compute), and the alert state machine runs on the side.
Silence and online rules judge the live clock and cannot be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from ingest.registry.model import Registry
from services.rules.evaluators import evaluator_for
from services.rules.model import RuleBase
from services.rules.state import SubjectState, step
from services.rules.types import Observation

MAX_WINDOWS = 50_000


class DryRunError(ValueError):
    pass


@dataclass(frozen=True)
class WouldHave:
    rule_id: str
    subject: str
    transition: str  # firing | resolved
    at: datetime
    value: float | None


def dry_run(
    conn: psycopg.Connection[TupleRow],
    rule: RuleBase,
    registry: Registry,
    start: datetime,
    end: datetime,
) -> list[WouldHave]:
    ev = evaluator_for(rule, registry)
    if ev.mode == "clock":
        raise DryRunError(f"{rule.id}: a {ev.mode} rule judges the live clock; it has no replay")
    states = {s.id: SubjectState() for s in ev.subjects}
    out: list[WouldHave] = []

    def apply(obs: Observation) -> None:
        new, change = step(states[obs.subject], obs.verdict, rule.hold, rule.clear)
        states[obs.subject] = new
        if change in ("firing", "resolved"):
            v = obs.verdict
            out.append(WouldHave(rule.id, obs.subject, change, v.end, v.value))

    with conn.transaction(force_rollback=True):
        if ev.mode == "instant":
            for obs in ev.observe(conn, dict.fromkeys(states, start), end):
                apply(obs)
        else:
            spans = ev.spans(start, end)
            if len(spans) > MAX_WINDOWS:
                raise DryRunError(f"{rule.id}: {len(spans)} windows; ask for a shorter span")
            for span in spans:
                for obs in ev.evaluate(conn, span, ev.subjects, end):
                    if obs.ready:
                        apply(obs)
    return sorted(out, key=lambda w: (w.at, w.subject))
